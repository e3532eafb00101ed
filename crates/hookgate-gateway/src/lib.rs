//! The HTTP ingress. A request on `/webhooks/{token}` is looked up in memory (a snapshot of
//! every webhook that follows the database's change log), limited, verified, turned into a trigger record and answered only once Kafka
//! has acknowledged it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alexa;
mod config;
mod limiter;
mod metrics;
mod pipeline;
mod response;
mod server;
mod snapshot;
mod trace;

pub use alexa::{AlexaVerifier, ChainFuture, ChainSource};
pub use config::GatewayConfig;
pub use limiter::RateLimit;
pub use metrics::Metrics;
pub use pipeline::{IngressRequest, Outcome, Pipeline, Published};
pub use server::{serve, Gateway};
pub use snapshot::WebhookSnapshot;
