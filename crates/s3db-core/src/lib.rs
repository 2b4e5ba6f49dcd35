//! The s3db engine: databases, schemas, resources, behaviors, partitions and versioning.
//!
//! A [`Database`] lives at the root of a [`s3db_storage::Storage`] (a bucket, a prefix, a
//! directory or memory) and is described by `s3db.json`, in exactly the structure s3db.js
//! 21.6.2 writes, so both libraries can share a bucket. Each record of a [`Resource`] is one
//! object `resource=<name>/data/id=<id>` whose fields are encoded into user metadata (and,
//! depending on the [`BehaviorKind`], a JSON body).
//!
//! ```
//! use s3db_core::{Database, ResourceConfig};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://docs-example").await?;
//! let people = db
//!     .create_resource(ResourceConfig::from_json(&json!({
//!         "name": "people",
//!         "attributes": {"name": "string|required", "age": "number|optional"}
//!     }))?)
//!     .await?;
//!
//! let record = json!({"id": "ana", "name": "Ana", "age": 31});
//! people.insert(record.as_object().cloned().unwrap_or_default()).await?;
//! let changes = json!({"age": 32});
//! people.update("ana", changes.as_object().cloned().unwrap_or_default()).await?;
//! assert_eq!(people.get("ana").await?["age"], 32);
//!
//! // Duplicate ids are refused, unknown resources are typed errors.
//! let again = json!({"id": "ana", "name": "Other"});
//! assert!(matches!(
//!     people.insert(again.as_object().cloned().unwrap_or_default()).await,
//!     Err(s3db_core::Error::AlreadyExists { .. })
//! ));
//! assert!(matches!(db.resource("nope"), Err(s3db_core::Error::UnknownResource { .. })));
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! Writes are safe under concurrency: inserts are conditional creates, updates are
//! compare-and-swap on the ETag with bounded retries, and `s3db.json` itself is updated with
//! compare-and-swap. See `docs/compatibility.md` for where s3db differs from s3db.js and
//! `docs/recovery.md` for what to do with a damaged `s3db.json`.
//!
//! Records are JSON maps ([`Record`]); [`Resource::typed`] gives a [`TypedResource`] with
//! every record operation on your own `Serialize + Deserialize` type, [`Versioned`] records
//! with typed [`RecordMeta`], and [`Filter::field`] builds query filters without JSON
//! (`docs/typed.md`).

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backup;
pub mod behavior;
pub mod clock;
pub mod codegen;
pub mod database;
pub mod document;
pub mod error;
pub mod extend;
pub mod filter;
pub mod id;
mod mapper;
/// `s3db.json` and definition hashes: internal, public only for the workspace's fuzzers,
/// plugins and fixtures; not a stable API.
#[doc(hidden)]
pub mod metadata;
/// Partition keys and references: internal, public only for the workspace's fuzzers.
#[doc(hidden)]
pub mod partition;
pub mod random;
pub mod resource;
pub mod schema;
pub mod typed;
/// Benchmark workloads for xtask and the benches: not a stable API.
#[doc(hidden)]
pub mod workload;

pub use behavior::BehaviorKind;
pub use database::{
    Creation, Database, DatabaseBuilder, DatabaseOptions, Location, ResourceOptions, WeakDatabase,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use filter::Filter;
pub use resource::config::ResourceConfig;
pub use resource::{
    Content, INTERNAL_FIELDS, ListRequest, Page, PageRequest, QueryOptions, Record, RecordMeta,
    RepairReport, Resource, UniqueDuplicate, UniqueRepairReport,
};
pub use s3db_codec::secret::SecretString;
pub use typed::{TypedResource, Versioned};
