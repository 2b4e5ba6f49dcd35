//! s3db-plugins tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod audit;
mod backup_plugin;
mod cache;
mod cache_drivers;
mod cache_s3;
mod common;
mod costs;
mod importer;
mod metrics;
mod replicator;
#[cfg(feature = "postgres")]
mod replicator_postgres;
mod scheduler;
mod ttl;
