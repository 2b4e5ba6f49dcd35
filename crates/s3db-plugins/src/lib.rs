#![doc = include_str!("../README.md")]

pub mod audit;
pub mod backup;
pub mod cache;
pub mod clock;
pub mod coord;
pub mod costs;
mod error;
pub mod importer;
mod json_object;
pub mod metrics;
pub mod replicator;
pub mod scheduler;
pub mod ttl;

pub use error::{Error, Result};
