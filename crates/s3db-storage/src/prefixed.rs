//! [`Prefixed`]: a storage seen through a key prefix (`memory://bucket/prefix`, `s3://bucket/prefix`).

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::packed::PackedGet;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// Maps every key `k` to `prefix + k` on the inner storage, and strips the prefix from listings.
///
/// The prefix is normalised like a directory: surrounding slashes are trimmed and one trailing
/// slash is added, so `"db/"`, `"/db"` and `"db"` all mean `db/`. An empty prefix maps keys as-is.
/// Errors from the inner storage name the full (prefixed) key.
///
/// ```
/// # tokio_test_block(async {
/// use s3db_storage::{MemoryStorage, Prefixed, StorageExt};
///
/// let bucket = MemoryStorage::new();
/// let db = Prefixed::new(bucket.clone(), "databases/app");
/// db.put_bytes("s3db.json", "{}").await?;
/// assert!(bucket.exists("databases/app/s3db.json").await?);
/// assert_eq!(db.list_keys("").await?, vec!["s3db.json".to_string()]);
/// # Ok::<(), s3db_storage::Error>(())
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Prefixed<S> {
    inner: S,
    prefix: String,
}

impl<S: Storage> Prefixed<S> {
    /// Wraps `inner` so that all keys live under `prefix` (normalised to end in one `/`).
    pub fn new(inner: S, prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        let prefix = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        };
        Prefixed { inner, prefix }
    }

    /// The normalised prefix (empty, or ending in `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn relative(&self, meta: ObjectMeta) -> Result<ObjectMeta> {
        match meta.key.strip_prefix(&self.prefix) {
            Some(rest) => Ok(ObjectMeta {
                key: rest.to_string(),
                ..meta
            }),
            None => Err(Error::new(ErrorKind::Internal, Operation::List, &meta.key)
                .with_message(format!("listed key is outside prefix {:?}", self.prefix))),
        }
    }
}

#[async_trait]
impl<S: Storage> Storage for Prefixed<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        self.inner.put(&self.full(key), payload, mode).await
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        let mut result = self.inner.get(&self.full(key)).await?;
        result.meta.key = key.to_string();
        Ok(result)
    }

    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        let mut result = self.inner.get_packed(&self.full(key)).await?;
        result.meta.key = key.to_string();
        Ok(result)
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let mut result = self.inner.head(&self.full(key)).await?;
        result.meta.key = key.to_string();
        Ok(result)
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.inner
            .copy(&self.full(from), &self.full(to), options)
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(&self.full(key)).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let keys: Vec<String> = keys.iter().map(|k| self.full(k)).collect();
        self.inner.delete_many(&keys).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let options = ListOptions {
            prefix: self.full(&options.prefix),
            start_after: options.start_after.map(|k| self.full(&k)),
            page_size: options.page_size,
        };
        self.inner
            .list(options)
            .map(move |item| item.and_then(|meta| self.relative(meta)))
            .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
