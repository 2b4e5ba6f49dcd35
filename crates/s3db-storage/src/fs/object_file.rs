//! The on-disk form of one object: a small header, then the body, in a single file.
//!
//! ```text
//! bytes 0..8     magic "S3DBOBJ1"
//! bytes 8..12    header length H, u32 little-endian
//! bytes 12..12+H header, JSON: {"etag","size","modified":[secs,nanos],"content_type","metadata"}
//! then           the body, exactly `size` bytes
//! ```
//!
//! Body and metadata live in one file so one rename publishes both atomically. A file
//! whose length disagrees with its header is reported as `Corrupt`, never half-read.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::types::Metadata;

const MAGIC: &[u8; 8] = b"S3DBOBJ1";
const PREFIX_LEN: usize = 12;
/// Bytes read up front, enough for the header of almost every object.
const FIRST_READ: usize = 4096;
/// Largest header accepted (metadata is budgeted far below this).
const MAX_HEADER: usize = 1 << 20;

/// Everything about an object except its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Quoted ETag of the body.
    pub etag: String,
    /// Body length.
    pub size: u64,
    /// Last write time as (seconds, nanoseconds) since the Unix epoch.
    pub modified: (u64, u32),
    /// Content-Type, if any.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: Metadata,
}

impl Header {
    /// The last write time.
    pub fn last_modified(&self) -> SystemTime {
        UNIX_EPOCH + Duration::new(self.modified.0, self.modified.1)
    }

    /// `time` in the header's representation.
    pub fn timestamp(time: SystemTime) -> (u64, u32) {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        (since.as_secs(), since.subsec_nanos())
    }
}

/// Writes header and body to `file` (not synced).
pub fn write(file: &mut File, header: &Header, body: &[u8]) -> std::io::Result<()> {
    let json = serde_json::to_vec(header)?;
    let len = u32::try_from(json.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "header too large"))?;
    let mut head = Vec::with_capacity(PREFIX_LEN + json.len());
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&len.to_le_bytes());
    head.extend_from_slice(&json);
    file.write_all(&head)?;
    file.write_all(body)
}

/// Reads the header (and, with `with_body`, the body) of the object file at `path`.
///
/// A missing file is `Ok(None)`; a malformed or torn one is a `Corrupt` error.
pub fn read(
    path: &Path,
    with_body: bool,
    operation: Operation,
    key: &str,
) -> Result<Option<(Header, Bytes)>> {
    let corrupt = |why: &str| corrupt(operation, key, why);
    let io = |e: std::io::Error| io_error(e, operation, key);
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let file_len = file.metadata().map_err(io)?.len();
    let first = if with_body {
        usize::try_from(file_len).map_err(|_| corrupt("object file too large"))?
    } else {
        FIRST_READ.min(usize::try_from(file_len).unwrap_or(FIRST_READ))
    };
    let mut buf = vec![0; first];
    file.read_exact(&mut buf).map_err(io)?;
    let header_end = header_end(&buf, file_len, operation, key)?;
    if buf.len() < header_end {
        let have = buf.len();
        buf.resize(header_end, 0);
        file.read_exact(&mut buf[have..]).map_err(io)?;
    }
    let header = parse_header(&buf[PREFIX_LEN..header_end], file_len, operation, key)?;
    let body = if with_body {
        Bytes::from(buf).slice(header_end..)
    } else {
        Bytes::new()
    };
    Ok(Some((header, body)))
}

/// Decodes a whole object file held in memory into its header and body, with the checks
/// reading a file makes: anything malformed or torn is a `Corrupt` error naming `key` (as a
/// `get`), never a panic. Object files are outside data (any process can write the
/// directory), so this is what the fuzz target `object_header` exercises.
pub fn decode(bytes: &[u8], key: &str) -> Result<(Header, Bytes)> {
    let file_len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let header_end = header_end(bytes, file_len, Operation::Get, key)?;
    let header = parse_header(
        &bytes[PREFIX_LEN..header_end],
        file_len,
        Operation::Get,
        key,
    )?;
    Ok((header, Bytes::copy_from_slice(&bytes[header_end..])))
}

/// A `Corrupt` error saying `why`.
fn corrupt(operation: Operation, key: &str, why: &str) -> Error {
    Error::new(ErrorKind::Corrupt, operation, key).with_message(why.to_owned())
}

/// Where the header of a file of `file_len` bytes ends, from its first bytes `start` (at
/// least the magic and the length): checks the magic and that the header fits in the file.
fn header_end(start: &[u8], file_len: u64, operation: Operation, key: &str) -> Result<usize> {
    let corrupt = |why: &str| corrupt(operation, key, why);
    if start.len() < PREFIX_LEN || &start[..8] != MAGIC {
        return Err(corrupt("not an s3db object file (bad magic)"));
    }
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(&start[8..PREFIX_LEN]);
    let header_len = usize::try_from(u32::from_le_bytes(len_bytes))
        .map_err(|_| corrupt("header length overflows"))?;
    if header_len > MAX_HEADER {
        return Err(corrupt("header length is implausible"));
    }
    let header_end = PREFIX_LEN + header_len;
    if u64::try_from(header_end).unwrap_or(u64::MAX) > file_len {
        return Err(corrupt("file ends inside the header"));
    }
    Ok(header_end)
}

/// The header in `json`, checked against the length of the whole file.
fn parse_header(json: &[u8], file_len: u64, operation: Operation, key: &str) -> Result<Header> {
    let header: Header = serde_json::from_slice(json)
        .map_err(|e| corrupt(operation, key, "unparsable header").with_source(e))?;
    let header_end = u64::try_from(PREFIX_LEN + json.len()).unwrap_or(u64::MAX);
    if header_end.checked_add(header.size) != Some(file_len) {
        return Err(corrupt(
            operation,
            key,
            "file length disagrees with the header (torn write?)",
        ));
    }
    Ok(header)
}

/// Maps an I/O error to a storage error.
pub fn io_error(error: std::io::Error, operation: Operation, key: &str) -> Error {
    let kind = match error.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, operation, key).with_source(error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(size: u64) -> Header {
        let mut metadata = Metadata::new();
        metadata.insert("a".into(), "1".into());
        Header {
            etag: "\"x\"".into(),
            size,
            modified: (1, 2),
            content_type: Some("text/plain".into()),
            metadata,
        }
    }

    #[test]
    fn round_trip_with_and_without_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        let body = vec![7u8; 10_000];
        write(&mut File::create(&path).unwrap(), &header(10_000), &body).unwrap();
        let (h, b) = read(&path, true, Operation::Get, "k").unwrap().unwrap();
        assert_eq!(h, header(10_000));
        assert_eq!(&b[..], &body[..]);
        let (h, b) = read(&path, false, Operation::Head, "k").unwrap().unwrap();
        assert_eq!(h.last_modified(), UNIX_EPOCH + Duration::new(1, 2));
        assert!(b.is_empty());
        assert!(
            read(&dir.path().join("missing"), true, Operation::Get, "k")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn large_headers_are_read_in_two_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        let mut h = header(1);
        h.metadata.insert("big".into(), "v".repeat(FIRST_READ * 2));
        write(&mut File::create(&path).unwrap(), &h, b"z").unwrap();
        assert_eq!(
            read(&path, false, Operation::Head, "k").unwrap().unwrap().0,
            h
        );
    }

    #[test]
    fn torn_and_foreign_files_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        let mut bytes = Vec::new();
        {
            let mut f = File::create(&path).unwrap();
            write(&mut f, &header(100), &[1u8; 100]).unwrap();
        }
        std::fs::File::open(&path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(
            decode(&bytes, "k").unwrap(),
            (header(100), vec![1u8; 100].into())
        );
        for cut in [0, 5, 12, 20, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            for with_body in [true, false] {
                let err = read(&path, with_body, Operation::Get, "k").unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Corrupt, "cut {cut}");
            }
            let err = decode(&bytes[..cut], "k").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupt, "cut {cut}");
        }
        std::fs::write(&path, b"plain text that is not ours").unwrap();
        assert_eq!(
            read(&path, true, Operation::Get, "k").unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }
}
