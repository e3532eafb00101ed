//! `wait_for_reply`: the request is held until a workflow answers on the reply topic.

use bytes::Bytes;
use hookgate_bus::{KafkaConfig, Producer, ReplyRouter};
use hookgate_domain::WebhookSpec;
use hookgate_gateway::{GatewayConfig, IngressRequest, Metrics, Pipeline};
use hookgate_proto::v1 as pb;
use hookgate_tests::{
    http::{self, HttpReply},
    kafka, Stack, StackOptions, TestDb,
};
use serde_json::{json, Value};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::task::JoinHandle;

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
    let answer = answer_of(request).await;
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

/// Posts to `url` in the background; returns the request and the `replyId` its record
/// carries once published.
async fn held(url: &str, reader: &kafka::Reader) -> (JoinHandle<HttpReply>, String) {
    let url = url.to_owned();
    let request = tokio::spawn(async move { http::post(&url, &[], "held").await });
    let record = reader.one();
    let reply_id = record.value["data"]["replyId"].as_str().expect("replyId");
    (request, reply_id.to_owned())
}

async fn answer_of(request: JoinHandle<HttpReply>) -> HttpReply {
    tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("answered")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_requests_beyond_the_cap_get_503_and_publish_nothing() {
    let db = TestDb::sqlite();
    let options = StackOptions {
        max_waiting_requests: 1,
        ..Default::default()
    };
    let stack = Stack::start(&db, options).await;
    let hook = stack.create("acme", waiting(10)).await;
    let reader = stack.reader();
    let (first, reply_id) = held(&hook.url, &reader).await;

    let refused = http::post(&hook.url, &[], "second").await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    reader.assert_none(Duration::from_secs(1));
    let counted = "hookgate_ingress_rejected_total{reason=\"waiting_full\"} 1";
    assert!(
        stack.metrics_text().lines().any(|line| line == counted),
        "{}",
        stack.metrics_text()
    );

    // Once the first is answered, the slot is free again.
    reply(
        &stack.reply_topic(),
        json!({"replyId": reply_id, "statusCode": 200}),
    )
    .await;
    assert_eq!(answer_of(first).await.status.as_u16(), 200);
    let (third, reply_id) = held(&hook.url, &reader).await;
    reply(
        &stack.reply_topic(),
        json!({"replyId": reply_id, "statusCode": 202}),
    )
    .await;
    assert_eq!(answer_of(third).await.status.as_u16(), 202);
}

/// A body that says when it has been dropped.
struct TrackedBody {
    bytes: Vec<u8>,
    dropped: Arc<AtomicBool>,
}

impl AsRef<[u8]> for TrackedBody {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_request_does_not_keep_its_body() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let webhook = store
        .create(
            "acme",
            WebhookSpec {
                display_name: "waits".into(),
                wait_for_reply: true,
                reply_timeout: Duration::from_secs(10),
                ..WebhookSpec::default()
            },
        )
        .await
        .unwrap();
    let topic = kafka::unique_topic("bodies");
    let config = KafkaConfig {
        trigger_topic: topic.clone(),
        reply_topic: format!("{topic}-replies"),
        topic_partitions: 1,
        ..KafkaConfig::local(kafka::brokers())
    };
    hookgate_bus::ensure_topics(&config).await.unwrap();
    let replies = ReplyRouter::start(&config).await.unwrap();
    let metrics = Metrics::new(&mut prometheus_client::registry::Registry::default());
    let pipeline = Pipeline::new(
        Producer::new(&config).unwrap(),
        &GatewayConfig::new("http://hooks.example.test"),
        metrics,
    )
    .with_replies(replies);

    let dropped = Arc::new(AtomicBool::new(false));
    let body = Bytes::from_owner(TrackedBody {
        bytes: vec![b'x'; 100_000],
        dropped: dropped.clone(),
    });
    let request = IngressRequest {
        method: ::http::Method::POST,
        path: "/".into(),
        query: None,
        headers: ::http::HeaderMap::new(),
        body,
        remote_address: None,
        url: webhook.url("http://hooks.example.test"),
    };
    let handling = tokio::spawn(async move { pipeline.handle(&webhook, request, false).await });
    let reader = kafka::Reader::new(&kafka::brokers(), &topic);
    let record = tokio::task::spawn_blocking(move || reader.one())
        .await
        .unwrap();
    let reply_id = record.value["data"]["replyId"].as_str().unwrap().to_owned();
    // Published, not yet answered: the body must already be gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !dropped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!handling.is_finished(), "still waiting for the reply");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the body is held while waiting for the reply"
    );
    reply(
        &format!("{topic}-replies"),
        json!({"replyId": reply_id, "statusCode": 200, "body": "ok"}),
    )
    .await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), handling)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(outcome.response.status().as_u16(), 200);
}
