//! One request's way from "the webhook is known" to "the caller has an answer", shared by
//! the HTTP server and the `TestWebhook` RPC.

use crate::{
    dedup::{self, Admission, Claim, Deduplicator},
    events::{self, Reason},
    limiter::{Budget, Limiter},
    response, AlexaVerifier, GatewayConfig, Metrics, RejectionTopic,
};
use bytes::Bytes;
use chrono::Utc;
use hookgate_bus::{Delivery, PendingReply, Producer, ReplyRouter};
use hookgate_domain::{
    ingress::{self, Reply},
    rejection::RejectedRequest,
    reply, token,
    trigger::{self, InboundRequest, RecordContext},
    Error, VerificationType, Webhook,
};
use hookgate_storage::Store;
use hookgate_verify::{
    catalogue,
    handshake::{self, Step},
    SignedRequest, Verdict,
};
use http::Response;
use std::{net::IpAddr, sync::Arc, time::Instant};
use tokio::sync::Semaphore;

impl IngressRequest {
    /// The request as a rejection record describes it: no body.
    pub(crate) fn described(&self) -> RejectedRequest<'_> {
        RejectedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            remote_address: self.remote_address,
        }
    }
}

/// A request as the pipeline needs it: already read, already bounded.
pub struct IngressRequest {
    pub method: http::Method,
    /// What follows the token, starting with `/`.
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub remote_address: Option<IpAddr>,
    /// The full URL the sender called, as it saw it.
    pub url: String,
}

/// Where a published record went.
#[derive(Debug, Clone)]
pub struct Published {
    pub event_id: String,
    pub delivery: Delivery,
}

pub struct Outcome {
    pub response: Response<Bytes>,
    pub published: Option<Published>,
    /// A handshake stored the webhook's signing secret: the snapshot's copy is stale.
    pub secret_kept: bool,
}

impl Outcome {
    fn reply(reply: Reply) -> Self {
        Self::unpublished(response::from_reply(reply))
    }

    fn unpublished(response: Response<Bytes>) -> Self {
        Self {
            response,
            published: None,
            secret_kept: false,
        }
    }
}

#[derive(Clone)]
pub struct Pipeline {
    producer: Producer,
    replies: Option<ReplyRouter>,
    limiter: Limiter,
    /// One permit per request allowed to wait for a workflow reply at once.
    waiting: Arc<Semaphore>,
    max_body_bytes: usize,
    alexa: Option<AlexaVerifier>,
    metrics: Metrics,
    /// Where a handshake's secret (Asana's) is kept; without it such handshakes get 503.
    secrets: Option<Store>,
    dedup: Deduplicator,
    rejections: Option<RejectionTopic>,
}

impl Pipeline {
    pub fn new(producer: Producer, config: &GatewayConfig, metrics: Metrics) -> Self {
        Self {
            producer,
            replies: None,
            limiter: Limiter::new(config.rate_limit),
            waiting: Arc::new(Semaphore::new(config.max_waiting_requests)),
            max_body_bytes: config.max_body_bytes,
            alexa: AlexaVerifier::amazon()
                .inspect_err(|error| {
                    tracing::error!(%error, "alexa verification unavailable: tls setup failed")
                })
                .ok(),
            dedup: Deduplicator::unshared(metrics.clone()),
            metrics,
            secrets: None,
            rejections: None,
        }
    }

    /// Records every refused request of a known webhook on `topic`.
    pub fn with_rejections(mut self, topic: RejectionTopic) -> Self {
        self.rejections = Some(topic);
        self
    }

    /// Counts and logs a refusal, and records it on the rejection topic when there is one.
    pub(crate) fn rejected(
        &self,
        reason: Reason,
        webhook: &Webhook,
        request: &RejectedRequest<'_>,
        error: &dyn std::fmt::Display,
        test: bool,
    ) {
        events::rejected(&self.metrics, reason, Some(&webhook.name), error);
        if let Some(topic) = &self.rejections {
            topic.record(&self.metrics, webhook, request, reason, test);
        }
    }

    /// [`Self::rejected`] and the answer `error` calls for, charged to no budget.
    pub(crate) fn refuse(
        &self,
        error: &Error,
        reason: Reason,
        webhook: &Webhook,
        request: &RejectedRequest<'_>,
        test: bool,
    ) -> Response<Bytes> {
        self.rejected(Reason::of(error, reason), webhook, request, error, test);
        response::from_error(error, webhook.spec.has_basic_auth())
    }

    /// Answers a request refused before it proved it comes from the sender: it spends the
    /// webhook's budget for such requests (429 once that is gone), never the sender's.
    pub(crate) fn reject(
        &self,
        error: &Error,
        reason: Reason,
        webhook: &Webhook,
        request: &RejectedRequest<'_>,
        test: bool,
    ) -> Response<Bytes> {
        match self
            .limiter
            .spend(&webhook.name.webhook_id, Budget::Rejected)
        {
            Ok(()) => self.refuse(error, reason, webhook, request, test),
            Err(limited) => self.refuse(&limited, Reason::RateLimit, webhook, request, test),
        }
    }

    fn refused(
        &self,
        error: &Error,
        reason: Reason,
        webhook: &Webhook,
        request: &IngressRequest,
        test: bool,
    ) -> Outcome {
        Outcome::unpublished(self.refuse(error, reason, webhook, &request.described(), test))
    }

    /// [`Self::reject`] for a request already read.
    fn rejected_unproven(
        &self,
        error: &Error,
        reason: Reason,
        webhook: &Webhook,
        request: &IngressRequest,
        test: bool,
    ) -> Outcome {
        Outcome::unpublished(self.reject(error, reason, webhook, &request.described(), test))
    }

    /// Lets handshakes that hand over a secret (Asana's) keep it in `store`.
    pub fn with_secret_store(mut self, store: Store) -> Self {
        self.secrets = Some(store);
        self
    }

    /// Shares deduplication claims through `store`, publishing claimed records with a
    /// producer of its own on `kafka`.
    pub fn with_deduplication(
        mut self,
        store: hookgate_storage::Store,
        kafka: &hookgate_bus::KafkaConfig,
    ) -> Result<Self, hookgate_bus::BusError> {
        self.dedup = Deduplicator::shared(self.metrics.clone(), store, kafka)?;
        Ok(self)
    }

    /// Checks Alexa signatures with `verifier` instead of Amazon's published chains.
    pub fn with_alexa(mut self, verifier: AlexaVerifier) -> Self {
        self.alexa = Some(verifier);
        self
    }

    /// Enables `wait_for_reply` webhooks, answered from `router`.
    pub fn with_replies(mut self, router: ReplyRouter) -> Self {
        self.replies = Some(router);
        self
    }

    /// Whether the webhook has budget left for a request whose standing is not known yet;
    /// called before the body is read, spends nothing. A disabled webhook publishes
    /// nothing and answers 200 whatever the rate.
    pub fn has_room(&self, webhook: &Webhook) -> Result<(), Error> {
        if webhook.spec.disabled {
            return Ok(());
        }
        self.limiter.has_room(&webhook.name.webhook_id)
    }

    async fn verify_signature(
        &self,
        spec: &hookgate_domain::WebhookSpec,
        signed: &SignedRequest<'_>,
    ) -> Result<Option<&'static str>, Error> {
        match hookgate_verify::verify(spec, signed)? {
            Verdict::Unsigned => Ok(None),
            Verdict::Verified(scheme) => Ok(Some(scheme)),
            Verdict::NeedsAlexaChain(claim) => {
                let verifier = self.alexa.as_ref().ok_or_else(|| {
                    Error::Unavailable("alexa verification is not available".into())
                })?;
                // Boxed, like the other rare paths: a future is as large as its largest
                // state, and every request moves its own several times.
                Box::pin(verifier.verify(&claim, signed.body, signed.now)).await?;
                Ok(catalogue::verified_name(spec))
            }
        }
    }

    /// A handshake's answer; Asana's secret is stored before its echo is sent, so the
    /// events that follow can be verified.
    async fn answer_handshake(
        &self,
        webhook: &Webhook,
        request: &IngressRequest,
        step: Step,
    ) -> Outcome {
        let refused = matches!(&step, Step::Reply(reply) if reply.status >= 400);
        let budget = match refused {
            true => Budget::Rejected,
            false => Budget::Sender,
        };
        if let Err(error) = self.limiter.spend(&webhook.name.webhook_id, budget) {
            return self.refused(&error, Reason::RateLimit, webhook, request, false);
        }
        match step {
            Step::Reply(reply) => {
                if refused {
                    let error = format!("handshake refused with {}", reply.status);
                    let described = request.described();
                    self.rejected(Reason::Handshake, webhook, &described, &error, false);
                }
                Outcome::reply(reply)
            }
            Step::KeepSecret { secret, reply } => {
                let Some(store) = &self.secrets else {
                    let error = Error::Unavailable("handshake secrets cannot be kept here".into());
                    return self.refused(&error, Reason::Unavailable, webhook, request, false);
                };
                match Box::pin(store.keep_signing_secret(webhook, secret)).await {
                    Ok(_) => {
                        tracing::info!(webhook = %webhook.name, "handshake secret kept");
                        Outcome {
                            secret_kept: true,
                            ..Outcome::reply(reply)
                        }
                    }
                    Err(error) => {
                        tracing::warn!(webhook = %webhook.name, %error, "handshake secret not kept");
                        self.refused(&error, Reason::Unavailable, webhook, request, false)
                    }
                }
            }
        }
    }

    /// Waits for deduplicated records still being tried, so their claims settle by
    /// Kafka's verdict rather than by the process ending; for shutdown.
    pub async fn flush_claimed(&self, timeout: std::time::Duration) {
        self.dedup.flush(timeout).await;
    }

    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The `TestWebhook` path: the budget and the body limit, then everything but
    /// handshakes.
    pub async fn test(&self, webhook: &Webhook, request: IngressRequest) -> Outcome {
        if let Err(error) = self.has_room(webhook) {
            return self.refused(&error, Reason::RateLimit, webhook, &request, true);
        }
        if request.body.len() > self.max_body_bytes {
            let limit = self.max_body_bytes;
            let error = Error::PayloadTooLarge { limit };
            return self.rejected_unproven(&error, Reason::BodyTooLarge, webhook, &request, true);
        }
        self.handle(webhook, request, true).await
    }

    /// Answers `request`. `test` requests skip handshakes and are marked `"test": true`.
    /// The request is dropped once its record is published, so a request waiting for a
    /// workflow reply holds no body.
    pub async fn handle(&self, webhook: &Webhook, request: IngressRequest, test: bool) -> Outcome {
        let spec = &webhook.spec;
        if spec.disabled {
            return Outcome::reply(Reply::new(
                200,
                Some(ingress::JSON),
                Bytes::from_static(br#"{"success":true}"#),
            ));
        }
        let authorization = request
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if let Err(error) = hookgate_verify::check_basic_auth(spec, authorization) {
            return self.rejected_unproven(&error, Reason::BasicAuth, webhook, &request, test);
        }
        if !test {
            let query = ingress::parse_query(request.query.as_deref());
            if let Some(step) =
                handshake::before_signature(spec, &request.method, &query, &request.headers)
            {
                return self.answer_handshake(webhook, &request, step).await;
            }
        }
        let signed = SignedRequest {
            method: &request.method,
            url: &request.url,
            headers: &request.headers,
            body: &request.body,
            now: Utc::now(),
        };
        let verified = match self.verify_signature(spec, &signed).await {
            Ok(verified) => verified,
            Err(error) => {
                return self.rejected_unproven(&error, Reason::Signature, webhook, &request, test)
            }
        };
        if let Err(error) = self.spend(webhook) {
            return self.refused(&error, Reason::RateLimit, webhook, &request, test);
        }
        if !test {
            if let Some(reply) = handshake::after_signature(spec, &request.headers, &request.body) {
                return Outcome::reply(reply);
            }
        }
        // Fitbit always answers 204, so there is no workflow reply to wait for.
        let waits = spec.wait_for_reply && spec.answers_like() != VerificationType::Fitbit;
        let reply_id = waits.then(token::new_event_id);
        let permit = match waits {
            true => match self.waiting.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let error =
                        Error::Unavailable("too many requests are waiting for replies".into());
                    return self.refused(&error, Reason::WaitingFull, webhook, &request, test);
                }
            },
            false => None,
        };
        // Registered before publishing, so a workflow that answers at once is not missed.
        let pending = match (&reply_id, &self.replies) {
            (Some(id), Some(router)) => match router.register(id) {
                Some(pending) => Some(pending),
                None => {
                    let error = Error::Unavailable("workflow replies are not read yet".into());
                    return self.refused(&error, Reason::Unavailable, webhook, &request, test);
                }
            },
            (Some(_), None) => {
                let error =
                    Error::Unavailable("workflow replies are not available in this process".into());
                return self.refused(&error, Reason::Unavailable, webhook, &request, test);
            }
            (None, _) => None,
        };
        let claim = match self
            .dedup
            .admit(webhook, &request.headers, &request.body, test)
            .await
        {
            Ok(Admission::Publish(claim)) => claim,
            Ok(Admission::Duplicate) => {
                return Outcome {
                    response: dedup::duplicate_response(spec),
                    published: None,
                    secret_kept: false,
                }
            }
            Err(error) => {
                return self.refused(&error, Reason::Unavailable, webhook, &request, test)
            }
        };
        let published = match self
            .publish(webhook, &request, test, verified, reply_id, claim)
            .await
        {
            Ok(published) => published,
            Err(error) => {
                return self.refused(&error, Reason::Unavailable, webhook, &request, test)
            }
        };
        drop(request);
        let response = match pending {
            None => response::from_reply(ingress::success_reply(spec)),
            Some(pending) => self.await_reply(webhook, pending).await,
        };
        drop(permit);
        Outcome {
            response,
            published: Some(published),
            secret_kept: false,
        }
    }

    /// Spends one request of the sender's budget.
    fn spend(&self, webhook: &Webhook) -> Result<(), Error> {
        self.limiter.spend(&webhook.name.webhook_id, Budget::Sender)
    }

    async fn await_reply(&self, webhook: &Webhook, pending: PendingReply) -> Response<Bytes> {
        let Some(message) = pending.wait(webhook.spec.reply_timeout).await else {
            events::reply_timed_out(&self.metrics, &webhook.name, webhook.spec.reply_timeout);
            return response::from_error(&Error::ReplyTimeout, false);
        };
        match reply::to_reply(&message) {
            Some(workflow_reply) => response::from_workflow(workflow_reply),
            None => {
                tracing::warn!(webhook = %webhook.name, "workflow reply unusable: bad statusCode or body over 256 KiB");
                response::from_error(&Error::Internal("unusable workflow reply".into()), false)
            }
        }
    }

    async fn publish(
        &self,
        webhook: &Webhook,
        request: &IngressRequest,
        test: bool,
        verified: Option<&'static str>,
        reply_id: Option<String>,
        claim: Claim,
    ) -> Result<Published, Error> {
        let delivery = claim.key();
        let traceparent = crate::trace::traceparent(&request.headers);
        let inbound = InboundRequest {
            method: &request.method,
            path: &request.path,
            query: request.query.as_deref(),
            headers: &request.headers,
            body: &request.body,
            remote_address: request.remote_address,
        };
        let context = RecordContext {
            event_id: delivery.map_or_else(token::new_event_id, |d| d.event_id.clone()),
            delivery_key: delivery.map(|d| d.value.clone()),
            test,
            verified,
            reply_id,
            traceparent,
            ..Default::default()
        };
        let mut record = trigger::build(webhook, &inbound, context).await?;
        // The producer needs the record's key, headers and value, not this copy of the id.
        let event_id = std::mem::take(&mut record.event_id);
        let started = Instant::now();
        match claim.publish(&self.producer, record).await {
            Ok(delivery) => {
                let took = started.elapsed();
                events::published(&self.metrics, &webhook.name, &event_id, &delivery, took);
                Ok(Published { event_id, delivery })
            }
            // Not a failure of Kafka's: the caller gets 413, counted as body_too_large.
            Err(error @ Error::RecordTooLarge { .. }) => Err(error),
            Err(error) => {
                events::publish_failed(&self.metrics, &webhook.name, &event_id, &error);
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod future_sizes {
    use super::*;
    use hookgate_domain::WebhookSpec;

    /// The size of the future `call` returns, without making one.
    fn future_size<A, F: std::future::Future>(_call: impl FnOnce(A) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    type Request = &'static IngressRequest;

    #[test]
    fn rare_paths_do_not_size_every_request_future() {
        let small = [
            (
                "signature check (alexa boxed)",
                future_size(
                    |(p, s, r): (
                        &'static Pipeline,
                        &'static WebhookSpec,
                        &'static SignedRequest<'static>,
                    )| { p.verify_signature(s, r) },
                ),
            ),
            (
                "handshake (secret store boxed)",
                future_size(
                    |(p, w, r, s): (&'static Pipeline, &'static Webhook, Request, Step)| {
                        p.answer_handshake(w, r, s)
                    },
                ),
            ),
            (
                "deduplication (database claim boxed)",
                future_size(
                    |(d, w, h, b): (
                        &'static Deduplicator,
                        &'static Webhook,
                        &'static http::HeaderMap,
                        &'static [u8],
                    )| { d.admit(w, h, b, false) },
                ),
            ),
            (
                "body (multipart boxed)",
                future_size(|b: &'static Bytes| hookgate_domain::body::parse(None, b)),
            ),
        ];
        for (what, size) in small {
            assert!(size <= 512, "{what}: {size} bytes");
        }
        // 4,176 bytes with the rare paths inline.
        let whole = future_size(
            |(p, w, r): (&'static Pipeline, &'static Webhook, IngressRequest)| {
                p.handle(w, r, false)
            },
        );
        assert!(whole <= 3 * 1024, "a request's future: {whole} bytes");
    }
}
