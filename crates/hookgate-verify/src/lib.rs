//! How hookgate decides a request is its sender's: the provider catalogue (one data entry
//! per provider, read by one engine), custom HMAC schemes, secret rotation, set-up
//! handshakes, basic authentication and Alexa's certificate chains. Nothing here does I/O:
//! Alexa's chains are downloaded by the caller.
//!
//! Without the default `engine` feature the crate is the catalogue and the write-time
//! rules only, with no signature crypto.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod catalogue;
pub mod custom;
mod providers;
pub mod rules;

#[cfg(feature = "engine")]
pub mod alexa;
#[cfg(feature = "engine")]
mod engine;
#[cfg(feature = "engine")]
pub mod handshake;
#[cfg(feature = "engine")]
mod request;
#[cfg(feature = "engine")]
mod verify;

#[cfg(all(test, feature = "engine"))]
mod tests;

pub use auth::{check_basic_auth, password_digest};
pub use catalogue::{find, providers, Provider};
pub use rules::validate;

#[cfg(feature = "engine")]
pub use request::SignedRequest;
#[cfg(feature = "engine")]
pub use verify::{verify, Verdict};
