//! [`StorageExt`]: conveniences built only on the [`Storage`] trait, for every storage.

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;

use crate::error::{ErrorKind, Result};
use crate::storage::Storage;
use crate::types::{ListOptions, ObjectMeta, PutMode, PutPayload};

/// Shortcuts over [`Storage`]; implemented for every storage (including `dyn Storage`).
#[async_trait]
pub trait StorageExt: Storage {
    /// Overwrites `key` with `body`, no metadata and no content type; returns the ETag.
    async fn put_bytes(&self, key: &str, body: impl Into<Bytes> + Send) -> Result<String> {
        let payload = PutPayload {
            body: body.into(),
            ..PutPayload::default()
        };
        self.put(key, payload, PutMode::Overwrite).await
    }

    /// Reads the body of `key`.
    async fn get_bytes(&self, key: &str) -> Result<Bytes> {
        Ok(self.get(key).await?.body)
    }

    /// Whether an object exists at `key` (a HEAD; only `NotFound` means no).
    async fn exists(&self, key: &str) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix`, in key order.
    async fn list_all(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.list(ListOptions {
            prefix: prefix.to_string(),
            ..ListOptions::default()
        })
        .try_collect()
        .await
    }

    /// Every key under `prefix`, in key order.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .list_all(prefix)
            .await?
            .into_iter()
            .map(|meta| meta.key)
            .collect())
    }

    /// Deletes every object under `prefix` (batched by `delete_many`); returns how many were listed.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize> {
        let keys = self.list_keys(prefix).await?;
        let batch = self.capabilities().max_delete_batch.max(1);
        for chunk in keys.chunks(batch) {
            self.delete_many(chunk).await?;
        }
        Ok(keys.len())
    }
}

impl<S: Storage + ?Sized> StorageExt for S {}
