//! Publishing trigger records with broker acknowledgement.

use crate::{BusError, KafkaConfig};
use hookgate_domain::trigger::TriggerRecord;
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord, Producer as _},
    util::Timeout,
};
use std::time::Duration;

/// Where an acknowledged record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// An idempotent, acks=all producer for the trigger topic. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    topic: String,
    timeout: Duration,
}

impl Producer {
    pub fn new(config: &KafkaConfig) -> Result<Self, BusError> {
        let timeout_ms = config.publish_timeout.as_millis().max(1).to_string();
        let inner = config
            .client_config(&[
                ("enable.idempotence", "true".into()),
                ("acks", "all".into()),
                // Batches fill for a few ms under load; a lone request waits at most this long.
                ("linger.ms", "2".into()),
                ("compression.type", "lz4".into()),
                // The bounded queue: when it is full, `send` waits (backpressure) for up to
                // half the request deadline rather than failing at once.
                ("queue.buffering.max.messages", "100000".into()),
                ("queue.buffering.max.kbytes", "262144".into()),
                ("message.timeout.ms", timeout_ms),
            ])
            .create()
            .map_err(BusError::Config)?;
        Ok(Self {
            inner,
            topic: config.trigger_topic.clone(),
            timeout: config.publish_timeout,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Resolves once the brokers hold the record, or fails; never both, never neither.
    pub async fn publish(&self, record: &TriggerRecord) -> Result<Delivery, BusError> {
        let headers = record.headers.iter().fold(
            OwnedHeaders::new_with_capacity(record.headers.len()),
            |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                })
            },
        );
        let message = FutureRecord::to(&self.topic)
            .key(record.key.as_bytes())
            .payload(&record.value)
            .headers(headers);
        // No timer of our own around the delivery: librdkafka fails a queued record once
        // `message.timeout.ms` (the request deadline) has passed, so the delivery report is
        // the one verdict, and a record is never acknowledged after we have answered 503.
        match self
            .inner
            .send(message, Timeout::After(self.timeout / 2))
            .await
        {
            Err((error, _)) => Err(BusError::Publish(error)),
            Ok(delivery) => Ok(Delivery {
                topic: self.topic.clone(),
                partition: delivery.partition,
                offset: delivery.offset,
            }),
        }
    }

    /// Records queued or awaiting acknowledgement.
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// Waits for every queued record to be acknowledged, for shutdown.
    pub async fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        let producer = self.inner.clone();
        tokio::task::spawn_blocking(move || producer.flush(Timeout::After(timeout)))
            .await
            .map_err(|error| BusError::Task(error.to_string()))?
            .map_err(BusError::Publish)
    }

    /// Blocking metadata request for one topic, over this producer's connections.
    pub(crate) fn topic_metadata(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> rdkafka::error::KafkaResult<rdkafka::metadata::Metadata> {
        self.inner.client().fetch_metadata(Some(topic), timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_scram_properties_are_accepted() {
        let config = KafkaConfig {
            properties: [
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanisms", "SCRAM-SHA-512"),
                ("sasl.username", "hookgate"),
                ("sasl.password", "secret"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect(),
            ..KafkaConfig::local("127.0.0.1:1")
        };
        assert!(
            Producer::new(&config).is_ok(),
            "librdkafka must be built with TLS and SASL"
        );
    }

    #[test]
    fn unknown_properties_are_a_configuration_error() {
        let config = KafkaConfig {
            properties: vec![("no.such.property".to_owned(), "1".into())],
            ..KafkaConfig::local("127.0.0.1:1")
        };
        assert!(matches!(Producer::new(&config), Err(BusError::Config(_))));
    }
}
