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
