//! The storage layer of s3db: one async trait, memory / filesystem / S3 backends, and layers.

pub mod conformance;
pub mod error;
pub mod etag;
pub mod ext;
#[cfg(unix)]
pub mod fs;
pub mod layers;
pub mod memory;
mod metadata_budget;
pub mod prefixed;
pub mod storage;
pub mod types;

pub use error::{Error, ErrorKind, Operation, Result};
pub use ext::StorageExt;
#[cfg(unix)]
pub use fs::{FsOptions, FsStorage};
pub use memory::{MemorySnapshot, MemoryStats, MemoryStorage};
pub use prefixed::Prefixed;
pub use storage::Storage;
pub use types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, Metadata, ObjectMeta, PutMode,
    PutPayload,
};
