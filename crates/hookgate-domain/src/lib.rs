//! The pure domain of hookgate: what a webhook is, which values are valid, how a
//! request is answered, and what the trigger record looks like. Verification lives in
//! `hookgate-verify`.
//! Nothing here does I/O.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod body;
mod buffers;
pub mod dedup;
pub mod error;
pub mod ingress;
pub mod names;
pub mod rejection;
pub mod reply;
pub mod secret;
pub mod tester;
pub mod token;
pub mod trigger;
pub mod webhook;

pub use error::{Error, ErrorKind, FieldViolation};
pub use names::{ApplicationName, WebhookName};
pub use secret::Secret;
pub use webhook::{
    HmacAlgorithm, HmacScheme, PreviousSecret, SignatureEncoding, VerificationType, Webhook,
    WebhookSpec,
};
