//! The gRPC management API: `hookgate.v1.WebhookService`, with server reflection and
//! `grpc.health.v1.Health` always served beside it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod auth;
mod convert;
mod mask;
mod page_token;
mod server;
mod service;
mod status;
mod test_request;

pub use auth::{Authorizer, ParseTokensError};
pub use server::{serve, serve_with_drain, ServeError, DEFAULT_DRAIN};
pub use service::WebhookApi;
pub use status::to_status;
