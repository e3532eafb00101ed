//! Publishing trigger records with broker acknowledgement, by a producer that heals.
//!
//! An idempotent producer can reach a state librdkafka calls fatal (fenced, sequence
//! desynchronised with the broker, …): from then on it refuses every record and never
//! recovers. Such a producer is replaced by a fresh one, once per death (the generation
//! number decides who replaces it); records it still has in flight keep their own verdict,
//! so no request is acknowledged without its record, and none twice.

use crate::{
    gate::{Batch, Entry, Gate},
    memory,
    native::{self, InFlight, TopicHandle},
    reports::{self, ReportQueue, Reported},
    watch::BrokerWatch,
    BusError, KafkaConfig,
};
use hookgate_domain::trigger::TriggerRecord;
use rdkafka::{
    client::ClientContext,
    config::RDKafkaLogLevel,
    error::KafkaError,
    message::Message as _,
    producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext},
    types::RDKafkaErrorCode,
    util::Timeout,
};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, OnceLock, RwLock, Weak,
    },
    time::{Duration, Instant},
};

/// How often a dead producer or an outage is looked at when no request does it.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);
/// How long a record waits before trying a full librdkafka queue again.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);
/// Records waiting at the gate that leave at once, beside the batch already out. Against
/// one batch at a time, at 256 connections: 18-25 % more requests and 19-24 % less CPU per
/// request; at 16 connections lines stay shorter than this.
const LONGEST_LINE: usize = 64;
/// A failed publish keeps `/readyz` at 503 this long, unless a success comes first.
const FAILURE_MEMORY: Duration = Duration::from_secs(10);

/// Where an acknowledged record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Shared with the producer: a delivery costs no copy of the name.
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

/// Receives librdkafka's client-wide errors for one producer generation.
struct Context {
    generation: u64,
    /// librdkafka repeats the news; it is logged once.
    fatal: AtomicBool,
    watch: Arc<BrokerWatch>,
}

/// Kafka's verdict on one record: its partition and offset, or why it was not stored.
type Verdict = Result<(i32, i64), KafkaError>;
/// Resolves with a record's verdict; a closed channel means the producer went away first.
type DeliveryFuture = tokio::sync::oneshot::Receiver<Verdict>;
impl ProducerContext for Context {
    type DeliveryOpaque = Box<InFlight<Verdict>>;

    fn delivery(&self, result: &DeliveryResult<'_>, flight: Box<InFlight<Verdict>>) {
        let outcome = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((error, _)) => Err(error.clone()),
        };
        let InFlight { verdict, record } = *flight;
        // A request gone meanwhile has nobody to tell.
        drop(verdict.send(outcome));
        // librdkafka is done with the value: its buffer goes to the next record.
        drop(record);
    }
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.watch.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fatal) => {
                if !self.fatal.swap(true, Ordering::AcqRel) {
                    tracing::error!(
                        generation = self.generation,
                        reason,
                        "kafka producer reached a fatal state; replacing it"
                    );
                }
            }
            Some(RDKafkaErrorCode::AllBrokersDown) => self.watch.down(reason),
            _ => self.watch.other_error(&error, reason),
        }
    }
}

/// Whether `error` means the broker will never take a record from this producer again:
/// its producer id or epoch is no longer accepted. librdkafka calls some of these fatal;
/// others (a fenced epoch answered to a produce request, as after a broker freeze) it
/// reports on every record, forever, without calling the producer dead.
fn kills_producer(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fatal
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::InvalidProducerIdMapping
                | RDKafkaErrorCode::OutOfOrderSequenceNumber
        )
    )
}

/// One librdkafka producer instance.
struct Generation {
    /// Declared before `producer`, so it is dropped first: it unregisters librdkafka's
    /// callback while the producer is still alive.
    reports: ReportQueue,
    /// The topic's handle, released before the producer too.
    topic: TopicHandle,
    number: u64,
    producer: BaseProducer<Context>,
    /// Set when a record's error showed this producer can never publish again.
    dead: OnceLock<String>,
}

impl Generation {
    /// Builds the producer and starts serving its delivery reports.
    fn build(
        config: &KafkaConfig,
        number: u64,
        watch: Arc<BrokerWatch>,
    ) -> Result<Arc<Self>, BusError> {
        memory::keep_batch_memory();
        let timeout_ms = config.publish_timeout.as_millis().max(1).to_string();
        let context = Context {
            generation: number,
            fatal: AtomicBool::new(false),
            watch,
        };
        let producer: BaseProducer<Context> = config
            .client_config(&[
                ("enable.idempotence", "true".into()),
                ("acks", "all".into()),
                // Batching comes from concurrency: the gate (see `gate`) forms the
                // batches and they leave with no linger. Four requests in flight and a
                // fifth built behind them fill the broker's window of five batches per
                // partition; with a fifth in flight and none behind it, records that
                // arrive meanwhile would make librdkafka's broker thread poll in a loop.
                ("linger.ms", "0".into()),
                ("max.in.flight.requests.per.connection", "4".into()),
                ("compression.type", "lz4".into()),
                // The bounded queue: when it is full, `publish` waits (backpressure) for up
                // to half the request deadline rather than failing at once.
                ("queue.buffering.max.messages", "100000".into()),
                ("queue.buffering.max.kbytes", "262144".into()),
                ("message.timeout.ms", timeout_ms),
                // `publish` refuses larger records itself, with the same arithmetic.
                ("message.max.bytes", config.max_record_bytes.to_string()),
            ])
            .create_with_context(context)
            .map_err(BusError::Config)?;
        let reports = ReportQueue::attach(&producer).ok_or_else(|| {
            BusError::Config(KafkaError::ClientCreation(
                "librdkafka has no report queue".into(),
            ))
        })?;
        let topic = TopicHandle::new(&producer, &config.trigger_topic).ok_or_else(|| {
            BusError::Config(KafkaError::ClientCreation(format!(
                "librdkafka has no handle for topic {}",
                config.trigger_topic
            )))
        })?;
        let generation = Arc::new(Self {
            reports,
            topic,
            number,
            producer,
            dead: OnceLock::new(),
        });
        reports::serve(&generation);
        Ok(generation)
    }

    /// Gives a record to librdkafka; it comes back, with the reason, if librdkafka
    /// refuses it.
    fn send(
        &self,
        flight: Box<InFlight<Verdict>>,
    ) -> Result<(), (KafkaError, Box<InFlight<Verdict>>)> {
        native::produce(&self.producer, &self.topic, flight)
            .map_err(|(code, flight)| (KafkaError::MessageProduction(code), flight))
    }

    /// Why this producer can never publish again, if it cannot.
    fn fatal_error(&self) -> Option<String> {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            return Some(format!("{code}: {reason}"));
        }
        self.dead.get().cloned()
    }
}

impl Reported for Generation {
    fn reports(&self) -> &ReportQueue {
        &self.reports
    }

    fn serve_one(&self, timeout: Duration) {
        self.producer.poll(timeout);
    }
}

/// What the last publishes did, for readiness.
#[derive(Default)]
struct Recent {
    /// The latest failure, cleared by a success.
    failure: Option<(Instant, String)>,
}

struct Shared {
    config: KafkaConfig,
    topic: Arc<str>,
    current: RwLock<Arc<Generation>>,
    /// Held while a replacement is built, so a death is handled once.
    replacing: Mutex<()>,
    watch: Arc<BrokerWatch>,
    recent: Mutex<Recent>,
    /// Forms the batches.
    gate: Gate<Waiting>,
}

/// A record waiting at the gate, and where its hand-over is reported.
struct Waiting {
    record: TriggerRecord,
    handed: tokio::sync::oneshot::Sender<Handed>,
}

/// A record librdkafka refused, given back so it can be tried again.
type Refused = (KafkaError, TriggerRecord);

/// A record given to librdkafka (or refused by it), by the generation `number`, with its
/// place among the outstanding records.
struct Handed {
    number: u64,
    enqueued: Result<DeliveryFuture, Refused>,
    ticket: Ticket,
}

/// One outstanding record of batch `batch`. Dropping it settles the record; the first of
/// the latest batch to settle hands over everything that waited meanwhile.
struct Ticket {
    shared: Arc<Shared>,
    batch: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(line) = self.shared.gate.settle(self.batch) {
            self.shared.hand_over(line);
        }
    }
}

/// Takes a record out of line if its request goes away before it is handed over.
struct InLine<'a> {
    gate: &'a Gate<Waiting>,
    place: u64,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        drop(self.gate.withdraw(self.place));
    }
}

impl Shared {
    fn current(&self) -> Arc<Generation> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces generation `dead` unless someone already has.
    fn replace(&self, dead: u64) {
        let _single_flight = match self.replacing.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let current = self.current();
        if current.number != dead {
            return;
        }
        let next = match Generation::build(&self.config, dead + 1, self.watch.clone()) {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, generation = dead, "could not replace the failed kafka producer; retrying");
                return;
            }
        };
        match self.current.write() {
            Ok(mut slot) => *slot = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        self.config.metrics.producer_replaced.inc();
        tracing::info!(generation = dead + 1, "kafka producer replaced");
        retire(current, self.config.publish_timeout);
    }

    /// Replaces the producer when `error`, from generation `number`, shows it dead.
    fn examine(&self, number: u64, error: &KafkaError) {
        let current = self.current();
        if current.number != number {
            return;
        }
        if kills_producer(error) && current.dead.set(error.to_string()).is_ok() {
            tracing::error!(
                generation = number,
                %error,
                "kafka producer can no longer publish; replacing it"
            );
        }
        self.replace_if_dead(&current);
    }

    fn replace_if_dead(&self, generation: &Generation) -> bool {
        match generation.fatal_error() {
            Some(_) => {
                self.replace(generation.number);
                true
            }
            None => false,
        }
    }

    /// Gives every record of `line` to librdkafka in one go, so they leave together.
    fn hand_over(self: &Arc<Self>, line: Batch<Waiting>) {
        let generation = self.current();
        for waiting in line.jobs {
            let (flight, delivery) = in_flight(waiting.record);
            let enqueued = match generation.send(flight) {
                Ok(()) => Ok(delivery),
                Err((error, flight)) => Err((error, flight.record)),
            };
            let handed = Handed {
                number: generation.number,
                enqueued,
                ticket: Ticket {
                    shared: self.clone(),
                    batch: line.number,
                },
            };
            // A request gone meanwhile: its record is sent all the same, and its place
            // is settled as the hand-over is dropped. That opens the gate before the
            // batch is answered (one more batch in flight), but a batch whose requests
            // are all gone can never hold it shut.
            drop(waiting.handed.send(handed));
        }
    }

    fn succeeded(&self) {
        self.watch.up();
        if let Ok(mut recent) = self.recent.lock() {
            recent.failure = None;
        }
    }

    /// The error for a record that was not published. A record the brokers refuse as too
    /// large (their limit may be below ours) says nothing about the others.
    fn failed(&self, error: KafkaError, size: usize) -> BusError {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) {
            let limit = self.config.max_record_bytes.min(size.saturating_sub(1));
            return BusError::RecordTooLarge { size, limit };
        }
        if let Ok(mut recent) = self.recent.lock() {
            recent.failure = Some((Instant::now(), error.to_string()));
        }
        BusError::Publish(error)
    }
}

/// Lets a dead producer settle the records it still holds (each gets its own verdict from
/// the broker or its deadline), then frees it, away from the async threads: dropping a
/// producer joins its polling thread.
fn retire(generation: Arc<Generation>, publish_timeout: Duration) {
    let spawned = std::thread::Builder::new()
        .name("kafka-retire".into())
        .spawn(move || {
            let _ = generation.producer.flush(Timeout::After(publish_timeout));
            drop(generation);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not retire the failed kafka producer in the background");
    }
}

/// An idempotent, acks=all producer for the trigger topic. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl Producer {
    /// Builds the producer; inside a Tokio runtime it also starts the task that replaces a
    /// dead producer and notices the end of an outage when no request comes to do it.
    pub fn new(config: &KafkaConfig) -> Result<Self, BusError> {
        Self::named(config, "producer")
    }

    /// A producer whose broker metrics carry `client` as their label, so a second producer
    /// of the process neither doubles nor overwrites the first one's.
    pub fn named(config: &KafkaConfig, client: &'static str) -> Result<Self, BusError> {
        let watch = Arc::new(BrokerWatch::new(client, config.metrics.clone()));
        let first = Generation::build(config, 1, watch.clone())?;
        let shared = Arc::new(Shared {
            config: config.clone(),
            topic: config.trigger_topic.as_str().into(),
            current: RwLock::new(first),
            replacing: Mutex::new(()),
            watch,
            recent: Mutex::default(),
            gate: Gate::new(LONGEST_LINE),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(supervise(Arc::downgrade(&shared)));
        }
        Ok(Self { shared })
    }

    pub fn topic(&self) -> &str {
        &self.shared.config.trigger_topic
    }

    /// Resolves once the brokers hold the record, or fails; never both, never neither.
    /// The record is taken, not borrowed: one waiting at the gate is handed over from
    /// there, without a copy.
    pub async fn publish(&self, record: TriggerRecord) -> Result<Delivery, BusError> {
        let shared = &self.shared;
        let (size, limit) = (encoded_size(&record), shared.config.max_record_bytes);
        if size > limit {
            return Err(BusError::RecordTooLarge { size, limit });
        }
        let queue_deadline = Instant::now() + shared.config.publish_timeout / 2;
        // A record refused at enqueue by a dead producer never left the process, so it may
        // go to the replacement; one that was handed over may not (it could yet land).
        let mut may_retry = true;
        let mut record = record;
        let (generation, delivery, _ticket) = loop {
            let generation = shared.current();
            if shared.replace_if_dead(&generation) && may_retry {
                may_retry = false;
                continue;
            }
            let Some((number, enqueued, ticket)) =
                self.through_gate(&generation, record, queue_deadline).await
            else {
                let full = KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull);
                return Err(shared.failed(full, size));
            };
            match enqueued {
                Ok(delivery) => break (number, delivery, ticket),
                Err((error, refused)) => {
                    drop(ticket);
                    record = refused;
                    let full = error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull);
                    if full && Instant::now() < queue_deadline {
                        tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                        continue;
                    }
                    shared.examine(number, &error);
                    let refused_by_dead = {
                        let current = shared.current();
                        current.number != number || current.fatal_error().is_some()
                    };
                    if refused_by_dead && may_retry {
                        may_retry = false;
                        continue;
                    }
                    return Err(shared.failed(error, size));
                }
            }
        };
        // No timer of our own around the delivery: librdkafka fails a queued record once
        // `message.timeout.ms` (the request deadline) has passed, so the delivery report is
        // the one verdict, and a record is never acknowledged after we have answered 503.
        let error = match delivery.await {
            Ok(Ok((partition, offset))) => {
                shared.succeeded();
                return Ok(Delivery {
                    topic: shared.topic.clone(),
                    partition,
                    offset,
                });
            }
            Ok(Err(error)) => error,
            Err(_) => KafkaError::Canceled,
        };
        shared.examine(generation, &error);
        Err(shared.failed(error, size))
    }

    /// Hands `record` over at once when no batch is waiting for its answer; otherwise
    /// waits in line, until `queue_deadline`, for the batch it joins to be handed over.
    /// `None` if it never was (and now never will be).
    async fn through_gate(
        &self,
        generation: &Generation,
        record: TriggerRecord,
        queue_deadline: Instant,
    ) -> Option<(u64, Result<DeliveryFuture, Refused>, Ticket)> {
        let gate = &self.shared.gate;
        let mut handed = None;
        let entry = gate.enter(record, |record| {
            let (sender, receiver) = tokio::sync::oneshot::channel();
            handed = Some(receiver);
            Waiting {
                record,
                handed: sender,
            }
        });
        let place = match entry {
            Entry::Pass(batch, record) => {
                let ticket = Ticket {
                    shared: self.shared.clone(),
                    batch,
                };
                let enqueued = enqueue(generation, record, queue_deadline).await;
                return Some((generation.number, enqueued, ticket));
            }
            Entry::Queued(place) => place,
            Entry::Leads(place, line) => {
                self.shared.hand_over(line);
                place
            }
        };
        let handed = handed?;
        wait_in_line(gate, place, handed, queue_deadline)
            .await
            .map(|handed| (handed.number, handed.enqueued, handed.ticket))
    }

    /// `Err` naming the reason while no record can be published: the producer is dead,
    /// every broker is unreachable, or the latest publish failed (recently, with no
    /// success since).
    pub fn health(&self) -> Result<(), String> {
        let shared = &self.shared;
        if let Some(reason) = shared.current().fatal_error() {
            return Err(format!("producer failed ({reason}); replacing it"));
        }
        if let Some(down_for) = shared.watch.down_for() {
            return Err(format!(
                "brokers unreachable for {}s",
                down_for.as_secs().max(1)
            ));
        }
        let recent = shared.recent.lock().map_err(|e| e.to_string())?;
        match &recent.failure {
            Some((at, error)) if at.elapsed() < FAILURE_MEMORY => {
                Err(format!("the latest record was not acknowledged: {error}"))
            }
            _ => Ok(()),
        }
    }

    /// Records queued or awaiting acknowledgement.
    pub fn in_flight(&self) -> i32 {
        self.shared.current().producer.in_flight_count()
    }

    /// Waits for every queued record to be acknowledged, for shutdown.
    pub async fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        let generation = self.shared.current();
        tokio::task::spawn_blocking(move || generation.producer.flush(Timeout::After(timeout)))
            .await
            .map_err(|error| BusError::Task(error.to_string()))?
            .map_err(BusError::Publish)
    }

    /// Blocking metadata request for one topic, over this producer's connections.
    pub(crate) fn topic_metadata(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> rdkafka::error::KafkaResult<rdkafka::metadata::Metadata> {
        let generation = self.shared.current();
        let metadata = generation
            .producer
            .client()
            .fetch_metadata(Some(topic), timeout);
        if metadata.is_ok() {
            self.shared.watch.up();
        }
        metadata
    }
}

/// Bytes of a record's length, attributes, timestamp and offset deltas, key and value
/// lengths and header count at their largest: librdkafka's own allowance.
const RECORD_OVERHEAD: usize = 36;

/// A record's size as librdkafka weighs it against `message.max.bytes`.
pub(crate) fn encoded_size(record: &TriggerRecord) -> usize {
    // Header name and value lengths are zig-zag varints.
    let varint = |n: usize| {
        let zigzag = (n as u64) << 1;
        (64 - zigzag.leading_zeros() as usize).div_ceil(7).max(1)
    };
    let headers: usize = record
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + varint(name.len()) + varint(value.len()))
        .sum();
    RECORD_OVERHEAD + record.key.len() + record.value.len() + headers
}

/// Waits in line for the hand-over until `deadline`; `None` if the record was never
/// handed over (and now never will be).
async fn wait_in_line(
    gate: &Gate<Waiting>,
    place: u64,
    mut handed: tokio::sync::oneshot::Receiver<Handed>,
    deadline: Instant,
) -> Option<Handed> {
    let in_line = InLine { gate, place };
    let deadline = tokio::time::Instant::from_std(deadline);
    let waited = tokio::time::timeout_at(deadline, &mut handed).await;
    // Past the wait nothing is left to withdraw on drop but what is withdrawn below;
    // scanning the line again for every handed-over record would cost each batch
    // quadratic time under the lock.
    std::mem::forget(in_line);
    match waited {
        Ok(outcome) => outcome.ok(),
        // Out of line now, unless the hand-over came first: then Kafka has the verdict.
        Err(_) => match gate.withdraw(place) {
            Some(_) => None,
            None => handed.await.ok(),
        },
    }
}

/// Hands `record` to librdkafka, waiting while its queue is full until `queue_deadline`;
/// a refused record is given back.
async fn enqueue(
    generation: &Generation,
    record: TriggerRecord,
    queue_deadline: Instant,
) -> Result<DeliveryFuture, Refused> {
    let (mut flight, delivery) = in_flight(record);
    loop {
        match generation.send(flight) {
            Ok(()) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                if Instant::now() < queue_deadline =>
            {
                flight = returned;
                tokio::time::sleep(QUEUE_FULL_PAUSE).await;
            }
            Err((error, returned)) => return Err((error, returned.record)),
        }
    }
}

/// `record` ready for librdkafka, and where its verdict will arrive.
fn in_flight(record: TriggerRecord) -> (Box<InFlight<Verdict>>, DeliveryFuture) {
    let (verdict, delivery) = tokio::sync::oneshot::channel();
    (Box::new(InFlight { verdict, record }), delivery)
}

/// Replaces a dead producer and notices the end of an outage without waiting for traffic.
async fn supervise(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(SUPERVISE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let generation = shared.current();
        if shared.replace_if_dead(&generation) || !shared.watch.is_down() {
            continue;
        }
        let topic = shared.config.trigger_topic.clone();
        let watch = shared.watch.clone();
        drop(shared);
        let reachable = tokio::task::spawn_blocking(move || {
            generation
                .producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(1))
                .is_ok()
        })
        .await;
        if matches!(reachable, Ok(true)) {
            watch.up();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_scram_properties_are_accepted() {
        let config = KafkaConfig {
            properties: [
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanisms", "SCRAM-SHA-512"),
                ("sasl.username", "hookgate"),
                ("sasl.password", "secret"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect(),
            ..KafkaConfig::local("127.0.0.1:1")
        };
        assert!(
            Producer::new(&config).is_ok(),
            "librdkafka must be built with TLS and SASL"
        );
    }

    fn record(value_len: usize) -> TriggerRecord {
        TriggerRecord {
            key: "0193a7c2e4d07b3f9c1d2e3f4a5b6c7d".into(),
            headers: vec![
                ("ce_specversion", "1.0".into()),
                (
                    "ce_source",
                    "/applications/acme/webhooks/w".repeat(10).into(),
                ),
                ("ce_type", "x".repeat(200).into()),
            ],
            value: vec![b'v'; value_len],
            event_id: "e".into(),
        }
    }

    #[tokio::test]
    async fn the_record_limit_is_librdkafkas_to_the_byte() {
        let config = KafkaConfig {
            max_record_bytes: 5_000,
            ..KafkaConfig::local("127.0.0.1:1")
        };
        let producer = Producer::new(&config).unwrap();
        let generation = producer.shared.current();
        let overhead = encoded_size(&record(0));
        let fits = record(5_000 - overhead);
        assert_eq!(encoded_size(&fits), 5_000);
        let later = Instant::now() + Duration::from_secs(1);
        assert!(
            enqueue(&generation, fits, later).await.is_ok(),
            "librdkafka takes what publish lets through"
        );
        let over = record(5_001 - overhead);
        match enqueue(&generation, over.clone(), later).await {
            Err((error, _)) => assert_eq!(
                error.rdkafka_error_code(),
                Some(RDKafkaErrorCode::MessageSizeTooLarge),
                "publish refuses only what librdkafka would"
            ),
            Ok(_) => panic!("librdkafka accepted a record over message.max.bytes"),
        }
        assert!(matches!(
            producer.publish(over).await,
            Err(BusError::RecordTooLarge {
                size: 5_001,
                limit: 5_000
            })
        ));
        generation
            .producer
            .purge(rdkafka::producer::PurgeConfig::default().queue());
    }

    #[test]
    fn unknown_properties_are_a_configuration_error() {
        let config = KafkaConfig {
            properties: vec![("no.such.property".to_owned(), "1".into())],
            ..KafkaConfig::local("127.0.0.1:1")
        };
        assert!(matches!(Producer::new(&config), Err(BusError::Config(_))));
    }
}
