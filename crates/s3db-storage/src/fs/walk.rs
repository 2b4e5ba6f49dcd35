//! Listing: a depth-first walk of the key tree in S3 key byte order.
//!
//! Each directory is read once, its entries decoded back to keys and sorted: an object
//! by its key, a directory by its key prefix plus `/`. Since no other entry of the same
//! directory can fall between `dir/` and the keys under it, sorting every level this
//! way yields the keys in byte order overall. Directories that cannot hold a key under
//! the prefix or after `start_after` are never opened.

use std::cmp::Ordering;
use std::io;
use std::path::{Path, PathBuf};

use super::names::{OBJECT_SUFFIX, decode_segment, prefix_dir};
use super::object_file;
use crate::error::{Operation, Result};
use crate::types::ObjectMeta;

#[derive(Debug)]
struct Entry {
    /// Full key (objects) or key prefix ending in `/` (directories).
    sort_key: String,
    path: PathBuf,
    is_dir: bool,
}

#[derive(Debug)]
struct Level {
    entries: std::vec::IntoIter<Entry>,
}

/// A synchronous, resumable walk; the backend drives it in batches off the async runtime.
#[derive(Debug)]
pub struct Walker {
    prefix: String,
    start_after: Option<String>,
    stack: Vec<Level>,
    pending_root: Option<(PathBuf, String)>,
    failed: bool,
}

impl Walker {
    /// A walk of the keys under `root` that start with `prefix` and sort after `start_after`.
    pub fn new(root: &Path, prefix: String, start_after: Option<String>) -> Walker {
        let pending_root = prefix_dir(root, &prefix);
        Walker {
            prefix,
            start_after,
            stack: Vec::new(),
            pending_root,
            failed: false,
        }
    }

    fn wants_object(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && self.start_after.as_deref().is_none_or(|after| key > after)
    }

    fn wants_dir(&self, dir_key: &str) -> bool {
        let overlaps = dir_key.starts_with(&self.prefix) || self.prefix.starts_with(dir_key);
        // Everything under `dir_key` sorts at or before `start_after` when `start_after`
        // is past the directory and not inside it.
        let passed = self.start_after.as_deref().is_some_and(|after| {
            after.cmp(dir_key) == Ordering::Greater && !after.starts_with(dir_key)
        });
        overlaps && !passed
    }

    fn read_level(&self, dir: &Path, key_prefix: &str) -> io::Result<Level> {
        let mut entries = Vec::new();
        let read = match std::fs::read_dir(dir) {
            Ok(read) => read,
            // Removed since it was seen (or never existed): nothing to list.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Level {
                    entries: Vec::new().into_iter(),
                });
            }
            Err(e) => return Err(e),
        };
        for entry in read {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(OBJECT_SUFFIX) {
                if let Some(leaf) = decode_segment(stem) {
                    let key = format!("{key_prefix}{leaf}");
                    if self.wants_object(&key) {
                        entries.push(Entry {
                            sort_key: key,
                            path: entry.path(),
                            is_dir: false,
                        });
                    }
                }
            } else if let Some(segment) = decode_segment(name) {
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                let dir_key = format!("{key_prefix}{segment}/");
                if self.wants_dir(&dir_key) {
                    entries.push(Entry {
                        sort_key: dir_key,
                        path: entry.path(),
                        is_dir: true,
                    });
                }
            }
        }
        entries.sort_unstable_by(|a, b| a.sort_key.cmp(&b.sort_key));
        Ok(Level {
            entries: entries.into_iter(),
        })
    }

    fn step(&mut self) -> Result<Option<ObjectMeta>> {
        let io = |e: io::Error, key: &str| object_file::io_error(e, Operation::List, key);
        if let Some((dir, key_prefix)) = self.pending_root.take() {
            let level = self
                .read_level(&dir, &key_prefix)
                .map_err(|e| io(e, &key_prefix))?;
            self.stack.push(level);
        }
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(entry) = top.entries.next() else {
                self.stack.pop();
                continue;
            };
            if entry.is_dir {
                let level = self
                    .read_level(&entry.path, &entry.sort_key)
                    .map_err(|e| io(e, &entry.sort_key))?;
                self.stack.push(level);
                continue;
            }
            let key = entry.sort_key;
            // Deleted since the directory was read: skip it, as S3 would.
            if let Some((header, _)) = object_file::read(&entry.path, false, Operation::List, &key)?
            {
                return Ok(Some(ObjectMeta {
                    key,
                    size: header.size,
                    etag: header.etag.clone(),
                    last_modified: header.last_modified(),
                }));
            }
        }
    }
}

impl Iterator for Walker {
    type Item = Result<ObjectMeta>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = self.step();
        if step.is_err() {
            self.failed = true;
        }
        step.transpose()
    }
}
