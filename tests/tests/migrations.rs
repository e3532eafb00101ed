//! Migrations as a rollout runs them: several replicas at once, and readiness that waits
//! for the schema.

use hookgate_storage::Store;
use hookgate_tests::{for_each_backend, TestDb};

#[tokio::test]
async fn the_schema_is_not_current_until_migrated() {
    for_each_backend(|db| async move {
        let store = Store::connect_with_pool(&db.url, 2).await.expect("connect");
        let before = store
            .schema_current()
            .await
            .expect_err("nothing applied yet");
        assert!(before.to_string().starts_with("schema: "), "{before}");
        store.migrate().await.expect("migrate");
        store
            .schema_current()
            .await
            .expect("current after migrating");
        // Applying again is a no-op, as every restarted pod does.
        store.migrate().await.expect("migrate again");
    })
    .await;
}

#[tokio::test]
async fn replicas_starting_together_migrate_one_after_the_other() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Store::connect_with_pool(&db.url, 1).await.expect("connect"));
    }
    // Without the advisory lock, concurrent CREATE TABLEs fail on each other's catalog rows.
    let results = futures::future::join_all(stores.iter().map(|store| store.migrate())).await;
    for result in results {
        result.expect("every replica's migration succeeds");
    }
    stores[0].schema_current().await.expect("current");
}
