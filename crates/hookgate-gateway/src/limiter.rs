//! Per-webhook rate limiting (a GCRA token bucket per webhook id, in this process).

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota,
};
use hookgate_domain::Error;
use std::{
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// Idle webhooks are forgotten once per this many admissions, so the table stays bounded
/// in every process that admits requests (gateways and `TestWebhook` alike).
const FORGET_IDLE_EVERY: u64 = 10_000;

/// `requests` per `window`, with bursts up to `requests`.
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
    buckets: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
    admissions: Arc<AtomicU64>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let period = (limit.window / limit.requests.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(limit.requests))
            .allow_burst(limit.requests);
        Self {
            buckets: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
            admissions: Arc::default(),
        }
    }

    pub(crate) fn admit(&self, webhook_id: &str) -> Result<(), Error> {
        if self.admissions.fetch_add(1, Ordering::Relaxed) % FORGET_IDLE_EVERY
            == FORGET_IDLE_EVERY - 1
        {
            self.forget_idle();
        }
        match self.buckets.check_key(&webhook_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(Error::RateLimited {
                    retry_after: wait.max(Duration::from_secs(1)),
                })
            }
        }
    }

    /// Forgets idle webhooks so the table does not grow without bound.
    fn forget_idle(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_budget_then_refuses_with_a_wait() {
        let limiter = Limiter::new(RateLimit {
            requests: NonZeroU32::new(3).unwrap(),
            window: Duration::from_secs(30),
        });
        for _ in 0..3 {
            limiter.admit("a").unwrap();
        }
        match limiter.admit("a") {
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(1))
            }
            other => panic!("{other:?}"),
        }
        limiter.admit("b").unwrap();
    }
}
