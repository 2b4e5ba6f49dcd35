//! The user guide: the pages of `docs/`, included here so that every Rust example in them
//! is compiled and run by `cargo test -p s3db --doc`.

/// The repository's `README.md`.
#[doc = include_str!("../../../README.md")]
pub mod readme {}

/// `docs/getting-started.md`.
#[doc = include_str!("../../../docs/getting-started.md")]
pub mod getting_started {}

/// `docs/typed.md`.
#[doc = include_str!("../../../docs/typed.md")]
pub mod typed {}

/// `docs/connection-strings.md`.
#[doc = include_str!("../../../docs/connection-strings.md")]
pub mod connection_strings {}

/// `docs/schema.md`.
#[doc = include_str!("../../../docs/schema.md")]
pub mod schema {}

/// `docs/behaviors.md`.
#[doc = include_str!("../../../docs/behaviors.md")]
pub mod behaviors {}

/// `docs/partitions.md`.
#[doc = include_str!("../../../docs/partitions.md")]
pub mod partitions {}

/// `docs/concurrency.md`.
#[doc = include_str!("../../../docs/concurrency.md")]
pub mod concurrency {}

/// `docs/errors.md`.
#[doc = include_str!("../../../docs/errors.md")]
pub mod errors {}

/// `docs/versioning.md`.
#[doc = include_str!("../../../docs/versioning.md")]
pub mod versioning {}

/// `docs/extending.md`.
#[doc = include_str!("../../../docs/extending.md")]
pub mod extending {}

/// `docs/plugins.md`.
#[doc = include_str!("../../../docs/plugins.md")]
pub mod plugins {}

/// `docs/backup-format.md`.
#[doc = include_str!("../../../docs/backup-format.md")]
pub mod backups {}

/// `docs/streams.md`.
#[doc = include_str!("../../../docs/streams.md")]
pub mod streams {}

/// `docs/derive.md`.
#[doc = include_str!("../../../docs/derive.md")]
pub mod derive {}

/// `docs/README.md`.
#[doc = include_str!("../../../docs/README.md")]
pub mod index {}

/// `docs/cli.md`.
#[doc = include_str!("../../../docs/cli.md")]
pub mod cli {}

/// `docs/compatibility.md`.
#[doc = include_str!("../../../docs/compatibility.md")]
pub mod compatibility {}

/// `docs/fuzzing.md`.
#[doc = include_str!("../../../docs/fuzzing.md")]
pub mod fuzzing {}

/// `docs/performance.md`.
#[doc = include_str!("../../../docs/performance.md")]
pub mod performance {}

/// `docs/recovery.md`.
#[doc = include_str!("../../../docs/recovery.md")]
pub mod recovery {}

/// `docs/plugins-audit.md`.
#[doc = include_str!("../../../docs/plugins-audit.md")]
pub mod plugins_audit {}

/// `docs/plugins-cache.md`.
#[doc = include_str!("../../../docs/plugins-cache.md")]
pub mod plugins_cache {}

/// `docs/plugins-costs.md`.
#[doc = include_str!("../../../docs/plugins-costs.md")]
pub mod plugins_costs {}

/// `docs/plugins-lock.md`.
#[doc = include_str!("../../../docs/plugins-lock.md")]
pub mod plugins_lock {}

/// `docs/plugins-state-machine.md`.
#[doc = include_str!("../../../docs/plugins-state-machine.md")]
pub mod plugins_state_machine {}
/// `docs/observability.md`.
#[doc = include_str!("../../../docs/observability.md")]
pub mod observability {}

/// `docs/plugins-metrics.md`.
#[doc = include_str!("../../../docs/plugins-metrics.md")]
pub mod plugins_metrics {}

/// `docs/plugins-replicator.md`.
#[doc = include_str!("../../../docs/plugins-replicator.md")]
pub mod plugins_replicator {}

/// `docs/plugins-ttl.md`.
#[doc = include_str!("../../../docs/plugins-ttl.md")]
pub mod plugins_ttl {}

/// `docs/plugins-queue.md`.
#[doc = include_str!("../../../docs/plugins-queue.md")]
pub mod plugins_queue {}

/// `docs/plugins-counters.md`.
#[doc = include_str!("../../../docs/plugins-counters.md")]
pub mod plugins_counters {}
/// `docs/plugins-scheduler.md`.
#[doc = include_str!("../../../docs/plugins-scheduler.md")]
pub mod plugins_scheduler {}

/// `docs/plugins-backup.md`.
#[doc = include_str!("../../../docs/plugins-backup.md")]
pub mod plugins_backup {}

/// `docs/importer.md`.
#[doc = include_str!("../../../docs/importer.md")]
pub mod importer {}
