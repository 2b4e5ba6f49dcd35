//! Resources: typed-by-schema collections of records, one object per record.
//!
//! A [`Resource`] is a cheap handle (an `Arc` of the compiled definition plus the storage).
//! Records are `serde_json::Map`s; [`crate::TypedResource`] wraps a resource for Rust types.

mod codec;
mod conditional;
pub mod config;
mod content;
pub mod definition;
mod direct;
mod listing;
mod meta;
pub mod observe;
mod options;
mod page;
mod partitioned;
pub mod query;
mod stream;
pub mod unique;
mod versioned;
mod write;

use std::sync::Arc;

use s3db_storage::{ErrorKind, PackedGet, Storage};
use serde_json::{Map, Value};

use crate::behavior::BehaviorKind;
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::extend::{Event, EventBus, HookPoint, Hooks, Middlewares, Operation, Payload};
use crate::id::validate_id;
use crate::random::SharedRandom;
pub use conditional::INTERNAL_FIELDS;
pub use content::Content;
use definition::Definition;
pub use meta::RecordMeta;
pub use observe::OPERATION_TARGET;
pub use page::{Page, PageRequest, decode_cursor};
pub use partitioned::RepairReport;
pub use query::{ListRequest, QueryOptions};
pub use stream::{WriteFailure, WriteReport};
pub use unique::{CLAIM_GRACE, UniqueDuplicate, UniqueRepairReport};
pub use versioned::MigrateFn;

/// A JSON record.
pub type Record = Map<String, Value>;

/// `record` without the internal fields unless `meta` (a free function, for `'static`
/// streams).
fn deliver(meta: bool, mut record: Record) -> Record {
    if !meta {
        conditional::strip_internals(&mut record);
    }
    record
}

/// Settings of writes, from the database.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    /// Read-modify-write rounds before [`Error::Conflict`].
    pub max_attempts: u32,
    /// The clock dating `createdAt`/`updatedAt` and history entries.
    pub clock: SharedClock,
    /// The source of generated ids, write nonces and backoff jitter.
    pub random: SharedRandom,
}

/// The extension points of one resource: one set per resource name, shared by every
/// handle on it (the database keeps them in its registry).
#[derive(Debug, Clone)]
pub(crate) struct Extensions {
    /// Hooks of the resource.
    pub hooks: Hooks,
    /// Middleware of the resource.
    pub middlewares: Middlewares,
    /// The database's event bus.
    pub events: EventBus,
}

impl Extensions {
    /// Fresh hooks and middleware for `name`, emitting on `events`.
    pub fn new(name: &str, events: EventBus) -> Self {
        Extensions {
            hooks: Hooks::for_resource(name),
            middlewares: Middlewares::new(name),
            events,
        }
    }
}

/// A handle on one resource of a database.
#[derive(Debug, Clone)]
pub struct Resource {
    def: Arc<Definition>,
    storage: Arc<dyn Storage>,
    settings: WriteSettings,
    migration: Option<versioned::Migration>,
    ext: Extensions,
    /// Whether reads hand back the internal fields ([`Resource::with_meta`]).
    meta: bool,
}

/// A record as read, with what a conditional write needs.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    /// The record (with `id`).
    pub record: Record,
    /// The object's ETag.
    pub etag: String,
    /// Secret path → stored ciphertext.
    pub ciphertexts: crate::mapper::Ciphertexts,
    /// Body and content type when the object carries binary content.
    pub content: Option<(bytes::Bytes, Option<String>)>,
    /// The `_v` the object was written with, when it is not the current version.
    pub version: Option<String>,
    /// Size, modification time and content type of the object.
    pub facts: ObjectFacts,
}

/// What a read learns about the stored object besides the record (reported as s3db.js's
/// `_contentLength`, `_lastModified`, `_mimeType` by [`Resource::get_with_meta`]).
#[derive(Debug, Clone)]
pub(crate) struct ObjectFacts {
    /// Body length in bytes.
    pub size: u64,
    /// Time of the last write.
    pub last_modified: std::time::SystemTime,
    /// The stored Content-Type.
    pub content_type: Option<String>,
}

impl Resource {
    pub(crate) fn new(
        def: Arc<Definition>,
        storage: Arc<dyn Storage>,
        settings: WriteSettings,
        ext: Extensions,
    ) -> Self {
        Resource {
            def,
            storage,
            settings,
            migration: None,
            ext,
            meta: false,
        }
    }

    /// A handle on the same resource whose reads return each record with the internal
    /// fields s3db.js's reads return, under the same names: `_etag` (the record's version,
    /// for [`Resource::update_if`] and the other conditional writes), `_lastModified`,
    /// `_contentLength`, `_hasContent`, `_mimeType`, `_v`, `_originalVersion`,
    /// `_versionMapped` ([`INTERNAL_FIELDS`]). Every read gets them: `get`, `get_many`,
    /// `get_all`, `get_from_partition`, `list`, `list_partition`, `page`, `query` and the
    /// streams. Writes ignore these fields, so a record can be edited and written back as
    /// read. Hooks, middleware and events see them on every handle.
    ///
    /// ```
    /// # async fn demo(db: s3db_core::Database) -> s3db_core::Result<()> {
    /// use s3db_core::ListRequest;
    ///
    /// let users = db.resource("users")?.with_meta();
    /// for record in users.list(&ListRequest::all()).await? {
    ///     println!("{} at version {}", record["id"], record["_etag"]);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_meta(&self) -> Resource {
        Resource {
            meta: true,
            ..self.clone()
        }
    }

    /// Whether this handle's reads return the internal fields ([`Resource::with_meta`]).
    pub fn reads_meta(&self) -> bool {
        self.meta
    }

    /// The most requests one bulk operation of this resource keeps in flight when it would
    /// keep `wanted` ([`config::ResourceConfig::parallelism`] bounds it).
    pub(crate) fn in_flight(&self, wanted: usize) -> usize {
        self.def
            .parallelism
            .map_or(wanted, |bound| wanted.min(bound))
            .max(1)
    }

    /// The per-resource bound of bulk operations, if one was given
    /// ([`config::ResourceConfig::parallelism`], [`crate::ResourceOptions::parallelism`]).
    pub fn parallelism(&self) -> Option<usize> {
        self.def.parallelism
    }

    /// Whether reads decrypt secret fields (s3db.js `autoDecrypt`, stored in `s3db.json`);
    /// when not, they return the stored ciphertext.
    pub fn auto_decrypt(&self) -> bool {
        self.def.auto_decrypt
    }

    /// A loaded record as the read operations carry it inside (to their hooks, middleware
    /// and events): with the internal fields, and with the stored ciphertext of each secret
    /// when the resource does not [decrypt](Resource::auto_decrypt) on read.
    ///
    /// The internal fields are left out when nothing but the caller can see the record:
    /// this handle does not [read them](Resource::with_meta), no hook or middleware is
    /// registered on the resource and no one subscribes to its events. The caller would get
    /// them stripped again ([`Resource::delivered`]), so building them (an ISO date, eight
    /// map entries) would be work done twice.
    pub(crate) fn presented(&self, mut loaded: Loaded) -> Record {
        if !self.def.auto_decrypt {
            for (path, cipher) in std::mem::take(&mut loaded.ciphertexts) {
                codec::set_path(&mut loaded.record, &path, Value::String(cipher));
            }
        }
        if self.internals_unobserved() {
            return loaded.record;
        }
        self.with_internals(loaded)
    }

    /// Whether only the caller sees what a read returns, and it gets no internal fields.
    fn internals_unobserved(&self) -> bool {
        !self.meta
            && self.ext.hooks.is_empty()
            && self.ext.middlewares.is_empty()
            && !self.ext.events.has_subscribers()
    }

    /// What a read hands its caller: `record` without the internal fields unless this
    /// handle [reads them](Resource::with_meta).
    pub(crate) fn delivered(&self, record: Record) -> Record {
        deliver(self.meta, record)
    }

    /// The resource's hooks (shared by every handle on this resource).
    pub fn hooks(&self) -> &Hooks {
        &self.ext.hooks
    }

    /// The resource's middleware (shared by every handle on this resource).
    pub fn middlewares(&self) -> &Middlewares {
        &self.ext.middlewares
    }

    /// The database's event bus, on which this resource emits.
    pub fn events(&self) -> &EventBus {
        &self.ext.events
    }

    /// The resource name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// The version new writes carry (`v1`, `v2`…).
    pub fn version(&self) -> &str {
        &self.def.version
    }

    /// The behavior.
    pub fn behavior(&self) -> BehaviorKind {
        self.def.behavior
    }

    /// Whether the resource is paranoid (s3db.js `paranoid`, the default): bulk
    /// destructive operations such as [`Resource::delete_all`] are refused with
    /// [`Error::Paranoid`].
    pub fn paranoid(&self) -> bool {
        self.def.paranoid
    }

    /// The declared partitions, in definition order.
    pub fn partitions(&self) -> &[crate::partition::Partition] {
        &self.def.partitions
    }

    /// The storage key of record `id`'s object (`resource=<name>/data/id=<id>`), for
    /// inspecting it with [`Storage::head`].
    pub fn record_key(&self, id: &str) -> String {
        self.def.record_key(id)
    }

    /// What in the stored definition is kept but not applied, or read differently than
    /// written (unknown modifiers, types and keys).
    pub fn definition_warnings(&self) -> &[definition::DefinitionWarning] {
        &self.def.warnings
    }

    /// The attribute definitions (timestamps included).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.def.attributes
    }

    /// The short metadata key of an attribute path.
    pub fn short_key(&self, path: &str) -> Option<&str> {
        self.def.keys.short(path)
    }

    /// Reads a record: [`Error::NotFound`] if there is none. The record holds its fields
    /// and `id` only, unless the handle [reads the internal fields](Resource::with_meta).
    pub async fn get(&self, id: &str) -> Result<Record> {
        self.observed("get", Some(id), self.get_op(id)).await
    }

    async fn get_op(&self, id: &str) -> Result<Record> {
        if !self.ext.middlewares.has(Operation::Get) {
            return Ok(self.delivered(self.get_inner(id).await?));
        }
        let out = self
            .wrapped(
                Operation::Get,
                Payload::Id(id.to_owned()),
                |this, args| async move {
                    Ok(Payload::Record(this.get_inner(&args.into_id()?).await?))
                },
            )
            .await?;
        Ok(self.delivered(out.into_record()?))
    }

    /// Reads a record with the internal fields s3db.js's `get()` returns (`_etag`, the
    /// record's version, and the object facts): [`Resource::get`] on
    /// [`Resource::with_meta`].
    pub async fn get_with_meta(&self, id: &str) -> Result<Record> {
        self.with_meta().get(id).await
    }

    async fn get_inner(&self, id: &str) -> Result<Record> {
        let redirected = self.before(HookPoint::BeforeGet, || Payload::Id(id.to_owned()));
        let redirected = match redirected.await? {
            Some(payload) => Some(payload.into_id()?),
            None => None,
        };
        let id = redirected.as_deref().unwrap_or(id);
        let record = self.presented(self.load(id).await?);
        let record = self
            .ext
            .hooks
            .run(HookPoint::AfterGet, Payload::Record(record))
            .await?
            .into_record()?;
        self.ext.events.emit_with(|| Event::Fetched {
            resource: self.def.name.clone(),
            id: id.to_owned(),
            record: record.clone(),
        });
        Ok(record)
    }

    /// Whether a record exists (one HEAD request).
    pub async fn exists(&self, id: &str) -> Result<bool> {
        self.observed("exists", Some(id), self.exists_op(id)).await
    }

    async fn exists_op(&self, id: &str) -> Result<bool> {
        if !self.ext.middlewares.has(Operation::Exists) {
            return self.exists_inner(id).await;
        }
        let out = self
            .wrapped(
                Operation::Exists,
                Payload::Id(id.to_owned()),
                |this, args| async move {
                    Ok(Payload::Flag(this.exists_inner(&args.into_id()?).await?))
                },
            )
            .await?;
        Ok(out.into_flag()?)
    }

    async fn exists_inner(&self, id: &str) -> Result<bool> {
        let redirected = self.before(HookPoint::BeforeExists, || Payload::Id(id.to_owned()));
        let redirected = match redirected.await? {
            Some(payload) => Some(payload.into_id()?),
            None => None,
        };
        let id = redirected.as_deref().unwrap_or(id);
        validate_id(id)?;
        let found = match self.storage.head(&self.def.record_key(id)).await {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        Ok(self
            .ext
            .hooks
            .run(HookPoint::AfterExists, Payload::Flag(found))
            .await?
            .into_flag()?)
    }

    /// Runs the hooks of `point` over the data `build` makes, only when some are
    /// registered (`None` otherwise: nothing is built).
    pub(crate) async fn before(
        &self,
        point: HookPoint,
        build: impl FnOnce() -> Payload,
    ) -> Result<Option<Payload>> {
        if !self.ext.hooks.has(point) {
            return Ok(None);
        }
        Ok(Some(self.ext.hooks.run(point, build()).await?))
    }

    /// Calls `method` on a clone of this handle through the middleware of `operation`.
    /// Callers check [`Middlewares::has`] first and call the method directly when there is
    /// none, so nothing is cloned or boxed then.
    pub(crate) async fn wrapped<F, Fut>(
        &self,
        operation: Operation,
        args: Payload,
        method: F,
    ) -> Result<Payload>
    where
        F: FnOnce(Resource, Payload) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Payload>> + Send + 'static,
    {
        let this = self.clone();
        self.ext
            .middlewares
            .run(operation, args, move |args| method(this, args))
            .await
    }

    pub(crate) fn load<'a>(&'a self, id: &'a str) -> impl Future<Output = Result<Loaded>> + 'a {
        self.load_with(id, move |key, found| self.decode_versioned(id, key, found))
    }

    /// Reads the stored object of record `id` and decodes it with `decode` (given its key);
    /// [`Error::NotFound`] when there is none. Generic so that no future is nested in
    /// another on the way.
    pub(crate) async fn load_with<R>(
        &self,
        id: &str,
        decode: impl FnOnce(&str, PackedGet) -> Result<R>,
    ) -> Result<R> {
        validate_id(id)?;
        let key = self.def.record_key(id);
        match self.storage.get_packed(&key).await {
            Ok(found) => decode(&key, found),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(self.not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    fn not_found(&self, id: &str) -> Error {
        Error::NotFound {
            resource: self.def.name.clone(),
            id: id.to_owned(),
        }
    }
}
