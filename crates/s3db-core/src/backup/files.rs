//! The files of a backup directory: record files written and read with their SHA-256, and
//! the staging that makes a backup appear all at once (temporary names, then renames).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use ring::digest::{Context, SHA256};
use serde_json::Value;

use super::error::BackupError;
use super::manifest::MANIFEST;
use crate::resource::Record;

/// Suffix of the temporary names a backup writes before renaming.
const PARTIAL: &str = ".partial";

/// SHA-256 and size of a record file as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest {
    /// Lowercase hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// Hashes and counts the bytes that pass through it.
struct Hashing<T> {
    inner: T,
    context: Context,
    size: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            context: Context::new(&SHA256),
            size: 0,
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
        self.size += bytes.len() as u64;
    }

    fn finish(self) -> (T, Digest) {
        let sha256 = self
            .context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let digest = Digest {
            sha256,
            size: self.size,
        };
        (self.inner, digest)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.take(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.take(&buf[..n]);
        Ok(n)
    }
}

type Sink = BufWriter<Hashing<File>>;

/// Writes records as JSON lines (gzipped or not) into a new file, hashing what lands on disk.
pub(crate) struct RecordWriter {
    path: PathBuf,
    out: Output,
}

enum Output {
    Plain(Sink),
    Gzip(GzEncoder<Sink>),
}

impl RecordWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path, compress: bool) -> Result<Self, BackupError> {
        let file = File::create(path).map_err(BackupError::io("create", path))?;
        let sink = BufWriter::with_capacity(64 * 1024, Hashing::new(file));
        let out = if compress {
            Output::Gzip(GzEncoder::new(sink, Compression::default()))
        } else {
            Output::Plain(sink)
        };
        Ok(RecordWriter {
            path: path.to_owned(),
            out,
        })
    }

    /// Appends one record and a newline.
    pub fn write(&mut self, record: &Record) -> Result<(), BackupError> {
        let mut line = serde_json::to_vec(record).map_err(|e| BackupError::Io {
            action: "write a record to",
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        let written = match &mut self.out {
            Output::Plain(sink) => sink.write_all(&line),
            Output::Gzip(gzip) => gzip.write_all(&line),
        };
        written.map_err(BackupError::io("write", &self.path))
    }

    /// Completes the file (gzip trailer, flush, fsync); returns its digest.
    pub fn finish(self) -> Result<Digest, BackupError> {
        let failed = BackupError::io("write", &self.path);
        let finished = match self.out {
            Output::Plain(sink) => Ok(sink),
            Output::Gzip(gzip) => gzip.finish(),
        };
        let hashing = finished
            .and_then(|sink| sink.into_inner().map_err(io::IntoInnerError::into_error))
            .map_err(failed)?;
        let (file, digest) = hashing.finish();
        file.sync_all()
            .map_err(BackupError::io("sync", &self.path))?;
        Ok(digest)
    }
}

/// Reads the records of a record file one at a time, hashing the file as it goes.
pub(crate) struct RecordReader {
    path: PathBuf,
    input: Input,
    line: u64,
    buffer: String,
}

enum Input {
    Plain(Box<BufReader<Hashing<File>>>),
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<Hashing<File>>>>>),
}

impl RecordReader {
    /// Opens `path` (of `resource`); a missing file is [`BackupError::MissingFile`].
    pub fn open(path: &Path, compressed: bool, resource: &str) -> Result<Self, BackupError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BackupError::MissingFile {
                    resource: resource.to_owned(),
                    file: path.to_owned(),
                });
            }
            Err(e) => return Err(BackupError::io("open", path)(e)),
        };
        let raw = BufReader::with_capacity(64 * 1024, Hashing::new(file));
        let input = if compressed {
            Input::Gzip(Box::new(BufReader::new(MultiGzDecoder::new(raw))))
        } else {
            Input::Plain(Box::new(raw))
        };
        Ok(RecordReader {
            path: path.to_owned(),
            input,
            line: 0,
            buffer: String::new(),
        })
    }

    /// The next record with its line number; blank lines are skipped. A line that is not a
    /// JSON object is [`BackupError::Corrupt`].
    pub fn next_record(&mut self) -> Result<Option<(u64, Record)>, BackupError> {
        loop {
            self.buffer.clear();
            let read = match &mut self.input {
                Input::Plain(input) => input.read_line(&mut self.buffer),
                Input::Gzip(input) => input.read_line(&mut self.buffer),
            };
            let read = read.map_err(|e| self.corrupt(format!("after line {}: {e}", self.line)))?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = self.buffer.trim();
            if text.is_empty() {
                continue;
            }
            return match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(record)) => Ok(Some((self.line, record))),
                Ok(_) => Err(self.corrupt(format!("line {} is not a JSON object", self.line))),
                Err(e) => Err(self.corrupt(format!("line {}: {e}", self.line))),
            };
        }
    }

    /// Reads whatever is left (bytes after the last record still count) and returns the
    /// file's digest.
    pub fn finish(self) -> Result<Digest, BackupError> {
        let mut raw = match self.input {
            Input::Plain(input) => input.into_inner(),
            Input::Gzip(input) => input.into_inner().into_inner().into_inner(),
        };
        // Bytes buffered above were already hashed when they were read from the file.
        io::copy(&mut raw, &mut io::sink()).map_err(BackupError::io("read", &self.path))?;
        Ok(raw.finish().1)
    }

    fn corrupt(&self, reason: String) -> BackupError {
        BackupError::Corrupt {
            file: self.path.clone(),
            reason,
        }
    }
}

/// A backup being written into `dir`: record files under temporary names until
/// [`Staging::commit`] renames them; dropped before that, it deletes them.
pub(crate) struct Staging {
    dir: PathBuf,
    /// Entries that were in the directory before (only backup files, see [`Staging::open`]).
    existing: Vec<String>,
    /// Final names of the staged files (their temporary names derive from them).
    staged: Vec<String>,
}

impl Staging {
    /// Creates `dir` if needed. A directory that holds anything is refused unless
    /// `overwrite`, and even then only when everything in it belongs to a backup.
    pub fn open(dir: &Path, overwrite: bool) -> Result<Self, BackupError> {
        fs::create_dir_all(dir).map_err(BackupError::io("create", dir))?;
        let mut existing = Vec::new();
        for entry in fs::read_dir(dir).map_err(BackupError::io("read", dir))? {
            let entry = entry.map_err(BackupError::io("read", dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry
                .file_type()
                .map_err(BackupError::io("read", entry.path()))?
                .is_file();
            if overwrite && !(is_file && is_backup_file(&name)) {
                return Err(BackupError::ForeignEntry {
                    dir: dir.to_owned(),
                    entry: name,
                });
            }
            existing.push(name);
        }
        existing.sort();
        if !overwrite && !existing.is_empty() {
            let mut entries: Vec<String> = existing.iter().take(5).cloned().collect();
            if existing.len() > 5 {
                entries.push(format!("and {} more", existing.len() - 5));
            }
            return Err(BackupError::NotEmpty {
                dir: dir.to_owned(),
                entries,
            });
        }
        Ok(Staging {
            dir: dir.to_owned(),
            existing,
            staged: Vec::new(),
        })
    }

    /// The temporary path to write the file finally called `name` to.
    pub fn stage(&mut self, name: &str) -> PathBuf {
        self.staged.push(name.to_owned());
        self.partial(name)
    }

    fn partial(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}{PARTIAL}"))
    }

    /// Makes the backup visible: writes the manifest under a temporary name, deletes the
    /// previous `s3db.json` (from here until the last rename the directory has no manifest,
    /// so an interruption leaves something `restore` refuses rather than a mix), renames
    /// the record files and then the manifest into place, and deletes every other file
    /// that was there before. Returns the names deleted.
    pub fn commit(mut self, manifest: &[u8]) -> Result<Vec<String>, BackupError> {
        let manifest_partial = self.stage(MANIFEST);
        let mut file = File::create(&manifest_partial)
            .map_err(BackupError::io("create", &manifest_partial))?;
        file.write_all(manifest)
            .and_then(|()| file.sync_all())
            .map_err(BackupError::io("write", &manifest_partial))?;
        drop(file);
        let previous = self.dir.join(MANIFEST);
        if self.existing.iter().any(|name| name == MANIFEST) {
            fs::remove_file(&previous).map_err(BackupError::io("delete", &previous))?;
        }
        // The manifest was staged last, so it is renamed last.
        for name in &self.staged {
            let (from, to) = (self.partial(name), self.dir.join(name));
            fs::rename(&from, &to).map_err(BackupError::io("rename", &from))?;
        }
        let kept: BTreeSet<String> = std::mem::take(&mut self.staged).into_iter().collect();
        // Durability of the renames; a platform that cannot sync a directory still has them.
        if let Ok(dir) = File::open(&self.dir) {
            dir.sync_all().ok();
        }
        let mut removed = Vec::new();
        for name in self.existing.iter().filter(|name| !kept.contains(*name)) {
            let path = self.dir.join(name);
            fs::remove_file(&path).map_err(BackupError::io("delete", &path))?;
            removed.push(name.clone());
        }
        Ok(removed)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for name in &self.staged {
            // Best effort: a leftover `.NAME.partial` is refused by the next backup without
            // overwrite and deleted by the next one with it.
            fs::remove_file(self.partial(name)).ok();
        }
    }
}

/// Whether a directory entry is something a backup writes (and `overwrite` may delete).
fn is_backup_file(name: &str) -> bool {
    name == MANIFEST
        || name.ends_with(".jsonl")
        || name.ends_with(".jsonl.gz")
        || (name.starts_with('.') && name.ends_with(PARTIAL))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn what_is_written_reads_back_with_the_same_digest() {
        let dir = tempfile::tempdir().unwrap();
        for compress in [false, true] {
            let path = dir.path().join(format!("r{compress}"));
            let mut writer = RecordWriter::create(&path, compress).unwrap();
            for i in 0..3 {
                writer.write(&record(json!({"id": i}))).unwrap();
            }
            let written = writer.finish().unwrap();
            assert_eq!(written.size, fs::metadata(&path).unwrap().len());
            let mut reader = RecordReader::open(&path, compress, "r").unwrap();
            let mut ids = Vec::new();
            while let Some((line, record)) = reader.next_record().unwrap() {
                ids.push((line, record["id"].clone()));
            }
            assert_eq!(ids, [(1, json!(0)), (2, json!(1)), (3, json!(2))]);
            assert_eq!(reader.finish().unwrap(), written);
        }
    }

    #[test]
    fn a_line_that_is_not_a_record_is_corrupt_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        fs::write(&path, "{\"id\":1}\n\n[1]\n").unwrap();
        let mut reader = RecordReader::open(&path, false, "r").unwrap();
        assert!(reader.next_record().unwrap().is_some());
        let err = reader.next_record().unwrap_err();
        assert!(
            err.to_string().contains("line 3 is not a JSON object"),
            "{err}"
        );
        let missing = RecordReader::open(&dir.path().join("nope"), false, "r");
        assert!(matches!(missing, Err(BackupError::MissingFile { .. })));
    }

    #[test]
    fn overwrite_refuses_what_a_backup_does_not_write() {
        assert!(is_backup_file("s3db.json") && is_backup_file("a.jsonl.gz"));
        assert!(is_backup_file(".a.jsonl.partial") && !is_backup_file("notes.txt"));
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        assert!(matches!(
            Staging::open(dir.path(), true),
            Err(BackupError::ForeignEntry { entry, .. }) if entry == "notes.txt"
        ));
        assert!(matches!(
            Staging::open(dir.path(), false),
            Err(BackupError::NotEmpty { .. })
        ));
    }

    #[test]
    fn staged_files_vanish_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let mut staging = Staging::open(dir.path(), false).unwrap();
        fs::write(staging.stage("a.jsonl"), "x").unwrap();
        drop(staging);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
