//! Whether a Kafka client reaches its brokers, logged as state changes.
//!
//! librdkafka reports "all brokers down" on every failed reconnect, many times a second
//! during an outage. Logging each one buries everything else, so an outage is logged when
//! it starts, reminded of now and then with the number of repeats, and logged when it
//! ends with how long it lasted.

use crate::metrics::BusMetrics;
use rdkafka::config::RDKafkaLogLevel;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

/// How often a continuing outage, or a repeating error, is logged again.
pub(crate) const REMIND_EVERY: Duration = Duration::from_secs(30);

/// Lets one report through per [`REMIND_EVERY`] and counts the ones held back.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
    held_back: u64,
}

impl Throttle {
    /// `Some(held back since the last report)` when this one should be reported.
    pub(crate) fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < REMIND_EVERY => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// What a "down" or "up" report changes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// An outage starts.
    Down,
    /// It goes on; `repeats` reports were held back since it was last logged.
    StillDown { lasted: Duration, repeats: u64 },
    /// A repeat not worth a line.
    Quiet,
    /// The brokers answer again after `lasted`.
    Up { lasted: Duration },
    /// "Up" while nothing was down.
    Unchanged,
}

/// The outage state machine, driven by reports and a clock.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    since: Option<Instant>,
    reminders: Throttle,
}

impl Outage {
    pub(crate) fn down(&mut self, now: Instant) -> Change {
        match self.since {
            None => {
                self.since = Some(now);
                self.reminders = Throttle::default();
                self.reminders.hit(now);
                Change::Down
            }
            Some(since) => match self.reminders.hit(now) {
                Some(repeats) => Change::StillDown {
                    lasted: now.saturating_duration_since(since),
                    repeats,
                },
                None => Change::Quiet,
            },
        }
    }

    pub(crate) fn up(&mut self, now: Instant) -> Change {
        match self.since.take() {
            Some(since) => Change::Up {
                lasted: now.saturating_duration_since(since),
            },
            None => Change::Unchanged,
        }
    }

    pub(crate) fn down_for(&self, now: Instant) -> Option<Duration> {
        self.since.map(|since| now.saturating_duration_since(since))
    }
}

/// One client's view of its brokers: logs, metrics and a cheap `is_down`.
pub(crate) struct BrokerWatch {
    client: &'static str,
    down: AtomicBool,
    outage: Mutex<Outage>,
    other_errors: Mutex<Throttle>,
    metrics: BusMetrics,
}

impl BrokerWatch {
    pub(crate) fn new(client: &'static str, metrics: BusMetrics) -> Self {
        metrics.set_up(client, true);
        Self {
            client,
            down: AtomicBool::new(false),
            outage: Mutex::default(),
            other_errors: Mutex::default(),
            metrics,
        }
    }

    /// Every broker is unreachable.
    pub(crate) fn down(&self, reason: &str) {
        let Ok(mut outage) = self.outage.lock() else {
            return;
        };
        let client = self.client;
        match outage.down(Instant::now()) {
            Change::Down => {
                self.down.store(true, Ordering::Release);
                self.metrics.count_outage(client);
                self.metrics.set_up(client, false);
                tracing::error!(client, reason, "kafka unreachable: every broker is down");
            }
            Change::StillDown { lasted, repeats } => tracing::warn!(
                client,
                reason,
                down_for = ?lasted,
                repeats,
                "kafka still unreachable"
            ),
            _ => tracing::trace!(client, reason, "kafka still unreachable"),
        }
    }

    /// The brokers answered.
    pub(crate) fn up(&self) {
        if !self.down.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut outage) = self.outage.lock() else {
            return;
        };
        if let Change::Up { lasted } = outage.up(Instant::now()) {
            self.down.store(false, Ordering::Release);
            self.metrics.set_up(self.client, true);
            tracing::info!(client = self.client, down_for = ?lasted, "kafka reachable again");
        }
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    pub(crate) fn down_for(&self) -> Option<Duration> {
        self.outage.lock().ok()?.down_for(Instant::now())
    }

    /// A librdkafka log line. Connection failures are logged at error level on every
    /// reconnect; during an outage, which is logged already, they are only traced.
    pub(crate) fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let client = self.client;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning
                if self.is_down() =>
            {
                tracing::debug!(target: "librdkafka", client, facility, message)
            }
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", client, facility, message)
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", client, facility, message)
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", client, facility, message)
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", client, facility, message)
            }
        }
    }

    /// Any other client error: it repeats as often as the outage reports do, so it is
    /// throttled the same way, and only traced while an outage is already logged.
    pub(crate) fn other_error(&self, error: &dyn std::fmt::Display, reason: &str) {
        let client = self.client;
        if self.is_down() {
            tracing::debug!(client, %error, reason, "kafka client error during an outage");
            return;
        }
        let held_back = self
            .other_errors
            .lock()
            .ok()
            .and_then(|mut throttle| throttle.hit(Instant::now()));
        match held_back {
            Some(repeats) => tracing::warn!(client, %error, reason, repeats, "kafka client error"),
            None => tracing::debug!(client, %error, reason, "kafka client error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_logged_once_then_reminded_then_ended_with_its_length() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut outage = Outage::default();
        assert_eq!(outage.up(at(0)), Change::Unchanged);
        assert_eq!(outage.down(at(0)), Change::Down);
        // librdkafka's ~18 reports a second for 25 s: none of them is a new line.
        let quiet = (1..450)
            .map(|i| outage.down(at(i * 55)))
            .filter(|c| *c == Change::Quiet)
            .count();
        assert_eq!(quiet, 449);
        assert_eq!(outage.down_for(at(25_000)), Some(Duration::from_secs(25)));
        assert_eq!(
            outage.down(at(30_000)),
            Change::StillDown {
                lasted: Duration::from_secs(30),
                repeats: 449
            }
        );
        assert_eq!(outage.down(at(30_001)), Change::Quiet);
        assert_eq!(
            outage.up(at(31_000)),
            Change::Up {
                lasted: Duration::from_secs(31)
            }
        );
        assert_eq!(outage.up(at(31_001)), Change::Unchanged);
        assert_eq!(outage.down_for(at(31_001)), None);
        // The next outage is news again, with a fresh reminder clock.
        assert_eq!(outage.down(at(31_500)), Change::Down);
        assert_eq!(outage.down(at(32_000)), Change::Quiet);
    }

    #[test]
    fn the_throttle_counts_what_it_held_back() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        assert_eq!(throttle.hit(start), Some(0));
        assert_eq!(throttle.hit(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.hit(start + Duration::from_secs(2)), None);
        assert_eq!(throttle.hit(start + REMIND_EVERY), Some(2));
    }

    #[test]
    fn the_watch_keeps_the_metrics() {
        let metrics = BusMetrics::default();
        let watch = BrokerWatch::new("producer", metrics.clone());
        let label = crate::metrics::ClientLabel { client: "producer" };
        assert_eq!(metrics.brokers_up.get_or_create(&label).get(), 1);
        for _ in 0..100 {
            watch.down("all brokers down");
        }
        assert!(watch.is_down());
        assert_eq!(metrics.brokers_up.get_or_create(&label).get(), 0);
        assert_eq!(metrics.broker_down.get_or_create(&label).get(), 1);
        watch.up();
        assert!(!watch.is_down());
        assert_eq!(metrics.brokers_up.get_or_create(&label).get(), 1);
        watch.down("again");
        assert_eq!(metrics.broker_down.get_or_create(&label).get(), 2);
    }
}
