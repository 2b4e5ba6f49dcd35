//! [`PackedMetadata`]: user metadata in one shared allocation, and [`PackedGet`], the result of
//! [`Storage::get_packed`](crate::Storage::get_packed), which hands it out.
//!
//! A [`Metadata`] map costs a tree node plus two strings per entry to build, copy and drop.
//! Writes carry their metadata packed ([`PutPayload::metadata`](crate::PutPayload::metadata)),
//! and readers that only look at the entries (the record decoder) take them packed too: the
//! memory store keeps every object's metadata in this form and shares it with each read.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::types::{GetResult, Metadata, ObjectMeta};

/// User metadata, read-only and cheap to clone: all keys and values concatenated in key
/// order, and where each one ends, behind one `Arc`.
///
/// ```
/// use s3db_storage::{Metadata, PackedMetadata};
///
/// let map = Metadata::from([("_v".to_owned(), "v1".to_owned()), ("0".to_owned(), "Ana".to_owned())]);
/// let packed = PackedMetadata::from(map.clone());
/// assert_eq!(packed.get("_v"), Some("v1"));
/// assert_eq!(packed.get("1"), None);
/// assert_eq!(packed.iter().collect::<Vec<_>>(), [("0", "Ana"), ("_v", "v1")]);
/// assert_eq!(packed.to_map(), map);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PackedMetadata(Arc<Packed>);

#[derive(Default, PartialEq, Eq)]
struct Packed {
    text: Box<str>,
    /// End of each key, then of its value, in `text`.
    ends: Box<[usize]>,
}

impl PackedMetadata {
    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        let text = &self.0.text;
        self.spans().map(move |(key, value)| {
            (
                text.get(key).unwrap_or_default(),
                text.get(value).unwrap_or_default(),
            )
        })
    }

    /// The value stored under `key`. Keys are compared as bytes: only the value found is
    /// sliced as text.
    pub fn get(&self, key: &str) -> Option<&str> {
        let text = &self.0.text;
        self.spans()
            .find(|(stored, _)| text.as_bytes().get(stored.clone()) == Some(key.as_bytes()))
            .and_then(|(_, value)| text.get(value))
    }

    /// Where each entry's key and value are in the packed text.
    fn spans(&self) -> impl ExactSizeIterator<Item = (Range<usize>, Range<usize>)> + '_ {
        // Each key starts where the previous value ended.
        let mut key_start = 0;
        self.0.ends.chunks_exact(2).map(move |bounds| {
            let (key_end, value_end) = (bounds[0], bounds[1]);
            let spans = (key_start..key_end, key_end..value_end);
            key_start = value_end;
            spans
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.ends.len() / 2
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.ends.is_empty()
    }

    /// Packs `pairs`, given in any order; of a key given twice, the last value is kept (as
    /// collecting them into a [`Metadata`] map would).
    ///
    /// ```
    /// use s3db_storage::PackedMetadata;
    ///
    /// let packed = PackedMetadata::from_pairs(&[("b", "1"), ("a", "2"), ("b", "3")]);
    /// assert_eq!(packed.iter().collect::<Vec<_>>(), [("a", "2"), ("b", "3")]);
    /// ```
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Self {
        let key = |i: usize| pairs[i].0.as_ref();
        let entry = |i: usize| (pairs[i].0.as_ref(), pairs[i].1.as_ref());
        if (1..pairs.len()).all(|i| key(i - 1) < key(i)) {
            return PackedMetadata::pack((0..pairs.len()).map(entry));
        }
        // Stable: of equal keys, the last one given ends up last, and is the one kept.
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(key(b)));
        order.dedup_by(|later, kept| {
            let same = key(*later) == key(*kept);
            if same {
                *kept = *later;
            }
            same
        });
        PackedMetadata::pack(order.into_iter().map(entry))
    }

    /// Packs entries that are already unique and in key order, in one allocation each for
    /// the text and the bounds.
    fn pack<'a>(entries: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let (mut count, mut bytes) = (0, 0);
        for (key, value) in entries.clone() {
            count += 1;
            bytes += key.len() + value.len();
        }
        let mut text = String::with_capacity(bytes);
        let mut ends = Vec::with_capacity(count * 2);
        for (key, value) in entries {
            text.push_str(key);
            ends.push(text.len());
            text.push_str(value);
            ends.push(text.len());
        }
        PackedMetadata(Arc::new(Packed {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }))
    }

    /// These entries with `key` set to `value` (added, or replacing the value it had).
    pub fn with(&self, key: &str, value: &str) -> Self {
        let mut pairs: Vec<_> = self.iter().filter(|(k, _)| *k != key).collect();
        pairs.push((key, value));
        PackedMetadata::from_pairs(&pairs)
    }

    /// These entries with their keys lower-cased, as S3 stores them (no copy when they
    /// already are).
    pub fn lowercase_keys(self) -> Self {
        if !self
            .iter()
            .any(|(k, _)| k.bytes().any(|b| b.is_ascii_uppercase()))
        {
            return self;
        }
        let pairs: Vec<_> = self
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        PackedMetadata::from_pairs(&pairs)
    }

    /// Bytes of all keys and values together, as S3 counts user metadata against its limit.
    pub fn byte_len(&self) -> usize {
        self.0.text.len()
    }

    /// The metadata as a map again.
    pub fn to_map(&self) -> Metadata {
        // Entries are packed in key order: the map is bulk-built from sorted pairs.
        self.iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }
}

impl From<Metadata> for PackedMetadata {
    fn from(metadata: Metadata) -> Self {
        // A map's keys are already unique and in order.
        PackedMetadata::pack(metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for PackedMetadata {
    fn from(pairs: [(K, V); N]) -> Self {
        PackedMetadata::from_pairs(&pairs)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for PackedMetadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        PackedMetadata::from_pairs(&entries.into_iter().collect::<Vec<_>>())
    }
}

impl std::fmt::Debug for PackedMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A GET result whose metadata is packed; see [`Storage::get_packed`](crate::Storage::get_packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedGet {
    /// Key, size, ETag and modification time.
    pub meta: ObjectMeta,
    /// User metadata.
    pub metadata: PackedMetadata,
    /// Content-Type, if one was stored.
    pub content_type: Option<String>,
    /// Object body.
    pub body: Bytes,
}

impl From<GetResult> for PackedGet {
    fn from(got: GetResult) -> Self {
        PackedGet {
            meta: got.meta,
            metadata: PackedMetadata::from(got.metadata),
            content_type: got.content_type,
            body: got.body,
        }
    }
}

impl From<PackedGet> for GetResult {
    fn from(got: PackedGet) -> Self {
        GetResult {
            meta: got.meta,
            metadata: got.metadata.to_map(),
            content_type: got.content_type,
            body: got.body,
        }
    }
}

/// The body size of either kind of GET result, for layers that count bytes read.
pub(crate) trait BodyLen {
    /// Body length in bytes.
    fn body_len(&self) -> u64;
}

impl BodyLen for GetResult {
    fn body_len(&self) -> u64 {
        self.body.len() as u64
    }
}

impl BodyLen for PackedGet {
    fn body_len(&self) -> u64 {
        self.body.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_finds_every_key_and_no_other() {
        let map: Metadata = (0..37)
            .map(|i| (format!("k{}", i * 2), format!("v{i}")))
            .collect();
        let packed = PackedMetadata::from(map.clone());
        assert_eq!(packed.len(), 37);
        for (key, value) in &map {
            assert_eq!(packed.get(key), Some(value.as_str()));
        }
        for absent in ["", "a", "k1", "k73", "z"] {
            assert_eq!(packed.get(absent), None);
        }
        assert_eq!(PackedMetadata::default().get("k0"), None);
        assert!(PackedMetadata::default().is_empty());
        // Keys that are prefixes of others, an empty key and empty values.
        let prefixes = PackedMetadata::from_pairs(&[("ab", ""), ("", "e"), ("a", "1"), ("b", "")]);
        for (key, value) in [
            ("", Some("e")),
            ("a", Some("1")),
            ("ab", Some("")),
            ("b", Some("")),
        ] {
            assert_eq!(prefixes.get(key), value, "{key:?}");
        }
        for absent in ["aa", "abc", "c", "B"] {
            assert_eq!(prefixes.get(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn pairs_in_any_order_pack_like_the_map_they_collect_into() {
        let pairs = [("z", "1"), ("_v", "v1"), ("0", "a"), ("z", "2"), ("A", "b")];
        let map: Metadata = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            PackedMetadata::from_pairs(&pairs),
            PackedMetadata::from(map.clone())
        );
        assert_eq!(pairs.into_iter().collect::<PackedMetadata>().to_map(), map);
    }

    #[test]
    fn with_adds_or_replaces_one_entry() {
        let packed = PackedMetadata::from_pairs(&[("a", "1"), ("c", "3")]);
        let added = packed.with("b", "2");
        assert_eq!(
            added.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", "2"), ("c", "3")]
        );
        let replaced = added.with("a", "9");
        assert_eq!(replaced.get("a"), Some("9"));
        assert_eq!(replaced.len(), 3);
    }

    #[test]
    fn keys_are_lowercased_and_counted() {
        let packed = PackedMetadata::from_pairs(&[("MixedCase", "V"), ("b", "x")]);
        assert_eq!(packed.byte_len(), "MixedCaseVbx".len());
        let lowered = packed.lowercase_keys();
        assert_eq!(
            lowered.iter().collect::<Vec<_>>(),
            [("b", "x"), ("mixedcase", "V")]
        );
    }
}
