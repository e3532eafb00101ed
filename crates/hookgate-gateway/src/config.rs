use crate::RateLimit;
use std::time::Duration;

/// How the ingress treats requests.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Base of webhook URLs, as senders see it (Twilio signs the full URL).
    pub public_url: String,
    /// Larger bodies are answered 413 without being read.
    pub max_body_bytes: usize,
    /// Request line plus headers above this are answered 431.
    pub max_header_bytes: usize,
    /// A client must send its headers within this time.
    pub header_read_timeout: Duration,
    /// A client must send its whole body within this time (408 otherwise).
    pub body_read_timeout: Duration,
    /// Per-webhook request budget.
    pub rate_limit: RateLimit,
    /// Requests waiting for a workflow reply at once; more get 503.
    pub max_waiting_requests: usize,
    /// Proxies in front of the gateway whose `X-Forwarded-For` entries are believed.
    pub trusted_proxy_hops: usize,
    /// How long in-flight requests may run on after shutdown starts.
    pub drain_timeout: Duration,
    /// How often the webhook snapshot reads the database's change log.
    pub sync_interval: Duration,
}

impl GatewayConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            max_body_bytes: 262_144,
            max_header_bytes: 16_384,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            rate_limit: RateLimit::default(),
            max_waiting_requests: 10_000,
            trusted_proxy_hops: 0,
            drain_timeout: Duration::from_secs(30),
            sync_interval: Duration::from_millis(500),
        }
    }
}
