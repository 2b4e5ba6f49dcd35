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
//!
//! Cargo features:
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `s3` | on | the S3 backend of s3db-storage, e.g. for an S3 cache or replica (the plugins themselves only use the storage trait) |
//! | `postgres` | off | the replicator's PostgreSQL target, `replicator::PostgresTarget` (tokio-postgres) |
//! | `metrics-http` | off | `metrics::MetricsServer`, a Prometheus endpoint on 127.0.0.1 |

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
