#![doc = include_str!("../README.md")]

pub mod audit;
pub mod backup;
pub mod cache;
pub mod clock;
pub mod coord;
pub mod costs;
pub mod counters;
mod error;
pub mod fulltext;
pub mod geo;
pub mod importer;
mod json_object;
pub mod metrics;
pub mod queue;
pub mod queue_consumer;
pub mod relations;
pub mod replicator;
pub mod scheduler;
#[cfg(feature = "sqs")]
pub mod sqs;
pub mod state_machine;
pub mod ttl;
pub mod vector;

pub use error::{Error, Result};
