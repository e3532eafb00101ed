//! Plain readers of a whole topic: every partition, no consumer group.

use crate::{BusError, KafkaConfig};
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    message::{Headers, Message},
    Offset, TopicPartitionList,
};
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};

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
    let consumer: StreamConsumer = config
        .client_config(&[
            // Required by librdkafka even without a group: nothing is ever committed.
            ("group.id", "hookgate-readers".into()),
            ("enable.auto.commit", "false".into()),
            ("fetch.wait.max.ms", "10".into()),
        ])
        .create()
        .map_err(BusError::Config)?;
    let consumer = Arc::new(consumer);
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
    loop {
        let message = consumer.recv().await.map_err(BusError::Consume)?;
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
