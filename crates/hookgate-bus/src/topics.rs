//! Creating the topics at start-up and checking them for readiness.

use crate::{BusError, KafkaConfig, Producer};
use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    types::RDKafkaErrorCode,
};
use std::time::Duration;

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates the trigger and reply topics when missing. A topic that exists is fine; one
/// that cannot be created is an error naming it.
pub async fn ensure_topics(config: &KafkaConfig) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config(&[])
        .create()
        .map_err(BusError::Config)?;
    let names = [config.trigger_topic.as_str(), config.reply_topic.as_str()];
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.topic_partitions,
                TopicReplication::Fixed(config.topic_replication),
            )
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(ADMIN_TIMEOUT))
        .request_timeout(Some(ADMIN_TIMEOUT));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|e| BusError::Topic {
            topic: names.join(", "),
            reason: format!("cannot create: {e}"),
        })?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(%topic, "topic created"),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(%topic, "topic exists")
            }
            Err((topic, code)) => {
                return Err(BusError::Topic {
                    topic,
                    reason: format!("cannot create: {code}"),
                })
            }
        }
    }
    Ok(())
}

/// Whether both topics exist with partitions, asked over the producer's connections.
pub async fn topics_ready(producer: &Producer, config: &KafkaConfig) -> Result<(), BusError> {
    for topic in [config.trigger_topic.clone(), config.reply_topic.clone()] {
        let client = producer.clone();
        let name = topic.clone();
        let metadata = tokio::task::spawn_blocking(move || {
            client.topic_metadata(&name, Duration::from_secs(3))
        })
        .await
        .map_err(|e| BusError::Topic {
            topic: topic.clone(),
            reason: e.to_string(),
        })?
        .map_err(|e| BusError::Topic {
            topic: topic.clone(),
            reason: format!("kafka unreachable: {e}"),
        })?;
        let found = metadata.topics().iter().find(|t| t.name() == topic);
        match found {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {}
            _ => {
                return Err(BusError::Topic {
                    topic,
                    reason: "missing".into(),
                })
            }
        }
    }
    Ok(())
}
