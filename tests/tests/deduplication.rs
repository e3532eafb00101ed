//! Deduplicated webhooks in one process: settings through the API, copies of a delivery
//! answered without publishing, records with stable ids, a failed publish freeing its key.

use hookgate_proto::v1::{self as pb, VerificationType};
use hookgate_tests::{
    delivery::{self, pairs},
    http::{self, HttpReply},
    kafka, Stack, StackOptions, TestDb,
};
use rdkafka::{
    mocking::MockCluster,
    types::{RDKafkaApiKey, RDKafkaRespErr},
};
use std::time::Duration;
use tonic_types::StatusExt;

const QUIET: Duration = Duration::from_millis(700);
const SECRET: &str = "gh-secret";

fn dedup(key: &str, window: Option<Duration>) -> pb::Deduplication {
    pb::Deduplication {
        enabled: true,
        key: key.into(),
        window: window.map(|w| prost_types::Duration {
            seconds: i64::try_from(w.as_secs()).unwrap(),
            nanos: i32::try_from(w.subsec_nanos()).unwrap(),
        }),
    }
}

fn github_hook(deduplication: pb::Deduplication) -> pb::Webhook {
    pb::Webhook {
        display_name: "gh".into(),
        verification_type: VerificationType::Github as i32,
        signing_secret: SECRET.into(),
        deduplication: Some(deduplication),
        ..Default::default()
    }
}

fn webhook_id(hook: &pb::Webhook) -> &str {
    hook.name.rsplit('/').next().unwrap()
}

async fn send_github(hook: &pb::Webhook, delivery_id: &str, body: &str) -> HttpReply {
    let headers = delivery::github(SECRET, delivery_id, body);
    http::post(&hook.url, &pairs(&headers), body.to_owned()).await
}

fn assert_duplicate(reply: &HttpReply, duplicate: bool) {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.text(), r#"{"success":true}"#);
    assert_eq!(
        reply.header("hookgate-duplicate"),
        duplicate.then_some("true")
    );
}

#[tokio::test]
async fn settings_are_validated_returned_and_cleared() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let mut client = stack.client().await;
    let created = stack.create("acme", github_hook(dedup("", None))).await;
    let returned = created
        .deduplication
        .clone()
        .expect("deduplication returned");
    assert!(returned.enabled);
    assert_eq!(returned.key, "");
    assert_eq!(
        returned.window.unwrap().seconds,
        24 * 3600,
        "default window"
    );

    let cases = [
        (dedup("header:bad name", None), "webhook.deduplication.key"),
        (
            dedup("header:Authorization", None),
            "webhook.deduplication.key",
        ),
        (dedup("json:id", None), "webhook.deduplication.key"),
        (dedup("md5", None), "webhook.deduplication.key"),
        (
            dedup("body", Some(Duration::from_millis(500))),
            "webhook.deduplication.window",
        ),
        (
            dedup("body", Some(Duration::from_secs(8 * 24 * 3600))),
            "webhook.deduplication.window",
        ),
    ];
    for (settings, field) in cases {
        let status = client
            .create_webhook(pb::CreateWebhookRequest {
                parent: "applications/acme".into(),
                webhook: Some(github_hook(settings.clone())),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{settings:?}");
        let fields: Vec<_> = status
            .get_details_bad_request()
            .expect("BadRequest details")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, [field], "{settings:?}");
    }

    let update = |webhook: pb::Webhook| pb::UpdateWebhookRequest {
        webhook: Some(webhook),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["deduplication".into()],
        }),
    };
    let changed = client
        .update_webhook(update(pb::Webhook {
            name: created.name.clone(),
            deduplication: Some(dedup("json:/hook_id", Some(Duration::from_secs(90)))),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let settings = changed.deduplication.unwrap();
    assert_eq!(
        (settings.key.as_str(), settings.window.unwrap().seconds),
        ("json:/hook_id", 90)
    );
    let cleared = client
        .update_webhook(update(pb::Webhook {
            name: created.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.deduplication, None);
}

#[tokio::test]
async fn copies_of_a_delivery_publish_once_with_a_stable_id() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let hook = stack.create("acme", github_hook(dedup("", None))).await;
    let body = r#"{"ref":"refs/heads/main"}"#;

    assert_duplicate(&send_github(&hook, "d-1", body).await, false);
    assert_duplicate(&send_github(&hook, "d-1", body).await, true);
    let reader = stack.reader();
    let record = reader.one();
    let expected_id = hookgate_domain::dedup::event_id(webhook_id(&hook), "d-1");
    assert_eq!(record.headers["ce_id"], expected_id);
    assert_eq!(record.value["id"], expected_id.as_str());
    assert_eq!(record.value["data"]["deliveryKey"], "d-1");
    reader.assert_none(QUIET);

    // Another delivery, and concurrent copies of it: one record, every copy answered 2xx.
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let hook = hook.clone();
            tokio::spawn(async move { send_github(&hook, "d-2", body).await })
        })
        .collect();
    let mut duplicates = 0;
    for copy in copies {
        let reply = copy.await.unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        duplicates += usize::from(reply.header("hookgate-duplicate") == Some("true"));
    }
    assert_eq!(duplicates, 7);
    let records = reader.read(2, QUIET * 2);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].value["data"]["deliveryKey"], "d-2");
}

#[tokio::test]
async fn keys_come_from_the_configured_place() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let by_pointer = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "json".into(),
                deduplication: Some(dedup("json:/event/id", None)),
                ..Default::default()
            },
        )
        .await;
    let json = [("content-type", "application/json")];
    for body in [r#"{"event":{"id":7},"n":1}"#, r#"{"event":{"id":7},"n":2}"#] {
        http::post(&by_pointer.url, &json, body).await;
    }
    // No key in the request: published, without a claim.
    for _ in 0..2 {
        let reply = http::post(&by_pointer.url, &json, r#"{"other":1}"#).await;
        assert_duplicate(&reply, false);
    }
    let records = stack.reader().read(4, QUIET * 2);
    let keys: Vec<_> = records
        .iter()
        .map(|r| r.value["data"].get("deliveryKey").cloned())
        .collect();
    assert_eq!(
        keys,
        [Some("7".into()), None, None],
        "the second copy of event 7 is suppressed"
    );

    // A webhook without a provider id falls back to the body's SHA-256; a duplicate gets
    // the webhook's own success status.
    let by_body = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "body".into(),
                response_code: 202,
                deduplication: Some(dedup("", None)),
                ..Default::default()
            },
        )
        .await;
    let first = http::post(&by_body.url, &[], "same").await;
    let second = http::post(&by_body.url, &[], "same").await;
    assert_eq!(first.status.as_u16(), 202);
    assert_eq!(second.status.as_u16(), 202);
    assert_eq!(first.header("hookgate-duplicate"), None);
    assert_eq!(second.header("hookgate-duplicate"), Some("true"));
}

/// A catalogue provider with an empty key deduplicates on the delivery id its catalogue
/// entry names (Svix: `svix-id`), the one `ListVerificationProviders` reports (checked in
/// `verification.rs`).
#[tokio::test]
async fn a_provider_webhook_uses_its_catalogue_default_key() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "svix".into(),
                verification_type: VerificationType::Provider as i32,
                verification_provider: "svix".into(),
                signing_secret: secret.into(),
                deduplication: Some(dedup("", None)),
                ..Default::default()
            },
        )
        .await;
    let send = |id: &'static str, body: &'static str| {
        let url = hook.url.clone();
        async move {
            let headers = delivery::svix(secret, id, body);
            http::post(&url, &pairs(&headers), body).await
        }
    };
    let body = r#"{"type":"user.created","data":{"id":"user_1"}}"#;
    assert_duplicate(&send("msg_1", body).await, false);
    // The same message id with another body is a copy: the key is not the body.
    assert_duplicate(&send("msg_1", r#"{"type":"user.created"}"#).await, true);
    // Another message id with the same body is a new delivery.
    assert_duplicate(&send("msg_2", body).await, false);
    let records = stack.reader().read(3, QUIET * 2);
    assert_eq!(delivery_keys(&records), ["msg_1", "msg_2"], "{records:?}");
    assert_eq!(
        records[0].value["id"],
        hookgate_domain::dedup::event_id(webhook_id(&hook), "msg_1").as_str()
    );
}

#[tokio::test]
async fn test_requests_neither_claim_nor_reuse_the_delivery_id() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "tested".into(),
                deduplication: Some(dedup("header:x-delivery", None)),
                ..Default::default()
            },
        )
        .await;
    let mut client = stack.client().await;
    let tested = client
        .test_webhook(pb::TestWebhookRequest {
            name: hook.name.clone(),
            method: "post".into(),
            headers: [("x-delivery".to_owned(), "d-9".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(
        tested.event_id,
        hookgate_domain::dedup::event_id(webhook_id(&hook), "d-9")
    );
    let real = http::post(&hook.url, &[("x-delivery", "d-9")], "x").await;
    assert_duplicate(&real, false);
    let records = stack.reader().read(2, Duration::from_secs(5));
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].value["test"], true);
    assert_eq!(records[0].value["data"]["deliveryKey"], "d-9");
    assert_eq!(records[1].value["test"], false);
}

/// A stack on a mock cluster whose deadline is 1 s, with one GitHub webhook that has
/// published once.
async fn on_mock_cluster(
    cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    db: &TestDb,
) -> (Stack, pb::Webhook) {
    let topic = kafka::unique_topic("dedup-mock");
    cluster.create_topic(&topic, 1, 1).expect("mock topic");
    let options = StackOptions {
        brokers: cluster.bootstrap_servers(),
        create_topics: false,
        topic,
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let stack = Stack::start(db, options).await;
    let hook = stack.create("acme", github_hook(dedup("", None))).await;
    assert_duplicate(&send_github(&hook, "warm-up", BODY).await, false);
    (stack, hook)
}

const BODY: &str = r#"{"zen":"keep it logically awesome"}"#;

/// Sends `delivery_id` until it is answered 2xx (only 503 before that).
async fn retry_until_success(hook: &pb::Webhook, delivery_id: &str) -> HttpReply {
    for _ in 0..60 {
        let reply = send_github(hook, delivery_id, BODY).await;
        if reply.status.is_success() {
            return reply;
        }
        assert_eq!(reply.status.as_u16(), 503, "{}", reply.text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{delivery_id} was never accepted");
}

fn delivery_keys(records: &[kafka::Record]) -> Vec<serde_json::Value> {
    records
        .iter()
        .map(|r| r.value["data"]["deliveryKey"].clone())
        .collect()
}

/// Kafka refused the record: the key is free and the provider's retry publishes.
#[tokio::test]
async fn a_refused_publish_frees_its_key() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let db = TestDb::sqlite();
    let (stack, hook) = on_mock_cluster(&cluster, &db).await;
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    let refused = send_github(&hook, "d-1", BODY).await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.text());
    let retried = retry_until_success(&hook, "d-1").await;
    assert_eq!(
        retried.header("hookgate-duplicate"),
        None,
        "the retry publishes"
    );
    assert_duplicate(&send_github(&hook, "d-1", BODY).await, true);
    let records = stack.reader().read(5, Duration::from_secs(3));
    assert_eq!(delivery_keys(&records), ["warm-up", "d-1"], "{records:?}");
}

/// Kafka was unreachable past the deadline (503), then took the record after all: the
/// claim waited for that verdict, so the retry is a duplicate, not a second record.
#[tokio::test]
async fn a_record_that_lands_after_its_503_makes_the_retry_a_duplicate() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let db = TestDb::sqlite();
    let (stack, hook) = on_mock_cluster(&cluster, &db).await;
    cluster.broker_down(1).expect("broker down");
    let failed = send_github(&hook, "d-1", BODY).await;
    assert_eq!(failed.status.as_u16(), 503, "{}", failed.text());
    assert!(failed.header("retry-after").is_some());
    cluster.broker_up(1).expect("broker up");
    let retried = retry_until_success(&hook, "d-1").await;
    assert_duplicate(&retried, true);
    let records = stack.reader().read(5, Duration::from_secs(3));
    assert_eq!(delivery_keys(&records), ["warm-up", "d-1"], "{records:?}");
}

/// Claims are written only for deduplicated webhooks whose requests carry a key.
#[tokio::test]
async fn only_deduplicated_deliveries_write_claims() {
    use sea_orm::{ConnectionTrait, Statement};
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let claims = || async {
        let store = db.store().await;
        let row = store
            .connection()
            .query_one(Statement::from_string(
                store.connection().get_database_backend(),
                "SELECT COUNT(*) AS n FROM delivery_claims",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let plain = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "plain".into(),
                ..Default::default()
            },
        )
        .await;
    let disabled = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "off".into(),
                deduplication: Some(pb::Deduplication {
                    enabled: false,
                    ..dedup("body", None)
                }),
                ..Default::default()
            },
        )
        .await;
    for hook in [&plain, &disabled] {
        for _ in 0..2 {
            assert_duplicate(&http::post(&hook.url, &[], "same").await, false);
        }
    }
    assert_eq!(claims().await, 0);
    let deduplicated = stack.create("acme", github_hook(dedup("", None))).await;
    assert_duplicate(&send_github(&deduplicated, "d-1", BODY).await, false);
    assert_eq!(claims().await, 1);
    assert_eq!(stack.reader().read(6, QUIET * 2).len(), 5);
}
