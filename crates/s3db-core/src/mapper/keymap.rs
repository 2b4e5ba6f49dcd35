//! The short-key map of a resource version: attribute path ⇄ metadata key.

use std::collections::{BTreeMap, HashSet};

use s3db_codec::base62::{base36_key, decode_base36_key};
use serde_json::{Map, Value};

use super::entries::js_order;
use crate::schema::Schema;

/// Attribute path ⇄ short metadata key, plus the map's `JSON.stringify` form (`_map`).
///
/// Reads look short keys up by their base36 number first (every key s3db and s3db.js
/// assign is one), which is cheaper than a search on every field of every record read, and
/// find the schema field of the path with it.
#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    /// Looked up for every field of every record written (foldhash: see the schema's index).
    to_short: foldhash::HashMap<String, String>,
    to_path: BTreeMap<String, Target>,
    /// (short key, target) at the index the key encodes, for keys in canonical base36 form.
    by_index: Vec<Option<(String, Target)>>,
    json: String,
}

impl KeyMap {
    /// A map from registry indices (path, index), in definition order; `schema` is the one
    /// the paths belong to.
    pub fn from_indices(assigned: &[(String, u64)], schema: &Schema) -> Self {
        let pairs = assigned
            .iter()
            .map(|(path, index)| {
                let index = usize::try_from(*index).unwrap_or(usize::MAX);
                (path.clone(), base36_key(index))
            })
            .collect();
        Self::from_pairs(pairs, schema)
    }

    /// A map from (path, key) pairs, e.g. a body-only object's own `_map`.
    pub fn from_pairs(pairs: Vec<(String, String)>, schema: &Schema) -> Self {
        let ordered = js_order(pairs);
        let all: HashSet<&str> = ordered.iter().map(|(path, _)| path.as_str()).collect();
        let enclosing: HashSet<&str> = all
            .iter()
            .flat_map(|path| path.match_indices('.').map(|(dot, _)| &path[..dot]))
            .filter(|prefix| all.contains(prefix))
            .collect();
        let target = |path: &String| Target {
            path: path.clone(),
            field: schema.field_index(path),
            leaf: !enclosing.contains(path.as_str()) && path != "id" && !path.starts_with("id."),
        };
        let json_map: Map<String, Value> = ordered
            .iter()
            .map(|(p, k)| (p.clone(), Value::String(k.clone())))
            .collect();
        let mut by_index: Vec<Option<(String, Target)>> = Vec::new();
        for (path, key) in &ordered {
            let index = short_index(key).filter(|i| base36_key(*i) == *key);
            if let Some(index) = index.filter(|i| *i < MAX_INDEXED_KEYS) {
                if by_index.len() <= index {
                    by_index.resize(index + 1, None);
                }
                by_index[index] = Some((key.clone(), target(path)));
            }
        }
        KeyMap {
            to_path: ordered
                .iter()
                .map(|(p, k)| (k.clone(), target(p)))
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

    /// What a short key stands for: its path, the index of its field in the schema.
    pub fn resolve(&self, key: &str) -> Option<&Target> {
        let indexed = short_index(key)
            .and_then(|i| self.by_index.get(i)?.as_ref())
            // Digit strings of one value and one length are equal: this rules out only
            // the non-canonical forms (leading zeros), without comparing the bytes.
            .filter(|(short, _)| short.len() == key.len())
            .map(|(_, target)| target);
        indexed.or_else(|| self.to_path.get(key))
    }

    /// `JSON.stringify(map)` as s3db.js writes it into `_map`.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// The index a short key encodes, for keys of at most three base36 digits, the only keys
/// the index holds (`MAX_INDEXED_KEYS` < 36³); longer keys are plain names, not decoded.
fn short_index(key: &str) -> Option<usize> {
    (key.len() <= 3)
        .then(|| decode_base36_key(key).ok())
        .flatten()
}

/// What a short key stands for: an attribute path and the schema field there.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The attribute path.
    pub path: String,
    /// Index into the schema's fields; `None` for a path the schema does not know.
    pub field: Option<usize>,
    /// No other path of the map lies inside this one's value (as `author.name` lies inside
    /// `author`, which the registry keeps after an attribute changed shape), and it is not
    /// `id`, which reads set: its value is one field beside the record's others.
    pub leaf: bool,
}

/// Short keys past this index are only in the ordered map (an `_map` of a body-only object
/// may name any key; the index vector stays small).
const MAX_INDEXED_KEYS: usize = 4096;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn schema(attributes: Value) -> Schema {
        Schema::parse(attributes.as_object().unwrap()).unwrap()
    }

    #[test]
    fn finds_paths_and_fields_by_index_and_by_name() {
        let schema = schema(serde_json::json!({"ten": "string", "named": "number"}));
        let map = KeyMap::from_pairs(
            vec![
                ("one".into(), "1".into()),
                ("ten".into(), "a".into()),
                ("late".into(), "10".into()),
                ("padded".into(), "01".into()),
                ("named".into(), "Name".into()),
            ],
            &schema,
        );
        let resolve = |key: &str| map.resolve(key).map(|t| (t.path.as_str(), t.field));
        assert_eq!(resolve("1"), Some(("one", None)));
        assert_eq!(resolve("a"), Some(("ten", schema.field_index("ten"))));
        assert_eq!(resolve("10"), Some(("late", None)));
        assert_eq!(resolve("01"), Some(("padded", None)), "not index 1's");
        let named = schema.field_index("named");
        assert!(named.is_some());
        assert_eq!(resolve("Name"), Some(("named", named)));
        assert_eq!(map.resolve("2"), None);
        assert_eq!(map.resolve("b"), None);
        assert_eq!(map.resolve("A"), None, "not index 10's");
        assert_eq!(map.resolve(""), None);
        assert_eq!(map.resolve("é"), None);
    }

    #[test]
    fn leaves_are_paths_no_other_lies_inside_and_not_id() {
        let paths = [
            "name",
            "address",
            "address.city",
            "a.b.c",
            "a.d",
            "author-x",
            "id",
            "id.x",
        ];
        let assigned: Vec<(String, u64)> = paths
            .iter()
            .zip(0..)
            .map(|(p, i)| ((*p).to_owned(), i))
            .collect();
        let map = KeyMap::from_indices(&assigned, &schema(serde_json::json!({})));
        let leaves: Vec<&str> = paths
            .iter()
            .filter(|path| map.resolve(map.short(path).unwrap()).unwrap().leaf)
            .copied()
            .collect();
        assert_eq!(leaves, ["name", "address.city", "a.b.c", "a.d", "author-x"]);
    }

    #[test]
    fn builds_the_map_s3dbjs_writes() {
        let map = KeyMap::from_indices(
            &[
                ("title".into(), 0),
                ("author.name".into(), 2),
                ("author".into(), 7),
                ("late".into(), 36),
            ],
            &schema(serde_json::json!({})),
        );
        assert_eq!(map.short("late"), Some("10"));
        let author = map.resolve("7").unwrap();
        assert_eq!(
            (author.path.as_str(), author.field, author.leaf),
            ("author", None, false)
        );
        assert_eq!(
            map.json(),
            r#"{"title":"0","author.name":"2","author":"7","late":"10"}"#
        );
    }
}
