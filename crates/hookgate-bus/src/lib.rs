//! Kafka for hookgate: a producer whose `publish` resolves only once the brokers have
//! acknowledged the record (acks=all, idempotent), and start-up creation of the topics.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod consumer;
mod error;
mod gate;
mod memory;
mod metrics;
mod native;
mod producer;
mod replies;
mod reports;
mod topics;
mod watch;

pub use config::KafkaConfig;
pub use consumer::tail;
pub use error::BusError;
pub use metrics::BusMetrics;
pub use producer::{Delivery, Producer};
pub use replies::{PendingReply, ReplyRouter};
pub use topics::{ensure_topics, topics_ready};
