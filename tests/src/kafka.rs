//! Reading trigger records back from the broker.

use rdkafka::{
    consumer::{BaseConsumer, Consumer},
    message::{Headers, Message},
    producer::{FutureProducer, FutureRecord},
    util::Timeout,
    ClientConfig, Offset, TopicPartitionList,
};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// The broker the tests publish to; override with `HOOKGATE_TEST_KAFKA_BROKERS`.
pub fn brokers() -> String {
    std::env::var("HOOKGATE_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A fresh topic name, so tests never see each other's records.
pub fn unique_topic(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Publishes `value` to `topic`, as a workflow engine replying would.
pub async fn produce_json(topic: &str, value: &serde_json::Value) {
    produce_json_to(&brokers(), topic, value).await;
}

/// [`produce_json`] to another broker than the shared one.
pub async fn produce_json_to(brokers: &str, topic: &str, value: &serde_json::Value) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::<(), _>::to(topic).payload(&value.to_string()),
            Timeout::After(Duration::from_secs(5)),
        )
        .await
        .expect("record published");
}

/// Creates `topic` (one partition) on the shared broker.
pub async fn create_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

/// One record as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: String,
    pub headers: BTreeMap<String, String>,
    pub value: serde_json::Value,
    /// The value's bytes as stored, for checks that parsing would blur.
    pub raw_value: Vec<u8>,
    pub partition: i32,
    pub offset: i64,
}

/// Reads partition 0 of `topic` from the start.
pub struct Reader {
    consumer: BaseConsumer,
}

impl Reader {
    pub fn new(brokers: &str, topic: &str) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set(
                "group.id",
                format!("hookgate-test-{}", uuid::Uuid::new_v4().simple()),
            )
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("consumer");
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, 0, Offset::Beginning)
            .expect("assignment");
        consumer.assign(&assignment).expect("assign");
        Self { consumer }
    }

    /// How many records there are, read until none arrives for `idle`.
    pub fn count_all(&self, idle: Duration) -> u64 {
        let mut count = 0;
        let mut last_seen = Instant::now();
        while last_seen.elapsed() < idle {
            if let Some(Ok(_)) = self.consumer.poll(Duration::from_millis(100)) {
                count += 1;
                last_seen = Instant::now();
            }
        }
        count
    }

    /// Up to `count` records, waiting at most `wait` in all.
    pub fn read(&self, count: usize, wait: Duration) -> Vec<Record> {
        let deadline = Instant::now() + wait;
        let mut records = Vec::new();
        while records.len() < count && Instant::now() < deadline {
            let Some(message) = self.consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let Ok(message) = message else { continue };
            let headers = message
                .headers()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            records.push(Record {
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                headers,
                value: serde_json::from_slice(message.payload().unwrap_or_default())
                    .expect("record value is JSON"),
                raw_value: message.payload().unwrap_or_default().to_vec(),
                partition: message.partition(),
                offset: message.offset(),
            });
        }
        records
    }

    /// Exactly one record; fails the test otherwise.
    pub fn one(&self) -> Record {
        let mut records = self.read(1, Duration::from_secs(10));
        assert_eq!(records.len(), 1, "expected one record");
        records.remove(0)
    }

    /// Asserts that no record arrives within `wait`.
    pub fn assert_none(&self, wait: Duration) {
        let records = self.read(1, wait);
        assert!(records.is_empty(), "expected no record, got {:?}", records);
    }
}
