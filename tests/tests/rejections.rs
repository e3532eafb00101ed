//! Why was it refused? `hookgate_ingress_rejected_total{reason}` and the records on
//! `HOOKGATE_REJECTION_TOPIC`, read back from the broker.

use hookgate_gateway::RateLimit;
use hookgate_proto::v1::{self as pb, VerificationType};
use hookgate_tests::{http, kafka, Stack, StackOptions, TestDb};
use std::{num::NonZeroU32, time::Duration};

async fn stack_with_rejections(options: StackOptions) -> (Stack, TestDb, kafka::Reader) {
    let db = TestDb::sqlite();
    let topic = kafka::unique_topic("rejections");
    let stack = Stack::start(
        &db,
        StackOptions {
            rejection_topic: Some(topic.clone()),
            ..options
        },
    )
    .await;
    let reader = kafka::Reader::new(&kafka::brokers(), &topic);
    (stack, db, reader)
}

fn webhook(name: &str) -> pb::Webhook {
    pb::Webhook {
        display_name: name.into(),
        ..Default::default()
    }
}

/// The value of `name{labels}` in the stack's Prometheus text, 0 when absent.
fn metric(stack: &Stack, name_and_labels: &str) -> u64 {
    stack
        .metrics_text()
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0)
}

/// `metric` once it reaches `expected`, or its last value after a few seconds: a record
/// can be read from the broker a moment before its delivery report is counted.
async fn metric_reaching(stack: &Stack, name_and_labels: &str, expected: u64) -> u64 {
    for _ in 0..50 {
        let value = metric(stack, name_and_labels);
        if value == expected {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    metric(stack, name_and_labels)
}

// Rejection records are published in the background, where a record waits at the
// producer's gate until an earlier one is settled; the readers in these tests block
// their thread, so the runtime needs another to settle them on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_reaches_the_topic_and_the_counter() {
    let (stack, _db, rejections) = stack_with_rejections(StackOptions::default()).await;
    let guarded = stack
        .create(
            "acme",
            pb::Webhook {
                basic_auth_username: "ops".into(),
                basic_auth_password: "hunter2".into(),
                ..webhook("guarded")
            },
        )
        .await;
    let wrong = http::post(
        &format!("{}/sub?x=1", guarded.url),
        &[
            ("authorization", "Basic b3BzOndyb25n"),
            ("content-type", "application/json"),
        ],
        r#"{"secret":"body"}"#,
    )
    .await;
    assert_eq!(wrong.status.as_u16(), 401);

    let record = rejections.one();
    assert_eq!(record.headers["ce_type"], "io.hookgate.webhook.rejected");
    assert_eq!(record.headers["ce_source"], format!("/{}", guarded.name));
    let data = &record.value["data"];
    assert_eq!(data["reason"], "basic_auth");
    assert_eq!(data["method"], "post");
    assert_eq!(data["path"], "/sub");
    assert_eq!(data["query"]["x"], "1");
    assert!(data.get("body").is_none(), "{data}");
    assert!(data["headers"].get("authorization").is_none(), "{data}");
    assert!(!String::from_utf8_lossy(&record.raw_value).contains("hunter2"));
    assert_eq!(
        metric(
            &stack,
            r#"hookgate_ingress_rejected_total{reason="basic_auth"}"#
        ),
        1
    );

    // A bad signature says so; an unknown token is counted but names no webhook to record.
    let signed = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Github as i32,
                signing_secret: "gh-secret".into(),
                ..webhook("signed")
            },
        )
        .await;
    let forged = http::post(&signed.url, &[("x-hub-signature-256", "sha256=00")], "{}").await;
    assert_eq!(forged.status.as_u16(), 401);
    let unknown = format!("http://{}/webhooks/no-such-token", stack.http_addr);
    assert_eq!(http::post(&unknown, &[], "{}").await.status.as_u16(), 404);
    // The reader goes on after the record read above.
    let records = rejections.read(2, Duration::from_secs(5));
    let reasons: Vec<&str> = records
        .iter()
        .filter_map(|record| record.value["data"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["signature"]);
    assert_eq!(
        metric(
            &stack,
            r#"hookgate_ingress_rejected_total{reason="signature"}"#
        ),
        1
    );
    assert_eq!(
        metric(
            &stack,
            r#"hookgate_ingress_rejected_total{reason="not_found"}"#
        ),
        1
    );
    let published = r#"hookgate_rejection_records_total{outcome="published"}"#;
    assert_eq!(metric_reaching(&stack, published, 2).await, 2);
    stack.reader().assert_none(Duration::from_millis(500));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refusals_cannot_fill_the_topic() {
    let options = StackOptions {
        rate_limit: RateLimit {
            requests: NonZeroU32::new(3).unwrap(),
            window: Duration::from_secs(60),
        },
        ..StackOptions::default()
    };
    let (stack, _db, rejections) = stack_with_rejections(options).await;
    let hook = stack.create("acme", webhook("flooded")).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(http::post(&hook.url, &[], "{}").await.status.as_u16());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 3);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 22);
    assert_eq!(
        metric(
            &stack,
            r#"hookgate_ingress_rejected_total{reason="rate_limit"}"#
        ),
        22
    );
    // Ten records per webhook per ten seconds; the rest are only counted.
    let records = rejections.read(11, Duration::from_secs(5));
    assert_eq!(records.len(), 10);
    assert!(records
        .iter()
        .all(|record| record.value["data"]["reason"] == "rate_limit"));
    assert_eq!(
        metric(
            &stack,
            r#"hookgate_rejection_records_total{outcome="rate_limited"}"#
        ),
        12
    );
    stack.stop().await;
}
