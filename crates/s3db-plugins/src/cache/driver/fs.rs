//! Entries as JSON files in a local directory (`<dir>/resource=<name>/gen=<n>/<op>-<md5>.json`).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::CacheDriver;
use crate::cache::entry::Entry;
use crate::{Error, Result};

/// Entries in files under one directory; several processes may share it.
#[derive(Debug)]
pub struct FsDriver {
    root: PathBuf,
    /// Suffix of temporary files, unique within the process.
    temp_counter: AtomicU64,
}

impl FsDriver {
    /// Entries under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> FsDriver {
        FsDriver {
            root: root.into(),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(format!("{key}.json"))
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

#[async_trait]
impl CacheDriver for FsDriver {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Entry::from_bytes(key, &bytes).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<()> {
        let Some(bytes) = entry.to_bytes() else {
            return Ok(());
        };
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io(dir, e))?;
        }
        // Write then rename, so a reader never sees half an entry.
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        tokio::fs::write(&temp, bytes)
            .await
            .map_err(|e| io(&temp, e))?;
        match tokio::fs::rename(&temp, &path).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The directory was removed by an invalidation meanwhile: nothing to keep.
                let _ = tokio::fs::remove_file(&temp).await;
                match e.kind() {
                    ErrorKind::NotFound => Ok(()),
                    _ => Err(io(&path, e)),
                }
            }
        }
    }

    async fn remove(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io(&path, e)),
            _ => Ok(()),
        }
    }

    async fn remove_prefix(&self, prefix: &str) -> Result<()> {
        remove_dir(&self.root.join(prefix.trim_end_matches('/'))).await
    }

    async fn clear(&self) -> Result<()> {
        remove_dir(&self.root).await
    }
}

async fn remove_dir(dir: &Path) -> Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io(dir, e)),
        _ => Ok(()),
    }
}
