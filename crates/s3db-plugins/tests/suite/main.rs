//! s3db-plugins tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod audit;
mod cache;
mod cache_drivers;
mod cache_s3;
mod common;
mod costs;
mod geo;
mod metrics;
mod replicator;
#[cfg(feature = "postgres")]
mod replicator_postgres;
mod ttl;
mod vector;
