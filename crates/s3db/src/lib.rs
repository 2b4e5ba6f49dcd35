#![doc = include_str!("../README.md")]

pub mod docs;

// The layered crates, whole, for advanced use (custom storages and layers, codecs, the
// extension points in detail). Their internals are private or hidden from the docs.
pub use s3db_codec as codec;
pub use s3db_core as core;
pub use s3db_storage as storage;

// The stable API.
pub use s3db_core::document::Document;
pub use s3db_core::filter::Filter;
pub use s3db_core::{
    BehaviorKind, Creation, Database, DatabaseBuilder, DatabaseOptions, Error, ErrorKind,
    ListRequest, Location, Page, PageRequest, QueryOptions, Record, RecordMeta, Resource,
    ResourceConfig, Result, SecretString, TypedResource, Versioned,
};
/// `#[derive(s3db::Document)]`: a struct as a resource definition (see `docs/derive.md`).
pub use s3db_derive::Document;

// What a program passes to open a database: a connection string or a storage, retry policy.
pub use s3db_storage::connection::StorageConfig;
pub use s3db_storage::layers::RetryConfig;
pub use s3db_storage::{FsStorage, MemoryStorage, Storage};

// Extension points: hooks, events, middleware and the plugin trait.
pub use s3db_core::extend::{Event, HookPoint, Hooks, Operation, Plugin, PluginContext};

/// Injectable time: the system clock and a manual clock for deterministic tests.
pub mod clock {
    pub use s3db_core::clock::{Clock, ManualClock, SharedClock, SystemClock};
}

/// Injectable randomness (ids, jitter): the system source and seeded sources for tests.
pub mod random {
    pub use s3db_core::random::*;
}

/// The plugins you install with [`DatabaseBuilder::plugin`]; each has a guide page
/// (`docs/plugins-*.md`). Their modules hold the support types (reports, drivers, targets).
pub mod plugins {
    pub use s3db_plugins::audit::{AuditConfig, AuditPlugin};
    pub use s3db_plugins::cache::{CacheConfig, CachePlugin, DriverConfig};
    pub use s3db_plugins::costs::CostsPlugin;
    pub use s3db_plugins::counters::{CountersConfig, CountersPlugin};
    pub use s3db_plugins::fulltext::FullTextPlugin;
    pub use s3db_plugins::geo::GeoPlugin;
    pub use s3db_plugins::metrics::MetricsPlugin;
    pub use s3db_plugins::queue::{QueueConfig, QueuePlugin};
    pub use s3db_plugins::queue_consumer::{QueueConsumer, QueueConsumerBuilder};
    pub use s3db_plugins::relations::{RelationsConfig, RelationsPlugin};
    pub use s3db_plugins::replicator::{Replicator, ReplicatorBuilder, RetryPolicy, Route};
    pub use s3db_plugins::scheduler::{Job, Schedule, Scheduler, SchedulerPlugin};
    /// SQS clients for `replicator::SqsTarget` and `queue_consumer::SqsSource` (feature `sqs`).
    #[cfg(feature = "sqs")]
    pub use s3db_plugins::sqs;
    pub use s3db_plugins::state_machine::StateMachinePlugin;
    pub use s3db_plugins::ttl::{ResourceTtl, TtlConfig, TtlPlugin};
    pub use s3db_plugins::vector::VectorPlugin;
    pub use s3db_plugins::{Error, Result};
    pub use s3db_plugins::{
        audit, backup, cache, clock, coord, costs, counters, geo, importer, metrics, queue,
        queue_consumer, relations, replicator, scheduler, state_machine, ttl, vector,
    };
}

/// The names most programs use: `use s3db::prelude::*;` (leaves `Result` alone, so it never
/// shadows `std::result::Result`; the crate's is `s3db::Result`).
pub mod prelude {
    pub use s3db_core::document::Document;
    pub use s3db_core::filter::Filter;
    pub use s3db_core::{
        Database, Error, ErrorKind, ListRequest, Page, PageRequest, QueryOptions, Record,
        RecordMeta, Resource, ResourceConfig, TypedResource, Versioned,
    };
    pub use s3db_derive::Document;
}
