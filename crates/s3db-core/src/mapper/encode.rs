//! Record → mapped entries.

use std::borrow::Cow;

use s3db_codec::value::{self, format_js_number, to_js_json};
use serde_json::{Map, Value};

use super::entries::{Entries, MappedValue};
use super::keymap::KeyMap;
use crate::error::{Error, Result};
use crate::schema::Schema;

/// Maps a validated record (without `id`, secrets already encrypted) to entries: `_v` first,
/// then one entry per flattened path, under its short key (or its own path when the schema
/// does not know it), encoded by the field's kind.
pub fn map_record(
    schema: &Schema,
    keys: &KeyMap,
    version: &str,
    record: &Map<String, Value>,
) -> Result<Entries> {
    // Nested objects flatten to one leaf per field: room for the schema's fields up front.
    let mut leaves = Vec::with_capacity(record.len().max(schema.fields().len()));
    flatten_for_mapping(schema, "", record, &mut leaves);
    let mut entries: Entries = Vec::with_capacity(leaves.len() + 1);
    entries.push(("_v".into(), MappedValue::Text(version.to_owned())));
    for (path, value) in leaves {
        let key = keys
            .short(&path)
            .map_or_else(|| path.to_string(), str::to_owned);
        let mapped = match value {
            Value::Null => MappedValue::Null,
            other => match schema.field(&path) {
                Some(field) => {
                    MappedValue::Text(value::encode(&field.kind, other).map_err(|source| {
                        Error::Codec {
                            field: path.to_string(),
                            source,
                        }
                    })?)
                }
                None => MappedValue::Text(encode_untyped(other)),
            },
        };
        entries.push((key, mapped));
    }
    Ok(entries)
}

/// s3db.js's treatment of a value without a typed encoder: strings as they are, numbers and
/// booleans as `String(value)`, objects and arrays as JSON.
fn encode_untyped(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), format_js_number),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => to_js_json(other),
    }
}

/// Flattens like s3db.js (`flat` with `safe: true`): objects are descended into unless the
/// path is a leaf field of the schema (an `object`/`json` field keeps its value whole);
/// arrays stay whole; an empty object stays `{}`.
fn flatten_for_mapping<'a>(
    schema: &Schema,
    prefix: &str,
    object: &'a Map<String, Value>,
    out: &mut Vec<(Cow<'a, str>, &'a Value)>,
) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            Cow::Borrowed(key.as_str())
        } else {
            // Pushed, not `format!`ted: this runs for every nested leaf of every write.
            let mut joined = String::with_capacity(prefix.len() + 1 + key.len());
            joined.push_str(prefix);
            joined.push('.');
            joined.push_str(key);
            Cow::Owned(joined)
        };
        match value {
            Value::Object(inner) if !inner.is_empty() && schema.field(&path).is_none() => {
                flatten_for_mapping(schema, &path, inner, out)
            }
            _ => out.push((path, value)),
        }
    }
}
