//! Cache plugin: caches `get`, `getMany`, `getFromPartition`, `exists`, `hasContent`, `list`,
//! `listIds`, `getAll`, `count`, `query` and `page` results (a page with its next cursor),
//! and invalidates a resource's entries on
//! every write made through it (`insert`, `update`, `patch`, `replace`, `upsert`, `delete`,
//! `insertMany`, `deleteMany`, `deleteAll`, content writes, partition-scoped listings
//! included).
//!
//! A cached read never returns data older than a write made through the same database:
//! entries are keyed by a per-resource generation that write middleware bumps as soon as
//! the write lands, a read stores its result only if no write landed while it was reading,
//! and writes that no middleware wraps are caught from the database's events before each
//! cache access. See `docs/plugins-cache.md` for the details and the limits (writes made by
//! other processes are bounded only by the TTL).
//!
//! Drivers ([`CacheConfig`]): memory (moka, bounded by entry count and TTL), a local
//! directory, or objects under `plugin=cache/` of the database's own storage (S3 on an S3
//! database, and any other backend). TTL expiry uses the configured
//! [`Clock`](crate::clock::Clock): entries carry the time they were read.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::cache::{CacheConfig, CachePlugin};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://cache-doc").await?;
//! let cache = Arc::new(CachePlugin::new(
//!     CacheConfig::memory(10_000).ttl(Duration::from_secs(300)).exclude("logs"),
//! ));
//! db.use_plugin(cache.clone()).await?;
//!
//! let users = db
//!     .create_resource(ResourceConfig::from_json(&json!({
//!         "name": "users", "attributes": {"name": "string"}
//!     }))?)
//!     .await?;
//! let record = |name: &str| json!({"id": "u1", "name": name}).as_object().cloned().unwrap_or_default();
//! users.insert(record("Ana")).await?;
//!
//! assert_eq!(users.get("u1").await?["name"], "Ana"); // miss: read from storage
//! assert_eq!(users.get("u1").await?["name"], "Ana"); // hit
//! users.replace("u1", record("Bia")).await?;        // invalidates `users`
//! assert_eq!(users.get("u1").await?["name"], "Bia");
//!
//! let stats = cache.stats();
//! assert_eq!((stats.hits, stats.misses), (1, 2));
//! db.disconnect().await?;
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

mod config;
mod driver;
mod entry;
mod key;
mod state;
mod stats;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};

pub use config::{CacheConfig, DriverConfig};
pub use driver::{CacheDriver, FsDriver, MemoryBound, MemoryDriver, StorageDriver};
pub use entry::Entry;
pub use stats::CacheStats;

use crate::{Error, Result};
use state::CacheState;

/// The cache plugin (slug `cache`); install it with `Database::use_plugin`.
#[derive(Debug)]
pub struct CachePlugin {
    config: CacheConfig,
    state: OnceLock<Arc<CacheState>>,
}

impl CachePlugin {
    /// A cache configured by `config`, to be installed on one database.
    pub fn new(config: CacheConfig) -> CachePlugin {
        CachePlugin {
            config,
            state: OnceLock::new(),
        }
    }

    /// Hits, misses, stores… of every resource added up (zeros before installation).
    pub fn stats(&self) -> CacheStats {
        self.state.get().map(|s| s.stats()).unwrap_or_default()
    }

    /// The counters of one resource (zeros if it is not cached).
    pub fn resource_stats(&self, resource: &str) -> CacheStats {
        self.state
            .get()
            .map(|s| s.resource_stats(resource))
            .unwrap_or_default()
    }

    /// Drops every entry of `resource`, for writes made behind the database's back.
    pub async fn invalidate(&self, resource: &str) {
        if let Some(state) = self.state.get() {
            state.invalidate_resource(resource).await;
        }
    }

    /// Drops every entry of every resource.
    pub async fn clear(&self) -> Result<()> {
        match self.state.get() {
            Some(state) => state.clear().await,
            None => Ok(()),
        }
    }

    fn driver(&self, ctx: &PluginContext) -> Arc<dyn CacheDriver> {
        match &self.config.driver {
            DriverConfig::Memory(bound) => Arc::new(MemoryDriver::new(*bound, self.config.ttl)),
            DriverConfig::Filesystem { dir } => Arc::new(FsDriver::new(dir.clone())),
            DriverConfig::Storage => Arc::new(StorageDriver::new(ctx.storage())),
            DriverConfig::Custom(driver) => driver.clone(),
        }
    }
}

#[async_trait]
impl Plugin for CachePlugin {
    fn slug(&self) -> &str {
        "cache"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let db = ctx.database()?;
        let state = Arc::new(CacheState::new(
            self.driver(ctx),
            self.config.ttl,
            self.config
                .clock
                .clone()
                .unwrap_or_else(|| ctx.clock().clone()),
            db.events().subscribe(),
        ));
        self.state.set(state.clone()).map_err(|_| Error::Config {
            plugin: "cache",
            reason: "this CachePlugin is already installed on a database".into(),
        })?;
        let excluded = self.config.excluded.clone();
        ctx.for_each_resource(move |resource| {
            if !excluded.contains(resource.name()) {
                state.attach(&resource);
            }
        });
        Ok(())
    }

    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        if let Some(state) = self.state.get() {
            state.disable();
        }
        Ok(())
    }
}
