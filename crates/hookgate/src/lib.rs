//! The hookgate application as a library: the binary and the integration tests build the
//! same [`App`] from the same [`Settings`], so tests exercise the wiring operators run.
#![forbid(unsafe_code)]

pub mod admin;
mod app;
pub mod client;
pub mod config;
pub mod runtime;
pub mod telemetry;

pub use app::{App, Overrides, Roles};
pub use config::Settings;
