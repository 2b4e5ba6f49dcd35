#![doc = include_str!("../README.md")]

pub mod audit;
pub mod cache;
pub mod clock;
pub mod coord;
pub mod costs;
mod error;
pub mod geo;
mod json_object;
pub mod metrics;
pub mod replicator;
pub mod ttl;
pub mod vector;

pub use error::{Error, Result};
