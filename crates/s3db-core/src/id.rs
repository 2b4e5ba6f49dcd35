//! Record ids: generation (s3db.js-compatible nanoids or a custom closure) and validation.
//!
//! s3db.js 21.6.2 generates ids of 22 characters drawn from the 64-symbol URL alphabet
//! [`DEFAULT_ID_ALPHABET`], one masked random byte per character (spec §6). Every id becomes
//! the `id=<id>` segment of an S3 key, so [`validate_id`] rejects ids that could escape or
//! corrupt that segment. s3db.js itself does not validate ids; this check is stricter on purpose.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::incremental::{IncrementalConfig, IncrementalIds};
use crate::random::RandomSource;

/// The nanoid URL alphabet used by s3db.js (64 symbols, so `byte & 63` is uniform).
pub const DEFAULT_ID_ALPHABET: &str =
    "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";

/// The default id length (`idSize` 22).
pub const DEFAULT_ID_SIZE: usize = 22;

/// Longest accepted id in bytes. S3 keys are limited to 1024 bytes; 256 bytes are kept for the
/// database prefix, `resource=<name>/data/` or a partition path, and `id=`.
pub const MAX_ID_BYTES: usize = 768;

/// A custom id function: receives the record being inserted, returns its id.
pub type CustomIdFn = dyn Fn(&Map<String, Value>) -> String + Send + Sync;

/// How a resource produces ids for records inserted without one.
#[derive(Clone)]
pub enum IdGenerator {
    /// Random ids of `size` characters from [`DEFAULT_ID_ALPHABET`] (s3db.js `idSize`).
    Nanoid {
        /// Number of characters.
        size: usize,
    },
    /// A user function of the record (s3db.js `idGenerator: fn`, recorded as `"custom"`).
    Custom(Arc<CustomIdFn>),
    /// Numbers from the resource's stored sequence (s3db.js `idGenerator: "incremental"`,
    /// see [`crate::incremental`]); clones share this process's reserved batch.
    Incremental(Arc<IncrementalIds>),
}

impl Default for IdGenerator {
    fn default() -> Self {
        IdGenerator::Nanoid {
            size: DEFAULT_ID_SIZE,
        }
    }
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdGenerator::Nanoid { size } => f.debug_struct("Nanoid").field("size", size).finish(),
            IdGenerator::Custom(_) => f.write_str("Custom(..)"),
            IdGenerator::Incremental(ids) => {
                f.debug_tuple("Incremental").field(ids.config()).finish()
            }
        }
    }
}

impl IdGenerator {
    /// Wraps a closure as a [`IdGenerator::Custom`] generator.
    pub fn custom(f: impl Fn(&Map<String, Value>) -> String + Send + Sync + 'static) -> Self {
        IdGenerator::Custom(Arc::new(f))
    }

    /// An [`IdGenerator::Incremental`] generator with `config`.
    pub fn incremental(config: IncrementalConfig) -> Self {
        IdGenerator::Incremental(Arc::new(IncrementalIds::new(config)))
    }

    /// Produces an id for `record`, drawing nanoid characters from `random` (the database's
    /// [random source](crate::Database::random)). Like s3db.js's insert, a custom function
    /// that returns an empty or blank string falls back to a default 22-character nanoid.
    /// `None` for [`IdGenerator::Incremental`], whose ids need a storage round trip
    /// ([`IncrementalIds::next_id`]; the resource's insert does that).
    pub fn generate(
        &self,
        record: &Map<String, Value>,
        random: &dyn RandomSource,
    ) -> Option<String> {
        match self {
            IdGenerator::Nanoid { size } => Some(nanoid(*size, random)),
            IdGenerator::Custom(f) => {
                let id = f(record);
                Some(if id.trim().is_empty() {
                    nanoid(DEFAULT_ID_SIZE, random)
                } else {
                    id
                })
            }
            IdGenerator::Incremental(_) => None,
        }
    }

    /// The label stored as `idGenerator` in `s3db.json`: `"default"`, `"custom"` or
    /// `"incremental"` (as s3db.js records them).
    pub fn label(&self) -> &'static str {
        match self {
            IdGenerator::Nanoid { .. } => "default",
            IdGenerator::Custom(_) => "custom",
            IdGenerator::Incremental(_) => "incremental",
        }
    }

    /// The `idSize` stored in `s3db.json` (22 for custom and incremental generators, as
    /// s3db.js records).
    pub fn size(&self) -> usize {
        match self {
            IdGenerator::Nanoid { size } => *size,
            IdGenerator::Custom(_) | IdGenerator::Incremental(_) => DEFAULT_ID_SIZE,
        }
    }
}

/// A random id of `size` characters from [`DEFAULT_ID_ALPHABET`], each from one masked
/// byte of `random`, exactly like s3db.js's nanoid fallback.
///
/// ```
/// use s3db_core::id::nanoid;
/// use s3db_core::random::SeededRandom;
///
/// let id = nanoid(22, &SeededRandom::new(1));
/// assert_eq!(id.len(), 22);
/// assert_eq!(id, nanoid(22, &SeededRandom::new(1)), "same seed, same id");
/// ```
pub fn nanoid(size: usize, random: &dyn RandomSource) -> String {
    let alphabet = DEFAULT_ID_ALPHABET.as_bytes();
    let mut bytes = vec![0u8; size];
    random.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(b & 63)]))
        .collect()
}

/// An id that cannot be used as the `id=` segment of an object key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id {}: {reason}", escape_for_display(.id))]
pub struct InvalidId {
    /// The rejected id, as given.
    pub id: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Checks that `id` can be stored as the `id=` segment of an S3 key.
///
/// Rejected: the empty id, ids longer than [`MAX_ID_BYTES`] bytes, ids containing `/`, `\`,
/// `=`, `%`, the sequence `..`, or any control character.
///
/// ```
/// use s3db_core::id::validate_id;
///
/// assert!(validate_id("8nmK_V45r7PYVV6-MTnu7V").is_ok());
/// let err = validate_id("../etc/passwd").unwrap_err();
/// assert_eq!(err.reason, "contains '/'");
/// assert!(validate_id("").is_err());
/// ```
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    let reject = |reason| {
        Err(InvalidId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return reject("is empty");
    }
    if id.len() > MAX_ID_BYTES {
        return reject("is longer than 768 bytes");
    }
    // Bytes, not chars: this runs for every record read and written. An id of nanoid's
    // alphabet (what s3db and s3db.js generate) has none of the bytes below.
    let bytes = id.as_bytes();
    if bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(());
    }
    // Control characters are C0 and DEL (one byte) and C1 (U+0080–U+009F: 0xC2 then
    // 0x80–0x9F in UTF-8).
    for (i, &b) in bytes.iter().enumerate() {
        let reason = match b {
            b'/' => "contains '/'",
            b'\\' => "contains '\\'",
            b'=' => "contains '='",
            b'%' => "contains '%'",
            0x00..=0x1f | 0x7f => "contains a control character",
            0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => "contains a control character",
            _ => continue,
        };
        return reject(reason);
    }
    if bytes.windows(2).any(|pair| pair == b"..") {
        return reject("contains '..'");
    }
    Ok(())
}

/// Renders an id for error messages: quoted, with control characters escaped,
/// cut after 64 characters.
fn escape_for_display(id: &str) -> String {
    const SHOWN: usize = 64;
    let mut out: String = id
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    if id.chars().count() > SHOWN {
        out.push('…');
    }
    format!("\"{out}\"")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn byte_checks_agree_with_char_checks() {
        fn by_chars(id: &str) -> Option<&'static str> {
            id.chars()
                .find_map(|c| match c {
                    '/' => Some("contains '/'"),
                    '\\' => Some("contains '\\'"),
                    '=' => Some("contains '='"),
                    '%' => Some("contains '%'"),
                    c if c.is_control() => Some("contains a control character"),
                    _ => None,
                })
                .or_else(|| id.contains("..").then_some("contains '..'"))
        }
        let pieces = [
            "a", "Z9", "-", "_", ".", "..", "/", "\\", "=", "%", "\u{0}", "\u{1f}", "\u{7f}",
            "\u{80}", "\u{9f}", "\u{a0}", "\u{c2}", "é", "日本", "\u{2028}", "🦀",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let id = format!("{a}{b}{c}");
                    let got = validate_id(&id).err().map(|e| e.reason);
                    assert_eq!(got, by_chars(&id), "{id:?}");
                }
            }
        }
    }

    #[test]
    fn max_id_bytes_matches_the_message() {
        let err = validate_id(&"a".repeat(MAX_ID_BYTES + 1)).unwrap_err();
        assert!(err.reason.contains(&MAX_ID_BYTES.to_string()));
    }

    #[test]
    fn display_escapes_control_characters_and_truncates() {
        let err = validate_id("a\nb").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid id \"a\\nb\": contains a control character"
        );
        let long = format!("{}/", "x".repeat(100));
        let shown = validate_id(&long).unwrap_err().to_string();
        assert!(shown.contains('…'));
        assert!(shown.len() < 120);
    }

    #[test]
    fn alphabet_has_64_distinct_symbols() {
        let mut chars: Vec<char> = DEFAULT_ID_ALPHABET.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 64);
    }
}
