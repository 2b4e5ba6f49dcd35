//! In-process cache (moka): bounded by entry count and, as a backstop, by wall-clock age.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;

use super::CacheDriver;
use crate::cache::entry::Entry;
use crate::{Error, Result};

/// Entries in process memory, evicted least-recently-used past `max_entries`.
#[derive(Debug, Clone)]
pub struct MemoryDriver {
    entries: Cache<String, Arc<Entry>>,
}

impl MemoryDriver {
    /// A cache of at most `max_entries` results, each dropped after `ttl` of wall-clock time
    /// if given (the plugin also checks its own clock, which is what tests move).
    pub fn new(max_entries: u64, ttl: Option<Duration>) -> MemoryDriver {
        let mut builder = Cache::builder()
            .max_capacity(max_entries)
            .support_invalidation_closures();
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        MemoryDriver {
            entries: builder.build(),
        }
    }

    /// Entries held now (approximate until moka runs its pending maintenance).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

#[async_trait]
impl CacheDriver for MemoryDriver {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        Ok(self.entries.get(key).await.map(|entry| (*entry).clone()))
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<()> {
        self.entries.insert(key.to_owned(), Arc::new(entry)).await;
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.entries.invalidate(key).await;
        Ok(())
    }

    async fn remove_prefix(&self, prefix: &str) -> Result<()> {
        let prefix = prefix.to_owned();
        self.entries
            .invalidate_entries_if(move |key, _| key.starts_with(&prefix))
            .map(|_| ())
            .map_err(|e| Error::Config {
                plugin: "cache",
                reason: format!("memory driver cannot invalidate by prefix: {e}"),
            })
    }

    async fn clear(&self) -> Result<()> {
        self.entries.invalidate_all();
        Ok(())
    }
}
