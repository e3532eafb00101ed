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

/// librdkafka reads each value where the record keeps it, until the record's delivery
/// report: what the broker holds must be exactly what was published, for values it copies
/// into its requests (small ones) and for those it only points to (over 64 KiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_holds_every_value_exactly_as_published() {
    use rdkafka::{
        consumer::{BaseConsumer, Consumer},
        message::{Headers, Message},
        ClientConfig, Offset, TopicPartitionList,
    };
    let cluster = MockCluster::new(1).expect("mock cluster");
    let producer = Producer::new(&config(&cluster)).expect("producer");
    let value = |n: usize| {
        let size = [10, 900, 5_000, 70_000][n % 4];
        let fill = b'a' + (n % 26) as u8;
        let mut value = format!("{n}:").into_bytes();
        value.resize(size, fill);
        value
    };
    let requests: Vec<_> = (0..120)
        .map(|n| {
            let producer = producer.clone();
            let mut record = record(n);
            record.value = value(n);
            tokio::spawn(async move { producer.publish(record).await })
        })
        .collect();
    for request in requests {
        tokio::time::timeout(PATIENCE, request)
            .await
            .expect("a verdict in time")
            .expect("task")
            .expect("acknowledged");
    }
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "read-back")
        .create()
        .expect("consumer");
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(TOPIC, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&partitions).expect("assign");
    let mut seen = 0;
    let deadline = std::time::Instant::now() + PATIENCE;
    while seen < 120 && std::time::Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("message");
        let key = std::str::from_utf8(message.key().expect("key")).expect("utf-8 key");
        let n: usize = key
            .trim_start_matches("key-")
            .parse()
            .expect("numbered key");
        let read = message.payload().unwrap_or_default();
        assert!(
            read == value(n).as_slice(),
            "record {n}: {} bytes read differ from the {} published",
            read.len(),
            value(n).len()
        );
        let header = message.headers().expect("headers").get(0);
        assert_eq!(header.key, "ce_id");
        assert_eq!(header.value, Some(format!("event-{n}").as_bytes()));
        seen += 1;
    }
    assert_eq!(seen, 120, "every record read back");
}
