//! Plain readers of a whole topic: every partition, no consumer group.

use crate::{watch::BrokerWatch, BusError, KafkaConfig};
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    error::KafkaError,
    message::{Headers, Message},
    types::RDKafkaErrorCode,
    Offset, TopicPartitionList,
};
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};

/// The pause after a failed read, so a failing client does not spin.
pub(crate) const READ_RETRY: Duration = Duration::from_millis(200);

/// Whether a read error means this consumer can never read again.
pub(crate) fn is_fatal(error: &KafkaError) -> bool {
    matches!(error, KafkaError::MessageConsumptionFatal(_))
        || error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal)
}

/// Logs a failed read through `watch`: an outage once, anything else throttled.
pub(crate) fn report_read_error(watch: &BrokerWatch, error: &KafkaError) {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::AllBrokersDown) => watch.down(&error.to_string()),
        _ => watch.other_error(error, "read failed"),
    }
}

/// A consumer with nothing assigned yet.
pub(crate) fn reader(config: &KafkaConfig) -> Result<Arc<StreamConsumer>, BusError> {
    let consumer: StreamConsumer = config
        .client_config(&[
            // Required by librdkafka even without a group: nothing is ever committed.
            ("group.id", "hookgate-readers".into()),
            ("enable.auto.commit", "false".into()),
            ("fetch.wait.max.ms", "10".into()),
        ])
        .create()
        .map_err(BusError::Config)?;
    Ok(Arc::new(consumer))
}

/// A consumer assigned every partition of `topic` at `offset`.
pub(crate) async fn whole_topic(
    config: &KafkaConfig,
    topic: &str,
    offset: Offset,
) -> Result<Arc<StreamConsumer>, BusError> {
    let fail = |reason: String| BusError::Topic {
        topic: topic.to_owned(),
        reason,
    };
    let consumer = reader(config)?;
    let for_metadata = consumer.clone();
    let name = topic.to_owned();
    let metadata = tokio::task::spawn_blocking(move || {
        for_metadata.fetch_metadata(Some(&name), Duration::from_secs(10))
    })
    .await
    .map_err(|e| fail(e.to_string()))?
    .map_err(|e| fail(format!("kafka unreachable: {e}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions())
        .map(|p| p.id())
        .collect();
    let offsets = match offset {
        // `End` would be resolved later, in the background: a record written meanwhile
        // would fall before it and be missed. Asking for the ends now pins them.
        Offset::End => {
            let for_watermarks = consumer.clone();
            let (name, ids) = (topic.to_owned(), partitions.clone());
            tokio::task::spawn_blocking(move || {
                ids.iter()
                    .map(|&id| {
                        for_watermarks
                            .fetch_watermarks(&name, id, Duration::from_secs(10))
                            .map(|(_, high)| Offset::Offset(high))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| fail(e.to_string()))?
            .map_err(|e| fail(format!("kafka unreachable: {e}")))?
        }
        other => vec![other; partitions.len()],
    };
    let mut assignment = TopicPartitionList::new();
    for (partition, offset) in partitions.into_iter().zip(offsets) {
        assignment
            .add_partition_offset(topic, partition, offset)
            .map_err(|e| fail(e.to_string()))?;
    }
    if assignment.count() == 0 {
        return Err(fail("missing".into()));
    }
    consumer
        .assign(&assignment)
        .map_err(|e| fail(e.to_string()))?;
    Ok(consumer)
}

/// Prints each record of `topic` to `emit` as one JSON object, forever.
pub async fn tail(
    config: &KafkaConfig,
    topic: &str,
    from_beginning: bool,
    mut emit: impl FnMut(Value),
) -> Result<(), BusError> {
    let offset = if from_beginning {
        Offset::Beginning
    } else {
        Offset::End
    };
    let consumer = whole_topic(config, topic, offset).await?;
    let watch = BrokerWatch::new("tail", config.metrics.clone());
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(error) if is_fatal(&error) => return Err(BusError::Consume(error)),
            Err(error) => {
                report_read_error(&watch, &error);
                tokio::time::sleep(READ_RETRY).await;
                continue;
            }
        };
        watch.up();
        let headers: Map<String, Value> = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            Value::String(
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let payload = message.payload().unwrap_or_default();
        let value = serde_json::from_slice(payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
        emit(json!({
            "topic": message.topic(),
            "partition": message.partition(),
            "offset": message.offset(),
            "key": message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            "headers": headers,
            "value": value,
        }));
    }
}
