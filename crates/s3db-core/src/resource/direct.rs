//! Typed reads that skip the record map: when nothing but the caller sees what a read
//! returns, [`TypedResource`](crate::TypedResource) reads decode each object straight into
//! the caller's type. An object the direct decoder does not take (an older schema version,
//! fields in the body, plain-named keys) is read as a record and converted, so the result is
//! the same either way.

use std::marker::PhantomData;

use futures::stream::BoxStream;
use serde::de::DeserializeOwned;

use super::observe::Output;
use super::query::{ListRequest, RecordReader};
use super::{Resource, codec};
use crate::error::{Error, Result};
use crate::typed::decode;

/// Reads records straight into `T` (see the [module docs](self)).
struct Direct<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> RecordReader for Direct<T> {
    type Item = T;

    async fn read(this: &Resource, id: Result<String>) -> Result<Option<T>> {
        match this.read_direct(&id?).await {
            Ok(found) => Ok(Some(found)),
            Err(Error::NotFound { .. } | Error::InvalidId(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A typed read as an operation's outcome (the operation names its id).
struct Read<T>(T);

impl<T> Output for Read<T> {}

impl Resource {
    /// Whether typed reads may skip the record map (use the `*_direct` reads): the caller
    /// alone sees what they return (no hook, middleware or event subscriber, no internal
    /// fields asked for) and secrets come back decrypted.
    pub(crate) fn reads_direct(&self) -> bool {
        self.internals_unobserved() && self.def.auto_decrypt
    }

    /// Record `id` as `T` (see [`Resource::get`]), when [`Resource::reads_direct`].
    pub(crate) async fn get_direct<T: DeserializeOwned>(&self, id: &str) -> Result<T> {
        let read = async { self.read_direct(id).await.map(Read) };
        let Read(record) = self.observed("get", Some(id), read).await?;
        Ok(record)
    }

    /// The records a request selects, as `T`, in key order (see [`Resource::list`]), when
    /// [`Resource::reads_direct`].
    pub(crate) async fn list_direct<T: DeserializeOwned + Send + 'static>(
        &self,
        request: &ListRequest,
    ) -> Result<Vec<T>> {
        self.observed("list", None, async {
            let ids = self.ids_of(request)?;
            let records = self
                .collect_all_as::<Direct<T>>(ids, request.concurrency)
                .await?;
            self.emit_listed(request, records.len());
            Ok(records)
        })
        .await
    }

    /// The records a request selects, as `T`, lazily (see [`Resource::stream`]), when
    /// [`Resource::reads_direct`].
    pub(crate) fn stream_direct<T: DeserializeOwned + Send + 'static>(
        &self,
        request: &ListRequest,
    ) -> Result<BoxStream<'static, Result<T>>> {
        let records = self.read_all_as::<Direct<T>>(self.ids_of(request)?, request.concurrency);
        Ok(self.observed_stream("stream", records))
    }

    /// Reads record `id` into `T`: directly when its object is of the current version and
    /// the direct decoder takes it, else through the record.
    fn read_direct<'a, T: DeserializeOwned + 'a>(
        &'a self,
        id: &'a str,
    ) -> impl Future<Output = Result<T>> + 'a {
        self.load_with(id, move |key, found| {
            if self.older_version(&found).is_none()
                && let Some(record) = codec::decode_object_direct(&self.def, id, key, &found)?
            {
                return Ok(record);
            }
            let record = self.presented(self.decode_versioned(id, key, found)?);
            decode(&self.def.name, self.delivered(record))
        })
    }
}
