//! Resources: typed-by-schema collections of records, one object per record.
//!
//! A [`Resource`] is a cheap handle (an `Arc` of the compiled definition plus the storage).
//! Records are `serde_json::Map`s; [`crate::TypedResource`] wraps a resource for Rust types.

mod codec;
mod conditional;
pub mod config;
mod content;
pub mod definition;
mod listing;
mod meta;
mod options;
mod page;
mod partitioned;
pub mod query;
mod stream;
mod versioned;
mod write;

use std::sync::Arc;

use s3db_storage::{ErrorKind, Storage};
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
pub use page::{Page, PageRequest, decode_cursor};
pub use partitioned::RepairReport;
pub use query::{ListRequest, QueryOptions};
pub use stream::{WriteFailure, WriteReport};
pub use versioned::MigrateFn;

/// A JSON record.
pub type Record = Map<String, Value>;

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
}

/// A record as read, with what a conditional write needs.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    /// The record (with `id`).
    pub record: Record,
    /// The object's ETag.
    pub etag: String,
    /// Secret path → stored ciphertext.
    pub ciphertexts: std::collections::HashMap<String, String>,
    /// Body and content type when the object carries binary content.
    pub content: Option<(bytes::Bytes, Option<String>)>,
    /// The `_v` the object was written with.
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
        }
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

    /// What in the stored definition is kept but not applied, or read differently than
    /// written (unknown modifiers, types and keys, `unique`, which is not enforced).
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
    /// and `id` only; [`Resource::get_with_meta`] adds the version and object facts.
    pub async fn get(&self, id: &str) -> Result<Record> {
        self.get_as(id, false).await
    }

    /// Reads a record with the internal fields s3db.js's `get()` returns: `_etag` (the
    /// record's version, for [`Resource::update_if`] and the other conditional writes),
    /// `_lastModified`, `_contentLength`, `_hasContent`, `_mimeType`, `_v`,
    /// `_originalVersion`, `_versionMapped`. Writes ignore these fields, so the record can
    /// be edited and written back as it is.
    pub async fn get_with_meta(&self, id: &str) -> Result<Record> {
        self.get_as(id, true).await
    }

    /// `get` through its middleware, with or without the internal fields.
    async fn get_as(&self, id: &str, with_meta: bool) -> Result<Record> {
        if !self.ext.middlewares.has(Operation::Get) {
            return self.get_inner(id, with_meta).await;
        }
        let out = self
            .wrapped(
                Operation::Get,
                Payload::Id(id.to_owned()),
                move |this, args| async move {
                    Ok(Payload::Record(
                        this.get_inner(&args.into_id()?, with_meta).await?,
                    ))
                },
            )
            .await?;
        Ok(out.into_record()?)
    }

    async fn get_inner(&self, id: &str, with_meta: bool) -> Result<Record> {
        let redirected = self.before(HookPoint::BeforeGet, || Payload::Id(id.to_owned()));
        let redirected = match redirected.await? {
            Some(payload) => Some(payload.into_id()?),
            None => None,
        };
        let id = redirected.as_deref().unwrap_or(id);
        let loaded = self.load(id).await?;
        let record = match with_meta {
            true => self.with_internals(loaded),
            false => loaded.record,
        };
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

    pub(crate) async fn load(&self, id: &str) -> Result<Loaded> {
        validate_id(id)?;
        let key = self.def.record_key(id);
        let found = match self.storage.get(&key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    resource: self.def.name.clone(),
                    id: id.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        self.decode_versioned(id, &key, found)
    }

    fn not_found(&self, id: &str) -> Error {
        Error::NotFound {
            resource: self.def.name.clone(),
            id: id.to_owned(),
        }
    }
}
