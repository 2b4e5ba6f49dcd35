//! The user guide: the pages of `docs/`, included here so that every Rust example in them
//! is compiled and run by `cargo test -p s3db --doc`.

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
