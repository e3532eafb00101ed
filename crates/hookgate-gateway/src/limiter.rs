//! Per-webhook rate limiting in this process: at most `requests` in any `window`.
//!
//! Each webhook has a fixed set of counters, one per sixteenth of the window (a bucket),
//! whatever the limit: a request is admitted when the current bucket and the sixteen before
//! it hold fewer than `requests`. Those seventeen buckets always cover the last `window`,
//! so no window ever sees more than `requests` (a refilling token bucket would let nearly
//! twice the limit through); the price is refusing up to one bucket (a sixteenth of the
//! window) early. `Retry-After` is when the oldest occupied bucket leaves the count.
//!
//! Every webhook has two budgets of the same size: one spent by requests that prove they
//! come from the sender (credentials and signature pass), one by requests that do not, so
//! a stranger who learns a URL cannot push the real sender into 429s.

use hookgate_domain::Error;
use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

/// Buckets per window.
const BUCKETS: u64 = 16;
/// Buckets counted: the window's plus the partly expired one it starts in.
const SLOTS: usize = BUCKETS as usize + 1;
/// Separately locked tables of budgets.
const SHARDS: usize = 16;
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

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Requests that passed basic auth and signature checks.
    Sender,
    /// Requests refused before they proved where they came from.
    Rejected,
}

/// Requests counted in one bucket, in as few bytes as the limit allows: a bucket never
/// holds more than the limit, and a gateway keeps counters for every webhook called in
/// the last window (a byte each for the default limit of 100, instead of four).
trait Count: Copy + Default + Into<u64> + std::fmt::Debug {
    fn plus_one(self) -> Self;
}

macro_rules! count {
    ($($width:ty),*) => {
        $(impl Count for $width {
            fn plus_one(self) -> Self {
                self.saturating_add(1)
            }
        })*
    };
}

count!(u8, u16, u32);

/// One budget's counters: `counts[i % SLOTS]` holds bucket `i` for the last `SLOTS` buckets
/// up to `newest`.
#[derive(Debug, Default, Clone)]
struct Counters<C> {
    newest: u64,
    counts: [C; SLOTS],
}

impl<C: Count> Counters<C> {
    /// Moves on to `bucket`, emptying the buckets that left the count.
    fn roll(&mut self, bucket: u64) {
        if bucket <= self.newest {
            return;
        }
        let steps = (bucket - self.newest).min(SLOTS as u64);
        for step in 1..=steps {
            self.counts[((self.newest + step) % SLOTS as u64) as usize] = C::default();
        }
        self.newest = bucket;
    }

    fn total(&self) -> u64 {
        self.counts.iter().map(|&c| c.into()).sum()
    }

    /// The bucket number at which the oldest occupied bucket stops counting.
    fn frees_at(&self) -> u64 {
        let oldest = self.newest.saturating_sub(BUCKETS);
        (oldest..=self.newest)
            .find(|&bucket| self.counts[(bucket % SLOTS as u64) as usize].into() > 0)
            .unwrap_or(self.newest)
            + SLOTS as u64
    }

    fn is_idle(&self, bucket: u64) -> bool {
        bucket >= self.newest + SLOTS as u64 || self.total() == 0
    }
}

/// A webhook's two budgets. Most webhooks never see a refused request, so the second set
/// of counters is only allocated once one comes.
#[derive(Debug, Default, Clone)]
struct Budgets<C> {
    sender: Counters<C>,
    rejected: Option<Box<Counters<C>>>,
}

impl<C: Count> Budgets<C> {
    fn of(&mut self, budget: Budget) -> &mut Counters<C> {
        match budget {
            Budget::Sender => &mut self.sender,
            Budget::Rejected => self.rejected.get_or_insert_with(Box::default),
        }
    }

    /// The budgets that have counters, to look at without allocating.
    fn present(&mut self) -> impl Iterator<Item = &mut Counters<C>> {
        std::iter::once(&mut self.sender).chain(self.rejected.as_deref_mut())
    }

    fn is_idle(&self, bucket: u64) -> bool {
        self.sender.is_idle(bucket)
            && self
                .rejected
                .as_ref()
                .is_none_or(|counters| counters.is_idle(bucket))
    }
}

/// A webhook's place in the table, with no string kept: hookgate's webhook ids are UUIDs
/// in hex, read as the number they are; any other id is hashed to 128 bits.
fn key(webhook_id: &str) -> u128 {
    if webhook_id.len() == 32 && webhook_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(number) = u128::from_str_radix(webhook_id, 16) {
            return number;
        }
    }
    use std::hash::Hasher;
    let half = |seed: u64| {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write_u64(seed);
        hasher.write(webhook_id.as_bytes());
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

type Table<C> = HashMap<u128, Budgets<C>>;

/// Every webhook's budgets, with counters as wide as the limit needs.
enum Tables {
    Byte(Table<u8>),
    Short(Table<u16>),
    Word(Table<u32>),
}

impl Tables {
    fn for_limit(requests: NonZeroU32) -> Self {
        match requests.get() {
            0..=0xff => Self::Byte(HashMap::new()),
            0x100..=0xffff => Self::Short(HashMap::new()),
            _ => Self::Word(HashMap::new()),
        }
    }
}

/// Runs `$body` with `$table` bound to whichever table `$tables` holds.
macro_rules! with_table {
    ($tables:expr, |$table:ident| $body:expr) => {
        match $tables {
            Tables::Byte($table) => $body,
            Tables::Short($table) => $body,
            Tables::Word($table) => $body,
        }
    };
}

#[derive(Clone)]
pub(crate) struct Limiter {
    limit: RateLimit,
    origin: Instant,
    bucket_nanos: u64,
    /// Webhooks spread over separately locked tables, so workers rarely wait for each
    /// other and a growing table rehashes a sixteenth of the webhooks at a time (a single
    /// table of 100,000 briefly holds its old and new arrays, 7 MiB more at the peak).
    shards: Arc<[Mutex<Tables>]>,
    admissions: Arc<AtomicU64>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let window = u64::try_from(limit.window.as_nanos()).unwrap_or(u64::MAX);
        Self {
            limit,
            origin: Instant::now(),
            bucket_nanos: (window / BUCKETS).max(1),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Tables::for_limit(limit.requests)))
                .collect(),
            admissions: Arc::default(),
        }
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, Tables> {
        // Hookgate's ids end in random bits, and other ids are hashed.
        let index = (key % SHARDS as u128) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn bucket(&self, now: Instant) -> u64 {
        let elapsed = u64::try_from(now.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(u64::MAX);
        elapsed / self.bucket_nanos
    }

    fn refusal<C: Count>(&self, counters: &Counters<C>, now: Instant) -> Error {
        let frees = self.origin
            + Duration::from_nanos(counters.frees_at().saturating_mul(self.bucket_nanos));
        Error::RateLimited {
            retry_after: frees.saturating_duration_since(now),
        }
    }

    /// Checks, without spending, that at least one of the webhook's budgets has room, so
    /// a request that cannot be admitted either way is refused before its body is read.
    pub(crate) fn has_room(&self, webhook_id: &str) -> Result<(), Error> {
        self.has_room_at(webhook_id, Instant::now())
    }

    fn has_room_at(&self, webhook_id: &str, now: Instant) -> Result<(), Error> {
        let key = key(webhook_id);
        with_table!(&mut *self.shard(key), |table| self
            .has_room_in(table, key, now))
    }

    fn has_room_in<C: Count>(
        &self,
        table: &mut Table<C>,
        key: u128,
        now: Instant,
    ) -> Result<(), Error> {
        let bucket = self.bucket(now);
        let Some(budgets) = table.get_mut(&key) else {
            return Ok(());
        };
        if budgets.rejected.is_none() {
            // A budget never spent has room.
            return Ok(());
        }
        let limit = u64::from(self.limit.requests.get());
        let mut soonest: Option<Error> = None;
        for counters in budgets.present() {
            counters.roll(bucket);
            if counters.total() < limit {
                return Ok(());
            }
            let refusal = self.refusal(counters, now);
            soonest = match soonest {
                Some(kept) if kept.retry_after() <= refusal.retry_after() => Some(kept),
                _ => Some(refusal),
            };
        }
        Err(soonest.unwrap_or(Error::RateLimited {
            retry_after: self.limit.window,
        }))
    }

    /// Spends one request of `budget`, or refuses with the time until it has room.
    pub(crate) fn spend(&self, webhook_id: &str, budget: Budget) -> Result<(), Error> {
        self.spend_at(webhook_id, budget, Instant::now())
    }

    fn spend_at(&self, webhook_id: &str, budget: Budget, now: Instant) -> Result<(), Error> {
        if self.admissions.fetch_add(1, Ordering::Relaxed) % FORGET_IDLE_EVERY
            == FORGET_IDLE_EVERY - 1
        {
            self.forget_idle(now);
        }
        let key = key(webhook_id);
        with_table!(&mut *self.shard(key), |table| self
            .spend_in(table, key, budget, now))
    }

    fn spend_in<C: Count>(
        &self,
        table: &mut Table<C>,
        key: u128,
        budget: Budget,
        now: Instant,
    ) -> Result<(), Error> {
        let bucket = self.bucket(now);
        let counters = table.entry(key).or_default().of(budget);
        counters.roll(bucket);
        if counters.total() >= u64::from(self.limit.requests.get()) {
            return Err(self.refusal(counters, now));
        }
        let slot = &mut counters.counts[(bucket % SLOTS as u64) as usize];
        *slot = slot.plus_one();
        Ok(())
    }

    /// Forgets webhooks with nothing in either count.
    fn forget_idle(&self, now: Instant) {
        let bucket = self.bucket(now);
        for shard in self.shards.iter() {
            let mut tables = shard.lock().unwrap_or_else(PoisonError::into_inner);
            with_table!(&mut *tables, |table| table
                .retain(|_, budgets| !budgets.is_idle(bucket)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(requests: u32, window: Duration) -> Limiter {
        Limiter::new(RateLimit {
            requests: NonZeroU32::new(requests).unwrap(),
            window,
        })
    }

    fn retry_after(outcome: Result<(), Error>) -> Duration {
        match outcome {
            Err(Error::RateLimited { retry_after }) => retry_after,
            other => panic!("expected rate limited, got {other:?}"),
        }
    }

    /// 16 s windows make a bucket exactly one second.
    const WINDOW: Duration = Duration::from_secs(16);

    #[test]
    fn full_budgets_refuse_until_the_oldest_bucket_expires() {
        let limiter = limiter(3, WINDOW);
        let at = |secs: u64| limiter.origin + Duration::from_secs(secs);
        for t in [0, 4, 8] {
            limiter.spend_at("a", Budget::Sender, at(t)).unwrap();
        }
        // A refilling bucket would admit at 9 s; the window still holds three. The bucket
        // of 0 s stops counting at 17 s: one bucket after the window, the early refusal.
        assert_eq!(
            retry_after(limiter.spend_at("a", Budget::Sender, at(9))),
            Duration::from_secs(8)
        );
        limiter.spend_at("b", Budget::Sender, at(9)).unwrap();
        assert!(limiter.spend_at("a", Budget::Sender, at(16)).is_err());
        limiter.spend_at("a", Budget::Sender, at(17)).unwrap();
        assert_eq!(
            retry_after(limiter.spend_at("a", Budget::Sender, at(18))),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn never_more_than_the_budget_in_any_window() {
        let window = Duration::from_millis(1000);
        let limiter = limiter(7, window);
        // Bursts at irregular times, as a deterministic pseudo-random walk.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut now = limiter.origin;
        let mut admitted = Vec::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            now += Duration::from_micros(state % 40_000);
            if limiter.spend_at("a", Budget::Sender, now).is_ok() {
                admitted.push(now);
            }
        }
        assert!(admitted.len() > 1000, "admitted only {}", admitted.len());
        for (i, &end) in admitted.iter().enumerate() {
            let in_window = admitted[..=i]
                .iter()
                .rev()
                .take_while(|&&t| end.duration_since(t) < window)
                .count();
            assert!(in_window <= 7, "{in_window} admitted in one window");
        }
    }

    #[test]
    fn a_large_limit_keeps_a_fixed_number_of_counters() {
        let limiter = limiter(1_000_000, Duration::from_secs(60));
        let now = limiter.origin;
        for _ in 0..1_000_000 {
            limiter.spend_at("a", Budget::Sender, now).unwrap();
        }
        assert!(limiter.spend_at("a", Budget::Sender, now).is_err());
        let tables = limiter.shard(key("a"));
        let Tables::Word(table) = &*tables else {
            panic!("a million needs four-byte counters");
        };
        assert_eq!(table.len(), 1);
        assert!(std::mem::size_of::<Budgets<u32>>() <= 96);
        assert_eq!(table[&key("a")].sender.total(), 1_000_000);
    }

    #[test]
    fn the_rejected_budget_is_separate_and_as_large() {
        let limiter = limiter(2, WINDOW);
        let now = limiter.origin;
        for _ in 0..2 {
            limiter.spend_at("a", Budget::Rejected, now).unwrap();
        }
        assert!(limiter.spend_at("a", Budget::Rejected, now).is_err());
        // Strangers spent theirs: the sender still has room, and a request of unknown
        // standing may still be read.
        assert!(limiter.has_room_at("a", now).is_ok());
        for _ in 0..2 {
            limiter.spend_at("a", Budget::Sender, now).unwrap();
        }
        assert!(limiter.spend_at("a", Budget::Sender, now).is_err());
        assert!(limiter.has_room_at("a", now).is_err());
    }

    #[test]
    fn idle_webhooks_are_forgotten() {
        let limiter = limiter(1, WINDOW);
        let start = limiter.origin;
        limiter.spend_at("a", Budget::Sender, start).unwrap();
        limiter
            .spend_at("b", Budget::Rejected, start + Duration::from_secs(10))
            .unwrap();
        limiter.forget_idle(start + Duration::from_secs(20));
        let mut kept: Vec<u128> = Vec::new();
        for shard in limiter.shards.iter() {
            with_table!(&*shard.lock().unwrap(), |table| kept.extend(table.keys()));
        }
        assert_eq!(kept, vec![key("b")]);
    }

    #[test]
    fn counters_are_as_narrow_as_the_limit_allows_and_count_up_to_it() {
        for (requests, width) in [(1, 1), (255, 1), (256, 2), (65_535, 2), (65_536, 4)] {
            let limiter = limiter(requests, WINDOW);
            let now = limiter.origin;
            let tables = limiter.shard(key("a"));
            let actual = match &*tables {
                Tables::Byte(_) => 1,
                Tables::Short(_) => 2,
                Tables::Word(_) => 4,
            };
            assert_eq!(actual, width, "limit {requests}");
            drop(tables);
            if requests <= 65_536 {
                for _ in 0..requests {
                    limiter.spend_at("a", Budget::Sender, now).unwrap();
                }
                assert!(limiter.spend_at("a", Budget::Sender, now).is_err());
            }
        }
        assert!(std::mem::size_of::<Budgets<u8>>() <= 40);
    }

    #[test]
    fn hookgate_ids_are_their_own_keys_and_others_are_hashed_apart() {
        let id = "0193a7c2e4d07b3f9c1d2e3f4a5b6c7d";
        assert_eq!(key(id), 0x0193a7c2e4d07b3f9c1d2e3f4a5b6c7d);
        let plus = "+193a7c2e4d07b3f9c1d2e3f4a5b6c7d";
        assert_ne!(key(plus), key("0193a7c2e4d07b3f9c1d2e3f4a5b6c7d"));
        assert_ne!(key("a"), key("b"));
        assert_eq!(key("legacy-id"), key("legacy-id"));
    }
}
