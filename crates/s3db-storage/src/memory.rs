//! [`MemoryStorage`]: an in-process bucket that behaves like S3 (`memory://bucket`).
//!
//! Objects live in an ordered map behind a read-write lock, so a prefix listing seeks to the
//! prefix and streams pages without sorting or copying the bucket. Conditional writes check and
//! insert under one write lock, so they are atomic. Bodies are [`Bytes`] and objects are shared
//! behind `Arc`, so reads and snapshots copy no bodies.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use s3db_codec::budget::S3_METADATA_LIMIT;

use crate::dump::DumpedObject;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::etag::{etag_of, etags_match};
use crate::metadata_budget::check_metadata_budget;
use crate::packed::{PackedGet, PackedMetadata};
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// The longest key S3 accepts, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 1024;
/// Listing page size when the caller gives none (S3's default MaxKeys).
const DEFAULT_PAGE_SIZE: usize = 1000;
/// The ETag of an empty body: records that fit in metadata (and partition references) have
/// one, so their writes skip the MD5.
const EMPTY_BODY_ETAG: &str = "\"d41d8cd98f00b204e9800998ecf8427e\"";

/// An in-memory bucket with S3 semantics.
///
/// Clones share the same objects. [`MemoryStorage::shared`] hands out the same bucket for the
/// same name anywhere in the process (like s3db.js `memory://bucket`); [`MemoryStorage::new`]
/// makes a private one.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use s3db_storage::{ErrorKind, MemoryStorage, PutMode, PutPayload, Storage, StorageExt};
///
/// let store = MemoryStorage::new();
/// let etag = store.put("users/1", PutPayload::default(), PutMode::Create).await?;
/// assert_eq!(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
/// let again = store.put("users/1", PutPayload::default(), PutMode::Create).await;
/// assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
/// assert_eq!(store.stats().objects, 1);
/// # Ok::<(), s3db_storage::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryStorage {
    bucket: Arc<Bucket>,
    max_metadata_bytes: Option<usize>,
}

/// A bucket's objects: key order map plus a running body byte count.
#[derive(Default)]
struct Bucket {
    name: Option<String>,
    state: RwLock<State>,
}

#[derive(Clone, Default)]
struct State {
    /// The objects in key order, for listings.
    objects: BTreeMap<Arc<str>, Arc<StoredObject>>,
    /// The same objects by hash, for reads of one key: a B-tree search compares a few dozen
    /// keys that share a long prefix (`resource=…/data/id=`), each a cache miss.
    by_key: foldhash::HashMap<Arc<str>, Arc<StoredObject>>,
    body_bytes: u64,
}

struct StoredObject {
    metadata: PackedMetadata,
    body: Bytes,
    content_type: Option<Box<str>>,
    /// Quoted hex MD5 of the body, computed once per write.
    etag: Box<str>,
    last_modified: SystemTime,
}

/// Object and byte counts of a memory bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Number of objects.
    pub objects: usize,
    /// Sum of the body sizes in bytes.
    pub bytes: u64,
}

/// A point-in-time copy of a memory bucket (bodies shared, not copied); see
/// [`MemoryStorage::snapshot`].
#[derive(Clone)]
pub struct MemorySnapshot {
    state: State,
}

impl MemorySnapshot {
    /// Number of objects in the snapshot.
    pub fn len(&self) -> usize {
        self.state.objects.len()
    }

    /// Whether the snapshot holds no object.
    pub fn is_empty(&self) -> bool {
        self.state.objects.is_empty()
    }
}

impl std::fmt::Debug for MemorySnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySnapshot")
            .field("objects", &self.state.objects.len())
            .field("bytes", &self.state.body_bytes)
            .finish()
    }
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("bucket", &self.bucket.name)
            .field("max_metadata_bytes", &self.max_metadata_bytes)
            .finish()
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

fn registry() -> &'static Mutex<HashMap<String, Arc<Bucket>>> {
    static SHARED: OnceLock<Mutex<HashMap<String, Arc<Bucket>>>> = OnceLock::new();
    SHARED.get_or_init(Mutex::default)
}

impl MemoryStorage {
    /// A new private, empty bucket enforcing S3's 2048-byte metadata limit.
    pub fn new() -> Self {
        MemoryStorage {
            bucket: Arc::new(Bucket::default()),
            max_metadata_bytes: Some(S3_METADATA_LIMIT),
        }
    }

    /// The process-wide bucket named `bucket`, created empty on first use. Every call with the
    /// same name sees the same objects for the life of the process.
    pub fn shared(bucket: &str) -> Self {
        let mut buckets = registry()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets
            .entry(bucket.to_string())
            .or_insert_with(|| {
                Arc::new(Bucket {
                    name: Some(bucket.to_string()),
                    state: RwLock::default(),
                })
            })
            .clone();
        MemoryStorage {
            bucket,
            max_metadata_bytes: Some(S3_METADATA_LIMIT),
        }
    }

    /// Sets the user-metadata limit this handle enforces (`None` disables the check).
    pub fn with_metadata_limit(mut self, max_metadata_bytes: Option<usize>) -> Self {
        self.max_metadata_bytes = max_metadata_bytes;
        self
    }

    /// The bucket name, for buckets made by [`MemoryStorage::shared`].
    pub fn bucket_name(&self) -> Option<&str> {
        self.bucket.name.as_deref()
    }

    /// Object count and total body bytes.
    pub fn stats(&self) -> MemoryStats {
        let state = self.read();
        MemoryStats {
            objects: state.objects.len(),
            bytes: state.body_bytes,
        }
    }

    /// Removes every object.
    pub fn clear(&self) {
        *self.write() = State::default();
    }

    /// A consistent copy of the whole bucket (object handles are shared, bodies not copied).
    pub fn snapshot(&self) -> MemorySnapshot {
        MemorySnapshot {
            state: self.read().clone(),
        }
    }

    /// Replaces the bucket's contents with a snapshot.
    pub fn restore(&self, snapshot: &MemorySnapshot) {
        *self.write() = snapshot.state.clone();
    }

    /// Writes every object as JSON lines (`key`, `metadata`, `body_base64`, `content_type`,
    /// plus `etag`, `size`, `last_modified_ms`) to `path`, atomically (temp file + rename).
    /// Blocking I/O.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io_error = |e: std::io::Error| {
            Error::new(
                ErrorKind::Internal,
                Operation::Save,
                path.display().to_string(),
            )
            .with_source(e)
        };
        let tmp = path.with_extension("jsonl.tmp");
        let snapshot = self.snapshot();
        let mut out = BufWriter::new(File::create(&tmp).map_err(io_error)?);
        for (key, object) in &snapshot.state.objects {
            let line = DumpedObject {
                key: key.to_string(),
                metadata: object.metadata.to_map(),
                body_base64: BASE64.encode(&object.body),
                content_type: object.content_type.as_deref().map(str::to_string),
                etag: object.etag(),
                size: object.body.len() as u64,
                last_modified_ms: object
                    .last_modified
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .and_then(|d| u64::try_from(d.as_millis()).ok()),
            };
            serde_json::to_writer(&mut out, &line).map_err(|e| {
                Error::new(ErrorKind::Internal, Operation::Save, key.as_ref()).with_source(e)
            })?;
            out.write_all(b"\n").map_err(io_error)?;
        }
        out.into_inner()
            .map_err(|e| io_error(e.into_error()))?
            .sync_all()
            .map_err(io_error)?;
        std::fs::rename(&tmp, path).map_err(io_error)
    }

    /// Replaces the bucket's contents with the JSON-lines file at `path` (the format of
    /// [`MemoryStorage::save`] and of the s3db.js fixtures; unknown fields are ignored, ETags
    /// and sizes are recomputed from the bodies). Nothing changes if any line is corrupt.
    /// Blocking I/O.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Internal
            };
            Error::new(kind, Operation::Load, &name).with_source(e)
        })?;
        let mut state = State::default();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let corrupt = |message: String| {
                Error::new(ErrorKind::Corrupt, Operation::Load, &name)
                    .with_message(format!("line {}: {message}", index + 1))
            };
            let line = line.map_err(|e| corrupt(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let saved: DumpedObject =
                serde_json::from_str(&line).map_err(|e| corrupt(e.to_string()))?;
            let body = saved.body().map_err(corrupt)?;
            let last_modified = saved
                .last_modified_ms
                .map_or_else(now_millis, |ms| UNIX_EPOCH + Duration::from_millis(ms));
            let object = StoredObject::new(
                saved.metadata.into(),
                Bytes::from(body),
                saved.content_type,
                last_modified,
            );
            state.insert(saved.key, object);
        }
        *self.write() = state;
        Ok(())
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.bucket
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.bucket
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn object(&self, operation: Operation, key: &str) -> Result<Arc<StoredObject>> {
        self.read()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, operation, key))
    }

    /// Reads one page of a listing: up to `page_size` keys after `cursor` starting with `prefix`.
    fn list_page(
        &self,
        prefix: &str,
        cursor: Bound<&str>,
        page_size: usize,
    ) -> Vec<Result<ObjectMeta>> {
        let state = self.read();
        // Sized for a full page (or every object): collecting grows by doubling.
        let mut page = Vec::with_capacity(page_size.min(state.objects.len()));
        page.extend(
            state
                .objects
                .range::<str, _>((cursor, Bound::Unbounded))
                .take_while(|(key, _)| key.starts_with(prefix))
                .take(page_size)
                .map(|(key, object)| Ok(object.meta(key))),
        );
        page
    }
}

impl State {
    fn get(&self, key: &str) -> Option<&Arc<StoredObject>> {
        self.by_key.get(key)
    }

    fn insert(&mut self, key: String, object: StoredObject) {
        self.body_bytes += object.body.len() as u64;
        let (key, object): (Arc<str>, _) = (key.into(), Arc::new(object));
        self.by_key.insert(Arc::clone(&key), Arc::clone(&object));
        if let Some(old) = self.objects.insert(key, object) {
            self.body_bytes -= old.body.len() as u64;
        }
    }

    fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
        if let Some(old) = self.objects.remove(key) {
            self.body_bytes -= old.body.len() as u64;
        }
    }
}

impl StoredObject {
    /// A new object; metadata keys are lower-cased as S3 does.
    fn new(
        metadata: PackedMetadata,
        body: Bytes,
        content_type: Option<String>,
        last_modified: SystemTime,
    ) -> Self {
        StoredObject {
            metadata: metadata.lowercase_keys(),
            etag: if body.is_empty() {
                EMPTY_BODY_ETAG.into()
            } else {
                etag_of(&body).into_boxed_str()
            },
            body,
            content_type: content_type.map(String::into_boxed_str),
            last_modified,
        }
    }

    fn etag(&self) -> String {
        String::from(&*self.etag)
    }

    /// Whether an `If-Match` value matches this object (`*` matches any object).
    fn matches(&self, etag: &str) -> bool {
        etag.trim() == "*" || etags_match(etag, &self.etag)
    }

    fn meta(&self, key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.to_string(),
            size: self.body.len() as u64,
            etag: self.etag(),
            last_modified: self.last_modified,
        }
    }
}

/// The current time truncated to milliseconds, the precision `save` keeps.
fn now_millis() -> SystemTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
}

fn check_key(operation: Operation, key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::new(ErrorKind::InvalidKey, operation, key)
            .with_message(format!("keys must be 1 to {MAX_KEY_BYTES} bytes")));
    }
    Ok(())
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        check_key(Operation::Put, key)?;
        check_metadata_budget(
            Operation::Put,
            key,
            payload.metadata.byte_len(),
            self.max_metadata_bytes,
        )?;
        let object = StoredObject::new(
            payload.metadata,
            payload.body,
            payload.content_type,
            now_millis(),
        );
        let etag = object.etag();
        let mut state = self.write();
        match (&mode, state.get(key)) {
            (PutMode::Overwrite, _) | (PutMode::Create, None) => {}
            (PutMode::Create, Some(_)) => {
                return Err(Error::new(ErrorKind::AlreadyExists, Operation::Put, key));
            }
            (PutMode::IfMatch(wanted), Some(current)) if current.matches(wanted) => {}
            (PutMode::IfMatch(wanted), current) => {
                let found = current.map_or_else(|| "no object".to_string(), |o| o.etag());
                return Err(
                    Error::new(ErrorKind::PreconditionFailed, Operation::Put, key)
                        .with_message(format!("If-Match {wanted}, found {found}")),
                );
            }
        }
        state.insert(key.to_string(), object);
        Ok(etag)
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        self.get_packed(key).await.map(GetResult::from)
    }

    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        let object = self.object(Operation::Get, key)?;
        Ok(PackedGet {
            meta: object.meta(key),
            metadata: object.metadata.clone(),
            content_type: object.content_type.as_deref().map(str::to_string),
            body: object.body.clone(),
        })
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let object = self.object(Operation::Head, key)?;
        Ok(HeadResult {
            meta: object.meta(key),
            metadata: object.metadata.to_map(),
            content_type: object.content_type.as_deref().map(str::to_string),
        })
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        check_key(Operation::Copy, to)?;
        let replace = options
            .replace
            .map(|(metadata, content_type)| (PackedMetadata::from(metadata), content_type));
        if let Some((metadata, _)) = &replace {
            let used = metadata.byte_len();
            check_metadata_budget(Operation::Copy, to, used, self.max_metadata_bytes)?;
        } else if from == to {
            return Err(Error::new(ErrorKind::InvalidInput, Operation::Copy, to)
                .with_message("copying an object onto itself needs replaced metadata"));
        }
        let mut state = self.write();
        let source = state
            .get(from)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, Operation::Copy, from))?;
        if let Some(wanted) = &options.source_if_match
            && !source.matches(wanted)
        {
            return Err(
                Error::new(ErrorKind::PreconditionFailed, Operation::Copy, from)
                    .with_message(format!("source If-Match {wanted}, found {}", source.etag())),
            );
        }
        let (metadata, content_type) = match replace {
            Some((metadata, content_type)) => (
                metadata.lowercase_keys(),
                content_type.map(String::into_boxed_str),
            ),
            None => (source.metadata.clone(), source.content_type.clone()),
        };
        let copy = StoredObject {
            metadata,
            body: source.body.clone(),
            content_type,
            etag: source.etag.clone(),
            last_modified: now_millis(),
        };
        let etag = copy.etag();
        state.insert(to.to_string(), copy);
        Ok(etag)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.write().remove(key);
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let mut state = self.write();
        for key in keys {
            state.remove(key);
        }
        Ok(())
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let page_size = options.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1);
        let prefix = options.prefix;
        let first = match options.start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix.clone()),
        };
        stream::unfold(Some(first), move |cursor| {
            let prefix = prefix.clone();
            async move {
                let cursor = cursor?;
                let page = self.list_page(&prefix, cursor.as_ref().map(String::as_str), page_size);
                let next = match page.last() {
                    Some(Ok(last)) if page.len() == page_size => {
                        Some(Bound::Excluded(last.key.clone()))
                    }
                    _ => None,
                };
                (!page.is_empty()).then(|| (stream::iter(page), next))
            }
        })
        .flatten()
        .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::conditional(self.max_metadata_bytes, DEFAULT_PAGE_SIZE)
    }
}
