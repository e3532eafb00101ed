//! Where webhooks live: one schema on SQLite and PostgreSQL through sea-orm. Database
//! errors become domain errors here and nowhere else.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod change;
mod claims;
mod entity;
mod error;
mod m20261129_000003_verification;
mod m20261129_000004_deduplication;
pub mod migration;
mod store;

pub use change::Change;
pub use claims::{ClaimAttempt, ClaimRow};
pub use store::{Page, Store, CHANGE_RETENTION, DEFAULT_POOL};
