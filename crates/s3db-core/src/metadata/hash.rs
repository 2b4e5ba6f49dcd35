//! The definition hash of s3db.js: `sha256:` + hex SHA-256 of the json-stable-stringify of
//! `{attributes, behavior, partitions}`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Serializes `value` like the npm package `json-stable-stringify`: object keys sorted (in
/// JavaScript's default order, i.e. by UTF-16 code units) at every level, no whitespace, strings
/// escaped like `JSON.stringify` (non-ASCII characters are not escaped).
///
/// ```
/// let v = serde_json::json!({"b": [1, {"d": "é", "c": null}], "a": true});
/// assert_eq!(s3db_core::metadata::stable_stringify(&v), r#"{"a":true,"b":[1,{"c":null,"d":"é"}]}"#);
/// ```
pub fn stable_stringify(value: &Value) -> String {
    let mut out = String::new();
    write_stable(value, &mut out);
    out
}

fn write_stable(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| js_string_cmp(a, b));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_stable(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_stable(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Compares two strings the way JavaScript's default `Array.prototype.sort` does: by UTF-16
/// code units.
pub(crate) fn js_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The `sha256:<hex>` hash s3db.js stores in `versions.vN.hash`.
///
/// `attributes` are the stored attribute definitions; with `timestamps` the automatic
/// `createdAt`/`updatedAt` attributes are left out, as s3db.js does. `partitions` includes the
/// automatic ones (`byCreatedDate`, `byUpdatedDate`, `byVersion`).
pub fn definition_hash(
    attributes: &Map<String, Value>,
    behavior: &str,
    partitions: &Map<String, Value>,
    timestamps: bool,
) -> String {
    let mut stable_attributes = attributes.clone();
    if timestamps {
        stable_attributes.shift_remove("createdAt");
        stable_attributes.shift_remove("updatedAt");
    }
    let mut hashed = Map::new();
    hashed.insert("attributes".into(), Value::Object(stable_attributes));
    hashed.insert("behavior".into(), Value::String(behavior.to_owned()));
    hashed.insert("partitions".into(), Value::Object(partitions.clone()));
    let text = stable_stringify(&Value::Object(hashed));
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for byte in digest.as_ref() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_json_stringify() {
        let v = json!({"k": "a\"b\\c\n\u{1}ü😀"});
        assert_eq!(stable_stringify(&v), "{\"k\":\"a\\\"b\\\\c\\n\\u0001ü😀\"}");
    }

    #[test]
    fn sorts_by_utf16_units() {
        // U+1F600 (surrogates D83D DE00) sorts after U+FF61 by code point but before it by
        // UTF-16 units, as in JavaScript.
        let v = json!({"｡": 2, "😀": 1});
        assert_eq!(stable_stringify(&v), "{\"😀\":1,\"｡\":2}");
    }

    #[test]
    fn timestamps_attributes_are_not_hashed() {
        let with: Map<String, Value> = json!({"a": "string", "createdAt": "datetime|optional", "updatedAt": "datetime|optional"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let without: Map<String, Value> = json!({"a": "string"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let p = Map::new();
        assert_eq!(
            definition_hash(&with, "user-managed", &p, true),
            definition_hash(&without, "user-managed", &p, false)
        );
    }
}
