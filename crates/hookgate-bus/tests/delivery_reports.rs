//! Delivery reports reach `publish` whether the producer was built inside a tokio runtime
//! (a task serves them, woken by librdkafka) or outside one (a thread polls for them), and
//! each request gets its own record's verdict.

use hookgate_bus::{KafkaConfig, Producer};
use hookgate_domain::trigger::TriggerRecord;
use rdkafka::mocking::MockCluster;
use std::{collections::BTreeSet, time::Duration};

const TOPIC: &str = "reports";
const PATIENCE: Duration = Duration::from_secs(20);

fn record(n: usize) -> TriggerRecord {
    TriggerRecord {
        key: format!("key-{n}"),
        headers: vec![("ce_id", format!("event-{n}").into())],
        value: format!(r#"{{"n":{n}}}"#).into_bytes(),
        event_id: format!("event-{n}"),
    }
}

fn config(
    cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
) -> KafkaConfig {
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    KafkaConfig {
        trigger_topic: TOPIC.into(),
        ..KafkaConfig::local(cluster.bootstrap_servers())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_records_offset() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let producer = Producer::new(&config(&cluster)).expect("producer");
    let requests: Vec<_> = (0..300)
        .map(|n| {
            let producer = producer.clone();
            tokio::spawn(async move { producer.publish(record(n)).await })
        })
        .collect();
    let mut offsets = BTreeSet::new();
    for request in requests {
        let delivery = tokio::time::timeout(PATIENCE, request)
            .await
            .expect("a verdict in time")
            .expect("task")
            .expect("acknowledged");
        assert_eq!((&*delivery.topic, delivery.partition), (TOPIC, 0));
        assert!(
            offsets.insert(delivery.offset),
            "offset {} twice",
            delivery.offset
        );
    }
    assert_eq!(
        offsets,
        (0..300).collect(),
        "every record once, in one partition"
    );
}

#[test]
fn a_producer_built_outside_a_runtime_still_hears_its_verdicts() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let producer = Producer::new(&config(&cluster)).expect("producer");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let offsets: Vec<i64> = runtime.block_on(async {
        let mut offsets = Vec::new();
        for n in 0..3 {
            let delivery = tokio::time::timeout(PATIENCE, producer.publish(record(n)))
                .await
                .expect("a verdict in time")
                .expect("acknowledged");
            offsets.push(delivery.offset);
        }
        offsets
    });
    assert_eq!(offsets, [0, 1, 2]);
}
