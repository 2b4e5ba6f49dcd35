//! s3db CLI tests: every integration test of the crate in one binary (one link, less disk).

#![allow(clippy::unwrap_used)]

mod cli;
mod s3;
mod serve;
