//! The `Storage` trait every backend and layer implements.

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::packed::PackedGet;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// A bucket (or a prefix of one): the narrow, object-safe interface the database needs.
///
/// Keys are relative to the backend's root. All backends behave like S3 where it matters:
/// failed conditions are `PreconditionFailed`/`AlreadyExists`, listings are in byte order of
/// the UTF-8 keys, ETags are quoted MD5 hex of the body.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// Stores an object; returns its new quoted ETag.
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String>;

    /// Reads an object with its metadata.
    async fn get(&self, key: &str) -> Result<GetResult>;

    /// Reads an object like [`get`](Storage::get), its metadata packed. A store that keeps
    /// metadata packed (memory) hands it out without building a map; the default packs the
    /// map `get` returns, so layers that add behaviour to `get` (faults, retries) apply here
    /// too unless they forward this method themselves.
    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        self.get(key).await.map(PackedGet::from)
    }

    /// Reads an object's metadata without the body.
    async fn head(&self, key: &str) -> Result<HeadResult>;

    /// Copies `from` to `to` server-side; returns the copy's quoted ETag.
    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String>;

    /// Deletes an object. Deleting a missing key succeeds (as on S3).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Deletes many keys, batched by the backend (S3: 1000 per request). Missing keys succeed.
    async fn delete_many(&self, keys: &[String]) -> Result<()>;

    /// Lists objects under a prefix in key order, paginating under the hood.
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>>;

    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;
}

/// Methods of `Storage for Arc<T>` that take one key: each hands back the inner storage's
/// future.
macro_rules! forward_by_key {
    ($($method:ident -> $output:ty;)*) => {$(
        fn $method<'s, 'k, 'f>(&'s self, key: &'k str) -> BoxFuture<'f, Result<$output>>
        where
            's: 'f,
            'k: 'f,
            Self: 'f,
        {
            (**self).$method(key)
        }
    )*};
}

/// A shared handle is a storage too, so layers and wrappers can hold `Arc<dyn Storage>`.
/// Each method hands back the inner storage's future as it is, rather than boxing a second
/// future around it on every call.
impl<T: Storage + ?Sized> Storage for std::sync::Arc<T> {
    fn put<'s, 'k, 'f>(
        &'s self,
        key: &'k str,
        payload: PutPayload,
        mode: PutMode,
    ) -> BoxFuture<'f, Result<String>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).put(key, payload, mode)
    }

    forward_by_key! {
        get -> GetResult;
        get_packed -> PackedGet;
        head -> HeadResult;
        delete -> ();
    }

    fn copy<'s, 'a, 'b, 'f>(
        &'s self,
        from: &'a str,
        to: &'b str,
        options: CopyOptions,
    ) -> BoxFuture<'f, Result<String>>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        (**self).copy(from, to, options)
    }

    fn delete_many<'s, 'k, 'f>(&'s self, keys: &'k [String]) -> BoxFuture<'f, Result<()>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).delete_many(keys)
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        (**self).list(options)
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
}
