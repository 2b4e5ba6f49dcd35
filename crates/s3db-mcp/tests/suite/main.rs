//! s3db-mcp tests: every integration test of the crate in one binary.

#![allow(clippy::unwrap_used)]

mod server;
