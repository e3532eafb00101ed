//! Token → webhook lookups without a database query per request.
//!
//! Entries, found or not, live for `ttl` (1 s by default), which bounds how long a change
//! made by any `api` process takes to reach this gateway, with no coordination between
//! them. Concurrent misses for one token share one query.

use hookgate_domain::{token::looks_like_token, Error, Webhook};
use hookgate_storage::Store;
use moka::future::Cache;
use std::{sync::Arc, time::Duration};

const MAX_ENTRIES: u64 = 200_000;

#[derive(Clone)]
pub struct WebhookCache {
    store: Store,
    entries: Cache<String, Option<Arc<Webhook>>>,
}

impl WebhookCache {
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self {
            store,
            entries: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Drops what is known about `token`, so a change made in this process shows at once.
    pub async fn forget(&self, token: &str) {
        self.entries.invalidate(token).await;
    }

    /// The webhook behind `token`, `None` when there is none.
    pub async fn get(&self, token: &str) -> Result<Option<Arc<Webhook>>, Error> {
        if !looks_like_token(token) {
            return Ok(None);
        }
        let store = &self.store;
        self.entries
            .try_get_with_by_ref(token, async move {
                store.find_by_token(token).await.map(|w| w.map(Arc::new))
            })
            .await
            .map_err(|e: Arc<Error>| (*e).clone())
    }
}
