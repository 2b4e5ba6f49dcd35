//! Metadata size accounting: as S3 counts it, and as s3db.js budgets it.
//!
//! The two counts differ, and both matter:
//!
//! * **S3's count** ([`s3_metadata_bytes`], limit [`S3_METADATA_LIMIT`] = 2048): UTF-8 bytes of
//!   every stored key and value *after* client encoding (`u:`/`b:` expansion included). A PUT
//!   over it is refused by the store.
//! * **s3db.js's budget** ([`calculate_total_size`], limit [`S3DBJS_METADATA_LIMIT`] = 2047 minus
//!   the [`effective_limit`] overhead): UTF-8 bytes of the mapped keys and of the values *before*
//!   client encoding. Behaviors decide metadata vs body with it, so a compatible writer must
//!   split records the same way, but non-ASCII data that fits this budget can still exceed
//!   S3's real limit once `u:`/`b:`-encoded.
//!
//! ```
//! use s3db_codec::budget::{calculate_total_size, s3_metadata_bytes};
//! use s3db_codec::meta::{encode_meta, MetaValue};
//!
//! let mapped = [("_v", "v1"), ("0", "ü")];
//! assert_eq!(calculate_total_size(mapped), 2 + 2 + 1 + 2);
//! let stored: Vec<_> = mapped.iter().map(|&(k, v)| (k, encode_meta(v.into()))).collect();
//! assert_eq!(stored[1].1, "b:w7w=");
//! assert_eq!(s3_metadata_bytes(stored), 2 + 2 + 1 + 6);
//! ```

use crate::meta::MetaValue;

/// The user-metadata limit of S3 in bytes (keys plus values, UTF-8).
pub const S3_METADATA_LIMIT: usize = 2048;

/// s3db.js's metadata limit (`S3_METADATA_LIMIT_BYTES`), the default of a resource's
/// `metadataLimit`; one byte below S3's.
pub const S3DBJS_METADATA_LIMIT: usize = 2047;

/// The placeholder s3db.js budgets for each of `createdAt` and `updatedAt` when timestamps are
/// on (24 characters).
const TIMESTAMP_PLACEHOLDER: &str = "2024-01-01T00:00:00.000Z";

/// Bytes of user metadata as S3 counts them: UTF-8 bytes of every key plus every value,
/// after client encoding (keys without the `x-amz-meta-` prefix).
///
/// ```
/// let meta = [("_v", "v1"), ("0", "abc")];
/// assert_eq!(s3db_codec::budget::s3_metadata_bytes(meta), 8);
/// ```
pub fn s3_metadata_bytes<K: AsRef<str>, V: AsRef<str>>(
    entries: impl IntoIterator<Item = (K, V)>,
) -> usize {
    entries
        .into_iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
        .sum()
}

/// The size s3db.js counts for one mapped value (`calculateAttributeSizes`): UTF-8 bytes of
/// the value *before* client encoding; `null` and `undefined` count 0 (although the client then
/// stores 4 or 9 bytes).
///
/// ```
/// use s3db_codec::budget::value_size;
/// use s3db_codec::meta::MetaValue;
/// assert_eq!(value_size(MetaValue::Str("ü")), 2);
/// assert_eq!(value_size(MetaValue::Null), 0);
/// ```
pub fn value_size(value: MetaValue<'_>) -> usize {
    match value {
        MetaValue::Str(text) => text.len(),
        MetaValue::Null | MetaValue::Undefined => 0,
    }
}

/// s3db.js's `calculateTotalSize` of a mapped record: UTF-8 bytes of every key (as mapped,
/// before sanitizing) plus [`value_size`] of every value.
///
/// ```
/// use s3db_codec::budget::calculate_total_size;
/// use s3db_codec::meta::MetaValue;
/// assert_eq!(calculate_total_size([("_v", "v1"), ("0", "abc")]), 8);
/// assert_eq!(calculate_total_size([("$overflow", MetaValue::Str("true")), ("1", MetaValue::Null)]), 14);
/// ```
pub fn calculate_total_size<'a, K, V>(entries: impl IntoIterator<Item = (K, V)>) -> usize
where
    K: AsRef<str>,
    V: Into<MetaValue<'a>>,
{
    entries
        .into_iter()
        .map(|(k, v)| k.as_ref().len() + value_size(v.into()))
        .sum()
}

/// The system fields s3db.js reserves room for in every record's budget
/// (`calculateSystemOverhead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemFields<'a> {
    /// The resource version string stored in `_v`, e.g. `v1`.
    pub version: &'a str,
    /// The record id (reserved although it is never stored in metadata); empty reserves nothing.
    pub id: &'a str,
    /// Whether the resource has `timestamps`: reserves `createdAt` and `updatedAt`.
    pub timestamps: bool,
}

impl SystemFields<'_> {
    /// Bytes reserved: `_v` + version, `id` + id when the id is not empty, and
    /// `createdAt`/`updatedAt` with a 24-character placeholder each when timestamps are on.
    ///
    /// ```
    /// use s3db_codec::budget::SystemFields;
    /// let fields = SystemFields { version: "v1", id: "x1", timestamps: false };
    /// assert_eq!(fields.overhead(), 8);
    /// let fields = SystemFields { version: "v1", id: "x1", timestamps: true };
    /// assert_eq!(fields.overhead(), 8 + 2 * (9 + 24));
    /// ```
    pub fn overhead(&self) -> usize {
        let mut entries = vec![("_v", self.version)];
        if self.timestamps {
            entries.push(("createdAt", TIMESTAMP_PLACEHOLDER));
            entries.push(("updatedAt", TIMESTAMP_PLACEHOLDER));
        }
        if !self.id.is_empty() {
            entries.push(("id", self.id));
        }
        calculate_total_size(entries)
    }
}

/// s3db.js's `calculateEffectiveLimit`: the budget left for a record's mapped entries once the
/// system fields are reserved (0 if they alone exceed `limit`). Behaviors call it with the
/// resource's `metadataLimit`, [`S3DBJS_METADATA_LIMIT`] by default.
///
/// ```
/// use s3db_codec::budget::{effective_limit, SystemFields, S3DBJS_METADATA_LIMIT};
/// let fields = SystemFields { version: "v1", id: "x1", timestamps: false };
/// assert_eq!(effective_limit(S3DBJS_METADATA_LIMIT, &fields), 2039);
/// ```
pub fn effective_limit(limit: usize, fields: &SystemFields<'_>) -> usize {
    limit.saturating_sub(fields.overhead())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_count_before_client_encoding() {
        let entries = [
            ("0", MetaValue::Str("日本")),
            ("1", MetaValue::Undefined),
            ("2", MetaValue::Str("")),
        ];
        assert_eq!(calculate_total_size(entries), 3 + 6);
    }

    #[test]
    fn owned_strings_can_be_counted() {
        let entries = [("name".to_owned(), "ab".to_owned())];
        assert_eq!(calculate_total_size(entries.iter().map(|(k, v)| (k, v))), 6);
    }

    #[test]
    fn effective_limit_never_underflows() {
        let id = "x".repeat(3000);
        let fields = SystemFields {
            version: "v1",
            id: &id,
            timestamps: true,
        };
        assert_eq!(effective_limit(S3DBJS_METADATA_LIMIT, &fields), 0);
    }
}
