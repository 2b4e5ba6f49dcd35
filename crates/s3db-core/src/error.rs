//! The error type of the core: one enum whose variants name what went wrong and where.

use crate::id::InvalidId;
use crate::schema::{SchemaError, ValidationError};

/// Everything that can go wrong in a database or resource operation.
///
/// Variants carry the resource, id, key or field involved so a message can be acted upon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record failed validation; every failing field is listed.
    #[error("resource {resource:?}: {source}")]
    Validation {
        /// The resource the record was written to.
        resource: String,
        /// All field failures.
        #[source]
        source: ValidationError,
    },
    /// A resource definition (attributes, behavior, partitions, options) is invalid.
    #[error("resource {resource:?}: invalid definition: {source}")]
    Schema {
        /// The resource being defined.
        resource: String,
        /// What is wrong with the definition.
        #[source]
        source: SchemaError,
    },
    /// An id supplied by the caller (or produced by a custom generator) cannot be used.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// There is no database here: no `s3db.json` at the location (nothing was created;
    /// opening never writes).
    #[error("no database at {location}; create a resource or run `s3db init`")]
    NoDatabase {
        /// The location: the connection string with its secret masked, or "the storage
        /// root" when the database was opened on a storage handle.
        location: String,
    },
    /// A paranoid resource refused a bulk destructive operation; nothing was deleted.
    #[error(
        "resource {resource:?} is paranoid: {operation} refused; set paranoid: false on resource {resource:?} to allow {operation}"
    )]
    Paranoid {
        /// The resource.
        resource: String,
        /// The refused operation (`deleteAll`).
        operation: crate::extend::Operation,
    },
    /// No resource of this name is defined in the database.
    #[error("unknown resource {name:?}")]
    UnknownResource {
        /// The name asked for.
        name: String,
    },
    /// No record with this id exists.
    #[error("resource {resource:?}: no record with id {id:?}")]
    NotFound {
        /// The resource.
        resource: String,
        /// The missing id.
        id: String,
    },
    /// A record with this id already exists (insert never overwrites).
    #[error("resource {resource:?}: a record with id {id:?} already exists")]
    AlreadyExists {
        /// The resource.
        resource: String,
        /// The duplicate id.
        id: String,
    },
    /// A `unique` field's value is held by another record (or claimed by a write in
    /// flight); nothing was written. See [`crate::resource::unique`].
    #[error(
        "resource {resource:?}: field {field:?} must be unique, but value {value} is already held by record {existing_id:?}; use another value, or change or delete record {existing_id:?} first (if that record no longer holds it, `s3db repair {resource}` releases the claim)"
    )]
    UniqueViolation {
        /// The resource.
        resource: String,
        /// The unique field's dotted path.
        field: String,
        /// The value that is taken (boxed: a JSON value is large).
        value: Box<serde_json::Value>,
        /// The record holding (or claiming) it.
        existing_id: String,
    },
    /// The mapped record does not fit the metadata budget under `enforce-limits`.
    #[error(
        "resource {resource:?}, id {id:?}: metadata of {total} bytes exceeds the effective limit of {limit} bytes by {excess}"
    )]
    MetadataTooLarge {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// Bytes of the mapped record (names + values, s3db.js accounting).
        total: usize,
        /// The effective limit (absolute limit minus system overhead).
        limit: usize,
        /// `total - limit`.
        excess: usize,
    },
    /// A conditional write kept losing against concurrent writers.
    #[error("{what}: still conflicting after {attempts} attempts")]
    Conflict {
        /// The object being written (`resource=…/data/id=…` or `s3db.json`).
        what: String,
        /// How many read-modify-write rounds were tried.
        attempts: u32,
    },
    /// A write conditional on a version (`update_if`, `patch_if`, `replace_if`, `delete_if`)
    /// found the record at another version: someone wrote it since the caller read it.
    /// Nothing was written; read the record again (`get_with_meta`) and retry.
    #[error(
        "{resource}/{id} changed since it was read: expected version {expected}, found {}",
        found.as_deref().unwrap_or("no record")
    )]
    VersionMismatch {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The version (ETag) the caller read and expected.
        expected: String,
        /// The version stored now (`None`: the record is gone).
        found: Option<String>,
    },
    /// A stored object (or `s3db.json`) cannot be understood.
    #[error("corrupt object {key:?}: {reason}")]
    Corrupt {
        /// The object key, relative to the database root.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A secret field could not be decrypted with the resource passphrase.
    #[error(
        "resource {resource:?}, id {id:?}: cannot decrypt secret field {field:?} (wrong passphrase?)"
    )]
    Decryption {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The secret field path.
        field: String,
    },
    /// The operation cannot be applied to this record or resource.
    #[error("resource {resource:?}: {reason}")]
    Unsupported {
        /// The resource.
        resource: String,
        /// Why.
        reason: String,
    },
    /// No partition of this name is declared.
    #[error("resource {resource:?}: no partition named {partition:?}")]
    UnknownPartition {
        /// The resource.
        resource: String,
        /// The partition asked for.
        partition: String,
    },
    /// A query no partition serves would read every record, and scans were not allowed
    /// (`QueryOptions::allow_scan`).
    #[error("resource {resource:?}: query on {fields:?} needs a full scan ({advice})")]
    ScanRequired {
        /// The resource.
        resource: String,
        /// The filtered field paths.
        fields: Vec<String>,
        /// Which partition would serve it, or that none does.
        advice: String,
    },
    /// A query filter cannot be understood.
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),
    /// A page cursor that this resource did not produce or that cannot be decoded.
    #[error("resource {resource:?}: invalid page cursor: {reason}")]
    InvalidCursor {
        /// The resource.
        resource: String,
        /// Why it was refused.
        reason: String,
    },
    /// The storage backend failed.
    #[error(transparent)]
    Storage(#[from] s3db_storage::Error),
    /// A value could not be encoded for storage.
    #[error("field {field:?}: {source}")]
    Codec {
        /// The field path.
        field: String,
        /// The codec failure.
        #[source]
        source: s3db_codec::CodecError,
    },
    /// A hook vetoed the operation (the reason is kept) or handed back the wrong data.
    #[error(transparent)]
    Hook(#[from] crate::extend::HookError),
    /// A middleware or hook handed back data of the wrong kind for the operation.
    #[error(transparent)]
    Payload(#[from] crate::extend::PayloadMismatch),
    /// A record (or typed value) could not be converted to or from JSON.
    #[error("record of resource {resource:?} cannot be converted: {reason}")]
    Serialization {
        /// The resource.
        resource: String,
        /// Why the conversion failed.
        reason: String,
    },
    /// A plugin cannot be installed (bad slug, or it refused to install).
    #[error("plugin {slug:?}: {reason}")]
    InvalidPlugin {
        /// The plugin's slug.
        slug: String,
        /// What is wrong.
        reason: String,
    },
    /// A backup or restore was refused or failed (see [`crate::backup`]).
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// Every handle on the database was dropped (seen by plugins that hold it weakly).
    #[error("the database was dropped")]
    Disconnected,
}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Corrupt`] for `key`.
    pub(crate) fn corrupt(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A [`Error::Schema`] for `resource`, naming the attribute or option at fault.
    pub(crate) fn schema(
        resource: impl Into<String>,
        attribute: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Schema {
            resource: resource.into(),
            source: SchemaError {
                attribute: attribute.into(),
                reason: reason.into(),
            },
        }
    }
}
