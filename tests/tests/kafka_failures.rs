//! Kafka failing under the gateway, simulated with librdkafka's in-process mock cluster:
//! the caller gets 503 with Retry-After and never a 2xx for a record that is not in Kafka.

use hookgate_proto::v1 as pb;
use hookgate_tests::{http, kafka, Stack, StackOptions, TestDb};
use rdkafka::{
    mocking::MockCluster,
    types::{RDKafkaApiKey, RDKafkaRespErr},
};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(1);

async fn stack_on(
    cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    db: &TestDb,
) -> Stack {
    let topic = kafka::unique_topic("mock");
    cluster.create_topic(&topic, 1, 1).expect("mock topic");
    let options = StackOptions {
        brokers: cluster.bootstrap_servers(),
        create_topics: false,
        topic,
        request_timeout: DEADLINE,
        ..Default::default()
    };
    Stack::start(db, options).await
}

async fn join_all<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut done = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        done.push(task.await.expect("request task"));
    }
    done
}

/// Waits up to 5 s for `line` in the stack's metrics.
async fn wait_for_metric(stack: &Stack, line: &str) {
    for _ in 0..50 {
        if stack.metrics_text().lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {line} in\n{}", stack.metrics_text());
}

/// A stack on a fresh mock cluster with one webhook that has published once.
async fn warmed_up() -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    TestDb,
    Stack,
    pb::Webhook,
) {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let db = TestDb::sqlite();
    let stack = stack_on(&cluster, &db).await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "mocked".into(),
                ..Default::default()
            },
        )
        .await;
    let warm = http::post(&hook.url, &[], "before").await;
    assert_eq!(warm.status.as_u16(), 200, "{}", warm.text());
    (cluster, db, stack, hook)
}

#[tokio::test]
async fn broker_down_gives_503_with_retry_after_and_recovers() {
    let (cluster, _db, stack, hook) = warmed_up().await;

    cluster.broker_down(1).expect("broker down");
    let failed = http::post(&hook.url, &[("content-type", "text/plain")], "during").await;
    assert_eq!(failed.status.as_u16(), 503, "{}", failed.text());
    assert!(failed.header("retry-after").is_some());
    assert_eq!(failed.header("x-content-type-options"), Some("nosniff"));
    assert!(failed.text().contains("error"));
    wait_for_metric(&stack, "hookgate_kafka_brokers_up{client=\"producer\"} 0").await;
    assert!(
        stack.producer.health().is_err(),
        "not ready during the outage"
    );

    cluster.broker_up(1).expect("broker up");
    let mut recovered = None;
    for _ in 0..20 {
        let reply = http::post(&hook.url, &[("content-type", "text/plain")], "after").await;
        if reply.status.is_success() {
            recovered = Some(reply);
            break;
        }
        assert_eq!(reply.status.as_u16(), 503, "only 503 while reconnecting");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered.is_some(),
        "the gateway did not recover after the broker came back"
    );
    wait_for_metric(&stack, "hookgate_kafka_brokers_up{client=\"producer\"} 1").await;
    let metrics = stack.metrics_text();
    assert!(
        metrics.contains("hookgate_kafka_broker_down_total{client=\"producer\"} 1"),
        "librdkafka's many reports are one outage: {metrics}"
    );

    let records = stack.reader().read(10, Duration::from_secs(3));
    let bodies: Vec<_> = records
        .iter()
        .map(|r| r.value["data"]["body"].clone())
        .collect();
    assert!(bodies.contains(&serde_json::json!("after")), "{bodies:?}");
    let successes = 2;
    assert!(
        !bodies.contains(&serde_json::json!("during")),
        "a request answered 503 must not be published after its deadline: {bodies:?}"
    );
    assert_eq!(records.len(), successes, "{bodies:?}");
}

#[tokio::test]
async fn a_broker_slower_than_the_deadline_gives_503() {
    let (cluster, _db, _stack, hook) = warmed_up().await;
    cluster
        .broker_round_trip_time(1, Duration::from_secs(3))
        .expect("slow broker");
    let started = std::time::Instant::now();
    let slow = http::post(&hook.url, &[], "slow").await;
    assert_eq!(slow.status.as_u16(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline, not the broker, decides: {:?}",
        started.elapsed()
    );
    assert!(slow.header("retry-after").is_some());
}

#[tokio::test]
async fn retriable_produce_errors_are_retried_without_duplicates() {
    let (cluster, _db, stack, hook) = warmed_up().await;
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 2],
    );
    let reply = http::post(&hook.url, &[("content-type", "text/plain")], "retried").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let records = stack.reader().read(10, Duration::from_secs(2));
    let retried = records
        .iter()
        .filter(|r| r.value["data"]["body"] == "retried")
        .count();
    assert_eq!(retried, 1, "idempotent retries publish exactly once");
}

#[tokio::test]
async fn a_producer_in_a_fatal_state_is_replaced() {
    let (cluster, _db, stack, hook) = warmed_up().await;
    // The head-of-line batch refused as out of order: librdkafka can no longer vouch for
    // ordering or once-ness, so the idempotent producer dies for good.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER],
    );
    let killed = http::post(&hook.url, &[("content-type", "text/plain")], "fatal").await;
    assert_eq!(killed.status.as_u16(), 503, "{}", killed.text());
    assert!(killed.header("retry-after").is_some());

    // Many requests meet the dead producer at once: one replacement, not one each.
    let burst = (0..8).map(|n| {
        let url = hook.url.clone();
        tokio::spawn(async move {
            let body = format!("burst-{n}");
            http::post(&url, &[("content-type", "text/plain")], body).await
        })
    });
    let mut answers = Vec::new();
    for reply in join_all(burst).await {
        let status = reply.status.as_u16();
        assert!(status == 200 || status == 503, "{}", reply.text());
        answers.push(status);
    }
    for attempt in 0..20 {
        let body = format!("after-{attempt}");
        let reply = http::post(&hook.url, &[("content-type", "text/plain")], body.clone()).await;
        answers.push(reply.status.as_u16());
        if reply.status.is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        answers.last(),
        Some(&200),
        "the dead producer was never replaced: {answers:?}"
    );
    assert!(stack.producer.health().is_ok(), "healthy once replaced");
    assert!(
        stack
            .metrics_text()
            .contains("hookgate_kafka_producer_replaced_total 1"),
        "{}",
        stack.metrics_text()
    );
    let records = stack.reader().read(10, Duration::from_secs(3));
    let bodies: Vec<_> = records
        .iter()
        .map(|r| r.value["data"]["body"].clone())
        .collect();
    let acknowledged = answers.iter().filter(|s| **s == 200).count() + 1;
    assert_eq!(records.len(), acknowledged, "{bodies:?}");
    assert!(!bodies.contains(&serde_json::json!("fatal")), "{bodies:?}");
}
