//! Delivery reports served on the async threads, without a polling thread of librdkafka's.
//!
//! rdkafka's `FutureProducer` polls for delivery reports on a thread of its own: every
//! answered batch crossed from librdkafka's broker thread to that thread, and from it to a
//! tokio worker, two wake-ups and two context switches. Here librdkafka calls back when its
//! report queue goes from empty to non-empty (`rd_kafka_queue_cb_event_enable`); the
//! callback only wakes a task, and that task serves the reports on a tokio worker, where
//! the requests they complete are woken without crossing threads again.
//!
//! With `native`, the only unsafe code of the crate: four librdkafka functions its Rust
//! binding does not offer for producers.
#![allow(unsafe_code)]

use rdkafka::{
    bindings as rdsys,
    producer::{BaseProducer, Producer as _, ProducerContext},
};
use std::{
    os::raw::c_void,
    sync::{Arc, Weak},
    time::Duration,
};
use tokio::sync::Notify;

/// Serving is re-armed this often even without a wake-up, so a report is late at worst,
/// never lost.
const FALLBACK_EVERY: Duration = Duration::from_millis(100);
/// Report events served before the task lets other tasks run; each is a whole batch.
const EVENTS_PER_TURN: usize = 64;

/// librdkafka's report queue of one producer, with the wake-up registered on it.
/// Dropped before the producer: it unregisters the callback first.
pub(crate) struct ReportQueue {
    queue: *mut rdsys::rd_kafka_queue_t,
    /// Kept alive as long as librdkafka may call back with a pointer to it.
    signal: Arc<Notify>,
}

// SAFETY: librdkafka queues are thread-safe; the pointer is only passed back to
// librdkafka's own functions, which lock the queue.
unsafe impl Send for ReportQueue {}
// SAFETY: as above; `&self` methods only read the queue's length under its lock.
unsafe impl Sync for ReportQueue {}

/// Called by librdkafka, under the queue's lock, when a report arrives at an empty queue:
/// it must not call back into librdkafka, and it does not.
unsafe extern "C" fn reports_arrived(_client: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Notify` of a live `ReportQueue`: the callback is removed
    // (under the same lock) before that `Arc` is dropped.
    let signal = unsafe { &*(opaque as *const Notify) };
    signal.notify_one();
}

impl ReportQueue {
    /// Registers the wake-up on `producer`'s report queue.
    pub(crate) fn attach<C: ProducerContext>(producer: &BaseProducer<C>) -> Option<Self> {
        // SAFETY: the client pointer is valid for `producer`'s life; the reference taken
        // here is released in `Drop`, which runs before the producer is dropped.
        let queue = unsafe { rdsys::rd_kafka_queue_get_main(producer.client().native_ptr()) };
        if queue.is_null() {
            return None;
        }
        let signal = Arc::new(Notify::new());
        // SAFETY: `queue` is valid; the opaque outlives the registration (see `Drop`).
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(
                queue,
                Some(reports_arrived),
                Arc::as_ptr(&signal) as *mut c_void,
            );
        }
        Some(Self { queue, signal })
    }

    fn is_empty(&self) -> bool {
        // SAFETY: `queue` is valid until `Drop`.
        unsafe { rdsys::rd_kafka_queue_length(self.queue) == 0 }
    }
}

impl Drop for ReportQueue {
    fn drop(&mut self) {
        // SAFETY: unregistering takes the queue's lock, so no callback runs after it
        // returns; then the reference from `attach` is released.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(self.queue, None, std::ptr::null_mut());
            rdsys::rd_kafka_queue_destroy(self.queue);
        }
    }
}

/// What the serving task needs of a producer generation.
pub(crate) trait Reported: Send + Sync + 'static {
    fn reports(&self) -> &ReportQueue;
    /// Serves at most one event of the report queue, waiting up to `timeout` for one.
    fn serve_one(&self, timeout: Duration);
}

/// Serves `owner`'s reports as they arrive, until it is dropped. Inside a tokio runtime
/// this is a task; outside one, a thread that polls.
pub(crate) fn serve<G: Reported>(owner: &Arc<G>) {
    let weak = Arc::downgrade(owner);
    let signal = owner.reports().signal.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(serve_on_wakeups(weak, signal))),
        Err(_) => {
            let spawned = std::thread::Builder::new()
                .name("kafka-reports".into())
                .spawn(move || serve_by_polling(weak));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start serving kafka delivery reports");
            }
        }
    }
}

async fn serve_on_wakeups<G: Reported>(owner: Weak<G>, signal: Arc<Notify>) {
    loop {
        // A wake-up that came while the queue was being drained is kept as a permit.
        let _ = tokio::time::timeout(FALLBACK_EVERY, signal.notified()).await;
        loop {
            let Some(owner) = owner.upgrade() else {
                return;
            };
            let mut served = 0;
            while served < EVENTS_PER_TURN && !owner.reports().is_empty() {
                owner.serve_one(Duration::ZERO);
                served += 1;
            }
            let drained = owner.reports().is_empty();
            if Arc::strong_count(&owner) == 1 {
                // Everyone else let go meanwhile: dropping a producer flushes it, which
                // may wait, and must not hold up an async thread.
                drop(tokio::task::spawn_blocking(move || drop(owner)));
                return;
            }
            drop(owner);
            if drained {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

fn serve_by_polling<G: Reported>(owner: Weak<G>) {
    while let Some(owner) = owner.upgrade() {
        owner.serve_one(FALLBACK_EVERY);
    }
}
