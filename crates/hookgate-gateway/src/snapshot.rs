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
//! of up to 32 KiB would dominate the memory of a large snapshot. The rest is kept packed
//! (see `packed`) and decoded per request, with the last few hundred decoded kept.
//!
//! While the database is unreachable every known webhook is served as last read, and an
//! unknown token is a 404 without a query.

use crate::packed::{pack_into, Packed};
use hashbrown::{hash_table, HashTable};
use hookgate_domain::{token::looks_like_token, Error, Webhook};
use hookgate_storage::{Change, Store, CHANGE_RETENTION};
use std::{
    collections::BTreeMap,
    hash::{BuildHasher, RandomState},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError, RwLock, Weak,
    },
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

/// Every webhook, packed back to back in one buffer and filed by token: the table holds
/// each entry's offset, and the token is read from the entry, so it is not held twice.
/// Replaced entries stay in the buffer as garbage until it makes up half of it.
struct Entries {
    buffer: Vec<u8>,
    table: HashTable<usize>,
    garbage: usize,
    hasher: RandomState,
    /// Changes with every change to the entries, across every `Entries` of the process, so
    /// a webhook decoded from one version is never taken for another's.
    version: u64,
}

fn next_version() -> u64 {
    static VERSIONS: AtomicU64 = AtomicU64::new(0);
    VERSIONS.fetch_add(1, Ordering::Relaxed)
}

/// An entry found by its token.
struct Found<'a> {
    hash: u64,
    offset: usize,
    entry: Packed<'a>,
}

/// Webhooks decoded lately, one per slot by token hash, so a busy webhook is not decoded
/// again on every request (about 500 ns and five allocations each time).
const DECODED_SLOTS: usize = 256;

struct Decoded {
    version: u64,
    offset: usize,
    webhook: Arc<Webhook>,
}

impl Entries {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            buffer: Vec::new(),
            table: HashTable::with_capacity(capacity),
            garbage: 0,
            hasher: RandomState::new(),
            version: next_version(),
        }
    }

    fn entry(&self, offset: usize) -> Packed<'_> {
        Packed::at(&self.buffer, offset)
    }

    fn get(&self, token: &[u8]) -> Option<Found<'_>> {
        let hash = self.hasher.hash_one(token);
        self.table
            .find(hash, |&offset| self.entry(offset).token() == token)
            .map(|&offset| Found {
                hash,
                offset,
                entry: self.entry(offset),
            })
    }

    fn insert(&mut self, webhook: &Webhook) {
        self.version = next_version();
        let offset = self.buffer.len();
        if let Err(error) = pack_into(webhook, &mut self.buffer) {
            // Only a token no request could present (over 255 bytes) gets here.
            tracing::warn!(webhook = %webhook.name, %error, "webhook left out of the snapshot");
            return;
        }
        let token = webhook.token.as_bytes();
        let (buffer, hasher) = (&self.buffer, &self.hasher);
        match self.table.entry(
            hasher.hash_one(token),
            |&held| Packed::at(buffer, held).token() == token,
            |&held| hasher.hash_one(Packed::at(buffer, held).token()),
        ) {
            hash_table::Entry::Occupied(mut occupied) => {
                self.garbage += Packed::at(buffer, *occupied.get()).bytes().len();
                *occupied.get_mut() = offset;
            }
            hash_table::Entry::Vacant(vacant) => {
                vacant.insert(offset);
            }
        }
    }

    /// Forgets `token` if `webhook_id` holds it.
    fn remove_if_held_by(&mut self, token: &[u8], webhook_id: &str) {
        self.version = next_version();
        let buffer = &self.buffer;
        let held = |&offset: &usize| {
            let entry = Packed::at(buffer, offset);
            entry.token() == token
                && entry
                    .unpack()
                    .is_ok_and(|webhook| webhook.name.webhook_id == webhook_id)
        };
        let hash = self.hasher.hash_one(token);
        if let Ok(occupied) = self.table.find_entry(hash, held) {
            let (offset, _) = occupied.remove();
            self.garbage += Packed::at(buffer, offset).bytes().len();
        }
    }

    /// Copies the live entries to a buffer of their own once garbage is half the buffer.
    fn collect_garbage(&mut self) {
        if self.garbage <= self.buffer.len() / 2 {
            return;
        }
        self.version = next_version();
        let mut live = Vec::with_capacity(self.buffer.len() - self.garbage);
        for offset in self.table.iter_mut() {
            let entry = Packed::at(&self.buffer, *offset).bytes();
            *offset = live.len();
            live.extend_from_slice(entry);
        }
        self.buffer = live;
        self.garbage = 0;
    }

    fn shrink_to_fit(&mut self) {
        self.version = next_version();
        self.buffer.shrink_to_fit();
        let Self {
            buffer,
            table,
            hasher,
            ..
        } = self;
        table.shrink_to_fit(|&offset| hasher.hash_one(Packed::at(buffer, offset).token()));
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

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
    entries: RwLock<Option<Entries>>,
    /// Serialises refreshes; holds the log position.
    cursor: tokio::sync::Mutex<Cursor>,
    /// Why the last refresh failed; `None` after a success.
    failure: RwLock<Option<String>>,
    decoded: Box<[Mutex<Option<Decoded>>]>,
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
                decoded: (0..DECODED_SLOTS).map(|_| Mutex::new(None)).collect(),
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
        let Some(Found {
            hash,
            offset,
            entry,
        }) = entries.get(token.as_bytes())
        else {
            return Ok(None);
        };
        let slot = &self.inner.decoded[(hash % DECODED_SLOTS as u64) as usize];
        let fresh =
            |decoded: &Decoded| decoded.version == entries.version && decoded.offset == offset;
        if let Some(decoded) = slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|decoded| fresh(decoded))
        {
            return Ok(Some(decoded.webhook.clone()));
        }
        let webhook = Arc::new(entry.unpack()?);
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(Decoded {
            version: entries.version,
            offset,
            webhook: webhook.clone(),
        });
        Ok(Some(webhook))
    }

    /// How many webhooks are known.
    pub fn len(&self) -> usize {
        self.read_entries(|entries| entries.map_or(0, Entries::len))
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

    fn read_entries<T>(&self, read: impl FnOnce(Option<&Entries>) -> T) -> T {
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
        let mut entries = Entries::with_capacity(usize::try_from(expected).unwrap_or(0));
        let mut after: Option<String> = None;
        loop {
            let page = bounded(self.inner.store.scan_routing(after.as_deref(), PAGE)).await?;
            let full = page.len() as u64 == PAGE;
            after = page.last().map(|w| w.name.webhook_id.clone());
            for webhook in &page {
                entries.insert(webhook);
            }
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
            entries.remove_if_held_by(change.token.as_bytes(), &change.webhook_id);
        }
        for webhook in &current {
            entries.insert(webhook);
        }
        entries.collect_garbage();
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

    fn webhook(id: &str, token: &str, revision: i64) -> Webhook {
        Webhook {
            name: hookgate_domain::WebhookName::new("acme", id),
            token: token.into(),
            spec: hookgate_domain::WebhookSpec::default(),
            revision,
            create_time: chrono::DateTime::UNIX_EPOCH,
            update_time: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn revision_of(entries: &Entries, token: &str) -> Option<i64> {
        entries
            .get(token.as_bytes())
            .map(|found| found.entry.unpack().unwrap().revision)
    }

    #[test]
    fn replaced_and_removed_webhooks_resolve_as_last_written_across_collections() {
        let token = |n: usize| format!("{n:0>32}");
        let mut entries = Entries::with_capacity(0);
        for n in 0..50 {
            entries.insert(&webhook(&format!("w{n}"), &token(n), 1));
        }
        let full = entries.buffer.len();
        // Each round rewrites every webhook, so garbage passes half the buffer and is
        // collected; the buffer must not keep growing.
        for revision in 2..6 {
            for n in 0..50 {
                entries.insert(&webhook(&format!("w{n}"), &token(n), revision));
            }
            entries.collect_garbage();
        }
        assert!(
            entries.buffer.len() <= 2 * full,
            "{} > 2 x {full}",
            entries.buffer.len()
        );
        // A token moved to another webhook is not taken from it by the old holder's change.
        entries.insert(&webhook("w-new", &token(7), 9));
        entries.remove_if_held_by(token(7).as_bytes(), "w7");
        entries.remove_if_held_by(token(8).as_bytes(), "w8");
        entries.collect_garbage();
        assert_eq!(entries.len(), 49);
        assert_eq!(revision_of(&entries, &token(7)), Some(9));
        assert_eq!(revision_of(&entries, &token(8)), None);
        for n in (0..50).filter(|&n| n != 7 && n != 8) {
            assert_eq!(revision_of(&entries, &token(n)), Some(5), "webhook {n}");
        }
        assert_eq!(revision_of(&entries, &token(99)), None);
        entries.shrink_to_fit();
        assert_eq!(revision_of(&entries, &token(3)), Some(5));
    }

    #[test]
    fn every_change_gives_the_entries_a_version_never_seen_before() {
        let mut seen = std::collections::HashSet::new();
        let mut entries = Entries::with_capacity(0);
        assert!(seen.insert(entries.version));
        entries.insert(&webhook("w1", &"a".repeat(32), 1));
        assert!(seen.insert(entries.version));
        entries.insert(&webhook("w1", &"a".repeat(32), 2));
        assert!(seen.insert(entries.version));
        entries.remove_if_held_by("a".repeat(32).as_bytes(), "w1");
        assert!(seen.insert(entries.version));
        entries.garbage = entries.buffer.len();
        entries.collect_garbage();
        assert!(seen.insert(entries.version));
        entries.shrink_to_fit();
        assert!(seen.insert(entries.version));
        // A new set of entries (a full reload) does not repeat an old one's version.
        assert!(seen.insert(Entries::with_capacity(0).version));
    }

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
