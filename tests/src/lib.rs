//! The test harness: every test runs the real server on `127.0.0.1:0` and talks to it
//! as a client would, once per storage backend.

pub mod alexa;
pub mod db;
pub mod delivery;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod proxy;
pub mod stack;
pub mod tansu;

pub use db::{for_each_backend, TestDb};
pub use grpc::ApiServer;
pub use stack::{Stack, StackOptions};
