//! Plain data types shared by every backend: payloads, modes, metadata and results.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bytes::Bytes;

use crate::packed::PackedMetadata;

/// User metadata of an object: lower-case keys (without `x-amz-meta-`) to ASCII values,
/// already metadata-encoded by the caller.
pub type Metadata = BTreeMap<String, String>;

/// How a `put` treats an existing object at the same key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Write unconditionally (last writer wins).
    #[default]
    Overwrite,
    /// Write only if no object exists at the key (`If-None-Match: *`).
    Create,
    /// Write only if the current object's ETag equals this one (`If-Match`).
    IfMatch(String),
}

/// What a `put` stores: user metadata, body and content type.
///
/// The metadata is packed (one allocation, no tree): build it from a [`Metadata`] map with
/// `.into()`, or from pairs in any order with [`PackedMetadata::from_pairs`] or `collect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutPayload {
    /// User metadata (values ASCII; keys are stored lower-cased).
    pub metadata: PackedMetadata,
    /// Object body.
    pub body: Bytes,
    /// Content-Type, if any.
    pub content_type: Option<String>,
}

/// Facts about a stored object, as HEAD or LIST report them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Full key, relative to the backend's root.
    pub key: String,
    /// Body length in bytes.
    pub size: u64,
    /// Quoted ETag (quoted hex MD5 of the body for single-part writes).
    pub etag: String,
    /// Time of the last write.
    pub last_modified: SystemTime,
}

/// A HEAD result: object facts plus metadata and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadResult {
    /// Key, size, ETag and modification time.
    pub meta: ObjectMeta,
    /// User metadata.
    pub metadata: Metadata,
    /// Content-Type, if one was stored.
    pub content_type: Option<String>,
}

/// A GET result: everything HEAD returns plus the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResult {
    /// Key, size, ETag and modification time.
    pub meta: ObjectMeta,
    /// User metadata.
    pub metadata: Metadata,
    /// Content-Type, if one was stored.
    pub content_type: Option<String>,
    /// Object body.
    pub body: Bytes,
}

/// Options of a server-side copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `Some` replaces the metadata (and content type) of the copy (`MetadataDirective: REPLACE`);
    /// `None` keeps the source's.
    pub replace: Option<(Metadata, Option<String>)>,
    /// Copy only if the source's ETag equals this one (`x-amz-copy-source-if-match`).
    pub source_if_match: Option<String>,
}

/// Options of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// List only keys starting with this prefix (no trailing slash added).
    pub prefix: String,
    /// List only keys strictly after this one.
    pub start_after: Option<String>,
    /// Backend page size hint (S3's MaxKeys, at most 1000); `None` = backend default.
    pub page_size: Option<usize>,
}

/// What a backend can do, so callers can adapt (e.g. skip conditional-write paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `PutMode::Create` is atomic.
    pub conditional_create: bool,
    /// `PutMode::IfMatch` is atomic.
    pub conditional_update: bool,
    /// Server-side copy is available.
    pub copy: bool,
    /// Maximum bytes of user metadata (keys + values) the backend accepts, if enforced.
    pub max_metadata_bytes: Option<usize>,
    /// Maximum keys per `delete_many` request.
    pub max_delete_batch: usize,
    /// Operations can fail with a temporary error (`Throttled`, `Unavailable`) that a retry
    /// may cure: true for S3 and for fault injection; false for memory and the filesystem,
    /// and false above a retry layer (which has already retried). The default stack adds a
    /// retry layer only where this is true (see [`crate::layers::StackBuilder::retry`]).
    pub transient_failures: bool,
    /// Requests are already traced and tallied by a [`Trace`](crate::layers::Trace) layer
    /// below: [`StackBuilder::build`](crate::layers::StackBuilder::build) adds no second one.
    pub traced: bool,
}

impl Capabilities {
    /// A local backend with atomic conditional creates and updates and server-side copy,
    /// which never fails transiently.
    pub fn conditional(max_metadata_bytes: Option<usize>, max_delete_batch: usize) -> Self {
        Capabilities {
            conditional_create: true,
            conditional_update: true,
            copy: true,
            max_metadata_bytes,
            max_delete_batch,
            transient_failures: false,
            traced: false,
        }
    }
}
