//! Delivery claims, run unchanged against SQLite and PostgreSQL: one winner per key, a
//! freed key can be claimed again, ended claims are taken over and purged.

use hookgate_storage::{ClaimAttempt, ClaimRow};
use hookgate_tests::for_each_backend;

const NOW: i64 = 1_800_000_000_000;
const LEASE: i64 = NOW + 30_000;

fn held(owner: &str, delivered: bool, expire_time_ms: i64) -> ClaimAttempt {
    ClaimAttempt::Held(ClaimRow {
        owner: owner.into(),
        delivered,
        expire_time_ms,
    })
}

#[tokio::test]
async fn a_key_is_held_while_pending_and_after_delivery() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let claim = |owner: &'static str| {
            let store = store.clone();
            async move {
                store
                    .claim_delivery("w1", "k1", owner, LEASE, NOW)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(claim("a").await, ClaimAttempt::Won, "{}", db.backend);
        assert_eq!(claim("b").await, held("a", false, LEASE));
        assert!(!store
            .complete_claim("w1", "k1", "b", NOW + 5)
            .await
            .unwrap());
        assert!(store
            .complete_claim("w1", "k1", "a", NOW + 60_000)
            .await
            .unwrap());
        assert_eq!(claim("b").await, held("a", true, NOW + 60_000));
        assert!(
            !store.release_claim("w1", "k1", "a").await.unwrap(),
            "a delivered key is never freed"
        );
        // Keys are per webhook.
        assert_eq!(
            store
                .claim_delivery("w2", "k1", "c", LEASE, NOW)
                .await
                .unwrap(),
            ClaimAttempt::Won
        );
    })
    .await;
}

#[tokio::test]
async fn a_released_key_is_claimed_again() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        assert_eq!(
            store
                .claim_delivery("w1", "k1", "a", LEASE, NOW)
                .await
                .unwrap(),
            ClaimAttempt::Won
        );
        assert!(!store.release_claim("w1", "k1", "b").await.unwrap());
        assert!(store.release_claim("w1", "k1", "a").await.unwrap());
        assert_eq!(store.find_claim("w1", "k1").await.unwrap(), None);
        assert_eq!(
            store
                .claim_delivery("w1", "k1", "b", LEASE, NOW)
                .await
                .unwrap(),
            ClaimAttempt::Won
        );
    })
    .await;
}

#[tokio::test]
async fn ended_leases_and_windows_are_taken_over_once() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        store
            .claim_delivery("w1", "pending", "a", NOW + 10, NOW)
            .await
            .unwrap();
        store
            .claim_delivery("w1", "done", "a", NOW + 10, NOW)
            .await
            .unwrap();
        assert!(store
            .complete_claim("w1", "done", "a", NOW + 20)
            .await
            .unwrap());
        let later = NOW + 1_000;
        for key in ["pending", "done"] {
            assert_eq!(
                store
                    .claim_delivery("w1", key, "b", later + 30_000, later)
                    .await
                    .unwrap(),
                ClaimAttempt::Won,
                "{key} on {}",
                db.backend
            );
            assert_eq!(
                store
                    .claim_delivery("w1", key, "c", later + 30_000, later)
                    .await
                    .unwrap(),
                held("b", false, later + 30_000)
            );
        }
        assert!(
            !store
                .complete_claim("w1", "pending", "a", later + 60_000)
                .await
                .unwrap(),
            "the owner whose lease ended cannot complete"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let attempts = (0..20).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_delivery("w1", "k1", &format!("owner-{i}"), LEASE, NOW)
                    .await
                    .unwrap()
            })
        });
        let mut won = 0;
        for attempt in attempts {
            if attempt.await.unwrap() == ClaimAttempt::Won {
                won += 1;
            }
        }
        assert_eq!(won, 1, "{}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn purge_deletes_only_ended_claims_in_batches() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        for i in 0..5 {
            store
                .claim_delivery("w1", &format!("old-{i}"), "a", NOW - 1, NOW - 10)
                .await
                .unwrap();
        }
        store
            .claim_delivery("w1", "live", "a", LEASE, NOW)
            .await
            .unwrap();
        assert_eq!(
            store.purge_claims(NOW, 3).await.unwrap(),
            3,
            "{}",
            db.backend
        );
        assert_eq!(store.purge_claims(NOW, 3).await.unwrap(), 2);
        assert_eq!(store.purge_claims(NOW, 3).await.unwrap(), 0);
        assert!(store.find_claim("w1", "live").await.unwrap().is_some());
        assert_eq!(store.find_claim("w1", "old-0").await.unwrap(), None);
    })
    .await;
}
