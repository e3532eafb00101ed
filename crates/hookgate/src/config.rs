//! Every setting, as a flag and an environment variable. The doc comments are the
//! user documentation printed by `hookgate --help`.

use clap::{Args, Parser, Subcommand};
use hookgate_bus::KafkaConfig;
use hookgate_domain::Secret;
use std::{net::SocketAddr, time::Duration};

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
    /// HTTP ingress and admin endpoint only (read-mostly; scales out).
    Gateway(Settings),
    /// Apply database migrations and exit.
    Migrate(Settings),
    /// Print trigger records as JSON lines as they arrive (Ctrl-C to stop).
    Tail(TailArgs),
    #[command(flatten)]
    Client(crate::client::Command),
}

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// Start at the oldest record instead of the newest.
    #[arg(long)]
    pub from_beginning: bool,
    /// Read this topic instead of the trigger topic (e.g. the reply topic).
    #[arg(long)]
    pub topic: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// SQLite file (`sqlite://hookgate.db?mode=rwc`) or `postgres://…`.
    #[arg(
        long,
        env = "HOOKGATE_DATABASE_URL",
        value_name = "HOOKGATE_DATABASE_URL",
        default_value = "sqlite://hookgate.db?mode=rwc",
        // A PostgreSQL URL may hold a password.
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// Most database connections this process opens. Replicas times this must stay below the
    /// server's limit (PostgreSQL's default max_connections is 100). Gateways need one or two:
    /// they serve requests from memory.
    #[arg(long, env = "HOOKGATE_DATABASE_POOL", value_name = "HOOKGATE_DATABASE_POOL", default_value_t = hookgate_storage::DEFAULT_POOL, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool: u32,

    /// gRPC listen address.
    #[arg(
        long,
        env = "HOOKGATE_GRPC_ADDR",
        value_name = "HOOKGATE_GRPC_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub grpc_addr: SocketAddr,

    /// Ingress listen address.
    #[arg(
        long,
        env = "HOOKGATE_HTTP_ADDR",
        value_name = "HOOKGATE_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,

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
    pub api_tokens: Secret,

    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "HOOKGATE_KAFKA_BROKERS",
        value_name = "HOOKGATE_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub kafka_brokers: String,

    /// Topic trigger messages are published to.
    #[arg(long, env = "HOOKGATE_TRIGGER_TOPIC", value_name = "HOOKGATE_TRIGGER_TOPIC", default_value = "hookgate.triggers", value_parser = parse_topic)]
    pub trigger_topic: String,

    /// Topic workflow replies are read from.
    #[arg(long, env = "HOOKGATE_REPLY_TOPIC", value_name = "HOOKGATE_REPLY_TOPIC", default_value = "hookgate.replies", value_parser = parse_topic)]
    pub reply_topic: String,

    /// Topic that gets one record per refused request of a known webhook (its reason, no
    /// body), rate-limited; empty turns it off.
    #[arg(long, env = "HOOKGATE_REJECTION_TOPIC", value_name = "HOOKGATE_REJECTION_TOPIC", default_value = "", value_parser = parse_optional_topic)]
    pub rejection_topic: String,

    /// Partitions of the topics hookgate creates when they are missing.
    #[arg(long, env = "HOOKGATE_TOPIC_PARTITIONS", value_name = "HOOKGATE_TOPIC_PARTITIONS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=10000))]
    pub topic_partitions: i32,

    /// Replication factor of the topics hookgate creates when they are missing.
    #[arg(long, env = "HOOKGATE_TOPIC_REPLICATION", value_name = "HOOKGATE_TOPIC_REPLICATION", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=32))]
    pub topic_replication: i32,

    /// Extra librdkafka property, `key=value`; repeatable. Environment form:
    /// `HOOKGATE_KAFKA_PROP_<key>=<value>`, e.g. `HOOKGATE_KAFKA_PROP_security.protocol=SASL_SSL`
    /// or `HOOKGATE_KAFKA_PROP_SECURITY_PROTOCOL=SASL_SSL` (upper case: `_` becomes `.`).
    #[arg(long = "kafka-prop", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub kafka_props: Vec<(String, Secret)>,

    /// Deadline for Kafka to acknowledge a trigger record; past it the request gets 503.
    #[arg(long, env = "HOOKGATE_REQUEST_TIMEOUT", value_name = "HOOKGATE_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Bodies larger than this get 413.
    #[arg(long, env = "HOOKGATE_MAX_BODY_BYTES", value_name = "HOOKGATE_MAX_BODY_BYTES", default_value_t = 262_144, value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    pub max_body_bytes: u64,

    /// Requests whose Kafka record (value, key and headers as Kafka encodes them) would be
    /// larger than this get 413; the producer's `message.max.bytes` is set to match.
    #[arg(long, env = "HOOKGATE_MAX_RECORD_BYTES", value_name = "HOOKGATE_MAX_RECORD_BYTES", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1000..=1_000_000_000))]
    pub max_record_bytes: u64,

    /// Request line plus headers larger than this get 431 (at least 8192).
    #[arg(long, env = "HOOKGATE_MAX_HEADER_BYTES", value_name = "HOOKGATE_MAX_HEADER_BYTES", default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(8192..=1_048_576))]
    pub max_header_bytes: u64,

    /// Time a client has to send its request headers.
    #[arg(long, env = "HOOKGATE_HEADER_TIMEOUT", value_name = "HOOKGATE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// Time a client has to send its whole body (408 after it).
    #[arg(long, env = "HOOKGATE_BODY_TIMEOUT", value_name = "HOOKGATE_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Requests each webhook may receive per `HOOKGATE_RATE_LIMIT_WINDOW` (per gateway process).
    #[arg(
        long,
        env = "HOOKGATE_RATE_LIMIT_REQUESTS",
        value_name = "HOOKGATE_RATE_LIMIT_REQUESTS",
        default_value = "100",
        // Memory no longer depends on it (a fixed set of counters per webhook); a million
        // per window is already beyond what one process can take.
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub rate_limit_requests: u32,

    /// The window of `HOOKGATE_RATE_LIMIT_REQUESTS`.
    #[arg(long, env = "HOOKGATE_RATE_LIMIT_WINDOW", value_name = "HOOKGATE_RATE_LIMIT_WINDOW", default_value = "10s", value_parser = parse_duration)]
    pub rate_limit_window: Duration,

    /// Requests each process holds at once while they wait for a workflow reply
    /// (`wait_for_reply`); beyond it they get 503 with Retry-After and nothing is published.
    #[arg(long, env = "HOOKGATE_MAX_WAITING_REQUESTS", value_name = "HOOKGATE_MAX_WAITING_REQUESTS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_waiting_requests: u32,

    /// Proxies (load balancers, ingress controllers) in front of the gateway: `remoteAddress`
    /// is the `X-Forwarded-For` entry that many places from the right. 0 uses the peer address.
    #[arg(long, env = "HOOKGATE_TRUSTED_PROXY_HOPS", value_name = "HOOKGATE_TRUSTED_PROXY_HOPS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub trusted_proxy_hops: u8,

    /// How often a gateway reads the database's change log into its in-memory snapshot of
    /// every webhook; changes made through any `api` process show within about this time.
    #[arg(long, env = "HOOKGATE_SYNC_INTERVAL", value_name = "HOOKGATE_SYNC_INTERVAL", default_value = "500ms", value_parser = parse_duration)]
    pub sync_interval: Duration,

    /// On SIGTERM, how long in-flight requests may still run (a request waiting for a workflow
    /// reply can need up to its reply_timeout).
    #[arg(long, env = "HOOKGATE_SHUTDOWN_TIMEOUT", value_name = "HOOKGATE_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

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

fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(value).map_err(|e| format!("{e} (use e.g. 500ms, 10s, 2m)"))?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

fn parse_topic(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 249
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && value != "."
        && value != "..";
    if valid {
        Ok(value.to_owned())
    } else {
        Err("a Kafka topic name is 1-249 of [a-zA-Z0-9._-]".into())
    }
}

fn parse_optional_topic(value: &str) -> Result<String, String> {
    match value {
        "" => Ok(String::new()),
        value => parse_topic(value),
    }
}

fn parse_property(value: &str) -> Result<(String, Secret), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), Secret::from(value)))
        }
        _ => Err("expected KEY=VALUE".into()),
    }
}

impl Settings {
    /// The Kafka client configuration: these settings plus `HOOKGATE_KAFKA_PROP_*`.
    pub fn kafka(&self) -> KafkaConfig {
        let mut properties = kafka_props_from_env(std::env::vars());
        properties.extend(self.kafka_props.iter().cloned());
        KafkaConfig {
            brokers: self.kafka_brokers.clone(),
            trigger_topic: self.trigger_topic.clone(),
            reply_topic: self.reply_topic.clone(),
            topic_partitions: self.topic_partitions,
            topic_replication: self.topic_replication,
            publish_timeout: self.request_timeout,
            max_record_bytes: usize::try_from(self.max_record_bytes).unwrap_or(usize::MAX),
            properties,
            metrics: Default::default(),
        }
    }

    /// Every setting at its default (and whatever `HOOKGATE_*` variables say), as a
    /// starting point for programs that embed hookgate.
    pub fn defaults() -> Result<Self, clap::Error> {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        Only::try_parse_from(["hookgate"]).map(|only| only.settings)
    }
}

/// `HOOKGATE_KAFKA_PROP_*` variables as librdkafka properties.
pub fn kafka_props_from_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, Secret)> {
    vars.filter_map(|(name, value)| {
        let key = name.strip_prefix("HOOKGATE_KAFKA_PROP_")?;
        if key.is_empty() {
            return None;
        }
        // librdkafka keys are lower case and dotted; an all-caps name is the shell-friendly form.
        let key = if key.bytes().any(|b| b.is_ascii_lowercase() || b == b'.') {
            key.to_owned()
        } else {
            key.to_ascii_lowercase().replace('_', ".")
        };
        Some((key, Secret::new(value)))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_props_in_both_forms() {
        let vars = [
            ("HOOKGATE_KAFKA_PROP_security.protocol", "SASL_SSL"),
            ("HOOKGATE_KAFKA_PROP_SASL_MECHANISMS", "PLAIN"),
            ("HOOKGATE_OTHER", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            kafka_props_from_env(vars),
            vec![
                ("security.protocol".to_owned(), Secret::from("SASL_SSL")),
                ("sasl.mechanisms".to_owned(), Secret::from("PLAIN"))
            ]
        );
    }

    #[test]
    fn settings_parse_from_flags_and_reject_bad_values() {
        let cli = Cli::try_parse_from([
            "hookgate",
            "serve",
            "--kafka-prop",
            "linger.ms=5",
            "--rate-limit-window",
            "1m",
        ])
        .unwrap();
        let Command::Serve(settings) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(
            settings.kafka_props,
            vec![("linger.ms".to_owned(), Secret::from("5"))]
        );
        assert_eq!(settings.rate_limit_window, Duration::from_secs(60));
        let err =
            Cli::try_parse_from(["hookgate", "serve", "--trigger-topic", "bad topic"]).unwrap_err();
        assert!(err.to_string().contains("HOOKGATE_TRIGGER_TOPIC"), "{err}");
        assert!(Cli::try_parse_from(["hookgate", "serve", "--max-header-bytes", "10"]).is_err());
        assert!(Cli::try_parse_from(["hookgate", "serve", "--public-url", "ftp://x"]).is_err());
        let err =
            Cli::try_parse_from(["hookgate", "gateway", "--rejection-topic", "a b"]).unwrap_err();
        assert!(
            err.to_string().contains("HOOKGATE_REJECTION_TOPIC"),
            "{err}"
        );
        let Command::Gateway(settings) =
            Cli::try_parse_from(["hookgate", "gateway", "--database-pool", "3"])
                .unwrap()
                .command
        else {
            panic!("not gateway")
        };
        assert_eq!(
            (settings.rejection_topic.as_str(), settings.database_pool),
            ("", 3)
        );
        assert!(Cli::try_parse_from(["hookgate", "gateway", "--database-pool", "0"]).is_err());
    }

    #[test]
    fn settings_never_print_a_secret() {
        let cli = Cli::try_parse_from([
            "hookgate",
            "serve",
            "--database-url",
            "postgres://hookgate:db-password-1@db.internal/hookgate",
            "--api-tokens",
            "api-token-0123456789=*",
            "--kafka-prop",
            "sasl.password=kafka-password-2",
        ])
        .unwrap();
        let Command::Serve(settings) = cli.command else {
            panic!("not serve")
        };
        let printed = format!("{settings:?} {:?}", settings.kafka());
        for secret in ["db-password-1", "api-token-0123456789", "kafka-password-2"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("sasl.password"), "{printed}");
    }
}
