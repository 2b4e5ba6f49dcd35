#![doc = include_str!("../README.md")]

#[cfg(feature = "s3")]
mod aws_defaults;
pub mod conformance;
pub mod connection;
pub mod dump;
pub mod error;
pub mod etag;
pub mod ext;
#[cfg(unix)]
pub mod fs;
pub mod layers;
pub mod memory;
mod metadata_budget;
pub mod packed;
pub mod prefixed;
#[cfg(feature = "s3")]
pub mod s3;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use dump::DumpedObject;
pub use error::{Error, ErrorKind, GaveUp, Operation, Result};
pub use ext::StorageExt;
#[cfg(unix)]
pub use fs::{FsOptions, FsStorage};
pub use memory::{MemorySnapshot, MemoryStats, MemoryStorage};
pub use packed::{PackedGet, PackedMetadata};
pub use prefixed::Prefixed;
#[cfg(feature = "s3")]
pub use s3::{S3Config, S3Credentials, S3Storage};
pub use storage::Storage;
pub use types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, Metadata, ObjectMeta, PutMode,
    PutPayload,
};
