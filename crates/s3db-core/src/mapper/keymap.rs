//! The short-key map of a resource version: attribute path ⇄ metadata key.

use std::collections::BTreeMap;

use s3db_codec::base62::{base36_key, decode_base36_key};
use serde_json::{Map, Value};

use super::entries::js_order;

/// Attribute path ⇄ short metadata key, plus the map's `JSON.stringify` form (`_map`).
///
/// Reads look short keys up by their base36 number first (every key s3db and s3db.js
/// assign is one), which is cheaper than a search on every field of every record read.
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    /// Looked up for every field of every record written (foldhash: see the schema's index).
    to_short: foldhash::HashMap<String, String>,
    to_path: BTreeMap<String, String>,
    /// (short key, path) at the index the key encodes, for keys in canonical base36 form.
    by_index: Vec<Option<(String, String)>>,
    json: String,
}

impl KeyMap {
    /// A map from registry indices (path, index), in definition order.
    pub fn from_indices(assigned: &[(String, u64)]) -> Self {
        let pairs = assigned
            .iter()
            .map(|(path, index)| {
                let index = usize::try_from(*index).unwrap_or(usize::MAX);
                (path.clone(), base36_key(index))
            })
            .collect();
        Self::from_pairs(pairs)
    }

    /// A map from (path, key) pairs, e.g. a body-only object's own `_map`.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let ordered = js_order(pairs);
        let json_map: Map<String, Value> = ordered
            .iter()
            .map(|(p, k)| (p.clone(), Value::String(k.clone())))
            .collect();
        let mut by_index: Vec<Option<(String, String)>> = Vec::new();
        for (path, key) in &ordered {
            let index = decode_base36_key(key)
                .ok()
                .filter(|i| base36_key(*i) == *key);
            if let Some(index) = index.filter(|i| *i < MAX_INDEXED_KEYS) {
                if by_index.len() <= index {
                    by_index.resize(index + 1, None);
                }
                by_index[index] = Some((key.clone(), path.clone()));
            }
        }
        KeyMap {
            to_path: ordered
                .iter()
                .map(|(p, k)| (k.clone(), p.clone()))
                .collect(),
            to_short: ordered.into_iter().collect(),
            by_index,
            json: Value::Object(json_map).to_string(),
        }
    }

    /// The short key of `path`.
    pub fn short(&self, path: &str) -> Option<&str> {
        self.to_short.get(path).map(String::as_str)
    }

    /// The path a short key stands for.
    pub fn path(&self, key: &str) -> Option<&str> {
        // Indexed keys have at most 3 digits (MAX_INDEXED_KEYS < 36³); longer keys are plain
        // names, which are not decoded (a failed decode builds an error).
        let indexed = (key.len() <= 3)
            .then(|| decode_base36_key(key).ok())
            .flatten()
            .and_then(|i| self.by_index.get(i)?.as_ref())
            .filter(|(short, _)| short == key);
        match indexed {
            Some((_, path)) => Some(path),
            None => self.to_path.get(key).map(String::as_str),
        }
    }

    /// `JSON.stringify(map)` as s3db.js writes it into `_map`.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// Short keys past this index are only in the ordered map (an `_map` of a body-only object
/// may name any key; the index vector stays small).
const MAX_INDEXED_KEYS: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_by_index_and_by_name() {
        let map = KeyMap::from_pairs(vec![
            ("one".into(), "1".into()),
            ("ten".into(), "a".into()),
            ("late".into(), "10".into()),
            ("padded".into(), "01".into()),
            ("named".into(), "Name".into()),
        ]);
        assert_eq!(map.path("1"), Some("one"));
        assert_eq!(map.path("a"), Some("ten"));
        assert_eq!(map.path("10"), Some("late"));
        assert_eq!(map.path("01"), Some("padded"), "not index 1's path");
        assert_eq!(map.path("Name"), Some("named"));
        assert_eq!(map.path("2"), None);
        assert_eq!(map.path("b"), None);
    }

    #[test]
    fn builds_the_map_s3dbjs_writes() {
        let map = KeyMap::from_indices(&[
            ("title".into(), 0),
            ("author.name".into(), 2),
            ("author".into(), 7),
            ("late".into(), 36),
        ]);
        assert_eq!(map.short("late"), Some("10"));
        assert_eq!(map.path("7"), Some("author"));
        assert_eq!(
            map.json(),
            r#"{"title":"0","author.name":"2","author":"7","late":"10"}"#
        );
    }
}
