//! s3db CLI tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod cli;
#[cfg(feature = "mcp")]
mod mcp;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "serve")]
mod serve;
