//! `wait_for_reply`: the request is held until a workflow answers on the reply topic.

use hookgate_proto::v1 as pb;
use hookgate_tests::{http, kafka, Stack, StackOptions, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

async fn reply(topic: &str, value: Value) {
    kafka::produce_json(topic, &value).await;
}

fn waiting(timeout_secs: i64) -> pb::Webhook {
    pb::Webhook {
        display_name: "waits".into(),
        wait_for_reply: true,
        reply_timeout: Some(prost_types::Duration {
            seconds: timeout_secs,
            nanos: 0,
        }),
        ..Default::default()
    }
}

// Multi-threaded: the blocking reader must not starve the server holding the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_workflow_reply_answers_the_request() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let hook = stack.create("acme", waiting(10)).await;
    let url = hook.url.clone();
    let request = tokio::spawn(async move {
        http::post(&url, &[("content-type", "application/json")], r#"{"q":1}"#).await
    });
    let record = stack.reader().one();
    let reply_id = record.value["data"]["replyId"]
        .as_str()
        .expect("replyId on the record")
        .to_owned();
    assert!(
        !request.is_finished(),
        "the request must wait for the reply"
    );
    reply(
        &stack.reply_topic(),
        json!({"replyId": "someone-else", "statusCode": 500, "body": "not mine"}),
    )
    .await;
    reply(
        &stack.reply_topic(),
        json!({
            "replyId": reply_id,
            "statusCode": 201,
            "headers": {"Content-Type": "text/csv", "X-Workflow": "done", "X-Content-Type-Options": "sniff-away", "Content-Security-Policy": "unsafe"},
            "body": "a,b\n1,2"
        }),
    )
    .await;
    reply(
        &stack.reply_topic(),
        json!({"replyId": reply_id, "statusCode": 202, "body": "second"}),
    )
    .await;
    let answer = tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(answer.status.as_u16(), 201);
    assert_eq!(answer.text(), "a,b\n1,2");
    assert_eq!(answer.header("content-type"), Some("text/csv"));
    assert_eq!(answer.header("x-workflow"), Some("done"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert_ne!(answer.header("content-security-policy"), Some("unsafe"));
}

#[tokio::test]
async fn no_reply_in_time_is_504() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let hook = stack.create("acme", waiting(1)).await;
    let started = std::time::Instant::now();
    let answer = http::post(&hook.url, &[], "x").await;
    assert_eq!(answer.status.as_u16(), 504);
    assert_eq!(
        answer.text(),
        r#"{"error":"Time out waiting for workflow reply"}"#
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    let record = stack.reader().one();
    assert!(
        record.value["data"]["replyId"].is_string(),
        "the trigger was published before waiting"
    );
}
