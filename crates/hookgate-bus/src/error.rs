use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("kafka client configuration: {0}")]
    Config(KafkaError),
    #[error("kafka did not acknowledge the record: {0}")]
    Publish(KafkaError),
    #[error("kafka read failed: {0}")]
    Consume(KafkaError),
    #[error("kafka client task failed: {0}")]
    Task(String),
    #[error("the record takes {size} bytes, more than the {limit} Kafka accepts")]
    RecordTooLarge { size: usize, limit: usize },
    #[error("topic {topic}: {reason}")]
    Topic { topic: String, reason: String },
}

impl From<BusError> for hookgate_domain::Error {
    fn from(err: BusError) -> Self {
        match err {
            BusError::Config(_) => Self::Internal(err.to_string()),
            BusError::RecordTooLarge { limit, .. } => Self::RecordTooLarge { limit },
            other => Self::Unavailable(other.to_string()),
        }
    }
}
