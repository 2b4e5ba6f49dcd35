//! The short-key map of a resource version: attribute path ⇄ metadata key.

use std::collections::BTreeMap;

use s3db_codec::base62::base36_key;
use serde_json::{Map, Value};

use super::entries::js_order;

/// Attribute path ⇄ short metadata key, plus the map's `JSON.stringify` form (`_map`).
///
/// Ordered maps: the keys are short strings, where a few comparisons beat hashing them.
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    to_short: BTreeMap<String, String>,
    to_path: BTreeMap<String, String>,
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
        KeyMap {
            to_path: ordered
                .iter()
                .map(|(p, k)| (k.clone(), p.clone()))
                .collect(),
            to_short: ordered.into_iter().collect(),
            json: Value::Object(json_map).to_string(),
        }
    }

    /// The short key of `path`.
    pub fn short(&self, path: &str) -> Option<&str> {
        self.to_short.get(path).map(String::as_str)
    }

    /// The path a short key stands for.
    pub fn path(&self, key: &str) -> Option<&str> {
        self.to_path.get(key).map(String::as_str)
    }

    /// `JSON.stringify(map)` as s3db.js writes it into `_map`.
    pub fn json(&self) -> &str {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
