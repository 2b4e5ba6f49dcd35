//! Plugins for s3db, built only on the public extension points of `s3db-core`
//! ([`s3db_core::extend::Plugin`], hooks, events, middleware, the operation context and the
//! plugin storage areas), so the same plugins could be written outside this workspace.
//!
//! | plugin | what it does |
//! |---|---|
//! | [`cache`] | caches reads (memory, filesystem or S3), invalidated by every write |
//! | [`ttl`] | expires records: soft-delete, hard-delete, archive or callback |
//! | [`audit`] | records who changed what and when in an audit resource |
//! | [`replicator`] | copies writes to PostgreSQL, another s3db database or a JSONL sink |
//! | [`costs`] | request counts and estimated dollars per database and resource |
//! | [`metrics`] | operation counts, errors and latencies in Prometheus text format |
//!
//! Time-dependent plugins read the database's [`clock::Clock`] (or one given to them), so
//! tests move time instead of sleeping.

pub mod audit;
pub mod cache;
pub mod clock;
pub mod costs;
mod error;
mod json_object;
pub mod metrics;
pub mod replicator;
pub mod ttl;

pub use error::{Error, Result};
