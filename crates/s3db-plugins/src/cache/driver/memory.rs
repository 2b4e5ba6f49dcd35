//! In-process cache (moka): bounded by entry count and, as a backstop, by wall-clock age.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;

use super::CacheDriver;
use crate::cache::entry::Entry;
use crate::{Error, Result};

/// What bounds a [`MemoryDriver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryBound {
    /// At most this many results.
    Entries(u64),
    /// At most about this many bytes of keys and results (estimated from their JSON size).
    Bytes(u64),
}

/// Entries in process memory, the least recently used evicted past the bound.
#[derive(Debug, Clone)]
pub struct MemoryDriver {
    entries: Cache<String, Arc<Entry>>,
}

impl MemoryDriver {
    /// A cache held within `bound`, each result dropped after `ttl` of wall-clock time if
    /// given (the plugin also checks its own clock, which is what tests move).
    pub fn new(bound: MemoryBound, ttl: Option<Duration>) -> MemoryDriver {
        let mut builder = Cache::builder().support_invalidation_closures();
        builder = match bound {
            MemoryBound::Entries(max) => builder.max_capacity(max),
            MemoryBound::Bytes(max) => {
                builder
                    .max_capacity(max)
                    .weigher(|key: &String, entry: &Arc<Entry>| {
                        u32::try_from(key.len().saturating_add(entry.approx_bytes()))
                            .unwrap_or(u32::MAX)
                    })
            }
        };
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        MemoryDriver {
            entries: builder.build(),
        }
    }

    /// Results held and their weight (entries, or estimated bytes for a byte bound), after
    /// pending evictions are applied.
    pub async fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks().await;
        (self.entries.entry_count(), self.entries.weighted_size())
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
