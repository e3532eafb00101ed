//! Deduplicated webhooks: one record per delivery, however often the provider retries.
//!
//! A key is claimed in the database before publishing and marked delivered only once
//! Kafka has acknowledged; a failed publish frees it, so the provider's retry publishes.
//! Copies in this process wait on the first one through a watch channel; copies on other
//! gateways see its pending claim and poll it. Webhooks without deduplication never get
//! here past one `Option` check.
//!
//! A claimed record is published by a task of its own on a producer that keeps trying well
//! past the request deadline. The request still gets its 503 at the deadline, but the
//! claim stays pending until Kafka's verdict: a record that lands late (a broker that
//! stalled with the request in hand) makes the retry a duplicate instead of a second
//! record, and a record that fails frees the key.

use crate::{response, Metrics};
use bytes::Bytes;
use hookgate_bus::{BusError, Delivery, KafkaConfig, Producer};
use hookgate_domain::{
    dedup::DeliveryKey, ingress, token, trigger::TriggerRecord, Error, Webhook, WebhookSpec,
};
use hookgate_storage::{ClaimAttempt, ClaimRow, Store};
use http::{HeaderValue, Response};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::{sync::watch, time::Instant};

pub const DUPLICATE_HEADER: &str = "hookgate-duplicate";
/// How often a copy checks a claim held by another gateway.
const POLL_INTERVAL: Duration = Duration::from_millis(40);
const PURGE_INTERVAL: Duration = Duration::from_secs(10);
const PURGE_BATCH: u64 = 500;
const PURGE_PAUSE: Duration = Duration::from_millis(50);

/// What became of the first copy of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// In Kafka: the copies are duplicates.
    Delivered,
    /// Not published: the copies fail too, and the provider retries.
    Failed,
}

/// The verdict for one request.
pub enum Admission {
    /// Publish, then settle the claim.
    Publish(Claim),
    /// Already delivered: answer like a success and publish nothing.
    Duplicate,
}

type InFlight = Mutex<HashMap<(String, String), watch::Receiver<Option<Settled>>>>;

/// Shared by every request of the process; cheap to clone.
#[derive(Clone)]
pub struct Deduplicator {
    metrics: Metrics,
    claims: Option<Arc<Claims>>,
}

struct Claims {
    store: Store,
    /// The request deadline: how long a request waits for Kafka, and a copy for the first.
    deadline: Duration,
    /// Publishes claimed records, trying for `patience`.
    producer: Producer,
    /// How long a claim survives a gateway that died while publishing. Longer than any
    /// publish can take (the producer's send wait plus its message timeout), so a slow
    /// publish never loses its key to a copy.
    lease: Duration,
    in_flight: InFlight,
    /// Claimed records whose claims have not settled yet.
    publishing: AtomicUsize,
    purge: Option<tokio::task::AbortHandle>,
}

impl Drop for Claims {
    fn drop(&mut self) {
        if let Some(purge) = &self.purge {
            purge.abort();
        }
    }
}

impl Deduplicator {
    /// Without a database: keys and ids are derived, nothing is claimed.
    pub fn unshared(metrics: Metrics) -> Self {
        Self {
            metrics,
            claims: None,
        }
    }

    /// Claims keys in `store` and publishes claimed records with a producer of its own
    /// on `kafka`, whose `publish_timeout` is the request deadline. Starts purging ended
    /// claims in the background, for as long as a clone of this lives.
    pub fn shared(metrics: Metrics, store: Store, kafka: &KafkaConfig) -> Result<Self, BusError> {
        let deadline = kafka.publish_timeout;
        let patience = patience(deadline);
        let producer = Producer::named(
            &KafkaConfig {
                publish_timeout: patience,
                ..kafka.clone()
            },
            "claims",
        )?;
        let purge = tokio::runtime::Handle::try_current()
            .map(|runtime| runtime.spawn(purge(store.clone())).abort_handle())
            .ok();
        Ok(Self {
            metrics,
            claims: Some(Arc::new(Claims {
                store,
                deadline,
                producer,
                lease: patience * 2,
                in_flight: Mutex::default(),
                publishing: AtomicUsize::new(0),
                purge,
            })),
        })
    }

    /// Waits for claimed records still being tried, then for their claims to settle.
    pub async fn flush(&self, timeout: Duration) {
        let Some(claims) = &self.claims else { return };
        if let Err(error) = claims.producer.flush(timeout).await {
            tracing::warn!(%error, queued = claims.producer.in_flight(), "claimed records not flushed at shutdown");
        }
        let settling = async {
            while claims.publishing.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        };
        let _ = tokio::time::timeout(timeout, settling).await;
    }

    /// Decides whether `webhook` publishes this request. Test requests carry their key
    /// but claim nothing, so a test never suppresses the real delivery.
    pub async fn admit(
        &self,
        webhook: &Webhook,
        headers: &http::HeaderMap,
        body: &[u8],
        test: bool,
    ) -> Result<Admission, Error> {
        let Some(dedup) = webhook.spec.deduplication.as_ref().filter(|d| d.enabled) else {
            return Ok(Admission::Publish(Claim::default()));
        };
        let rule = dedup.rule(hookgate_verify::catalogue::default_dedup_key(&webhook.spec));
        let Some(value) = rule.extract(headers, body) else {
            tracing::debug!(webhook = %webhook.name, "no delivery key: published without deduplication");
            self.unclaimed("no_key");
            return Ok(Admission::Publish(Claim::default()));
        };
        if test {
            let key = DeliveryKey {
                value,
                event_id: token::new_event_id(),
            };
            return Ok(Admission::Publish(Claim::unclaimed(key)));
        }
        let key = DeliveryKey::new(&webhook.name.webhook_id, value);
        match &self.claims {
            None => Ok(Admission::Publish(Claim::unclaimed(key))),
            Some(claims) => {
                let slot = (webhook.name.webhook_id.clone(), key.digest());
                // Boxed: claiming through the database is the rare path, and its future
                // would otherwise size every request's.
                Box::pin(self.admit_copy(claims, slot, key, dedup.window)).await
            }
        }
    }

    async fn admit_copy(
        &self,
        claims: &Arc<Claims>,
        slot: (String, String),
        key: DeliveryKey,
        window: Duration,
    ) -> Result<Admission, Error> {
        let deadline = Instant::now() + claims.deadline;
        let first = {
            let mut in_flight = claims.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match in_flight.get(&slot) {
                Some(first) => Err(first.clone()),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    in_flight.insert(slot.clone(), receiver);
                    Ok(sender)
                }
            }
        };
        let sender = match first {
            Ok(sender) => sender,
            Err(mut first) => {
                self.metrics.dedup_claims_waited.inc();
                let settled = tokio::time::timeout_at(deadline, first.wait_for(Option::is_some))
                    .await
                    .ok()
                    .and_then(|settled| settled.ok().and_then(|s| *s));
                return self.copy_outcome(settled);
            }
        };
        let mut held = Held {
            claims: claims.clone(),
            slot,
            owner: token::new_event_id(),
            window,
            sender,
            in_db: false,
            handed_over: false,
            settled: false,
        };
        match held.claim(deadline, &self.metrics).await {
            Ok(true) => Ok(Admission::Publish(Claim {
                key: Some(key),
                held: Some(held),
            })),
            Ok(false) => {
                held.settle(Settled::Delivered);
                self.copy_outcome(Some(Settled::Delivered))
            }
            Err(ClaimError::Database(error)) => {
                // Availability over exactness: the record still goes out, and copies in
                // this process still wait for it.
                tracing::warn!(%error, "delivery claim failed: published without a shared claim");
                self.unclaimed("database");
                Ok(Admission::Publish(Claim {
                    key: Some(key),
                    held: Some(held),
                }))
            }
            Err(ClaimError::Failed) => {
                held.settle(Settled::Failed);
                self.copy_outcome(Some(Settled::Failed))
            }
            Err(ClaimError::Waiting) => {
                held.settle(Settled::Failed);
                self.copy_outcome(None)
            }
        }
    }

    fn copy_outcome(&self, settled: Option<Settled>) -> Result<Admission, Error> {
        match settled {
            Some(Settled::Delivered) => {
                self.metrics.dedup_duplicates.inc();
                Ok(Admission::Duplicate)
            }
            Some(Settled::Failed) => Err(Error::Unavailable(
                "an earlier copy of this delivery was not published".into(),
            )),
            None => Err(Error::Unavailable(
                "an earlier copy of this delivery is still being published".into(),
            )),
        }
    }

    fn unclaimed(&self, reason: &'static str) {
        self.metrics
            .dedup_unclaimed
            .get_or_create(&crate::metrics::ReasonLabel { reason })
            .inc();
    }
}

enum ClaimError {
    /// The database could not be asked in time.
    Database(Error),
    /// The first copy was not published.
    Failed,
    /// The first copy is still publishing and the deadline has come.
    Waiting,
}

/// This process's first copy of a delivery, from before its claim until it settles.
struct Held {
    claims: Arc<Claims>,
    slot: (String, String),
    owner: String,
    window: Duration,
    sender: watch::Sender<Option<Settled>>,
    /// Whether the database holds the claim (false when it could not be reached).
    in_db: bool,
    /// Whether the record went to Kafka, whose verdict then settles the claim.
    handed_over: bool,
    settled: bool,
}

impl Held {
    /// `Ok(true)` when this copy publishes, `Ok(false)` when the delivery is in Kafka.
    async fn claim(&mut self, deadline: Instant, metrics: &Metrics) -> Result<bool, ClaimError> {
        let claims = self.claims.clone();
        let (webhook_id, key_hash) = (&self.slot.0, &self.slot.1);
        let mut waited = false;
        loop {
            // A database that does not answer must not eat the whole request deadline.
            let ask_by = Instant::now() + claims.deadline / 4;
            let now = now_ms();
            let attempt = claims.store.claim_delivery(
                webhook_id,
                key_hash,
                &self.owner,
                now + millis(claims.lease),
                now,
            );
            let row = match tokio::time::timeout_at(ask_by, attempt).await {
                Ok(Ok(ClaimAttempt::Won)) => {
                    self.in_db = true;
                    return Ok(true);
                }
                Ok(Ok(ClaimAttempt::Held(row))) => row,
                Ok(Err(error)) => return Err(ClaimError::Database(error)),
                Err(_) => {
                    return Err(ClaimError::Database(Error::Unavailable(
                        "database did not answer in time".into(),
                    )))
                }
            };
            if row.delivered {
                return Ok(false);
            }
            if !waited {
                waited = true;
                metrics.dedup_claims_waited.inc();
            }
            if self.wait_elsewhere(row, deadline).await? {
                return Ok(false);
            }
            // The other gateway's lease ended: take the key over.
        }
    }

    /// Polls a claim another gateway is publishing under: true once delivered, false
    /// when its lease ended and the key may be taken over.
    async fn wait_elsewhere(
        &self,
        mut row: ClaimRow,
        deadline: Instant,
    ) -> Result<bool, ClaimError> {
        let (webhook_id, key_hash) = (&self.slot.0, &self.slot.1);
        loop {
            if row.delivered {
                return Ok(true);
            }
            if row.expire_time_ms <= now_ms() {
                return Ok(false);
            }
            if Instant::now() + POLL_INTERVAL >= deadline {
                return Err(ClaimError::Waiting);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            row = match self.claims.store.find_claim(webhook_id, key_hash).await {
                Ok(Some(row)) => row,
                // Freed: the first copy was not published.
                Ok(None) => return Err(ClaimError::Failed),
                Err(error) => {
                    tracing::debug!(%error, "delivery claim unreadable; polling on");
                    row
                }
            };
        }
    }

    fn settle(&mut self, settled: Settled) {
        if self.settled {
            return;
        }
        self.settled = true;
        let _ = self.sender.send(Some(settled));
        let mut in_flight = self
            .claims
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        in_flight.remove(&self.slot);
    }
}

impl Drop for Held {
    /// A claim given up before its record reached Kafka (the request dropped, the record
    /// not built) tells its copies it failed and frees its key. Once handed over, only
    /// Kafka's verdict settles it; should that never come (the process ends), the claim
    /// ends with its lease.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.settle(Settled::Failed);
        if !self.in_db || self.handed_over {
            return;
        }
        let (claims, slot, owner) = (self.claims.clone(), self.slot.clone(), self.owner.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = claims.store.release_claim(&slot.0, &slot.1, &owner).await {
                    tracing::warn!(%error, "delivery claim not released; it ends with its lease");
                }
            });
        }
    }
}

/// A request allowed to publish, and what it must report afterwards.
#[derive(Default)]
pub struct Claim {
    key: Option<DeliveryKey>,
    held: Option<Held>,
}

impl Claim {
    fn unclaimed(key: DeliveryKey) -> Self {
        Self {
            key: Some(key),
            held: None,
        }
    }

    /// The delivery's key and event id, for deduplicated webhooks.
    pub fn key(&self) -> Option<&DeliveryKey> {
        self.key.as_ref()
    }

    /// Publishes `record`: directly on `producer` when nothing is claimed; otherwise on
    /// the claim's patient producer, from a task that settles the claim with Kafka's
    /// verdict however long the request waits for it.
    pub async fn publish(
        self,
        producer: &Producer,
        record: TriggerRecord,
    ) -> Result<Delivery, Error> {
        match self.held {
            None => producer.publish(record).await.map_err(Error::from),
            // Boxed, so a request without a claim does not carry this path's future.
            Some(held) => Box::pin(publish_claimed(held, record)).await,
        }
    }
}

/// Publishes a claimed record on the claim's patient producer, from a task that settles
/// the claim with Kafka's verdict however long the request waits for it.
async fn publish_claimed(mut held: Held, record: TriggerRecord) -> Result<Delivery, Error> {
    held.handed_over = true;
    let deadline = held.claims.deadline;
    let patient = held.claims.producer.clone();
    let (verdict, answer) = tokio::sync::oneshot::channel();
    held.claims.publishing.fetch_add(1, Ordering::AcqRel);
    tokio::spawn(async move {
        let claims = held.claims.clone();
        let result = patient.publish(record).await;
        let delivered = result.is_ok();
        // The caller is answered first: a copy that comes before the claim is settled
        // waits for it like any copy.
        let _ = verdict.send(result);
        match delivered {
            true => held.delivered().await,
            false => held.failed().await,
        }
        claims.publishing.fetch_sub(1, Ordering::AcqRel);
    });
    match tokio::time::timeout(deadline, answer).await {
        Ok(Ok(result)) => result.map_err(Error::from),
        Ok(Err(_)) => Err(Error::Internal(
            "publishing task ended without a verdict".into(),
        )),
        Err(_) => Err(Error::Unavailable(
            "kafka did not acknowledge the record in time; its claim waits for the verdict".into(),
        )),
    }
}

impl Held {
    /// Kafka acknowledged the record: copies from now until the window ends are duplicates.
    async fn delivered(mut self) {
        self.settle(Settled::Delivered);
        if !self.in_db {
            return;
        }
        let expire = now_ms() + millis(self.window);
        let (webhook_id, key_hash) = (&self.slot.0, &self.slot.1);
        match self
            .claims
            .store
            .complete_claim(webhook_id, key_hash, &self.owner, expire)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("delivery claim lost before it was completed"),
            // The record is in Kafka either way; a retry after the lease publishes again.
            Err(error) => tracing::warn!(%error, "delivery claim not completed"),
        }
    }

    /// Not published: the key is free again, so the provider's retry publishes.
    async fn failed(mut self) {
        self.settle(Settled::Failed);
        if !self.in_db {
            return;
        }
        let (webhook_id, key_hash) = (&self.slot.0, &self.slot.1);
        if let Err(error) = self
            .claims
            .store
            .release_claim(webhook_id, key_hash, &self.owner)
            .await
        {
            tracing::warn!(%error, "delivery claim not released; it ends with its lease");
        }
    }
}

/// A duplicate's answer: the webhook's success, marked.
pub fn duplicate_response(spec: &WebhookSpec) -> Response<Bytes> {
    let mut response = response::from_reply(ingress::success_reply(spec));
    response
        .headers_mut()
        .insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
    response
}

/// Deletes ended claims now and then, in small batches, for as long as it runs.
async fn purge(store: Store) {
    let mut ticks = tokio::time::interval(PURGE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        loop {
            match store.purge_claims(now_ms(), PURGE_BATCH).await {
                Ok(deleted) if deleted >= PURGE_BATCH => tokio::time::sleep(PURGE_PAUSE).await,
                Ok(deleted) => {
                    if deleted > 0 {
                        tracing::debug!(deleted, "ended delivery claims purged");
                    }
                    break;
                }
                Err(error) => {
                    tracing::debug!(%error, "delivery claims not purged; trying again later");
                    break;
                }
            }
        }
    }
}

/// How long claimed records are tried: well past the request deadline, so a broker that
/// stalls for a while still gives a verdict rather than an unknown.
fn patience(deadline: Duration) -> Duration {
    (deadline * 6).max(Duration::from_secs(60))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
