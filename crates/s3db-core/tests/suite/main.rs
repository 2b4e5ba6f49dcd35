//! s3db-core tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod array_shorthand;
mod backup;
mod bad_input;
mod common;
mod compat_definitions;
mod concurrency;
mod conditional;
mod crud;
mod database;
mod definitions;
mod error_kinds;
mod extend_events;
mod extend_hooks;
mod extend_middleware;
mod extend_plugins;
mod extend_points;
mod extend_wiring;
mod fixtures_read;
mod fixtures_write;
mod id_validate;
mod incremental_ids;
mod injected;
mod listing_order;
mod observe;
mod page_totals;
mod partitions;
mod read_only;
mod request_counts;
mod resource_options;
mod schema_parse;
mod schema_validate;
mod server_restart;
mod streams;
mod typed;
mod unique;
mod versioning;
mod write_pipeline;
