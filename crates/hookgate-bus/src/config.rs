//! Connection settings shared by the producer and the admin client.

use hookgate_domain::Secret;
use rdkafka::ClientConfig;
use std::time::Duration;

/// How hookgate talks to Kafka. Property values may be SASL passwords: their `Debug` is
/// redacted.
#[derive(Debug, Clone)]
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
    /// Extra librdkafka properties (SASL, TLS, …), applied last so they win.
    pub properties: Vec<(String, Secret)>,
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
            properties: Vec::new(),
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
