//! Per-webhook rate limiting in this process: at most `requests` in any `window`, counted
//! exactly with a sliding log of admission times, so "100 per 10 s" never lets 101 through
//! in any 10 s (a refilling token bucket would let nearly 200 through in the first 10 s).

use hookgate_domain::Error;
use std::{
    collections::{HashMap, VecDeque},
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

/// Idle webhooks are forgotten once per this many admissions, so the table stays bounded
/// in every process that admits requests (gateways and `TestWebhook` alike).
const FORGET_IDLE_EVERY: u64 = 10_000;

/// `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests: NonZeroU32::MIN.saturating_add(99),
            window: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// Admission times within the last window, oldest first, per webhook id.
    logs: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
    admissions: Arc<AtomicU64>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            logs: Arc::default(),
            admissions: Arc::default(),
        }
    }

    pub(crate) fn admit(&self, webhook_id: &str) -> Result<(), Error> {
        self.admit_at(webhook_id, Instant::now())
    }

    fn admit_at(&self, webhook_id: &str, now: Instant) -> Result<(), Error> {
        if self.admissions.fetch_add(1, Ordering::Relaxed) % FORGET_IDLE_EVERY
            == FORGET_IDLE_EVERY - 1
        {
            self.forget_idle(now);
        }
        // A panic elsewhere cannot leave a log half-written: every update is one push/pop.
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(log) = logs.get_mut(webhook_id) {
            return self.spend(log, now);
        }
        self.spend(logs.entry(webhook_id.to_owned()).or_default(), now)
    }

    fn spend(&self, log: &mut VecDeque<Instant>, now: Instant) -> Result<(), Error> {
        let window = self.limit.window;
        while log
            .front()
            .is_some_and(|&admitted| now.saturating_duration_since(admitted) >= window)
        {
            log.pop_front();
        }
        match log.front() {
            Some(&oldest) if log.len() >= self.limit.requests.get() as usize => {
                Err(Error::RateLimited {
                    retry_after: window.saturating_sub(now.saturating_duration_since(oldest)),
                })
            }
            _ => {
                log.push_back(now);
                Ok(())
            }
        }
    }

    /// Forgets webhooks with nothing in their current window.
    fn forget_idle(&self, now: Instant) {
        let window = self.limit.window;
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.retain(|_, log| {
            log.back()
                .is_some_and(|&last| now.saturating_duration_since(last) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(requests: u32, window_secs: u64) -> Limiter {
        Limiter::new(RateLimit {
            requests: NonZeroU32::new(requests).unwrap(),
            window: Duration::from_secs(window_secs),
        })
    }

    fn retry_after(outcome: Result<(), Error>) -> Duration {
        match outcome {
            Err(Error::RateLimited { retry_after }) => retry_after,
            other => panic!("expected rate limited, got {other:?}"),
        }
    }

    #[test]
    fn never_more_than_the_budget_in_any_window() {
        let limiter = limiter(3, 10);
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        for t in [0, 4, 8] {
            limiter.admit_at("a", at(t)).unwrap();
        }
        // A refilling bucket would admit at 9 s; the window still holds three.
        assert_eq!(
            retry_after(limiter.admit_at("a", at(9))),
            Duration::from_secs(1)
        );
        limiter.admit_at("b", at(9)).unwrap();
        // At 10 s the admission of 0 s has left the window.
        limiter.admit_at("a", at(10)).unwrap();
        assert_eq!(
            retry_after(limiter.admit_at("a", at(11))),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn idle_webhooks_are_forgotten() {
        let limiter = limiter(1, 10);
        let start = Instant::now();
        limiter.admit_at("a", start).unwrap();
        limiter
            .admit_at("b", start + Duration::from_secs(5))
            .unwrap();
        limiter.forget_idle(start + Duration::from_secs(12));
        let logs = limiter.logs.lock().unwrap();
        assert_eq!(logs.keys().collect::<Vec<_>>(), vec!["b"]);
    }
}
