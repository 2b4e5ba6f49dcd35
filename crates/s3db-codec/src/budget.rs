//! Metadata size accounting: as S3 counts it, and as s3db.js budgets it.

/// The user-metadata limit of S3 in bytes (keys plus values, UTF-8).
pub const S3_METADATA_LIMIT: usize = 2048;

/// Bytes of user metadata as S3 counts them: UTF-8 bytes of every key plus every value,
/// after client encoding (keys without the `x-amz-meta-` prefix).
///
/// ```
/// let meta = [("_v", "v1"), ("0", "abc")];
/// assert_eq!(s3db_codec::budget::s3_metadata_bytes(meta), 7);
/// ```
pub fn s3_metadata_bytes<K: AsRef<str>, V: AsRef<str>>(
    entries: impl IntoIterator<Item = (K, V)>,
) -> usize {
    entries
        .into_iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
        .sum()
}
