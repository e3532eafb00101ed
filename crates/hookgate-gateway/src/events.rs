//! Internal events. Each one writes its log line and moves its counter here, together, so
//! a call site is one line and cannot emit one without the other.

use crate::metrics::{Metrics, OutcomeLabel, ReasonLabel};
use hookgate_bus::Delivery;
use hookgate_domain::{Error, ErrorKind, WebhookName};
use std::time::Duration;

/// Why a request was refused: the `reason` label of `hookgate_ingress_rejected_total` and
/// `data.reason` of a rejection record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NotFound,
    HeaderTooLarge,
    RateLimit,
    BodyTooLarge,
    Timeout,
    BadRequest,
    BasicAuth,
    Handshake,
    Signature,
    /// Kafka did not acknowledge, replies are not read, a dependency is down.
    Unavailable,
    WaitingFull,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::HeaderTooLarge => "header_too_large",
            Self::RateLimit => "rate_limit",
            Self::BodyTooLarge => "body_too_large",
            Self::Timeout => "timeout",
            Self::BadRequest => "bad_request",
            Self::BasicAuth => "basic_auth",
            Self::Handshake => "handshake",
            Self::Signature => "signature",
            Self::Unavailable => "unavailable",
            Self::WaitingFull => "waiting_full",
        }
    }

    /// The reason `error` itself gives (an outage while checking a signature is not a bad
    /// signature), or `otherwise` where the step that failed decides it. A full waiting
    /// room answers like an outage but is its own reason.
    pub fn of(error: &Error, otherwise: Reason) -> Reason {
        if otherwise == Self::WaitingFull {
            return otherwise;
        }
        match error.kind() {
            ErrorKind::Unavailable => Self::Unavailable,
            ErrorKind::PayloadTooLarge => Self::BodyTooLarge,
            ErrorKind::HeadersTooLarge => Self::HeaderTooLarge,
            ErrorKind::RateLimited => Self::RateLimit,
            ErrorKind::RequestTimeout => Self::Timeout,
            ErrorKind::NotFound => Self::NotFound,
            _ => otherwise,
        }
    }
}

/// Kafka acknowledged a trigger record.
pub(crate) fn published(
    metrics: &Metrics,
    webhook: &WebhookName,
    event_id: &str,
    delivery: &Delivery,
    took: Duration,
) {
    metrics.published.inc();
    metrics.publish_seconds.observe(took.as_secs_f64());
    tracing::debug!(
        %webhook,
        event_id,
        partition = delivery.partition,
        offset = delivery.offset,
        "trigger published"
    );
}

/// Kafka did not acknowledge a trigger record; the caller is answered 503 (or 413).
pub(crate) fn publish_failed(
    metrics: &Metrics,
    webhook: &WebhookName,
    event_id: &str,
    error: &dyn std::fmt::Display,
) {
    metrics.publish_failures.inc();
    tracing::warn!(%webhook, event_id, %error, "trigger not published");
}

/// A request was refused; `webhook` is `None` when it names no known webhook.
pub(crate) fn rejected(
    metrics: &Metrics,
    reason: Reason,
    webhook: Option<&WebhookName>,
    error: &dyn std::fmt::Display,
) {
    metrics
        .rejected
        .get_or_create(&ReasonLabel {
            reason: reason.as_str(),
        })
        .inc();
    match reason {
        // Floods of these are what the limits are for: one line each would be a flood too.
        Reason::NotFound | Reason::RateLimit | Reason::HeaderTooLarge => {
            tracing::debug!(webhook = webhook.map(tracing::field::display), reason = reason.as_str(), %error, "request rejected")
        }
        // An outage, not the sender's doing.
        Reason::Unavailable => {
            tracing::warn!(webhook = webhook.map(tracing::field::display), reason = reason.as_str(), %error, "request rejected")
        }
        _ => {
            tracing::info!(webhook = webhook.map(tracing::field::display), reason = reason.as_str(), %error, "request rejected")
        }
    }
}

/// No workflow replied within the webhook's reply_timeout; the caller gets 504.
pub(crate) fn reply_timed_out(metrics: &Metrics, webhook: &WebhookName, timeout: Duration) {
    metrics.reply_timeouts.inc();
    tracing::info!(%webhook, timeout_ms = timeout.as_millis() as u64, "workflow reply timed out");
}

/// What became of a rejection record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordOutcome {
    Published,
    /// Over the rejection topic's own budget: a flood cannot fill the topic.
    RateLimited,
    Failed,
}

pub(crate) fn rejection_record(
    metrics: &Metrics,
    webhook: &WebhookName,
    outcome: RecordOutcome,
    error: Option<&dyn std::fmt::Display>,
) {
    let label = match outcome {
        RecordOutcome::Published => "published",
        RecordOutcome::RateLimited => "rate_limited",
        RecordOutcome::Failed => "failed",
    };
    metrics
        .rejection_records
        .get_or_create(&OutcomeLabel { outcome: label })
        .inc();
    match (outcome, error) {
        (RecordOutcome::Failed, Some(error)) => {
            tracing::warn!(%webhook, %error, "rejection record not published")
        }
        _ => tracing::trace!(%webhook, outcome = label, "rejection record"),
    }
}
