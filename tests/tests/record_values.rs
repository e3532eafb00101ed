//! Every record carries its own request's body, byte for byte, when many requests are in
//! flight at once: record buffers are reused, and librdkafka reads each value where the
//! record keeps it until the delivery report, so a buffer handed on too early would put
//! one request's body into another's record.

use hookgate_proto::v1 as pb;
use hookgate_tests::{http, Stack, StackOptions, TestDb};
use std::{collections::BTreeSet, num::NonZeroU32, time::Duration};

const REQUESTS: usize = 160;

/// A JSON body of one of four sizes, the largest over librdkafka's 64 KiB copy limit.
fn body(n: usize) -> String {
    let size = [16, 900, 5_000, 70_000][n % 4];
    let fill = char::from(b'a' + (n % 26) as u8);
    let pad = fill.to_string().repeat(size);
    format!(r#"{{"n":{n},"pad":"{pad}"}}"#)
}

#[tokio::test]
async fn each_record_holds_its_own_body_under_concurrency() {
    let db = TestDb::sqlite();
    let options = StackOptions {
        rate_limit: hookgate_gateway::RateLimit {
            requests: NonZeroU32::new(10_000).expect("non-zero"),
            window: Duration::from_secs(10),
        },
        ..Default::default()
    };
    let stack = Stack::start(&db, options).await;
    let url = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "concurrent bodies".into(),
                ..Default::default()
            },
        )
        .await
        .url;
    let requests: Vec<_> = (0..REQUESTS)
        .map(|n| {
            let url = url.clone();
            tokio::spawn(async move {
                let headers = [("content-type", "application/json")];
                http::post(&url, &headers, body(n)).await.status.as_u16()
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("request task"), 200);
    }
    let records = stack.reader().read(REQUESTS, Duration::from_secs(20));
    assert_eq!(records.len(), REQUESTS, "a record per 2xx");
    let mut numbers = BTreeSet::new();
    for record in &records {
        let n = record.value["data"]["body"]["n"]
            .as_u64()
            .expect("the body's number") as usize;
        let sent: serde_json::Value = serde_json::from_str(&body(n)).expect("json");
        assert!(
            record.value["data"]["body"] == sent,
            "record {n}: its body is not the one its request sent"
        );
        assert_eq!(record.headers["ce_id"], record.value["id"], "record {n}");
        numbers.insert(n);
    }
    assert_eq!(numbers.len(), REQUESTS, "every request's record, once");
}
