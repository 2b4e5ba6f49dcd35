//! s3db-codec tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod golden_meta;
mod golden_values;
mod prop_meta;
mod prop_values;
mod secret_fixture;
