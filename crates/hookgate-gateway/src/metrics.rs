//! Ingress metrics. Labels are bounded sets: never a token or a webhook id.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use std::sync::{Arc, OnceLock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

/// Registered under the `hookgate_` prefix; counters get `_total` from the encoder. Moved
/// only through `crate::events`, which logs each event beside its counter.
#[derive(Clone)]
pub struct Metrics {
    pub responses: Family<StatusLabel, Counter>,
    /// `responses` for status 200, looked up once: most answers are 200, and a lookup in
    /// the family takes its lock and hashes the label on every request.
    ok_responses: Arc<OnceLock<Counter>>,
    pub published: Counter,
    pub publish_failures: Counter,
    pub publish_seconds: Histogram,
    pub dedup_duplicates: Counter,
    pub dedup_claims_waited: Counter,
    pub dedup_unclaimed: Family<ReasonLabel, Counter>,
    pub rejected: Family<ReasonLabel, Counter>,
    pub reply_timeouts: Counter,
    pub rejection_records: Family<OutcomeLabel, Counter>,
}

impl Metrics {
    /// Counts an answer by its status.
    pub(crate) fn count_response(&self, status: u16) {
        let family = &self.responses;
        let count = |status| family.get_or_create(&StatusLabel { status }).clone();
        match status {
            200 => self.ok_responses.get_or_init(|| count(200)).inc(),
            _ => count(status).inc(),
        };
    }

    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            responses: Family::default(),
            ok_responses: Arc::default(),
            published: Counter::default(),
            publish_failures: Counter::default(),
            publish_seconds: Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            dedup_duplicates: Counter::default(),
            dedup_claims_waited: Counter::default(),
            dedup_unclaimed: Family::default(),
            rejected: Family::default(),
            reply_timeouts: Counter::default(),
            rejection_records: Family::default(),
        };
        registry.register(
            "ingress_responses",
            "Ingress responses by HTTP status",
            metrics.responses.clone(),
        );
        registry.register(
            "published",
            "Trigger records acknowledged by Kafka",
            metrics.published.clone(),
        );
        registry.register(
            "publish_failures",
            "Trigger records Kafka did not acknowledge in time",
            metrics.publish_failures.clone(),
        );
        registry.register(
            "publish_duration_seconds",
            "Time from publish to Kafka acknowledgement",
            metrics.publish_seconds.clone(),
        );
        registry.register(
            "dedup_duplicates",
            "Copies of a delivered request answered without publishing",
            metrics.dedup_duplicates.clone(),
        );
        registry.register(
            "dedup_claims_waited",
            "Copies that waited for an earlier copy of their delivery to settle",
            metrics.dedup_claims_waited.clone(),
        );
        registry.register(
            "dedup_unclaimed",
            "Requests of deduplicated webhooks published without a claim, by reason (no_key, database)",
            metrics.dedup_unclaimed.clone(),
        );
        registry.register(
            "ingress_rejected",
            "Requests refused, by reason (not_found, basic_auth, signature, rate_limit, body_too_large, header_too_large, timeout, unavailable, ...)",
            metrics.rejected.clone(),
        );
        registry.register(
            "reply_timeouts",
            "Requests answered 504 because no workflow replied within reply_timeout",
            metrics.reply_timeouts.clone(),
        );
        registry.register(
            "rejection_records",
            "Records for HOOKGATE_REJECTION_TOPIC, by outcome (published, rate_limited, failed)",
            metrics.rejection_records.clone(),
        );
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    }

    #[test]
    fn answers_are_counted_by_status_in_the_exposed_family() {
        let mut registry = Registry::with_prefix("hookgate");
        let metrics = Metrics::new(&mut registry);
        // A clone shares the counters, as every connection's handle does.
        let other = metrics.clone();
        metrics.count_response(200);
        other.count_response(200);
        metrics.count_response(404);
        metrics.count_response(200);
        let text = exposition(&registry);
        let line =
            |status: u16| format!(r#"hookgate_ingress_responses_total{{status="{status}"}}"#);
        assert!(text.contains(&format!("{} 3\n", line(200))), "{text}");
        assert!(text.contains(&format!("{} 1\n", line(404))), "{text}");
        assert!(!text.contains(&line(500)), "{text}");
    }
}
