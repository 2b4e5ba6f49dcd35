//! The error type of the core: one enum whose variants name what went wrong and where, and
//! a small [`ErrorKind`] set to act upon (see `docs/errors.md`).

use std::error::Error as StdError;

use crate::backup::BackupError;
use crate::extend::HookError;
use crate::id::InvalidId;
use crate::schema::{SchemaError, ValidationError};

/// A boxed error that can cross threads: the source of a [`Error::Plugin`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is: the part of an error a program acts upon.
///
/// Every error has exactly one kind ([`Error::kind`]); the variant and its fields say more
/// for a message. A storage failure has the same kind whether it reached the caller through
/// the core ([`Error::Storage`]) or straight from the storage
/// (`ErrorKind::from(storage_error.kind())`).
///
/// Only [`ErrorKind::Unavailable`] is retryable ([`ErrorKind::is_retryable`]); a
/// [`ErrorKind::Conflict`] is worth a new attempt only after reading the record again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// What was asked for does not exist: a record, resource, partition, the database
    /// itself, an object, or a file a backup names.
    NotFound,
    /// Something is already where a create would put it: a record with this id (insert
    /// never overwrites), an object (`PutMode::Create`), a backup in the target directory.
    AlreadyExists,
    /// A concurrent writer won: a conditional write found another version
    /// ([`Error::VersionMismatch`], a storage `PreconditionFailed`), or a read-modify-write
    /// kept losing ([`Error::Conflict`]). Read again, then decide whether to write.
    Conflict,
    /// A value of a unique field is already taken by another record.
    UniqueViolation,
    /// A record was refused for its content: it breaks the schema, a value cannot be
    /// encoded, or it does not fit the metadata budget.
    Validation,
    /// The request cannot be understood or carried out as given: a bad resource definition,
    /// id, filter, page cursor, option, plugin slug, a record that does not convert to the
    /// requested type, a missing bucket or an unusable key.
    InvalidInput,
    /// The request is valid but a setting or an extension refused it: a bulk delete on a
    /// paranoid resource, a query that needs a full scan without `allow_scan`, a hook's
    /// veto. Change the setting (or the data), not the timing.
    Refused,
    /// The backend refused the credentials or the access (S3 401/403: `AccessDenied`,
    /// `InvalidAccessKeyId`, `SignatureDoesNotMatch`; a file the process may not touch).
    PermissionDenied,
    /// The backend is temporarily unavailable: throttled, 5xx, timed out, unreachable.
    /// Retryable, unless a retry layer already gave up on it ([`Error::is_retryable`]).
    Unavailable,
    /// Stored data cannot be understood: a torn or unparsable object, a damaged backup, a
    /// secret field that does not decrypt with the passphrase.
    Corrupt,
    /// Anything else: an unexpected backend answer, a local I/O failure, a dropped
    /// database, an extension handing back the wrong data. Usually a bug or an environment
    /// problem; the error's message and sources say which.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same request unchanged may succeed (only
    /// [`ErrorKind::Unavailable`]).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Unavailable)
    }
}

impl From<s3db_storage::ErrorKind> for ErrorKind {
    /// The core kind of a storage failure kind: `PreconditionFailed` is a
    /// [`ErrorKind::Conflict`], `Throttled` is [`ErrorKind::Unavailable`], `InvalidKey` is
    /// [`ErrorKind::InvalidInput`], `MetadataTooLarge` is [`ErrorKind::Validation`].
    fn from(kind: s3db_storage::ErrorKind) -> Self {
        use s3db_storage::ErrorKind as Storage;
        match kind {
            Storage::NotFound => ErrorKind::NotFound,
            Storage::AlreadyExists => ErrorKind::AlreadyExists,
            Storage::PreconditionFailed => ErrorKind::Conflict,
            Storage::MetadataTooLarge => ErrorKind::Validation,
            Storage::Throttled | Storage::Unavailable => ErrorKind::Unavailable,
            Storage::PermissionDenied => ErrorKind::PermissionDenied,
            Storage::InvalidKey | Storage::InvalidInput => ErrorKind::InvalidInput,
            Storage::Corrupt => ErrorKind::Corrupt,
            // `Internal`, and kinds a newer storage crate may add (its set is non-exhaustive).
            _ => ErrorKind::Internal,
        }
    }
}

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
    Hook(#[from] HookError),
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
    /// A plugin cannot be installed: its slug is invalid or already installed.
    #[error("plugin {slug:?}: {reason}")]
    InvalidPlugin {
        /// The plugin's slug.
        slug: String,
        /// What is wrong.
        reason: String,
    },
    /// A plugin failed (to install, start, stop, or in its own work); the plugin's own error
    /// is the source, so it can be downcast (`source.downcast_ref::<PluginError>()`).
    #[error("plugin {plugin:?}: {source}")]
    Plugin {
        /// The plugin's slug.
        plugin: String,
        /// The kind the plugin gave its failure.
        kind: ErrorKind,
        /// The plugin's error.
        #[source]
        source: BoxError,
    },
    /// A backup or restore was refused or failed (see [`crate::backup`]).
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// Every handle on the database was dropped (seen by plugins that hold it weakly).
    #[error("the database was dropped")]
    Disconnected,
}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn backup_kind(error: &BackupError) -> ErrorKind {
    match error {
        BackupError::NoSuchResource { .. }
        | BackupError::NoSchema { .. }
        | BackupError::MissingFile { .. } => ErrorKind::NotFound,
        BackupError::NotEmpty { .. } | BackupError::ForeignEntry { .. } => ErrorKind::AlreadyExists,
        BackupError::UnsafeName { .. } | BackupError::Manifest { .. } => ErrorKind::InvalidInput,
        BackupError::ChecksumMismatch { .. }
        | BackupError::CountMismatch { .. }
        | BackupError::Corrupt { .. } => ErrorKind::Corrupt,
        BackupError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Internal,
        },
    }
}

/// The retryability of the first core or storage error in `error`'s source chain (itself
/// included), which knows whether a retry layer already gave up.
fn retryable_in_chain(error: &(dyn StdError + 'static)) -> Option<bool> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(core) = error.downcast_ref::<Error>() {
            return Some(core.is_retryable());
        }
        if let Some(storage) = error.downcast_ref::<s3db_storage::Error>() {
            return Some(storage.is_retryable());
        }
        next = error.source();
    }
    None
}

impl Error {
    /// What kind of failure this is (see [`ErrorKind`]).
    ///
    /// ```
    /// use s3db_core::{Error, ErrorKind};
    ///
    /// let missing = Error::NotFound { resource: "users".into(), id: "ana".into() };
    /// assert_eq!(missing.kind(), ErrorKind::NotFound);
    /// assert!(!missing.is_retryable());
    /// ```
    pub fn kind(&self) -> ErrorKind {
        // Exhaustive on purpose: a new variant must choose its kind here.
        match self {
            Error::NotFound { .. }
            | Error::UnknownResource { .. }
            | Error::UnknownPartition { .. }
            | Error::NoDatabase { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::UniqueViolation { .. } => ErrorKind::UniqueViolation,
            Error::Conflict { .. } | Error::VersionMismatch { .. } => ErrorKind::Conflict,
            Error::Validation { .. } | Error::MetadataTooLarge { .. } | Error::Codec { .. } => {
                ErrorKind::Validation
            }
            Error::Schema { .. }
            | Error::InvalidId(_)
            | Error::Filter(_)
            | Error::InvalidCursor { .. }
            | Error::Unsupported { .. }
            | Error::Serialization { .. }
            | Error::InvalidPlugin { .. } => ErrorKind::InvalidInput,
            Error::Paranoid { .. } | Error::ScanRequired { .. } => ErrorKind::Refused,
            Error::Hook(HookError::Vetoed { .. }) => ErrorKind::Refused,
            Error::Hook(HookError::WrongPayload { .. }) | Error::Payload(_) => ErrorKind::Internal,
            Error::Corrupt { .. } | Error::Decryption { .. } => ErrorKind::Corrupt,
            Error::Storage(error) => error.kind().into(),
            Error::Backup(error) => backup_kind(error),
            Error::Plugin { kind, .. } => *kind,
            Error::Disconnected => ErrorKind::Internal,
        }
    }

    /// Whether retrying the same request unchanged may succeed: the kind is
    /// [`ErrorKind::Unavailable`] and no retry layer has given up on the storage failure
    /// behind it already (a storage error's `gave_up`).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Storage(error) => error.is_retryable(),
            Error::Plugin { kind, source, .. } => {
                retryable_in_chain(source.as_ref()).unwrap_or(kind.is_retryable())
            }
            other => other.kind().is_retryable(),
        }
    }

    /// A [`Error::Plugin`]: `plugin` failed with `source`, of `kind`.
    pub fn plugin(plugin: impl Into<String>, kind: ErrorKind, source: impl Into<BoxError>) -> Self {
        Error::Plugin {
            plugin: plugin.into(),
            kind,
            source: source.into(),
        }
    }

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use s3db_storage::{ErrorKind as StorageKind, GaveUp, Operation as StorageOp};

    use super::*;
    use crate::extend::{HookPoint, Operation, PayloadMismatch};

    fn storage(kind: StorageKind) -> s3db_storage::Error {
        s3db_storage::Error::new(kind, StorageOp::Get, "k")
    }

    fn io(kind: std::io::ErrorKind) -> Error {
        Error::Backup(BackupError::Io {
            action: "read",
            path: "b/s3db.json".into(),
            source: kind.into(),
        })
    }

    /// One instance of every variant (and of each sub-error that decides the kind), with
    /// the kind and retryability it must report.
    fn table() -> Vec<(Error, ErrorKind, bool)> {
        let s = String::from;
        let mismatch = PayloadMismatch {
            expected: "record",
            found: "count",
        };
        let path = std::path::PathBuf::from;
        let backup = |error: BackupError| Error::Backup(error);
        vec![
            (
                Error::Validation {
                    resource: s("r"),
                    source: ValidationError { failures: vec![] },
                },
                ErrorKind::Validation,
                false,
            ),
            (
                Error::schema("r", "a", "bad rule"),
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::InvalidId(InvalidId {
                    id: s("a/b"),
                    reason: "has a slash",
                }),
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::NoDatabase { location: s("x") },
                ErrorKind::NotFound,
                false,
            ),
            (
                Error::Paranoid {
                    resource: s("r"),
                    operation: Operation::DeleteAll,
                },
                ErrorKind::Refused,
                false,
            ),
            (
                Error::UnknownResource { name: s("r") },
                ErrorKind::NotFound,
                false,
            ),
            (
                Error::NotFound {
                    resource: s("r"),
                    id: s("i"),
                },
                ErrorKind::NotFound,
                false,
            ),
            (
                Error::AlreadyExists {
                    resource: s("r"),
                    id: s("i"),
                },
                ErrorKind::AlreadyExists,
                false,
            ),
            (
                Error::MetadataTooLarge {
                    resource: s("r"),
                    id: s("i"),
                    total: 3000,
                    limit: 2000,
                    excess: 1000,
                },
                ErrorKind::Validation,
                false,
            ),
            (
                Error::Conflict {
                    what: s("s3db.json"),
                    attempts: 5,
                },
                ErrorKind::Conflict,
                false,
            ),
            (
                Error::VersionMismatch {
                    resource: s("r"),
                    id: s("i"),
                    expected: s("\"a\""),
                    found: None,
                },
                ErrorKind::Conflict,
                false,
            ),
            (Error::corrupt("k", "torn"), ErrorKind::Corrupt, false),
            (
                Error::Decryption {
                    resource: s("r"),
                    id: s("i"),
                    field: s("secret"),
                },
                ErrorKind::Corrupt,
                false,
            ),
            (
                Error::Unsupported {
                    resource: s("r"),
                    reason: s("option \"limit\" must be a number"),
                },
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::UnknownPartition {
                    resource: s("r"),
                    partition: s("p"),
                },
                ErrorKind::NotFound,
                false,
            ),
            (
                Error::ScanRequired {
                    resource: s("r"),
                    fields: vec![s("f")],
                    advice: s("no partition"),
                },
                ErrorKind::Refused,
                false,
            ),
            (
                Error::Filter(crate::filter::FilterError {
                    field: s("f"),
                    reason: s("unknown operator"),
                }),
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::InvalidCursor {
                    resource: s("r"),
                    reason: s("not base64"),
                },
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::Storage(storage(StorageKind::Unavailable)),
                ErrorKind::Unavailable,
                true,
            ),
            (
                Error::Storage(storage(StorageKind::Throttled)),
                ErrorKind::Unavailable,
                true,
            ),
            (
                Error::Storage(storage(StorageKind::Unavailable).with_gave_up(GaveUp {
                    attempts: 3,
                    elapsed: Duration::ZERO,
                    deadline_reached: false,
                })),
                ErrorKind::Unavailable,
                false,
            ),
            (
                Error::Storage(storage(StorageKind::PermissionDenied)),
                ErrorKind::PermissionDenied,
                false,
            ),
            (
                Error::Codec {
                    field: s("f"),
                    source: s3db_codec::CodecError {
                        action: "encode",
                        kind: "ip4",
                        input: s("x"),
                        reason: s("not an address"),
                    },
                },
                ErrorKind::Validation,
                false,
            ),
            (
                Error::Hook(HookError::Vetoed {
                    point: HookPoint::BeforeInsert,
                    resource: Some(s("r")),
                    position: 0,
                    reason: s("no"),
                }),
                ErrorKind::Refused,
                false,
            ),
            (
                Error::Hook(HookError::WrongPayload {
                    point: HookPoint::AfterGet,
                    resource: None,
                    position: 1,
                    source: mismatch.clone(),
                }),
                ErrorKind::Internal,
                false,
            ),
            (Error::Payload(mismatch), ErrorKind::Internal, false),
            (
                Error::Serialization {
                    resource: s("r"),
                    reason: s("missing field"),
                },
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::InvalidPlugin {
                    slug: s("Bad"),
                    reason: s("slug"),
                },
                ErrorKind::InvalidInput,
                false,
            ),
            (
                Error::plugin("p", ErrorKind::Corrupt, "unreadable entry"),
                ErrorKind::Corrupt,
                false,
            ),
            (
                Error::plugin("p", ErrorKind::Unavailable, "target down"),
                ErrorKind::Unavailable,
                true,
            ),
            // A plugin error whose source chain holds a storage failure a retry layer gave
            // up on is not retryable, whatever kind the plugin gave it.
            (
                Error::plugin(
                    "p",
                    ErrorKind::Unavailable,
                    storage(StorageKind::Unavailable).with_gave_up(GaveUp {
                        attempts: 2,
                        elapsed: Duration::ZERO,
                        deadline_reached: true,
                    }),
                ),
                ErrorKind::Unavailable,
                false,
            ),
            (
                backup(BackupError::NotEmpty {
                    dir: path("d"),
                    entries: vec![s("x")],
                }),
                ErrorKind::AlreadyExists,
                false,
            ),
            (
                backup(BackupError::ForeignEntry {
                    dir: path("d"),
                    entry: s("x"),
                }),
                ErrorKind::AlreadyExists,
                false,
            ),
            (
                backup(BackupError::UnsafeName { name: s("..") }),
                ErrorKind::InvalidInput,
                false,
            ),
            (
                backup(BackupError::NoSuchResource {
                    place: s("the database"),
                    name: s("r"),
                }),
                ErrorKind::NotFound,
                false,
            ),
            (
                backup(BackupError::NoSchema { resource: s("r") }),
                ErrorKind::NotFound,
                false,
            ),
            (
                backup(BackupError::Manifest {
                    path: path("s3db.json"),
                    reason: s("not JSON"),
                }),
                ErrorKind::InvalidInput,
                false,
            ),
            (
                backup(BackupError::MissingFile {
                    resource: s("r"),
                    file: path("r.jsonl"),
                }),
                ErrorKind::NotFound,
                false,
            ),
            (
                backup(BackupError::ChecksumMismatch {
                    file: path("r.jsonl"),
                    expected: s("a"),
                    actual: s("b"),
                }),
                ErrorKind::Corrupt,
                false,
            ),
            (
                backup(BackupError::CountMismatch {
                    file: path("r.jsonl"),
                    expected: 2,
                    actual: 1,
                }),
                ErrorKind::Corrupt,
                false,
            ),
            (
                backup(BackupError::Corrupt {
                    file: path("r.jsonl"),
                    reason: s("line 3"),
                }),
                ErrorKind::Corrupt,
                false,
            ),
            (
                io(std::io::ErrorKind::PermissionDenied),
                ErrorKind::PermissionDenied,
                false,
            ),
            (io(std::io::ErrorKind::Other), ErrorKind::Internal, false),
            (Error::Disconnected, ErrorKind::Internal, false),
            (
                Error::UniqueViolation {
                    resource: s("users"),
                    field: s("email"),
                    value: Box::new(serde_json::json!("a@b.c")),
                    existing_id: s("u1"),
                },
                ErrorKind::UniqueViolation,
                false,
            ),
        ]
    }

    #[test]
    fn every_variant_has_its_kind_and_retryability() {
        for (error, kind, retryable) in table() {
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
        }
    }

    #[test]
    fn a_storage_failure_has_the_same_kind_through_the_core() {
        let kinds = [
            (StorageKind::NotFound, ErrorKind::NotFound),
            (StorageKind::AlreadyExists, ErrorKind::AlreadyExists),
            (StorageKind::PreconditionFailed, ErrorKind::Conflict),
            (StorageKind::MetadataTooLarge, ErrorKind::Validation),
            (StorageKind::Throttled, ErrorKind::Unavailable),
            (StorageKind::Unavailable, ErrorKind::Unavailable),
            (StorageKind::PermissionDenied, ErrorKind::PermissionDenied),
            (StorageKind::InvalidKey, ErrorKind::InvalidInput),
            (StorageKind::InvalidInput, ErrorKind::InvalidInput),
            (StorageKind::Corrupt, ErrorKind::Corrupt),
            (StorageKind::Internal, ErrorKind::Internal),
        ];
        for (storage_kind, kind) in kinds {
            assert_eq!(ErrorKind::from(storage_kind), kind);
            let direct = storage(storage_kind);
            let (retryable, through_core) = (direct.is_retryable(), Error::Storage(direct));
            assert_eq!(through_core.kind(), kind, "{storage_kind:?}");
            assert_eq!(through_core.is_retryable(), retryable, "{storage_kind:?}");
            assert_eq!(kind.is_retryable(), retryable, "{storage_kind:?}");
        }
    }
}
