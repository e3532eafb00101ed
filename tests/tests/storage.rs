//! One storage suite, run unchanged against SQLite and PostgreSQL.

use hookgate_domain::{
    dedup::Deduplication, Error, HmacAlgorithm, HmacScheme, PreviousSecret, SignatureEncoding,
    VerificationType, WebhookName, WebhookSpec,
};
use hookgate_tests::for_each_backend;
use std::time::Duration;

fn spec(name: &str) -> WebhookSpec {
    WebhookSpec {
        display_name: name.into(),
        ..WebhookSpec::default()
    }
}

#[tokio::test]
async fn round_trips_every_field() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let full = WebhookSpec {
            display_name: "ünïcode ✓".into(),
            description: "d".repeat(32767),
            disabled: true,
            verification_type: VerificationType::StandardWebhooks,
            verification_code: "code".into(),
            signing_secret: Some("whsec_c2VjcmV0".into()),
            response_code: 299,
            wait_for_reply: true,
            reply_timeout: Duration::from_millis(1500),
            basic_auth_username: "user".into(),
            basic_auth_password_digest: Some("ab".repeat(32).into()),
            verification_provider: "zoom".into(),
            hmac: Some(Box::new(HmacScheme {
                header: "X-Sig".into(),
                algorithm: HmacAlgorithm::Sha512,
                encoding: SignatureEncoding::Base64,
                prefix: "v1=".into(),
                signed_content: "{timestamp}.{body}".into(),
                timestamp_header: "X-Ts".into(),
                tolerance: Duration::from_secs(90),
            })),
            previous_secret: Some(Box::new(PreviousSecret {
                secret: "old-secret".into(),
                expire_time: chrono::DateTime::from_timestamp(1_900_000_000, 123_000).unwrap(),
            })),
            deduplication: Some(Box::new(Deduplication {
                enabled: true,
                key: "json:/event/id".into(),
                window: Duration::from_millis(2500),
            })),
        };
        let created = store.create("acme", full).await.unwrap();
        assert_eq!(
            store.get(&created.name).await.unwrap(),
            created,
            "{}",
            db.backend
        );
        assert_eq!(
            store.find_by_token(&created.token).await.unwrap(),
            Some(created.clone())
        );
        assert_eq!(
            store
                .find_by_token("no-such-token-000000000000")
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn a_handshake_secret_is_kept_only_when_none_is_set() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let created = store.create("acme", spec("asana")).await.unwrap();
        assert!(store
            .keep_signing_secret(&created, "from-asana".into())
            .await
            .unwrap());
        let kept = store.get(&created.name).await.unwrap();
        assert_eq!(kept.spec.signing_secret, Some("from-asana".into()));
        assert_eq!(kept.revision, created.revision + 1, "{}", db.backend);
        assert!(!store
            .keep_signing_secret(&created, "another".into())
            .await
            .unwrap());
        let again = store.get(&created.name).await.unwrap();
        assert_eq!(again.spec.signing_secret, Some("from-asana".into()));
    })
    .await;
}

#[tokio::test]
async fn missing_rows_are_not_found() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let created = store.create("acme", spec("a")).await.unwrap();
        let foreign = WebhookName::new("other", created.name.webhook_id.clone());
        assert!(
            matches!(store.get(&foreign).await, Err(Error::NotFound(n)) if n == foreign.to_string())
        );
        store.delete(&created).await.unwrap();
        assert!(matches!(
            store.get(&created.name).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            store.delete(&created).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            store.update(&created, spec("b")).await,
            Err(Error::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn writes_are_compare_and_set_on_the_revision() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let v1 = store.create("acme", spec("v1")).await.unwrap();
        let v2 = store.update(&v1, spec("v2")).await.unwrap();
        assert_eq!(v2.revision, v1.revision + 1);
        assert!(matches!(
            store.update(&v1, spec("lost")).await,
            Err(Error::EtagMismatch(_))
        ));
        assert!(matches!(
            store.rotate_token(&v1).await,
            Err(Error::EtagMismatch(_))
        ));
        assert!(matches!(
            store.delete(&v1).await,
            Err(Error::EtagMismatch(_))
        ));
        assert_eq!(store.get(&v1.name).await.unwrap().spec.display_name, "v2");
        let v3 = store.rotate_token(&v2).await.unwrap();
        assert_ne!(v3.token, v2.token);
        assert_eq!(store.find_by_token(&v2.token).await.unwrap(), None);
        assert_eq!(
            store.find_by_token(&v3.token).await.unwrap().unwrap().name,
            v1.name
        );
    })
    .await;
}

#[tokio::test]
async fn lists_in_id_order_per_application() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(
                store
                    .create("acme", spec(&format!("{i}")))
                    .await
                    .unwrap()
                    .name
                    .webhook_id,
            );
        }
        store.create("other", spec("x")).await.unwrap();
        let first = store.list("acme", None, 3).await.unwrap();
        assert!(first.more);
        let after = first.webhooks.last().unwrap().name.webhook_id.clone();
        let rest = store.list("acme", Some(&after), 10).await.unwrap();
        assert!(!rest.more);
        let listed: Vec<_> = first
            .webhooks
            .iter()
            .chain(&rest.webhooks)
            .map(|w| w.name.webhook_id.clone())
            .collect();
        assert_eq!(listed, ids);
        let exact = store.list("acme", None, 7).await.unwrap();
        assert!(!exact.more, "a full last page must not promise another");
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for_each_backend(|db| async move {
        let store = db.store().await;
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
    })
    .await;
}
