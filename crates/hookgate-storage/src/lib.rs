//! Where webhooks live: one schema on SQLite and PostgreSQL through sea-orm. Database
//! errors become domain errors here and nowhere else.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod claims;
mod entity;
mod error;
pub mod migration;
mod migration_dedup;
mod store;

pub use claims::{ClaimAttempt, ClaimRow};
pub use store::{Page, Store};
