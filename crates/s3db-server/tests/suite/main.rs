//! s3db-server tests: a real server on 127.0.0.1 (ephemeral port) over a file:// database,
//! driven with reqwest. Every integration test of the crate is a module of this binary.

#![allow(clippy::unwrap_used)]

mod auth;
mod conditional;
mod errors;
mod harness;
mod openapi;
mod routes;
