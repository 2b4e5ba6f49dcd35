//! Where cache entries live: memory, a local directory, or the database's own storage.

mod fs;
mod memory;
mod storage;

use std::fmt::Debug;

use async_trait::async_trait;

pub use fs::FsDriver;
pub use memory::{MemoryBound, MemoryDriver};
pub use storage::StorageDriver;

use super::entry::Entry;
use crate::Result;

/// A cache store. Keys are `/`-separated paths of safe segments
/// (`resource=<name>/gen=<n>/<operation>-<md5>`).
///
/// Drivers only store; expiry, generations and statistics are the plugin's business, so a
/// driver failure never fails a read (the plugin logs it and reads through).
#[async_trait]
pub trait CacheDriver: Send + Sync + Debug + 'static {
    /// The entry stored under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Entry>>;
    /// Stores `entry` under `key` (replacing what was there).
    async fn put(&self, key: &str, entry: Entry) -> Result<()>;
    /// Removes the entry under `key`, if any.
    async fn remove(&self, key: &str) -> Result<()>;
    /// Removes every entry whose key starts with `prefix` (a whole `resource=<name>/`).
    async fn remove_prefix(&self, prefix: &str) -> Result<()>;
    /// Removes every entry.
    async fn clear(&self) -> Result<()>;
}
