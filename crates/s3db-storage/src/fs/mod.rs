//! The filesystem backend: one file per object under a root directory.
//!
//! The embedded default store. Layout, limits and guarantees:
//!
//! * **Layout** ([`names`]): a `/` in a key is a directory; segments are escaped so that
//!   object files (`<leaf>#obj`), directories, lock files and temporary files live in
//!   disjoint name spaces. Plain segments map to themselves, so opening
//!   `<root>/tenants/acme` gives exactly the keys under `tenants/acme/` of `<root>`.
//! * **Object files** (`object_file`): a small header (ETag, size, time, content type,
//!   metadata) followed by the body, so body and metadata change together.
//! * **Crash safety**: a write goes to a temporary file in the object's directory, is
//!   fsynced, renamed over the object file and the directory is fsynced. A killed writer
//!   leaves the old or the new object, never a torn one (at most a stray `#tmp-` file,
//!   which listings ignore).
//! * **Concurrency** (`lock`): every put and delete of a key holds an exclusive `flock`
//!   on the key's lock file, so conditional writes are atomic across threads and
//!   processes. Reads take no lock (renames are atomic).
//! * **S3 likeness**: quoted MD5 ETags, metadata keys lower-cased, the 2 KB metadata
//!   budget (configurable), `AlreadyExists`/`PreconditionFailed` on failed conditions,
//!   listings in key byte order.
//! * **Keys** longer than 1024 bytes, with NUL, or with a segment over 200 bytes once
//!   escaped are `InvalidKey`. On a case-insensitive filesystem keys that differ only in
//!   case collide. Unix only (the lock check compares inodes).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use s3db_storage::{FsStorage, PutMode, PutPayload, Storage};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FsStorage::open(dir.path()).unwrap();
//! let payload = PutPayload { body: "hi".into(), ..Default::default() };
//! let etag = store.put("users/1", payload, PutMode::Create).await.unwrap();
//! assert_eq!(store.get("users/1").await.unwrap().meta.etag, etag);
//! assert!(dir.path().join("users").is_dir());
//! # });
//! ```

mod lock;
pub mod names;
mod object_file;
mod walk;

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use s3db_codec::budget::S3_METADATA_LIMIT;

use self::lock::KeyLock;
use self::names::ObjectPath;
pub use self::object_file::{Header as ObjectHeader, decode as decode_object_file};
use self::object_file::{Header, io_error};
use self::walk::Walker;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::etag::{etag_of, etags_match};
use crate::metadata_budget::check_metadata_budget;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// Objects listed per trip to the blocking thread pool.
const LIST_BATCH: usize = 256;
/// Keys per `delete_many` batch reported in the capabilities (as on S3).
const DELETE_BATCH: usize = 1000;

/// A temporary file, removed on drop unless persisted.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Atomically renames the file to `target`.
    fn persist(mut self, target: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Options of a [`FsStorage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsOptions {
    /// User-metadata budget in bytes (`None` disables the check). Default: S3's 2048.
    pub max_metadata_bytes: Option<usize>,
    /// Fsync files and directories on every write. Default: `true`. Turning it off keeps
    /// writes atomic for readers but may lose recent writes on power failure.
    pub durable: bool,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            max_metadata_bytes: Some(S3_METADATA_LIMIT),
            durable: true,
        }
    }
}

/// A store of objects under a root directory (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct FsStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    options: FsOptions,
}

impl FsStorage {
    /// Opens (creating if needed) the store rooted at `root` with default options.
    pub fn open(root: impl AsRef<Path>) -> Result<FsStorage> {
        FsStorage::with_options(root, FsOptions::default())
    }

    /// Opens (creating if needed) the store rooted at `root`.
    pub fn with_options(root: impl AsRef<Path>, options: FsOptions) -> Result<FsStorage> {
        let root = root.as_ref();
        let fail = |e: io::Error| {
            Error::new(ErrorKind::Internal, Operation::Connect, "")
                .with_message(format!("cannot open directory {}", root.display()))
                .with_source(e)
        };
        std::fs::create_dir_all(root).map_err(fail)?;
        let root = root.canonicalize().map_err(fail)?;
        Ok(FsStorage {
            inner: Arc::new(Inner { root, options }),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Runs blocking file work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        operation: Operation,
        key: &str,
        work: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Internal, operation, key)
                    .with_message("blocking file task failed")
                    .with_source(e)
            })?
    }
}

impl Inner {
    fn path(&self, operation: Operation, key: &str) -> Result<ObjectPath> {
        ObjectPath::new(&self.root, operation, key)
    }

    fn read(
        &self,
        operation: Operation,
        key: &str,
        with_body: bool,
    ) -> Result<(Header, bytes::Bytes)> {
        let path = self.path(operation, key)?;
        object_file::read(&path.object_file(), with_body, operation, key)?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, operation, key))
    }

    /// Creates the missing directories down to `dir`, fsyncing each new entry's parent.
    fn create_dirs(&self, dir: &Path) -> io::Result<()> {
        // A concurrent delete may prune a parent just created: start over then.
        for _ in 0..100 {
            match self.try_create_dirs(dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                done => return done,
            }
        }
        Err(io::Error::other(
            "directories kept disappearing while creating them",
        ))
    }

    fn try_create_dirs(&self, dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut at = dir;
        while !at.is_dir() && at.starts_with(&self.root) {
            missing.push(at);
            match at.parent() {
                Some(parent) => at = parent,
                None => break,
            }
        }
        for new in missing.into_iter().rev() {
            match std::fs::create_dir(new) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
            if let Some(parent) = new.parent() {
                self.sync_dir(parent)?;
            }
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.options.durable {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Locks `path`'s key, creating its directory first when `create` is set.
    /// `Ok(None)` when the directory is missing and `create` is not set.
    fn lock(&self, path: &ObjectPath, create: bool) -> io::Result<Option<KeyLock>> {
        // A concurrent delete may prune the directory between creating it and locking.
        for _ in 0..100 {
            if create {
                self.create_dirs(&path.dir)?;
            }
            match KeyLock::acquire(&path.lock_file()) {
                Ok(lock) => return Ok(Some(lock)),
                Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "directory kept disappearing while locking",
        ))
    }

    fn put(&self, key: &str, payload: PutPayload, mode: &PutMode) -> Result<String> {
        let op = Operation::Put;
        let metadata = payload.metadata.lowercase_keys();
        check_metadata_budget(
            op,
            key,
            metadata.byte_len(),
            self.options.max_metadata_bytes,
        )?;
        let path = self.path(op, key)?;
        let io = |e: io::Error| io_error(e, op, key);
        let object = path.object_file();
        let conditional = *mode != PutMode::Overwrite;
        if conditional {
            // Fail doomed conditional writes early, before writing anything...
            check_condition(mode, object_file::read(&object, false, op, key)?, key)?;
        }
        let header = Header {
            etag: etag_of(&payload.body),
            size: payload.body.len() as u64,
            modified: Header::timestamp(SystemTime::now()),
            content_type: payload.content_type,
            metadata: metadata.to_map(),
        };
        // ...and do the slow part (writing and syncing the body) before taking the lock;
        // under the lock only the authoritative check and the rename remain.
        let temp = self.write_temp(&path, &header, &payload.body).map_err(io)?;
        let _lock = self.lock(&path, true).map_err(io)?;
        if conditional {
            check_condition(mode, object_file::read(&object, false, op, key)?, key)?;
        }
        temp.persist(&object).map_err(io)?;
        self.sync_dir(&path.dir).map_err(io)?;
        Ok(header.etag)
    }

    /// Writes and syncs a temporary file beside the object, creating directories as needed.
    fn write_temp(&self, path: &ObjectPath, header: &Header, body: &[u8]) -> io::Result<TempFile> {
        // A concurrent delete may prune the directory between creating it and the file.
        for _ in 0..100 {
            self.create_dirs(&path.dir)?;
            let temp = TempFile {
                path: path.temp_file(),
                persisted: false,
            };
            let mut file = match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp.path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            object_file::write(&mut file, header, body)?;
            if self.options.durable {
                file.sync_all()?;
            }
            return Ok(temp);
        }
        Err(io::Error::other(
            "directory kept disappearing while writing",
        ))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let op = Operation::Delete;
        let path = self.path(op, key)?;
        let io = |e: io::Error| io_error(e, op, key);
        let Some(lock) = self.lock(&path, false).map_err(io)? else {
            return Ok(());
        };
        match std::fs::remove_file(path.object_file()) {
            Ok(()) => self.sync_dir(&path.dir).map_err(io)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        drop(lock);
        self.prune_dirs(&path.dir);
        Ok(())
    }

    /// Removes now-empty directories from `dir` up to (not including) the root.
    fn prune_dirs(&self, dir: &Path) {
        let mut at = dir;
        while at != self.root && at.starts_with(&self.root) {
            // Fails (harmlessly) as soon as a directory is not empty.
            if std::fs::remove_dir(at).is_err() {
                return;
            }
            match at.parent() {
                Some(parent) => at = parent,
                None => return,
            }
        }
    }
}

/// Whether a put in `mode` may replace `current` (the object's header, if any).
fn check_condition(
    mode: &PutMode,
    current: Option<(Header, bytes::Bytes)>,
    key: &str,
) -> Result<()> {
    let op = Operation::Put;
    match (mode, current) {
        (PutMode::Create, Some(_)) => Err(Error::new(ErrorKind::AlreadyExists, op, key)),
        (PutMode::IfMatch(expected), None) => {
            Err(Error::new(ErrorKind::PreconditionFailed, op, key)
                .with_message(format!("If-Match {expected}, found no object")))
        }
        (PutMode::IfMatch(expected), Some((current, _)))
            if !etags_match(expected, &current.etag) =>
        {
            Err(Error::new(ErrorKind::PreconditionFailed, op, key)
                .with_message(format!("If-Match {expected}, found {}", current.etag)))
        }
        _ => Ok(()),
    }
}

fn head_result(key: &str, header: Header) -> HeadResult {
    HeadResult {
        meta: ObjectMeta {
            key: key.to_owned(),
            size: header.size,
            etag: header.etag.clone(),
            last_modified: header.last_modified(),
        },
        metadata: header.metadata,
        content_type: header.content_type,
    }
}

#[async_trait]
impl Storage for FsStorage {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        let owned = key.to_owned();
        self.blocking(Operation::Put, key, move |inner| {
            inner.put(&owned, payload, &mode)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        let owned = key.to_owned();
        self.blocking(Operation::Get, key, move |inner| {
            let (header, body) = inner.read(Operation::Get, &owned, true)?;
            let head = head_result(&owned, header);
            Ok(GetResult {
                meta: head.meta,
                metadata: head.metadata,
                content_type: head.content_type,
                body,
            })
        })
        .await
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let owned = key.to_owned();
        self.blocking(Operation::Head, key, move |inner| {
            let (header, _) = inner.read(Operation::Head, &owned, false)?;
            Ok(head_result(&owned, header))
        })
        .await
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        let (from, to_owned) = (from.to_owned(), to.to_owned());
        self.blocking(Operation::Copy, to, move |inner| {
            let op = Operation::Copy;
            let (header, body) = inner.read(op, &from, true)?;
            if let Some(expected) = &options.source_if_match
                && !etags_match(expected, &header.etag)
            {
                return Err(Error::new(ErrorKind::PreconditionFailed, op, &from)
                    .with_message(format!("source ETag is {}, not {expected}", header.etag)));
            }
            let (metadata, content_type) = match options.replace {
                Some(replacement) => replacement,
                None => (header.metadata, header.content_type),
            };
            let payload = PutPayload {
                metadata: metadata.into(),
                body,
                content_type,
            };
            inner
                .put(&to_owned, payload, &PutMode::Overwrite)
                .map_err(|e| Error::new(e.kind(), op, &to_owned).with_source(e))
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let owned = key.to_owned();
        self.blocking(Operation::Delete, key, move |inner| inner.delete(&owned))
            .await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let keys = keys.to_vec();
        self.blocking(Operation::DeleteMany, "", move |inner| {
            keys.iter().try_for_each(|key| inner.delete(key))
        })
        .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let walker = Walker::new(&self.inner.root, options.prefix, options.start_after);
        stream::unfold(Some(walker), |walker| async move {
            let mut walker = walker?;
            let batch = tokio::task::spawn_blocking(move || {
                let batch: Vec<_> = walker.by_ref().take(LIST_BATCH).collect();
                (walker, batch)
            })
            .await;
            match batch {
                Ok((_, batch)) if batch.is_empty() => None,
                Ok((walker, batch)) => Some((batch, Some(walker))),
                Err(e) => Some((
                    vec![Err(Error::new(ErrorKind::Internal, Operation::List, "")
                        .with_message("blocking list task failed")
                        .with_source(e))],
                    None,
                )),
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::conditional(self.inner.options.max_metadata_bytes, DELETE_BATCH)
    }
}
