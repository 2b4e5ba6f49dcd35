//! Per-key write locks that hold across threads and processes.
//!
//! Every write or delete of a key takes an exclusive `flock` (via the `fs4` crate) on the
//! key's `<leaf>#lock` file in the object's directory. `flock` locks belong to the open
//! file description, so they exclude other threads of this process as well as other
//! processes, and the kernel drops them when a holder dies: a killed writer never
//! leaves a stale lock behind.
//!
//! The lock file is removed on release so directories can become empty and be pruned.
//! A waiter may therefore lock a file that was just unlinked; after locking it checks
//! that the path still names the inode it holds and otherwise starts over.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// An exclusive lock on one key, released (and its file removed) on drop.
#[derive(Debug)]
pub struct KeyLock {
    path: PathBuf,
    file: Option<File>,
}

impl KeyLock {
    /// Blocks until the lock at `path` is held. Fails with `NotFound` when the directory
    /// does not exist (the caller decides whether to create it and retry).
    pub fn acquire(path: &Path) -> io::Result<KeyLock> {
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            fs4::FileExt::lock(&file)?;
            let held = file.metadata()?;
            match std::fs::metadata(path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(KeyLock {
                        path: path.to_path_buf(),
                        file: Some(file),
                    });
                }
                // Unlinked or replaced by the previous holder: lock the current file instead.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        // Unlink while still holding the lock, then close (which unlocks). A failed
        // unlink only leaves an empty lock file behind, which later lockers reuse.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn excludes_threads_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("k#lock"));
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, inside) = (path.clone(), inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _lock = KeyLock::acquire(&path).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(!path.exists());
    }

    #[test]
    fn missing_directory_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeyLock::acquire(&dir.path().join("no/such/k#lock")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
