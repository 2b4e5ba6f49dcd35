//! Entries as objects of a [`Storage`]: by default the database's own area `plugin=cache/`,
//! so the cache works on every backend (S3, filesystem, memory) and is shared by every
//! process using the bucket.

use std::sync::Arc;

use async_trait::async_trait;
use s3db_storage::{ErrorKind, PutMode, Storage, StorageExt};

use super::CacheDriver;
use crate::Result;
use crate::cache::entry::Entry;
use crate::json_object::json_payload;

/// Entries as JSON objects of a storage.
#[derive(Debug, Clone)]
pub struct StorageDriver {
    storage: Arc<dyn Storage>,
}

impl StorageDriver {
    /// Entries in `storage` (give it a prefixed storage such as
    /// `PluginContext::storage()`: [`CacheDriver::clear`] empties it).
    pub fn new(storage: Arc<dyn Storage>) -> StorageDriver {
        StorageDriver { storage }
    }
}

#[async_trait]
impl CacheDriver for StorageDriver {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        match self.storage.get(key).await {
            Ok(found) => Entry::from_bytes(key, &found.body).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<()> {
        let Some(bytes) = entry.to_bytes() else {
            return Ok(());
        };
        self.storage
            .put(key, json_payload(bytes), PutMode::Overwrite)
            .await?;
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<()> {
        match self.storage.delete(key).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn remove_prefix(&self, prefix: &str) -> Result<()> {
        self.storage.delete_prefix(prefix).await?;
        Ok(())
    }

    async fn clear(&self) -> Result<()> {
        self.storage.delete_prefix("").await?;
        Ok(())
    }
}
