//! s3db-storage tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod conformance_catches;
mod fs_backend;
mod fs_conformance;
mod layers;
mod memory_backend;
mod memory_conformance;
mod s3_conformance;
mod s3_wire;
