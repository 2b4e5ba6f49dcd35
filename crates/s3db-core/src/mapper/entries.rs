//! Mapped entries: the short-key → schema-encoded value pairs a record becomes before a
//! behavior places them, kept in JavaScript object order.

use s3db_codec::budget::value_size;
use s3db_codec::meta::MetaValue;
use serde_json::{Map, Value};

/// A mapped value before client (metadata) encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappedValue {
    /// A schema-encoded string.
    Text(String),
    /// JSON `null` (stored as the literal `null`).
    Null,
    /// A present-but-undefined field (stored as the literal `undefined`, omitted from JSON
    /// bodies).
    Undefined,
}

impl MappedValue {
    /// Bytes this value counts for in s3db.js's accounting (`null`/`undefined` count 0).
    pub fn accounted_bytes(&self) -> usize {
        value_size(self.as_meta())
    }

    /// The value as the metadata codec sees it.
    pub fn as_meta(&self) -> MetaValue<'_> {
        match self {
            MappedValue::Text(text) => MetaValue::Str(text),
            MappedValue::Null => MetaValue::Null,
            MappedValue::Undefined => MetaValue::Undefined,
        }
    }

    /// The value as it appears in a JSON body (`None` for undefined, which JSON omits).
    pub fn to_json(&self) -> Option<Value> {
        match self {
            MappedValue::Text(text) => Some(Value::String(text.clone())),
            MappedValue::Null => Some(Value::Null),
            MappedValue::Undefined => None,
        }
    }
}

/// Ordered mapped entries of one record (`_v` included).
pub type Entries = Vec<(String, MappedValue)>;

/// Whether `key` is an array index to JavaScript (canonical decimal below 2³² − 1), which
/// `Object.keys` enumerates first, in ascending numeric order.
pub fn is_array_index(key: &str) -> bool {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if key.len() > 1 && key.starts_with('0') {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u64::from(u32::MAX))
}

/// Reorders entries the way a JavaScript object holding them would enumerate: array-index
/// keys ascending, then the others in insertion order. Later duplicates replace earlier ones
/// in place.
pub fn js_order<T>(entries: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut deduped: Vec<(String, T)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match deduped.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => deduped.push((key, value)),
        }
    }
    let (mut indices, others): (Vec<_>, Vec<_>) =
        deduped.into_iter().partition(|(k, _)| is_array_index(k));
    indices.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
    indices.extend(others);
    indices
}

/// `JSON.stringify` of an object holding `entries` (JavaScript key order, undefined omitted).
pub fn to_json_body(entries: &[(String, MappedValue)]) -> String {
    let ordered = js_order(
        entries
            .iter()
            .filter_map(|(k, v)| v.to_json().map(|v| (k.clone(), v)))
            .collect(),
    );
    let object: Map<String, Value> = ordered.into_iter().collect();
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indices_come_first_in_numeric_order() {
        let entries: Vec<(String, u8)> = ["_v", "a", "10", "2", "01", "0"]
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_string(), i as u8))
            .collect();
        let keys: Vec<String> = js_order(entries).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["0", "2", "10", "_v", "a", "01"]);
        assert!(!is_array_index("4294967295"));
        assert!(is_array_index("4294967294"));
    }

    #[test]
    fn json_body_omits_undefined() {
        let body = to_json_body(&[
            ("_v".into(), MappedValue::Text("v1".into())),
            ("1".into(), MappedValue::Undefined),
            ("0".into(), MappedValue::Null),
        ]);
        assert_eq!(body, r#"{"0":null,"_v":"v1"}"#);
    }
}
