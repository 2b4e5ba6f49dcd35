//! A typed facade over a [`Resource`]: records as your own `Serialize + DeserializeOwned`
//! types, with every record operation of [`Resource`] (reads, listings, pages, queries,
//! streams, bulk and conditional writes, content).
//!
//! Every method is a thin wrapper: records are converted by one encoder (`T` → JSON object)
//! and one decoder (JSON object → `T`) around the untyped call, so hooks, middleware,
//! events and plugins see exactly what the untyped call would give them.
//!
//! Reads ([`TypedResource::get`], [`TypedResource::list`], [`TypedResource::list_partition`],
//! [`TypedResource::stream`]) skip the JSON object when no one else can see it: with no hook, middleware or event
//! subscriber on the resource, no internal fields asked for and secrets decrypted, an object
//! whose fields are all in its metadata under short keys (every record s3db writes in
//! metadata) is decoded straight into `T`. That saves about a third of a read's CPU. The
//! result is the one the JSON object would give.

use std::marker::PhantomData;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::resource::{
    Content, ListRequest, Page, PageRequest, QueryOptions, Record, RecordMeta, RepairReport,
    Resource, WriteReport,
};

/// A resource whose records are `T`. Conversion failures are [`Error::Serialization`]
/// naming the resource and serde's reason (which names the field); a secret that cannot
/// be decrypted is [`Error::Decryption`], never garbage in a field.
///
/// `T` should have an `id` field (or accept one via `#[serde(default)]`) to see record ids.
/// Fields `T` does not model are ignored on read (unless `T` denies unknown fields); the
/// timestamps (`createdAt`, `updatedAt`) are kept by the resource whatever `T` holds.
///
/// Partial changes ([`TypedResource::update`], [`TypedResource::patch`] and their `_if`
/// variants) take any `Serialize` value: the record type itself, a struct of only the
/// fields to change, a `serde_json::Map` or `json!({...})`. Fields serialized as `null`
/// (a `None`) are left unchanged, and `id` is ignored; to clear a field, write the whole
/// record with [`TypedResource::replace`] or compute it with
/// [`TypedResource::update_with`].
///
/// ```
/// use s3db_core::filter::Filter;
/// use s3db_core::{Database, QueryOptions, ResourceConfig};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// struct User {
///     #[serde(default)]
///     id: String,
///     name: String,
///     age: u32,
/// }
///
/// # async fn demo() -> s3db_core::Result<()> {
/// let db = Database::connect("memory://typed-doc").await?;
/// let users = db
///     .create_resource(
///         ResourceConfig::new("users")
///             .attribute("name", "string")
///             .attribute("age", "number"),
///     )
///     .await?
///     .typed::<User>();
///
/// let ana = users.insert(&User { id: "ana".into(), name: "Ana".into(), age: 31 }).await?;
/// users.insert(&User { id: "bo".into(), name: "Bo".into(), age: 12 }).await?;
///
/// // Partial change: only the fields given.
/// #[derive(Serialize)]
/// struct Rename<'a> { name: &'a str }
/// users.update("ana", &Rename { name: "Ana Maria" }).await?;
///
/// // Conditional write with the version read.
/// let read = users.get_with_meta("ana").await?;
/// let older = User { age: 32, ..read.record.clone() };
/// users.replace_if("ana", &older, &read.meta.etag).await?;
///
/// let adults = users
///     .query(&Filter::field("age").gte(18), &QueryOptions::scanning())
///     .await?;
/// assert_eq!(adults.len(), 1);
/// assert_eq!(adults[0].name, "Ana Maria");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct TypedResource<T> {
    inner: Resource,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedResource<T> {
    fn clone(&self) -> Self {
        TypedResource {
            inner: self.inner.clone(),
            _type: PhantomData,
        }
    }
}

/// A record with the facts of the object it was read from ([`TypedResource::get_with_meta`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The record.
    pub record: T,
    /// Its version (`meta.etag`, for the conditional writes) and object facts.
    pub meta: RecordMeta,
}

impl<T: Serialize + DeserializeOwned> TypedResource<T> {
    /// Wraps a resource.
    pub fn new(inner: Resource) -> Self {
        TypedResource {
            inner,
            _type: PhantomData,
        }
    }

    /// The untyped resource (its hooks, middleware, events, definition and partitions).
    pub fn untyped(&self) -> &Resource {
        &self.inner
    }

    /// The resource name.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// A handle that migrates older-version records on read (see
    /// [`Resource::with_migration`]); the migration works on untyped records, since older
    /// records need not fit `T`.
    pub fn with_migration(
        &self,
        migrate: impl Fn(&str, Record) -> Result<Record> + Send + Sync + 'static,
    ) -> TypedResource<T> {
        TypedResource::new(self.inner.with_migration(migrate))
    }

    // Reads.

    /// Reads a record (see [`Resource::get`]).
    pub async fn get(&self, id: &str) -> Result<T> {
        if self.inner.reads_direct() {
            return self.inner.get_direct(id).await;
        }
        self.decode(self.inner.get(id).await?)
    }

    /// Reads a record with its version and object facts (see [`Resource::get_with_meta`]).
    pub async fn get_with_meta(&self, id: &str) -> Result<Versioned<T>> {
        self.decode_versioned(self.inner.get_with_meta(id).await?)
    }

    /// Whether a record exists (see [`Resource::exists`]).
    pub async fn exists(&self, id: &str) -> Result<bool> {
        self.inner.exists(id).await
    }

    /// The records of `ids` that exist, in the order given (see [`Resource::get_many`]).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<T>> {
        self.decode_all(self.inner.get_many(ids).await?)
    }

    /// Every record, in id order (see [`Resource::get_all`]).
    pub async fn get_all(&self) -> Result<Vec<T>> {
        self.decode_all(self.inner.get_all().await?)
    }

    /// Reads a record through its reference in `partition` (see
    /// [`Resource::get_from_partition`]).
    pub async fn get_from_partition(
        &self,
        id: &str,
        partition: &str,
        values: &Record,
    ) -> Result<T> {
        self.decode(self.inner.get_from_partition(id, partition, values).await?)
    }

    // Listings.

    /// Every record id, in key order (see [`Resource::list_ids`]).
    pub async fn list_ids(&self) -> Result<Vec<String>> {
        self.inner.list_ids().await
    }

    /// The ids a request selects (see [`Resource::list_ids_by`]).
    pub async fn list_ids_by(&self, request: &ListRequest) -> Result<Vec<String>> {
        self.inner.list_ids_by(request).await
    }

    /// Number of records (see [`Resource::count`]).
    pub async fn count(&self) -> Result<usize> {
        self.inner.count().await
    }

    /// How many records a request selects (see [`Resource::count_by`]).
    pub async fn count_by(&self, request: &ListRequest) -> Result<usize> {
        self.inner.count_by(request).await
    }

    /// The records a request selects, in key order (see [`Resource::list`]).
    pub async fn list(&self, request: &ListRequest) -> Result<Vec<T>>
    where
        T: Send + 'static,
    {
        if self.inner.reads_direct() {
            return self.inner.list_direct(request).await;
        }
        self.decode_all(self.inner.list(request).await?)
    }

    /// The records of `partition` whose fields equal `values` (see
    /// [`Resource::list_partition`]).
    pub async fn list_partition(&self, partition: &str, values: Value) -> Result<Vec<T>>
    where
        T: Send + 'static,
    {
        self.list(&ListRequest::partition(partition, values)).await
    }

    /// One page of records with its cursor and totals (see [`Resource::page`]).
    pub async fn page(&self, request: &PageRequest) -> Result<Page<T>> {
        self.inner.page(request).await?.try_map(|r| self.decode(r))
    }

    /// The records matching `filter` (see [`Resource::query`]; the filter is passed on in
    /// its JSON form, [`Filter::to_json`]).
    pub async fn query(&self, filter: &Filter, options: &QueryOptions) -> Result<Vec<T>> {
        let filter = filter.to_json()?;
        self.decode_all(self.inner.query(&filter, options).await?)
    }

    // Streams.

    /// The ids a request selects, lazily (see [`Resource::id_stream`]).
    pub fn id_stream(&self, request: &ListRequest) -> Result<BoxStream<'static, Result<String>>> {
        self.inner.id_stream(request)
    }

    /// The records a request selects, lazily, in key order, with bounded reads in flight
    /// (see [`Resource::stream`]).
    pub fn stream(&self, request: &ListRequest) -> Result<BoxStream<'static, Result<T>>>
    where
        T: Send + 'static,
    {
        if self.inner.reads_direct() {
            return self.inner.stream_direct(request);
        }
        Ok(self.decode_stream(self.inner.stream(request)?))
    }

    /// [`TypedResource::query`] as a lazy stream (see [`Resource::query_stream`]).
    pub fn query_stream(
        &self,
        filter: &Filter,
        options: &QueryOptions,
    ) -> Result<BoxStream<'static, Result<T>>>
    where
        T: Send + 'static,
    {
        let filter = filter.to_json()?;
        Ok(self.decode_stream(self.inner.query_stream(&filter, options)?))
    }

    // Writes.

    /// Inserts a record (see [`Resource::insert`]).
    pub async fn insert(&self, value: &T) -> Result<T> {
        self.decode(self.inner.insert(self.encode(value)?).await?)
    }

    /// Inserts every record; one result per record, in order (see
    /// [`Resource::insert_many`]). A value that does not serialize fails in its place.
    pub async fn insert_many(&self, values: &[T]) -> Vec<Result<T>> {
        let records = values.iter().map(|v| self.encode(v)).collect();
        self.inner
            .insert_made(records)
            .await
            .into_iter()
            .map(|result| self.decode(result?))
            .collect()
    }

    /// Inserts every record of a stream with at most `in_flight` inserts running (see
    /// [`Resource::write`]). A value that does not serialize is a failure at its index.
    pub async fn write<S>(&self, values: S, in_flight: usize) -> WriteReport
    where
        S: Stream<Item = T>,
    {
        let records = values.map(|value| self.encode(&value));
        self.inner.write_made(records, in_flight).await
    }

    /// Inserts the record, or merges its non-`null` fields into the stored one when its id
    /// exists (see [`Resource::upsert`]).
    pub async fn upsert(&self, value: &T) -> Result<T> {
        let mut record = self.encode(value)?;
        record.retain(|_, v| !v.is_null());
        self.decode(self.inner.upsert(record).await?)
    }

    /// Replaces a record (see [`Resource::replace`]).
    pub async fn replace(&self, id: &str, value: &T) -> Result<T> {
        self.decode(self.inner.replace(id, self.encode(value)?).await?)
    }

    /// Merges `changes` into the stored record, retrying on conflict (see
    /// [`Resource::update`]). `changes` is any `Serialize` object; `null` fields and `id`
    /// are skipped (see the type docs).
    pub async fn update<C: Serialize + ?Sized>(&self, id: &str, changes: &C) -> Result<T> {
        self.decode(self.inner.update(id, self.changes(changes)?).await?)
    }

    /// [`TypedResource::update`] with the `patch` hooks and middleware (see
    /// [`Resource::patch`]).
    pub async fn patch<C: Serialize + ?Sized>(&self, id: &str, changes: &C) -> Result<T> {
        self.decode(self.inner.patch(id, self.changes(changes)?).await?)
    }

    /// Writes the record `change` computes from the current one, retried on conflict (see
    /// [`Resource::update_with`]). The value returned is the whole record, as with
    /// [`TypedResource::replace`].
    pub async fn update_with(
        &self,
        id: &str,
        change: impl Fn(&T) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T>
    where
        T: 'static,
    {
        let resource = self.inner.name().to_owned();
        let compute = move |current: &Record| {
            let next = change(&decode(&resource, current.clone())?)?;
            encode(&resource, &next)
        };
        self.decode(self.inner.update_with(id, compute).await?)
    }

    /// Deletes a record (see [`Resource::delete`]).
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.inner.delete(id).await
    }

    /// Deletes the records of `ids` that exist; how many were (see
    /// [`Resource::delete_many`]).
    pub async fn delete_many(&self, ids: &[String]) -> Result<usize> {
        self.inner.delete_many(ids).await
    }

    /// Deletes every record, refused on a paranoid resource (see
    /// [`Resource::delete_all`]).
    pub async fn delete_all(&self) -> Result<usize> {
        self.inner.delete_all().await
    }

    // Conditional writes: `version` is the `meta.etag` of [`TypedResource::get_with_meta`].

    /// [`TypedResource::update`] only if the record is still at `version`, else
    /// [`Error::VersionMismatch`] (see [`Resource::update_if`]).
    pub async fn update_if<C: Serialize + ?Sized>(
        &self,
        id: &str,
        changes: &C,
        version: &str,
    ) -> Result<T> {
        let changes = self.changes(changes)?;
        self.decode(self.inner.update_if(id, changes, version).await?)
    }

    /// [`TypedResource::patch`] only if the record is still at `version` (see
    /// [`Resource::patch_if`]).
    pub async fn patch_if<C: Serialize + ?Sized>(
        &self,
        id: &str,
        changes: &C,
        version: &str,
    ) -> Result<T> {
        let changes = self.changes(changes)?;
        self.decode(self.inner.patch_if(id, changes, version).await?)
    }

    /// [`TypedResource::replace`] only if the record is still at `version` (see
    /// [`Resource::replace_if`]).
    pub async fn replace_if(&self, id: &str, value: &T, version: &str) -> Result<T> {
        let record = self.encode(value)?;
        self.decode(self.inner.replace_if(id, record, version).await?)
    }

    /// [`TypedResource::delete`] only if the record is still at `version` (see
    /// [`Resource::delete_if`]).
    pub async fn delete_if(&self, id: &str, version: &str) -> Result<()> {
        self.inner.delete_if(id, version).await
    }

    // Content and maintenance.

    /// Stores binary content in the record's object body (see [`Resource::set_content`]).
    pub async fn set_content(&self, id: &str, body: Bytes, content_type: &str) -> Result<()> {
        self.inner.set_content(id, body, content_type).await
    }

    /// The record's binary content, if any (see [`Resource::content`]).
    pub async fn content(&self, id: &str) -> Result<Option<Content>> {
        self.inner.content(id).await
    }

    /// Whether the record carries content (see [`Resource::has_content`]).
    pub async fn has_content(&self, id: &str) -> Result<bool> {
        self.inner.has_content(id).await
    }

    /// Removes the record's content (see [`Resource::delete_content`]).
    pub async fn delete_content(&self, id: &str) -> Result<()> {
        self.inner.delete_content(id).await
    }

    /// Reconciles partition references (see [`Resource::repair`]).
    pub async fn repair(&self) -> Result<RepairReport> {
        self.inner.repair().await
    }

    // The one encode/decode path.

    fn encode<V: Serialize + ?Sized>(&self, value: &V) -> Result<Record> {
        encode(self.inner.name(), value)
    }

    /// A change set: the object `changes` serializes to, without `null` fields and `id`.
    fn changes<C: Serialize + ?Sized>(&self, changes: &C) -> Result<Record> {
        let mut record = self.encode(changes)?;
        record.retain(|k, v| !v.is_null() && k != "id");
        Ok(record)
    }

    fn decode(&self, record: Record) -> Result<T> {
        decode(self.inner.name(), record)
    }

    fn decode_all(&self, records: Vec<Record>) -> Result<Vec<T>> {
        records.into_iter().map(|r| self.decode(r)).collect()
    }

    /// A record read with its internals as the record and its facts.
    fn decode_versioned(&self, mut record: Record) -> Result<Versioned<T>> {
        let meta = RecordMeta::from_record(&mut record)
            .map_err(|e| conversion(self.inner.name(), format!("object facts: {e}")))?;
        Ok(Versioned {
            record: self.decode(record)?,
            meta,
        })
    }

    fn decode_stream(
        &self,
        records: BoxStream<'static, Result<Record>>,
    ) -> BoxStream<'static, Result<T>>
    where
        T: Send + 'static,
    {
        let resource = self.inner.name().to_owned();
        records
            .and_then(move |record| std::future::ready(decode(&resource, record)))
            .boxed()
    }
}

fn encode<V: Serialize + ?Sized>(resource: &str, value: &V) -> Result<Record> {
    match serde_json::to_value(value) {
        Ok(Value::Object(record)) => Ok(record),
        Ok(other) => Err(conversion(
            resource,
            format!("a record must serialize to an object, not {other}"),
        )),
        Err(e) => Err(conversion(resource, e.to_string())),
    }
}

/// `record` as `T` ([`Error::Serialization`] naming the resource when it does not convert).
pub(crate) fn decode<T: DeserializeOwned>(resource: &str, record: Record) -> Result<T> {
    serde_json::from_value(Value::Object(record)).map_err(|e| conversion(resource, e.to_string()))
}

fn conversion(resource: &str, reason: String) -> Error {
    Error::Serialization {
        resource: resource.to_owned(),
        reason,
    }
}

impl Resource {
    /// This resource as records of type `T`.
    pub fn typed<T: Serialize + DeserializeOwned>(&self) -> TypedResource<T> {
        TypedResource::new(self.clone())
    }
}
