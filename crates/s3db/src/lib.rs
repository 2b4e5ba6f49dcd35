//! s3db: a document database that lives inside an S3 bucket.
//!
//! This facade re-exports the stable API of the layered crates.
//!
//! Cargo features:
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `s3` | on | S3 buckets: `s3://` and `http(s)://` connection strings, [`storage::S3Storage`] (aws-sdk-s3; HTTPS on rustls with ring) |
//! | `postgres` | off | the replicator's PostgreSQL target, `plugins::replicator::PostgresTarget` (tokio-postgres) |
//! | `metrics-http` | off | `plugins::metrics::MetricsServer`, the metrics plugin's Prometheus endpoint |
//!
//! `default-features = false` leaves `memory://` and `file://` and none of the AWS SDK:
//!
//! ```toml
//! [dependencies]
//! s3db = { version = "0.1", default-features = false }
//! ```

pub mod docs;

pub use s3db_codec as codec;
pub use s3db_core as core;
pub use s3db_plugins as plugins;
pub use s3db_storage as storage;

/// The trait the derive implements: [`Document::resource_config`] is the struct's resource.
pub use s3db_core::document::Document;
/// `#[derive(s3db::Document)]`: a struct as a resource definition (see the `s3db-derive` crate).
pub use s3db_derive::Document;

/// The error of database operations and its kind (`docs/errors.md`).
pub use s3db_core::{Error, ErrorKind};

/// The names most programs use: `use s3db::prelude::*;` (leaves `Result` alone; the
/// crate's is `s3db::core::Result`).
pub mod prelude {
    pub use s3db_core::document::Document;
    pub use s3db_core::filter::Filter;
    pub use s3db_core::{
        Database, Error, ErrorKind, ListRequest, PageRequest, QueryOptions, Record, RecordMeta,
        Resource, ResourceConfig, TypedResource, Versioned,
    };
    pub use s3db_derive::Document;
}
