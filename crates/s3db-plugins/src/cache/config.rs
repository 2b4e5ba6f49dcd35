//! How the cache plugin is set up: driver, TTL, clock and excluded resources.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;

use super::driver::{CacheDriver, MemoryBound};

/// Where the entries go.
#[derive(Debug, Clone)]
pub enum DriverConfig {
    /// In process memory (moka), within a number of results or of bytes.
    Memory(MemoryBound),
    /// JSON files under a local directory.
    Filesystem {
        /// The directory (created on first write).
        dir: PathBuf,
    },
    /// Objects under `plugin=cache/` of the database's own storage (S3 on an S3 database,
    /// and equally any other backend).
    Storage,
    /// A driver of your own.
    Custom(Arc<dyn CacheDriver>),
}

/// Configuration of a [`super::CachePlugin`].
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub(crate) driver: DriverConfig,
    pub(crate) ttl: Option<Duration>,
    /// The clock given; `None`: the database's.
    pub(crate) clock: Option<SharedClock>,
    pub(crate) excluded: HashSet<String>,
}

impl CacheConfig {
    /// Entries in memory, at most `max_entries` of them; no TTL.
    pub fn memory(max_entries: u64) -> CacheConfig {
        CacheConfig::with_driver(DriverConfig::Memory(MemoryBound::Entries(max_entries)))
    }

    /// Entries in memory, at most about `max_bytes` of them (estimated JSON size); no TTL.
    pub fn memory_bytes(max_bytes: u64) -> CacheConfig {
        CacheConfig::with_driver(DriverConfig::Memory(MemoryBound::Bytes(max_bytes)))
    }

    /// Entries as files under `dir`; no TTL.
    pub fn filesystem(dir: impl Into<PathBuf>) -> CacheConfig {
        CacheConfig::with_driver(DriverConfig::Filesystem { dir: dir.into() })
    }

    /// Entries as objects under `plugin=cache/` of the database's storage; no TTL.
    pub fn storage() -> CacheConfig {
        CacheConfig::with_driver(DriverConfig::Storage)
    }

    /// Entries in `driver`; no TTL.
    pub fn custom(driver: Arc<dyn CacheDriver>) -> CacheConfig {
        CacheConfig::with_driver(DriverConfig::Custom(driver))
    }

    fn with_driver(driver: DriverConfig) -> CacheConfig {
        CacheConfig {
            driver,
            ttl: None,
            clock: None,
            excluded: HashSet::new(),
        }
    }

    /// Entries older than `ttl` (by the plugin's clock) are misses.
    pub fn ttl(mut self, ttl: Duration) -> CacheConfig {
        self.ttl = Some(ttl);
        self
    }

    /// The clock entries are dated with (by default the database's,
    /// [`PluginContext::clock`](s3db_core::extend::PluginContext::clock)).
    pub fn clock(mut self, clock: SharedClock) -> CacheConfig {
        self.clock = Some(clock);
        self
    }

    /// Leaves `resource` uncached (its reads always go to the database).
    pub fn exclude(mut self, resource: impl Into<String>) -> CacheConfig {
        self.excluded.insert(resource.into());
        self
    }
}
