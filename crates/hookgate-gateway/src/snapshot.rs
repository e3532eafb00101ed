//! Every webhook's routing data in memory, so a request never waits for the database.
//!
//! The snapshot is loaded once, then follows the `webhook_changes` log (numbered by the
//! database, so replicas' clocks do not matter). Numbers are assigned when a write starts
//! and become visible when it commits, so a lower number can appear after a higher one:
//! numbers skipped over are remembered as gaps and read again until they show up or
//! `GAP_PATIENCE` passes (a rolled-back write leaves a gap for good). Applying a change
//! re-reads the webhook, so seeing one twice is harmless.
//!
//! Display names and descriptions are left out: only people read them, and descriptions
//! of up to 32 KiB would dominate the memory of a large snapshot.
//!
//! While the database is unreachable every known webhook is served as last read, and an
//! unknown token is a 404 without a query.

use hookgate_domain::{token::looks_like_token, Error, Webhook};
use hookgate_storage::{Change, Store, CHANGE_RETENTION};
use std::{
    borrow::Borrow,
    collections::{BTreeMap, HashSet},
    hash::{Hash, Hasher},
    sync::{Arc, PoisonError, RwLock, Weak},
    time::{Duration, Instant},
};

/// Rows read per query, for the full load and the change log alike.
const PAGE: u64 = 200;
/// How long a skipped change number is waited for; a write transaction open longer than
/// this could be missed (until the next full reload).
const GAP_PATIENCE: Duration = Duration::from_secs(60);
/// Gaps remembered at most; beyond it the oldest are given up.
const MAX_GAPS: usize = 10_000;
/// A query that takes longer counts as failed (a database that hangs rather than refuses).
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

async fn bounded<T>(
    query: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(QUERY_TIMEOUT, query)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Unavailable(format!(
                "database did not answer within {QUERY_TIMEOUT:?}"
            )))
        })
}

/// A webhook filed under its own token, so the table holds no second copy of the key.
struct Entry(Arc<Webhook>);

impl Entry {
    fn new(webhook: Webhook) -> Self {
        Self(Arc::new(webhook))
    }
}

impl Borrow<str> for Entry {
    fn borrow(&self) -> &str {
        &self.0.token
    }
}

impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.token.as_str().hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.token == other.0.token
    }
}

impl Eq for Entry {}

/// How far the log has been read.
#[derive(Default)]
struct Cursor {
    /// The highest change number seen; `None` before the first full load.
    seen: Option<i64>,
    /// Numbers below `seen` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    last_success: Option<Instant>,
}

impl Cursor {
    /// Where the next read of the log starts (exclusive).
    fn floor(&self, seen: i64) -> i64 {
        self.gaps
            .keys()
            .next()
            .map_or(seen, |gap| gap - 1)
            .min(seen)
    }

    /// Whether `change` has not been applied yet.
    fn is_new(&self, seen: i64, change: &Change) -> bool {
        change.seq > seen || self.gaps.contains_key(&change.seq)
    }

    /// Marks `changes` (in number order) as seen, remembering numbers skipped over.
    fn advance(&mut self, seen: i64, changes: &[Change], now: Instant) -> i64 {
        let mut top = seen;
        for change in changes {
            self.gaps.remove(&change.seq);
            if change.seq > top {
                for skipped in (top + 1)..change.seq {
                    self.gaps.insert(skipped, now);
                }
                top = change.seq;
            }
        }
        self.gaps
            .retain(|_, missed| now.saturating_duration_since(*missed) < GAP_PATIENCE);
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
        top
    }
}

struct Inner {
    store: Store,
    entries: RwLock<Option<HashSet<Entry>>>,
    /// Serialises refreshes; holds the log position.
    cursor: tokio::sync::Mutex<Cursor>,
    /// Why the last refresh failed; `None` after a success.
    failure: RwLock<Option<String>>,
}

/// The gateway's view of every webhook. Cheap to clone.
#[derive(Clone)]
pub struct WebhookSnapshot {
    inner: Arc<Inner>,
}

impl WebhookSnapshot {
    /// An empty snapshot: nothing resolves until the first [`WebhookSnapshot::refresh`].
    pub fn new(store: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                entries: RwLock::new(None),
                cursor: tokio::sync::Mutex::default(),
                failure: RwLock::new(None),
            }),
        }
    }

    /// The webhook behind `token`, `None` when there is none. Never queries the database;
    /// UNAVAILABLE until the first load has succeeded.
    pub fn get(&self, token: &str) -> Result<Option<Arc<Webhook>>, Error> {
        let entries = self
            .inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entries = entries
            .as_ref()
            .ok_or_else(|| Error::Unavailable("webhooks are not loaded yet".into()))?;
        if !looks_like_token(token) {
            return Ok(None);
        }
        Ok(entries.get(token).map(|entry| entry.0.clone()))
    }

    /// How many webhooks are known.
    pub fn len(&self) -> usize {
        self.read_entries(|entries| entries.map_or(0, HashSet::len))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Err` until the first load, before which every token would be answered 404. After
    /// it the snapshot serves as last read whatever the database does (a failed refresh is
    /// logged; a database that does not answer is `/readyz`'s `database` check).
    pub fn health(&self) -> Result<(), String> {
        match (
            self.read_entries(|entries| entries.is_some()),
            self.failure(),
        ) {
            (true, _) => Ok(()),
            (false, Some(failure)) => Err(format!("webhooks are not loaded yet: {failure}")),
            (false, None) => Err("webhooks are not loaded yet".into()),
        }
    }

    fn failure(&self) -> Option<String> {
        self.inner
            .failure
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn read_entries<T>(&self, read: impl FnOnce(Option<&HashSet<Entry>>) -> T) -> T {
        let entries = self
            .inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        read(entries.as_ref())
    }

    /// Brings the snapshot up to date with the database: a full load the first time (and
    /// after the change log may have been pruned past this snapshot), the change log after.
    pub async fn refresh(&self) -> Result<(), Error> {
        let mut cursor = self.inner.cursor.lock().await;
        let outcome = self.sync(&mut cursor).await;
        let failure = match &outcome {
            Ok(()) => {
                cursor.last_success = Some(Instant::now());
                None
            }
            Err(error) => Some(error.to_string()),
        };
        *self
            .inner
            .failure
            .write()
            .unwrap_or_else(PoisonError::into_inner) = failure;
        outcome
    }

    async fn sync(&self, cursor: &mut Cursor) -> Result<(), Error> {
        let stale = cursor
            .last_success
            .is_none_or(|last| last.elapsed() > CHANGE_RETENTION / 2);
        let seen = match cursor.seen {
            Some(seen) if !stale => seen,
            _ => self.load_all(cursor).await?,
        };
        self.follow(cursor, seen).await
    }

    /// Reads every webhook; returns where to start following the log.
    async fn load_all(&self, cursor: &mut Cursor) -> Result<i64, Error> {
        let started = Instant::now();
        // Read first: a write landing during the load is then both loaded and replayed.
        let latest = bounded(self.inner.store.latest_change()).await?;
        // Sized once: growing by doubling would leave the smaller tables' memory behind.
        let expected = bounded(self.inner.store.count()).await?;
        let mut entries = HashSet::with_capacity(usize::try_from(expected).unwrap_or(0));
        let mut after: Option<String> = None;
        loop {
            let page = bounded(self.inner.store.scan_routing(after.as_deref(), PAGE)).await?;
            let full = page.len() as u64 == PAGE;
            after = page.last().map(|w| w.name.webhook_id.clone());
            entries.extend(page.into_iter().map(Entry::new));
            if !full {
                break;
            }
        }
        entries.shrink_to_fit();
        let count = entries.len();
        *self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(entries);
        tracing::info!(webhooks = count, took = ?started.elapsed(), "webhooks loaded");
        // Writes numbered just below `latest` may still have been uncommitted: replaying
        // the last page of the log once costs little and closes that window.
        cursor.gaps.clear();
        let seen = latest.saturating_sub(PAGE as i64).max(0);
        cursor.seen = Some(seen);
        Ok(seen)
    }

    /// Applies the log from `seen` on.
    async fn follow(&self, cursor: &mut Cursor, mut seen: i64) -> Result<(), Error> {
        let mut floor = cursor.floor(seen);
        loop {
            let changes = bounded(self.inner.store.changes_after(floor, PAGE)).await?;
            let fresh: Vec<&Change> = changes
                .iter()
                .filter(|change| cursor.is_new(seen, change))
                .collect();
            if !fresh.is_empty() {
                self.apply(&fresh).await?;
            }
            seen = cursor.advance(seen, &changes, Instant::now());
            cursor.seen = Some(seen);
            match changes.last() {
                Some(last) if changes.len() as u64 == PAGE => floor = last.seq,
                _ => return Ok(()),
            }
        }
    }

    /// Re-reads the webhooks `changes` touched and swaps them in; tokens they had before
    /// stop resolving unless they still hold them.
    async fn apply(&self, changes: &[&Change]) -> Result<(), Error> {
        let mut ids: Vec<&str> = changes.iter().map(|c| c.webhook_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let current = bounded(self.inner.store.find_routing_by_ids(&ids)).await?;
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(entries) = entries.as_mut() else {
            return Ok(());
        };
        for change in changes {
            let belongs = entries
                .get(change.token.as_str())
                .is_some_and(|entry| entry.0.name.webhook_id == change.webhook_id);
            if belongs {
                entries.remove(change.token.as_str());
            }
        }
        for webhook in current {
            entries.replace(Entry::new(webhook));
        }
        Ok(())
    }

    /// Refreshes every `interval` until every clone of this snapshot is dropped.
    pub fn spawn_sync(&self, interval: Duration) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let snapshot = WebhookSnapshot { inner };
                match snapshot.refresh().await {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!(webhooks = snapshot.len(), "webhook snapshot current again");
                    }
                    Ok(()) => {}
                    Err(error) if !failing => {
                        failing = true;
                        tracing::warn!(%error, webhooks = snapshot.len(), "webhook snapshot not refreshed; serving webhooks as last read");
                    }
                    Err(error) => tracing::debug!(%error, "webhook snapshot still not refreshed"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64) -> Change {
        Change {
            seq,
            webhook_id: "w".into(),
            token: "t".into(),
        }
    }

    #[test]
    fn skipped_numbers_are_read_again_until_they_show_up_or_expire() {
        let mut cursor = Cursor::default();
        let start = Instant::now();
        // 3 and 4 are still being committed when 5 is read.
        let seen = cursor.advance(2, &[change(5)], start);
        assert_eq!(seen, 5);
        assert_eq!(cursor.floor(seen), 2);
        assert!(cursor.is_new(seen, &change(3)));
        assert!(!cursor.is_new(seen, &change(5)));
        let seen = cursor.advance(seen, &[change(3), change(5), change(6)], start);
        assert_eq!((seen, cursor.floor(seen)), (6, 3));
        // 4 was rolled back: after a while it is no longer waited for.
        let seen = cursor.advance(seen, &[], start + GAP_PATIENCE);
        assert_eq!(cursor.floor(seen), 6);
    }
}
