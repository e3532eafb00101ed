//! One request's way from "the webhook is known" to "the caller has an answer", shared by
//! the HTTP server and the `TestWebhook` RPC.

use crate::{
    limiter::{Budget, Limiter},
    response, AlexaVerifier, GatewayConfig, Metrics,
};
use bytes::Bytes;
use chrono::Utc;
use hookgate_bus::{Delivery, PendingReply, Producer, ReplyRouter};
use hookgate_domain::{
    ingress::{self, Reply},
    reply,
    signature::{self, SignedRequest, Verdict},
    token,
    trigger::{self, InboundRequest, RecordContext},
    Error, VerificationType, Webhook,
};
use http::Response;
use std::{net::IpAddr, sync::Arc, time::Instant};
use tokio::sync::Semaphore;

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
}

impl Outcome {
    fn reply(reply: Reply) -> Self {
        Self {
            response: response::from_reply(reply),
            published: None,
        }
    }

    fn error(error: &Error, webhook: &Webhook) -> Self {
        Self {
            response: response::from_error(error, webhook.spec.has_basic_auth()),
            published: None,
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
            metrics,
        }
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

    /// Answers a request refused before it proved it comes from the sender: it spends the
    /// webhook's budget for such requests (429 once that is gone), never the sender's.
    pub fn reject(&self, webhook: &Webhook, error: &Error) -> Response<Bytes> {
        self.refuse(webhook, error).response
    }

    fn refuse(&self, webhook: &Webhook, error: &Error) -> Outcome {
        match self
            .limiter
            .spend(&webhook.name.webhook_id, Budget::Rejected)
        {
            Ok(()) => Outcome::error(error, webhook),
            Err(limited) => Outcome::error(&limited, webhook),
        }
    }

    async fn verify_signature(
        &self,
        spec: &hookgate_domain::WebhookSpec,
        signed: &SignedRequest<'_>,
    ) -> Result<Option<&'static str>, Error> {
        match signature::verify(spec, signed)? {
            Verdict::Unsigned => Ok(None),
            Verdict::Verified(scheme) => Ok(Some(scheme)),
            Verdict::NeedsAlexaChain(claim) => {
                let verifier = self.alexa.as_ref().ok_or_else(|| {
                    Error::Unavailable("alexa verification is not available".into())
                })?;
                verifier.verify(&claim, signed.body, signed.now).await?;
                Ok(Some(spec.verification_type.as_str()))
            }
        }
    }

    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The `TestWebhook` path: the budget and the body limit, then everything but
    /// handshakes.
    pub async fn test(&self, webhook: &Webhook, request: IngressRequest) -> Outcome {
        if let Err(error) = self.has_room(webhook) {
            return Outcome::error(&error, webhook);
        }
        if request.body.len() > self.max_body_bytes {
            let limit = self.max_body_bytes;
            return self.refuse(webhook, &Error::PayloadTooLarge { limit });
        }
        self.handle(webhook, request, true).await
    }

    /// Answers `request`. `test` requests skip handshakes and are marked `"test": true`.
    /// The request is dropped once its record is published, so a request waiting for a
    /// workflow reply holds no body.
    pub async fn handle(&self, webhook: &Webhook, request: IngressRequest, test: bool) -> Outcome {
        let spec = &webhook.spec;
        if spec.disabled {
            return Outcome::reply(Reply {
                status: 200,
                content_type: Some(ingress::JSON),
                body: Bytes::from_static(br#"{"success":true}"#),
            });
        }
        let authorization = request
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if let Err(error) = ingress::check_basic_auth(spec, authorization) {
            return self.refuse(webhook, &error);
        }
        if !test {
            let query = ingress::parse_query(request.query.as_deref());
            if let Some(reply) = ingress::query_handshake(spec, &request.method, &query) {
                return match self.spend(webhook) {
                    Ok(()) => Outcome::reply(reply),
                    Err(error) => Outcome::error(&error, webhook),
                };
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
                tracing::info!(webhook = %webhook.name, %error, "signature rejected");
                return self.refuse(webhook, &error);
            }
        };
        if let Err(error) = self.spend(webhook) {
            return Outcome::error(&error, webhook);
        }
        if !test {
            if let Some(reply) = ingress::slack_handshake(spec, &request.body) {
                return Outcome::reply(reply);
            }
        }
        // Fitbit always answers 204, so there is no workflow reply to wait for.
        let waits = spec.wait_for_reply && spec.verification_type != VerificationType::Fitbit;
        let reply_id = waits.then(token::new_event_id);
        let permit = match waits {
            true => match self.waiting.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let error =
                        Error::Unavailable("too many requests are waiting for replies".into());
                    return Outcome::error(&error, webhook);
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
                    return Outcome::error(&error, webhook);
                }
            },
            (Some(_), None) => {
                let error =
                    Error::Unavailable("workflow replies are not available in this process".into());
                return Outcome::error(&error, webhook);
            }
            (None, _) => None,
        };
        let published = match self
            .publish(webhook, &request, test, verified, reply_id)
            .await
        {
            Ok(published) => published,
            Err(error) => return Outcome::error(&error, webhook),
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
        }
    }

    /// Spends one request of the sender's budget.
    fn spend(&self, webhook: &Webhook) -> Result<(), Error> {
        self.limiter.spend(&webhook.name.webhook_id, Budget::Sender)
    }

    async fn await_reply(&self, webhook: &Webhook, pending: PendingReply) -> Response<Bytes> {
        let Some(message) = pending.wait(webhook.spec.reply_timeout).await else {
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
    ) -> Result<Published, Error> {
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
            event_id: token::new_event_id(),
            test,
            verified,
            reply_id,
            traceparent,
            ..Default::default()
        };
        let record = trigger::build(webhook, &inbound, context).await?;
        let started = Instant::now();
        match self.producer.publish(&record).await {
            Ok(delivery) => {
                self.metrics.published.inc();
                self.metrics
                    .publish_seconds
                    .observe(started.elapsed().as_secs_f64());
                tracing::debug!(
                    webhook = %webhook.name,
                    event_id = %record.event_id,
                    partition = delivery.partition,
                    offset = delivery.offset,
                    "trigger published"
                );
                Ok(Published {
                    event_id: record.event_id,
                    delivery,
                })
            }
            Err(error) => {
                self.metrics.publish_failures.inc();
                tracing::warn!(webhook = %webhook.name, event_id = %record.event_id, %error, "trigger not published");
                Err(error.into())
            }
        }
    }
}
