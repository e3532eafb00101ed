//! The gateway's in-memory snapshot of every webhook: it follows writes made by any
//! process, and keeps serving what it knew while the database is away.

use hookgate_domain::WebhookSpec;
use hookgate_gateway::WebhookSnapshot;
use hookgate_tests::{for_each_backend, http, proxy::TcpProxy, Stack, StackOptions, TestDb};
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use std::time::{Duration, Instant};

/// A webhook told apart from the others by its response code.
fn spec(response_code: u16) -> WebhookSpec {
    WebhookSpec {
        display_name: format!("answers {response_code}"),
        response_code,
        ..WebhookSpec::default()
    }
}

/// The response code the snapshot has for `token`, `None` when it does not resolve.
fn known(snapshot: &WebhookSnapshot, token: &str) -> Option<u16> {
    snapshot
        .get(token)
        .expect("snapshot loaded")
        .map(|webhook| webhook.spec.response_code)
}

#[tokio::test]
async fn the_snapshot_follows_creates_updates_rotations_and_deletions_made_elsewhere() {
    for_each_backend(|db| async move {
        let writer = db.store().await;
        let existing = writer.create("acme", spec(200)).await.unwrap();
        let snapshot = WebhookSnapshot::new(db.store().await);
        assert!(
            snapshot.get(&existing.token).is_err(),
            "nothing before the first load"
        );
        assert!(snapshot.health().is_err());
        snapshot.refresh().await.unwrap();
        assert_eq!(known(&snapshot, &existing.token), Some(200));
        assert!(snapshot.health().is_ok());

        let created = writer.create("acme", spec(201)).await.unwrap();
        assert_eq!(known(&snapshot, &created.token), None, "{}", db.backend);
        snapshot.refresh().await.unwrap();
        assert_eq!(known(&snapshot, &created.token), Some(201));

        let updated = writer.update(&created, spec(202)).await.unwrap();
        snapshot.refresh().await.unwrap();
        assert_eq!(known(&snapshot, &created.token), Some(202));

        let rotated = writer.rotate_token(&updated).await.unwrap();
        snapshot.refresh().await.unwrap();
        assert_eq!(
            known(&snapshot, &created.token),
            None,
            "the old token is gone"
        );
        assert_eq!(known(&snapshot, &rotated.token), Some(202));

        writer.delete(&rotated).await.unwrap();
        snapshot.refresh().await.unwrap();
        assert_eq!(known(&snapshot, &rotated.token), None);
        assert_eq!(known(&snapshot, &existing.token), Some(200));
        assert_eq!(snapshot.len(), 1);
    })
    .await;
}

/// PostgreSQL numbers a write when it starts and shows it when it commits: a slow write can
/// appear after a faster one with a higher number. It must still be applied.
#[tokio::test]
async fn a_write_committed_after_a_later_numbered_one_is_not_missed() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let writer = db.store().await;
    let slow = writer.create("acme", spec(203)).await.unwrap();
    let snapshot = WebhookSnapshot::new(db.store().await);
    snapshot.refresh().await.unwrap();

    let connection = Database::connect(&db.url).await.unwrap();
    let transaction = connection.begin().await.unwrap();
    transaction
        .execute_unprepared(&format!(
            "UPDATE webhooks SET response_code = 299 WHERE id = '{id}';
             INSERT INTO webhook_changes (webhook_id, token, change_time)
             VALUES ('{id}', '{token}', now())",
            id = slow.name.webhook_id,
            token = slow.token,
        ))
        .await
        .unwrap();
    let fast = writer.create("acme", spec(204)).await.unwrap();
    snapshot.refresh().await.unwrap();
    assert_eq!(known(&snapshot, &fast.token), Some(204));
    assert_eq!(known(&snapshot, &slow.token), Some(203));

    transaction.commit().await.unwrap();
    snapshot.refresh().await.unwrap();
    assert_eq!(
        known(&snapshot, &slow.token),
        Some(299),
        "the change numbered before the one already read was skipped"
    );
}

/// Polls `url` with POSTs until it answers `status`, for at most `limit`.
async fn until_status(url: &str, status: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let answered = http::post(url, &[], "x").await.status.as_u16();
        if answered == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{url} still answers {answered}, not {status}, after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/readyz` until its status is `status`; returns its text.
async fn readyz_until(stack: &Stack, status: u16) -> String {
    let url = format!("http://{}/readyz", stack.admin_addr);
    let started = Instant::now();
    loop {
        let reply = http::get(&url).await;
        if reply.status.as_u16() == status {
            return reply.text();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "/readyz still {}: {}",
            reply.status,
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::thread_rng().gen();
    hex::encode(bytes)
}

#[tokio::test]
async fn a_database_outage_does_not_stop_known_webhooks() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let proxy = TcpProxy::start(db.server_addr()).await;
    let options = StackOptions {
        database_url: Some(db.url_through(proxy.addr)),
        ..Default::default()
    };
    let stack = Stack::start(&db, options).await;
    let known_hook = stack
        .create(
            "acme",
            hookgate_proto::v1::Webhook {
                display_name: "known".into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(http::post(&known_hook.url, &[], "before").await.status, 200);
    readyz_until(&stack, 200).await;
    // Writes the gateway can only learn about from the database.
    let direct = db.store().await;
    let url_of = |token: &str| format!("http://{}/webhooks/{token}", stack.http_addr);

    // A database that hangs, then one that is gone.
    for (outage, start) in [
        ("paused", TcpProxy::pause as fn(&TcpProxy)),
        ("cut", TcpProxy::cut),
    ] {
        start(&proxy);
        let reason = readyz_until(&stack, 503).await;
        assert!(reason.contains("[-]database failed"), "{outage}: {reason}");
        // What a gateway's probe asks: everything but the database, which it does without.
        let gateway_probe = format!("http://{}/readyz?exclude=database", stack.admin_addr);
        let probed = http::get(&gateway_probe).await;
        assert_eq!(probed.status, 200, "{outage}: {}", probed.text());
        for line in ["[+]database excluded: ok", "[+]snapshot ok", "[+]kafka ok"] {
            assert!(probed.text().contains(line), "{outage}: {}", probed.text());
        }
        let unseen = direct.create("acme", spec(200)).await.unwrap();
        for body in ["during 1", "during 2", "during 3"] {
            let reply = http::post(&known_hook.url, &[], body).await;
            assert_eq!(reply.status, 200, "{outage}: {}", reply.text());
        }
        // Unknown tokens cost no query: a flood of them is answered at once, all 404.
        let flood: Vec<_> = (0..200)
            .map(|_| {
                let url = url_of(&random_token());
                tokio::spawn(async move { http::post(&url, &[], "x").await.status.as_u16() })
            })
            .collect();
        let started = Instant::now();
        for request in flood {
            assert_eq!(request.await.unwrap(), 404, "{outage}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{outage}: the flood waited"
        );
        assert_eq!(
            http::post(&url_of(&unseen.token), &[], "x").await.status,
            404,
            "{outage}: a webhook created during the outage cannot be known yet"
        );

        proxy.restore();
        // Changes propagate again once the database is back.
        until_status(&url_of(&unseen.token), 200, Duration::from_secs(10)).await;
        direct
            .update(&direct.get(&unseen.name).await.unwrap(), spec(299))
            .await
            .unwrap();
        let took = until_status(&url_of(&unseen.token), 299, Duration::from_secs(10)).await;
        assert!(
            took <= Duration::from_secs(2),
            "{outage}: the update took {took:?}"
        );
        readyz_until(&stack, 200).await;
    }
    // Every 2xx of the known webhook is in Kafka: one before, three per outage.
    let known_id = known_hook.name.rsplit('/').next().unwrap().to_owned();
    let records = stack.reader().read(usize::MAX, Duration::from_secs(5));
    let published = records.iter().filter(|r| r.key == known_id).count();
    assert_eq!(published, 7, "records of the known webhook");
    stack.stop().await;
}
