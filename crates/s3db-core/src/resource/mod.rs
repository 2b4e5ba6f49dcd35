//! Resources: typed-by-schema collections of records, one object per record.
//!
//! A [`Resource`] is a cheap handle (an `Arc` of the compiled definition plus the storage).
//! Records are `serde_json::Map`s; [`crate::TypedResource`] wraps a resource for Rust types.

mod codec;
pub mod config;
mod content;
pub mod definition;
mod listing;
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
use crate::error::{Error, Result};
use crate::id::validate_id;
use definition::Definition;
pub use page::{Page, PageRequest};
pub use partitioned::RepairReport;
pub use query::{ListRequest, QueryOptions};
pub use stream::{WriteFailure, WriteReport};
pub use versioned::MigrateFn;

/// A JSON record.
pub type Record = Map<String, Value>;

/// Settings of conditional writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteSettings {
    /// Read-modify-write rounds before [`Error::Conflict`].
    pub max_attempts: u32,
}

/// A handle on one resource of a database.
#[derive(Debug, Clone)]
pub struct Resource {
    def: Arc<Definition>,
    storage: Arc<dyn Storage>,
    settings: WriteSettings,
    migration: Option<versioned::Migration>,
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
}

impl Resource {
    pub(crate) fn new(
        def: Arc<Definition>,
        storage: Arc<dyn Storage>,
        settings: WriteSettings,
    ) -> Self {
        Resource {
            def,
            storage,
            settings,
            migration: None,
        }
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

    /// The attribute definitions (timestamps included).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.def.attributes
    }

    /// The short metadata key of an attribute path.
    pub fn short_key(&self, path: &str) -> Option<&str> {
        self.def.keys.short(path)
    }

    /// Reads a record: [`Error::NotFound`] if there is none.
    pub async fn get(&self, id: &str) -> Result<Record> {
        Ok(self.load(id).await?.record)
    }

    /// Whether a record exists (one HEAD request).
    pub async fn exists(&self, id: &str) -> Result<bool> {
        validate_id(id)?;
        match self.storage.head(&self.def.record_key(id)).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
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
