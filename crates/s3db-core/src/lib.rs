#![doc = include_str!("../README.md")]
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
pub mod incremental;
mod mapper;
// `s3db.json` and definition hashes: internal, public only for the workspace's fuzzers,
// plugins and fixtures; not a stable API.
#[doc(hidden)]
pub mod metadata;
// Partition keys and references: internal, public only for the workspace's fuzzers.
#[doc(hidden)]
pub mod partition;
pub mod random;
pub mod resource;
pub mod schema;
pub mod sequence;
mod small_map;
pub mod typed;
// Benchmark workloads for xtask and the benches: not a stable API.
#[doc(hidden)]
pub mod workload;

pub use behavior::BehaviorKind;
pub use database::{
    Creation, Database, DatabaseBuilder, DatabaseOptions, Location, ResourceOptions, WeakDatabase,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use filter::Filter;
pub use resource::config::ResourceConfig;
pub use resource::observe;
pub use resource::{
    Content, INTERNAL_FIELDS, ListRequest, OPERATION_TARGET, Page, PageRequest, QueryOptions,
    Record, RecordMeta, RepairReport, Resource, UniqueDuplicate, UniqueRepairReport,
};
pub use s3db_codec::secret::SecretString;
pub use typed::{TypedResource, Versioned};
