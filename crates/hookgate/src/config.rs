//! Every setting, as a flag and an environment variable. The doc comments are the
//! user documentation printed by `hookgate --help`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(
    name = "hookgate",
    version,
    about = "Turns inbound webhooks into Kafka events"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: migrations, gRPC API, HTTP ingress, admin endpoint.
    Serve(Settings),
    /// gRPC management API and admin endpoint only.
    Api(Settings),
    /// Apply database migrations and exit.
    Migrate(Settings),
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// SQLite file (`sqlite://hookgate.db?mode=rwc`) or `postgres://…`.
    #[arg(
        long,
        env = "HOOKGATE_DATABASE_URL",
        value_name = "HOOKGATE_DATABASE_URL",
        default_value = "sqlite://hookgate.db?mode=rwc"
    )]
    pub database_url: String,

    /// gRPC listen address.
    #[arg(
        long,
        env = "HOOKGATE_GRPC_ADDR",
        value_name = "HOOKGATE_GRPC_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub grpc_addr: SocketAddr,

    /// `/metrics`, `/healthz` and `/readyz` listen address.
    #[arg(
        long,
        env = "HOOKGATE_ADMIN_ADDR",
        value_name = "HOOKGATE_ADMIN_ADDR",
        default_value = "127.0.0.1:9090"
    )]
    pub admin_addr: SocketAddr,

    /// Base of every webhook URL handed out.
    #[arg(long, env = "HOOKGATE_PUBLIC_URL", value_name = "HOOKGATE_PUBLIC_URL", default_value = "http://127.0.0.1:8080", value_parser = parse_public_url)]
    pub public_url: String,

    /// API bearer tokens and their applications: `TOKEN=app1,app2;OTHER=*`. Empty leaves the API
    /// open, which is only allowed on a loopback address.
    #[arg(
        long,
        env = "HOOKGATE_API_TOKENS",
        value_name = "HOOKGATE_API_TOKENS",
        default_value = "",
        hide_env_values = true
    )]
    pub api_tokens: String,

    /// Tracing filter, in `RUST_LOG` syntax.
    #[arg(
        long,
        env = "HOOKGATE_LOG",
        value_name = "HOOKGATE_LOG",
        default_value = "info"
    )]
    pub log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "HOOKGATE_LOG_FORMAT", value_name = "HOOKGATE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let trimmed = value.trim_end_matches('/');
    let valid = (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
        && trimmed
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some() && u.query().is_none());
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err("must be an absolute http:// or https:// URL without a query".into())
    }
}
