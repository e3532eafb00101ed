//! Connection settings shared by the producer and the admin client.

use crate::BusMetrics;
use hookgate_domain::Secret;
use rdkafka::ClientConfig;
use std::time::Duration;

/// How hookgate talks to Kafka. Its `Debug` shows property names, not values, which may
/// be SASL passwords.
#[derive(Clone)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port,host:port`.
    pub brokers: String,
    /// Where trigger messages go.
    pub trigger_topic: String,
    /// Where workflow replies come from.
    pub reply_topic: String,
    /// Partitions of topics hookgate creates.
    pub topic_partitions: i32,
    /// Replication factor of topics hookgate creates.
    pub topic_replication: i32,
    /// librdkafka's `message.timeout.ms`: a record not acknowledged by then fails and its
    /// request is answered 503. A full local queue may add up to half of it before that.
    pub publish_timeout: Duration,
    /// The largest record, as Kafka's record format encodes it, that is published; larger
    /// ones are refused before they reach librdkafka (its `message.max.bytes` matches).
    pub max_record_bytes: usize,
    /// Extra librdkafka properties (SASL, TLS, …), applied last so they win.
    pub properties: Vec<(String, Secret)>,
    /// Where every client built from this configuration reports broker reachability.
    pub metrics: BusMetrics,
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let property_names: Vec<&str> = self.properties.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("trigger_topic", &self.trigger_topic)
            .field("reply_topic", &self.reply_topic)
            .field("topic_partitions", &self.topic_partitions)
            .field("topic_replication", &self.topic_replication)
            .field("publish_timeout", &self.publish_timeout)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("properties", &property_names)
            .finish()
    }
}

impl KafkaConfig {
    pub fn local(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            trigger_topic: "hookgate.triggers".into(),
            reply_topic: "hookgate.replies".into(),
            topic_partitions: 3,
            topic_replication: 1,
            publish_timeout: Duration::from_secs(10),
            // Kafka's own default for a record batch.
            max_record_bytes: 1_000_000,
            properties: Vec::new(),
            metrics: BusMetrics::default(),
        }
    }

    /// The common client configuration with the pass-through properties on top.
    pub(crate) fn client_config(&self, defaults: &[(&str, String)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in defaults {
            config.set(*key, value);
        }
        for (key, value) in &self.properties {
            config.set(key, value.expose());
        }
        config
    }
}
