//! s3db-plugins tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod audit;
mod backup_plugin;
mod cache;
mod cache_drivers;
mod cache_s3;
mod common;
mod coord_lock;
mod costs;
mod counters;
mod fulltext;
mod geo;
mod importer;
mod metrics;
mod queue;
#[cfg(all(feature = "sqs", feature = "amqp"))]
mod queue_consumer;
mod relations;
mod replicator;
#[cfg(all(feature = "webhook", feature = "bigquery"))]
mod replicator_http;
#[cfg(feature = "postgres")]
mod replicator_postgres;
#[cfg(all(feature = "mysql", feature = "sqlite"))]
mod replicator_sql;
mod scheduler;
mod state_machine;
mod ttl;
mod vector;
