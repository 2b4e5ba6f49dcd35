//! s3db: a document database that lives inside an S3 bucket.
//!
//! This facade re-exports the stable API of the layered crates.

pub mod docs;

pub use s3db_codec as codec;
pub use s3db_core as core;
pub use s3db_plugins as plugins;
pub use s3db_storage as storage;

/// The error of database operations and its kind (`docs/errors.md`).
pub use s3db_core::{Error, ErrorKind};

/// The names most programs use: `use s3db::prelude::*;` (leaves `Result` alone; the
/// crate's is `s3db::core::Result`).
pub mod prelude {
    pub use s3db_core::filter::Filter;
    pub use s3db_core::{
        Database, Error, ErrorKind, ListRequest, PageRequest, QueryOptions, Record, RecordMeta,
        Resource, ResourceConfig, TypedResource, Versioned,
    };
}
