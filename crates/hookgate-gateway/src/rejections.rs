//! `HOOKGATE_REJECTION_TOPIC`: one record per refused request of a known webhook, so an
//! operator can see why a sender fails. Best effort and bounded: the answer to the sender
//! never waits for it, and a flood of refusals cannot fill the topic.

use crate::{
    events::{self, Reason, RecordOutcome},
    limiter::{Budget, Limiter},
    Metrics, RateLimit,
};
use hookgate_bus::Producer;
use hookgate_domain::{
    rejection::{self, RejectedRequest},
    token, Webhook,
};
use std::{num::NonZeroU32, time::Duration};

/// Rejection records per webhook: enough to diagnose, too few to matter.
const PER_WEBHOOK: RateLimit = RateLimit {
    requests: NonZeroU32::MIN.saturating_add(9),
    window: Duration::from_secs(10),
};
/// Rejection records per process, whatever the number of webhooks refused.
const PER_PROCESS: RateLimit = RateLimit {
    requests: NonZeroU32::MIN.saturating_add(99),
    window: Duration::from_secs(1),
};

/// Publishes rejection records with a producer of their own, so their queue never
/// competes with trigger records.
#[derive(Clone)]
pub struct RejectionTopic {
    producer: Producer,
    per_webhook: Limiter,
    per_process: Limiter,
}

impl RejectionTopic {
    /// `producer` publishes to the rejection topic.
    pub fn new(producer: Producer) -> Self {
        Self {
            producer,
            per_webhook: Limiter::new(PER_WEBHOOK),
            per_process: Limiter::new(PER_PROCESS),
        }
    }

    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Publishes in the background that `request` to `webhook` was refused for `reason`.
    pub(crate) fn record(
        &self,
        metrics: &Metrics,
        webhook: &Webhook,
        request: &RejectedRequest<'_>,
        reason: Reason,
        test: bool,
    ) {
        let within_budget = self
            .per_webhook
            .spend(&webhook.name.webhook_id, Budget::Sender)
            .is_ok()
            && self.per_process.spend("", Budget::Sender).is_ok();
        if !within_budget {
            events::rejection_record(metrics, &webhook.name, RecordOutcome::RateLimited, None);
            return;
        }
        let producer = self.producer.clone();
        let metrics = metrics.clone();
        let webhook = webhook.clone();
        // Copied only within the budget: a flood of refusals costs no allocations here.
        let request = OwnedRequest::from(request);
        tokio::spawn(async move {
            let name = &webhook.name;
            let event_id = token::new_event_id();
            let view = request.view();
            let built = rejection::build(&webhook, &view, reason.as_str(), event_id, test);
            let record = match built.await {
                Ok(record) => record,
                Err(error) => {
                    let outcome = RecordOutcome::Failed;
                    return events::rejection_record(&metrics, name, outcome, Some(&error));
                }
            };
            match producer.publish(record).await {
                Ok(_) => events::rejection_record(&metrics, name, RecordOutcome::Published, None),
                Err(error) => {
                    events::rejection_record(&metrics, name, RecordOutcome::Failed, Some(&error))
                }
            }
        });
    }
}

/// A [`RejectedRequest`] that outlives the request, for the background task.
struct OwnedRequest {
    method: http::Method,
    path: String,
    query: Option<String>,
    headers: http::HeaderMap,
    remote_address: Option<std::net::IpAddr>,
}

impl OwnedRequest {
    fn from(request: &RejectedRequest<'_>) -> Self {
        Self {
            method: request.method.clone(),
            path: request.path.to_owned(),
            query: request.query.map(str::to_owned),
            headers: request.headers.clone(),
            remote_address: request.remote_address,
        }
    }

    fn view(&self) -> RejectedRequest<'_> {
        RejectedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            remote_address: self.remote_address,
        }
    }
}
