//! Requests whose Kafka record would be too large for Kafka: 413, never 503, nothing
//! published, and the producer unharmed for the next request.

use hookgate_proto::v1 as pb;
use hookgate_tests::{http, Stack, StackOptions, TestDb};
use std::time::Duration;

async fn webhook(stack: &Stack) -> String {
    stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "large records".into(),
                ..Default::default()
            },
        )
        .await
        .url
}

fn text(body: String) -> (Vec<(&'static str, &'static str)>, String) {
    (vec![("content-type", "text/plain")], body)
}

#[tokio::test]
async fn a_body_that_escapes_past_kafkas_limit_gets_413() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let url = webhook(&stack).await;
    // 200 KB is within the body limit, but each control character is six bytes of JSON.
    let (headers, body) = text("\u{1}".repeat(200_000));
    let refused = http::post(&url, &headers, body).await;
    assert_eq!(refused.status.as_u16(), 413, "{}", refused.text());
    assert!(
        refused.header("retry-after").is_none(),
        "retrying cannot help"
    );
    assert!(refused.text().contains("1000000"), "{}", refused.text());

    let (headers, body) = text("small".into());
    let fine = http::post(&url, &headers, body).await;
    assert_eq!(fine.status.as_u16(), 200, "{}", fine.text());
    let records = stack.reader().read(2, Duration::from_secs(3));
    let bodies: Vec<_> = records.iter().map(|r| &r.value["data"]["body"]).collect();
    assert_eq!(bodies, vec!["small"]);
}

#[tokio::test]
async fn the_record_limit_follows_its_setting() {
    let db = TestDb::sqlite();
    let options = StackOptions {
        max_record_bytes: 20_000,
        ..Default::default()
    };
    let stack = Stack::start(&db, options).await;
    let url = webhook(&stack).await;
    let (headers, body) = text("a".repeat(19_000));
    let fits = http::post(&url, &headers, body).await;
    assert_eq!(fits.status.as_u16(), 200, "{}", fits.text());
    let (headers, body) = text("a".repeat(20_000));
    let over = http::post(&url, &headers, body).await;
    assert_eq!(over.status.as_u16(), 413, "{}", over.text());
    assert_eq!(stack.reader().read(2, Duration::from_secs(3)).len(), 1);
}
