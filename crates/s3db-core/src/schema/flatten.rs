//! Dotted-path flattening of documents, as s3db.js does with the `flat` package
//! (`flatten(doc, {safe: true})` / `unflatten(entries)`), spec §3.2 and §3.5.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::small_map;

use super::js::parse_number;

/// Largest array index [`unflatten`] creates. s3db.js would pad the array with holes up to any
/// index; a hostile key such as `tags.999999999` must not allocate that much, so entries with a
/// bigger index are dropped.
pub const MAX_UNFLATTEN_INDEX: usize = 10_000;

/// Flattens a document into dotted paths, depth first in map order: non-empty objects are
/// descended, arrays stay whole, an empty object stays `{}`. A path produced twice (a key
/// containing `.` colliding with a nested path) keeps its first position and its last value,
/// like a JavaScript object.
///
/// ```
/// use s3db_core::schema::flatten;
/// use serde_json::json;
///
/// let doc = json!({"a": 1, "b": {"c": [1, 2], "d": {}}});
/// let flat = flatten(doc.as_object().unwrap());
/// assert_eq!(flat, vec![
///     ("a".to_owned(), json!(1)),
///     ("b.c".to_owned(), json!([1, 2])),
///     ("b.d".to_owned(), json!({})),
/// ]);
/// ```
pub fn flatten(doc: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut out: Map<String, Value> = Map::new();
    flatten_into(doc, None, &mut out);
    out.into_iter().collect()
}

fn flatten_into(object: &Map<String, Value>, prefix: Option<&str>, out: &mut Map<String, Value>) {
    for (key, value) in object {
        let path = match prefix {
            Some(prefix) => format!("{prefix}.{key}"),
            None => key.clone(),
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten_into(inner, Some(&path), out),
            _ => {
                out.insert(path, value.clone());
            }
        }
    }
}

/// A path segment as `flat` reads it: a number (JavaScript `Number(segment)` is not NaN) makes
/// its container an array.
enum Segment {
    Key,
    Index(Option<usize>),
}

fn segment(text: &str) -> Segment {
    match parse_number(text) {
        None => Segment::Key,
        Some(n) => Segment::Index(
            (n >= 0.0 && n.fract() == 0.0 && n <= MAX_UNFLATTEN_INDEX as f64).then_some(n as usize),
        ),
    }
}

/// Rebuilds a document from dotted paths (inverse of [`flatten`]). As in `flat`'s `unflatten`:
/// a numeric next segment creates an array, an entry whose path runs through an existing
/// non-container value is skipped, and a later entry at the same path replaces the earlier.
/// Indexes that are not non-negative integers up to [`MAX_UNFLATTEN_INDEX`] drop the entry
/// (JavaScript would set a property the JSON form loses).
///
/// ```
/// use s3db_core::schema::unflatten;
/// use serde_json::json;
///
/// let doc = unflatten([
///     ("profile.city".to_owned(), json!("Lisboa")),
///     ("list.1".to_owned(), json!("b")),
/// ]);
/// assert_eq!(serde_json::Value::Object(doc), json!({
///     "profile": {"city": "Lisboa"},
///     "list": [null, "b"],
/// }));
/// ```
pub fn unflatten(entries: impl IntoIterator<Item = (String, Value)>) -> Map<String, Value> {
    let entries = entries.into_iter();
    let mut doc = Unflattened::with_capacity(entries.size_hint().0);
    for (path, value) in entries {
        doc.insert(Cow::Owned(path), value);
    }
    doc.finish()
}

/// A document built one dotted path at a time by [`unflatten`]'s rules, for callers that
/// produce entries one by one (the record decoder) and need no list of them.
pub(crate) struct Unflattened {
    root: Value,
}

impl Unflattened {
    /// An empty document sized for `fields` top-level keys, so it never grows (rehashes)
    /// while filling.
    pub(crate) fn with_capacity(fields: usize) -> Self {
        Unflattened {
            root: Value::Object(Map::with_capacity(fields)),
        }
    }

    /// Sets `value` at `path`; an owned top-level path moves in as the key.
    pub(crate) fn insert(&mut self, path: Cow<'_, str>, value: Value) {
        match &mut self.root {
            // Top-level fields, the common case: nothing is split.
            Value::Object(map) if split_dot(&path).is_none() => {
                map.insert(path.into_owned(), value);
            }
            _ => insert_path(&mut self.root, &path, value),
        }
    }

    /// The document.
    pub(crate) fn finish(self) -> Map<String, Value> {
        match self.root {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// `path` split at its first dot. A byte scan: `split_once('.')` costs more on paths this
/// short.
fn split_dot(path: &str) -> Option<(&str, &str)> {
    let dot = path.bytes().position(|b| b == b'.')?;
    Some((path.get(..dot)?, path.get(dot + 1..)?))
}

/// Sets `value` at the dotted `path` under `container`, creating containers on the way.
fn insert_path(container: &mut Value, path: &str, value: Value) {
    let (first, rest) = match split_dot(path) {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    let Some(slot) = slot(container, first) else {
        return;
    };
    let Some(rest) = rest else {
        *slot = value;
        return;
    };
    let next = split_dot(rest).map_or(rest, |(next, _)| next);
    match slot {
        Value::Object(_) | Value::Array(_) => {}
        Value::Null => {
            *slot = match segment(next) {
                Segment::Index(_) => Value::Array(Vec::new()),
                Segment::Key => Value::Object(Map::new()),
            }
        }
        _ => return, // flat does not write through an existing scalar.
    }
    insert_path(slot, rest, value);
}

/// The slot named `key` in an object or array, created (as `null`) when missing.
fn slot<'a>(container: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match container {
        Value::Object(map) => small_map::slot_or_null(map, key),
        Value::Array(items) => match segment(key) {
            Segment::Index(Some(i)) => {
                if items.len() <= i {
                    items.resize(i + 1, Value::Null);
                }
                items.get_mut(i)
            }
            Segment::Index(None) | Segment::Key => None,
        },
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flatten_keeps_arrays_and_empty_objects() {
        let flat = flatten(&object(
            json!({"x": {"y": {"z": 1}}, "e": {}, "a": [{"k": 1}]}),
        ));
        assert_eq!(
            flat,
            vec![
                ("x.y.z".to_owned(), json!(1)),
                ("e".to_owned(), json!({})),
                ("a".to_owned(), json!([{"k": 1}])),
            ]
        );
    }

    #[test]
    fn unflatten_follows_flat_rules() {
        // Scalar in the way: the deeper entry is skipped.
        let doc = unflatten([("a".to_owned(), json!(1)), ("a.b".to_owned(), json!(2))]);
        assert_eq!(Value::Object(doc), json!({"a": 1}));
        // A later shallower entry replaces the object.
        let doc = unflatten([("a.b".to_owned(), json!(2)), ("a".to_owned(), json!(1))]);
        assert_eq!(Value::Object(doc), json!({"a": 1}));
        // Numeric segments build arrays, objects inside arrays too.
        let doc = unflatten([
            ("l.0.n".to_owned(), json!("x")),
            ("l.1".to_owned(), json!(true)),
        ]);
        assert_eq!(Value::Object(doc), json!({"l": [{"n": "x"}, true]}));
        // A hostile index is dropped instead of allocating.
        let doc = unflatten([("l.999999999".to_owned(), json!(1))]);
        assert_eq!(Value::Object(doc), json!({"l": []}));
        // A word under an array is lost, as in JavaScript's JSON.
        let doc = unflatten([
            ("l.0".to_owned(), json!(1)),
            ("l.name".to_owned(), json!(2)),
        ]);
        assert_eq!(Value::Object(doc), json!({"l": [1]}));
    }
}
