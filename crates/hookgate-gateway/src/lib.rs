//! The HTTP ingress. A request on `/webhooks/{token}` is looked up in memory (a snapshot of
//! every webhook that follows the database's change log), limited, verified, turned into a
//! trigger record and answered only once Kafka has acknowledged it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alexa;
mod config;
mod dedup;
mod events;
mod limiter;
mod metrics;
mod packed;
mod pipeline;
mod rejections;
mod response;
mod server;
mod snapshot;
mod tester;
mod trace;

pub use alexa::{AlexaVerifier, ChainFuture, ChainSource};
pub use config::GatewayConfig;
pub use dedup::{Deduplicator, DUPLICATE_HEADER};
pub use events::Reason;
pub use limiter::RateLimit;
pub use metrics::Metrics;
pub use pipeline::{IngressRequest, Outcome, Pipeline, Published};
pub use rejections::RejectionTopic;
pub use server::{serve, Gateway};
pub use snapshot::WebhookSnapshot;
pub use trace::export_request_spans;
