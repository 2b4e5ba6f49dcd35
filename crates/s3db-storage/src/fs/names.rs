//! How keys become paths under the root, and back.
//!
//! A key is split at `/`: every segment but the last names a directory, the last names the
//! object file. Each segment is escaped into a file-name-safe form:
//!
//! * ASCII letters, digits, `-_.=+,@` and all non-ASCII UTF-8 bytes stay as they are;
//! * every other byte (including `%`, `\`, `#`, spaces and control bytes) becomes `%XX`;
//! * a leading `.` becomes `%2E`, so `.`, `..` and hidden names cannot occur;
//! * the empty segment (keys like `/a`, `a//b` or `a/`) becomes a lone `%`.
//!
//! Escaped segments never contain `#`, which gives the store a private name space:
//! directories are plain escaped segments, objects are `<segment>#obj`, and the per-key
//! lock and temporary files are `<segment>#lock` and `<segment>#tmp-<random>`. A key
//! can therefore never collide with another key's directory, a lock or a temporary file,
//! and both `a` (file `a#obj`) and `a/b` (directory `a`, file `b#obj`) can exist.
//! Plain segments map to themselves, so the directory of the prefix `tenants/acme/` is
//! `<root>/tenants/acme`, and opening that directory as a root yields exactly those keys.
//!
//! Limits: keys are at most 1024 bytes (as on S3), contain no NUL, and every escaped
//! segment is at most [`MAX_SEGMENT_BYTES`] bytes so the longest derived name fits the
//! usual 255-byte file-name limit. Other keys are rejected with `InvalidKey`.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Operation, Result};

/// Longest key in bytes, as on S3.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest escaped segment in bytes (255 minus room for the `#tmp-<16 hex>` suffix).
pub const MAX_SEGMENT_BYTES: usize = 200;
/// Suffix of object files.
pub const OBJECT_SUFFIX: &str = "#obj";
/// Suffix of per-key lock files.
pub const LOCK_SUFFIX: &str = "#lock";
/// Infix of temporary files (followed by random hex).
pub const TEMP_INFIX: &str = "#tmp-";

const EMPTY_SEGMENT: &str = "%";

fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.=+,@".contains(c) || !c.is_ascii()
}

/// Escapes one key segment into a file name (see the module docs).
pub fn encode_segment(segment: &str) -> String {
    if segment.is_empty() {
        return EMPTY_SEGMENT.to_owned();
    }
    let mut out = String::with_capacity(segment.len());
    for (i, c) in segment.char_indices() {
        if is_plain(c) && !(i == 0 && c == '.') {
            out.push(c);
        } else {
            // Not plain means ASCII, so the char is exactly one byte.
            out.push_str(&format!("%{:02X}", u32::from(c)));
        }
    }
    out
}

/// Decodes a file name made by [`encode_segment`]; `None` for names the store did not make.
pub fn decode_segment(name: &str) -> Option<String> {
    if name == EMPTY_SEGMENT {
        return Some(String::new());
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    // Only the canonical form is ours: this skips foreign files such as `a b` or `%61`.
    (encode_segment(&decoded) == name).then_some(decoded)
}

/// Where one key lives: its directory and the escaped leaf name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// Directory holding the object, lock and temporary files.
    pub dir: PathBuf,
    /// Escaped last segment.
    pub leaf: String,
}

impl ObjectPath {
    /// Maps `key` under `root`, rejecting keys the store cannot hold.
    pub fn new(root: &Path, operation: Operation, key: &str) -> Result<Self> {
        let invalid =
            |why: String| Error::new(ErrorKind::InvalidKey, operation, key).with_message(why);
        if key.is_empty() {
            return Err(invalid("the key is empty".into()));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(invalid(format!(
                "the key is {} bytes, at most {MAX_KEY_BYTES} are allowed",
                key.len()
            )));
        }
        if key.contains('\0') {
            return Err(invalid("the key contains a NUL byte".into()));
        }
        let mut dir = root.to_path_buf();
        let mut segments = key.split('/').peekable();
        while let Some(segment) = segments.next() {
            let name = encode_segment(segment);
            if name.len() > MAX_SEGMENT_BYTES {
                return Err(invalid(format!(
                    "segment {segment:?} is {} bytes escaped, at most {MAX_SEGMENT_BYTES} are allowed",
                    name.len()
                )));
            }
            if segments.peek().is_none() {
                return Ok(ObjectPath { dir, leaf: name });
            }
            dir.push(name);
        }
        // `split` yields at least one segment, so the loop always returns.
        Err(invalid("the key has no segments".into()))
    }

    /// The object file.
    pub fn object_file(&self) -> PathBuf {
        self.dir.join(format!("{}{OBJECT_SUFFIX}", self.leaf))
    }

    /// The lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(format!("{}{LOCK_SUFFIX}", self.leaf))
    }

    /// A fresh temporary file name in the object's directory.
    pub fn temp_file(&self) -> PathBuf {
        let tag: u64 = rand::random();
        self.dir
            .join(format!("{}{TEMP_INFIX}{tag:016x}", self.leaf))
    }
}

/// The directory of the complete segments of a listing prefix (`a/b/c` → `<root>/a/b`),
/// or `None` when no stored key can have that prefix.
pub fn prefix_dir(root: &Path, prefix: &str) -> Option<(PathBuf, String)> {
    let Some((dirs, _)) = prefix.rsplit_once('/') else {
        return Some((root.to_path_buf(), String::new()));
    };
    let mut dir = root.to_path_buf();
    for segment in dirs.split('/') {
        let name = encode_segment(segment);
        if name.len() > MAX_SEGMENT_BYTES {
            return None;
        }
        dir.push(name);
    }
    Some((dir, format!("{dirs}/")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(key: &str) -> Result<ObjectPath> {
        ObjectPath::new(Path::new("/root"), Operation::Put, key)
    }

    #[test]
    fn plain_segments_map_to_themselves() {
        let p = path("tenants/acme/id=1").unwrap();
        assert_eq!(p.dir, Path::new("/root/tenants/acme"));
        assert_eq!(p.object_file(), Path::new("/root/tenants/acme/id=1#obj"));
        assert_eq!(p.lock_file(), Path::new("/root/tenants/acme/id=1#lock"));
        assert!(p.temp_file().starts_with("/root/tenants/acme"));
    }

    #[test]
    fn dangerous_segments_stay_inside_the_root() {
        for key in [
            "..",
            "../x",
            "a/../../b",
            ".",
            "./a",
            "/etc/passwd",
            "a\\..\\b",
            "..\\x",
        ] {
            let p = path(key).unwrap();
            let file = p.object_file();
            assert!(file.starts_with("/root"), "{key} -> {file:?}");
            for component in file.strip_prefix("/root").unwrap().components() {
                assert!(
                    matches!(component, std::path::Component::Normal(_)),
                    "{key} -> {file:?}"
                );
            }
            assert!(!file.to_string_lossy().contains('\\'));
        }
        assert_eq!(path("/etc/passwd").unwrap().dir, Path::new("/root/%/etc"));
        assert_eq!(path("a/..").unwrap().leaf, "%2E.");
    }

    #[test]
    fn invalid_keys_are_rejected() {
        for key in [
            String::new(),
            "a\0b".into(),
            "x".repeat(1025),
            format!("a/{}", "y".repeat(201)),
        ] {
            let err = path(&key).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidKey, "{key:?}");
        }
        // 255 raw bytes that escape to more than the segment limit
        assert_eq!(
            path(&"%".repeat(70)).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
        assert!(path(&"y".repeat(200)).is_ok());
    }

    #[test]
    fn special_names_decode_or_are_foreign() {
        assert_eq!(encode_segment(""), "%");
        assert_eq!(decode_segment("%").as_deref(), Some(""));
        assert_eq!(encode_segment("a#b c"), "a%23b%20c");
        assert_eq!(decode_segment("a b"), None);
        assert_eq!(decode_segment("%61"), None);
        assert_eq!(decode_segment("%zz"), None);
        assert_eq!(decode_segment("%2"), None);
        assert_eq!(decode_segment("naïve").as_deref(), Some("naïve"));
    }

    #[test]
    fn prefix_dirs() {
        let root = Path::new("/r");
        assert_eq!(
            prefix_dir(root, "abc"),
            Some((root.to_path_buf(), String::new()))
        );
        assert_eq!(
            prefix_dir(root, "a/b/c"),
            Some((PathBuf::from("/r/a/b"), "a/b/".into()))
        );
        assert_eq!(
            prefix_dir(root, "a/"),
            Some((PathBuf::from("/r/a"), "a/".into()))
        );
        assert_eq!(prefix_dir(root, &format!("{}/", "z".repeat(300))), None);
    }

    proptest! {
        #[test]
        fn segments_round_trip(segment in "[^/\u{0}]{0,40}") {
            let name = encode_segment(&segment);
            prop_assert!(!name.contains('#'));
            prop_assert!(!name.contains('/'));
            prop_assert!(!name.starts_with('.'));
            prop_assert_eq!(decode_segment(&name), Some(segment));
        }
    }
}
