//! Cached values: a read's result and the time it was read, with their JSON form for the
//! shared (filesystem and storage) drivers.

use serde_json::{Value, json};

use crate::{Error, Result};
use s3db_core::extend::Payload;

/// One cached result.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When the read that produced it started, in milliseconds since the Unix epoch (from
    /// the plugin's clock).
    pub stored_at: i64,
    /// The operation's result.
    pub value: Payload,
}

impl Entry {
    /// The entry as JSON bytes (`{"storedAt": ms, "kind": "...", "value": ...}`); `None`
    /// for results that are not cached (binary content).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let (kind, value) = payload_to_json(&self.value)?;
        let doc = json!({"storedAt": self.stored_at, "kind": kind, "value": value});
        serde_json::to_vec(&doc).ok()
    }

    /// About how many bytes the value takes (its JSON size; binary content by length).
    pub fn approx_bytes(&self) -> usize {
        match &self.value {
            Payload::Content { id, body, .. } => id.len() + body.len(),
            other => payload_to_json(other).map_or(0, |(_, value)| json_size(&value)),
        }
    }

    /// Reads an entry written by [`Entry::to_bytes`]; [`Error::Corrupt`] names `key`.
    pub fn from_bytes(key: &str, bytes: &[u8]) -> Result<Entry> {
        let corrupt = |reason: String| Error::Corrupt {
            key: key.to_owned(),
            reason,
        };
        let mut doc: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let stored_at = doc["storedAt"]
            .as_i64()
            .ok_or_else(|| corrupt("no storedAt".into()))?;
        let value = doc.get_mut("value").map(Value::take).unwrap_or_default();
        let kind = doc["kind"]
            .as_str()
            .ok_or_else(|| corrupt("no kind".into()))?;
        let value = payload_from_json(kind, value).map_err(corrupt)?;
        Ok(Entry { stored_at, value })
    }
}

/// The length of `value` written as compact JSON, without writing it.
fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(items) => {
            let commas = items.len().saturating_sub(1);
            2 + commas + items.iter().map(json_size).sum::<usize>()
        }
        Value::Object(map) => {
            let commas = map.len().saturating_sub(1);
            let members: usize = map.iter().map(|(k, v)| k.len() + 3 + json_size(v)).sum();
            2 + commas + members
        }
    }
}

/// A payload's kind and JSON value; `None` for binary content.
pub(crate) fn payload_to_json(payload: &Payload) -> Option<(&'static str, Value)> {
    let value = match payload {
        Payload::None => Value::Null,
        Payload::Record(record) | Payload::Options(record) => Value::Object(record.clone()),
        Payload::Records(records) => records.iter().cloned().map(Value::Object).collect(),
        Payload::Id(id) | Payload::Name(id) => Value::String(id.clone()),
        Payload::Ids(ids) => ids.iter().cloned().map(Value::String).collect(),
        Payload::Change { id, record } => json!({"id": id, "record": record}),
        Payload::Count(count) => json!(count),
        Payload::Flag(flag) => Value::Bool(*flag),
        Payload::Content { .. } => return None,
    };
    Some((payload.kind(), value))
}

fn payload_from_json(kind: &str, value: Value) -> std::result::Result<Payload, String> {
    let object = |v: Value| match v {
        Value::Object(map) => Ok(map),
        _ => Err(format!("{kind}: expected an object")),
    };
    let string = |v: Value| match v {
        Value::String(text) => Ok(text),
        _ => Err(format!("{kind}: expected a string")),
    };
    let array = |v: Value| match v {
        Value::Array(items) => Ok(items),
        _ => Err(format!("{kind}: expected an array")),
    };
    Ok(match kind {
        "no" => Payload::None,
        "record" => Payload::Record(object(value)?),
        "options" => Payload::Options(object(value)?),
        "records" => Payload::Records(
            array(value)?
                .into_iter()
                .map(object)
                .collect::<Result<_, _>>()?,
        ),
        "id" => Payload::Id(string(value)?),
        "name" => Payload::Name(string(value)?),
        "ids" => Payload::Ids(
            array(value)?
                .into_iter()
                .map(string)
                .collect::<Result<_, _>>()?,
        ),
        "change" => {
            let mut change = object(value)?;
            Payload::Change {
                id: string(change.remove("id").unwrap_or_default())?,
                record: object(change.remove("record").unwrap_or_default())?,
            }
        }
        "count" => Payload::Count(
            value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| "count: expected a non-negative integer".to_owned())?,
        ),
        "flag" => Payload::Flag(
            value
                .as_bool()
                .ok_or_else(|| "flag: expected a boolean".to_owned())?,
        ),
        other => return Err(format!("unknown kind {other:?}")),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(text: &str) -> serde_json::Map<String, Value> {
        json!({"id": text, "n": 1, "nested": {"b": [1, 2]}})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn every_cached_kind_round_trips() {
        let payloads = [
            Payload::None,
            Payload::Record(record("a")),
            Payload::Options(record("o")),
            Payload::Records(vec![record("a"), record("b")]),
            Payload::Id("a".into()),
            Payload::Name("users".into()),
            Payload::Ids(vec!["a".into(), "b".into()]),
            Payload::Change {
                id: "a".into(),
                record: record("a"),
            },
            Payload::Count(42),
            Payload::Flag(true),
        ];
        for value in payloads {
            let entry = Entry {
                stored_at: 7,
                value,
            };
            let bytes = entry.to_bytes().unwrap();
            assert_eq!(Entry::from_bytes("k", &bytes).unwrap(), entry);
        }
    }

    #[test]
    fn the_size_estimate_is_the_compact_json_length() {
        let value = json!({"id": "a", "n": -1.5, "ok": true, "none": null, "list": [1, "x", {}], "o": {"k": []}});
        assert_eq!(json_size(&value), serde_json::to_vec(&value).unwrap().len());
        let entry = Entry {
            stored_at: 0,
            value: Payload::Records(vec![record("a"), record("b")]),
        };
        let (_, as_json) = payload_to_json(&entry.value).unwrap();
        assert_eq!(
            entry.approx_bytes(),
            serde_json::to_vec(&as_json).unwrap().len()
        );
    }

    #[test]
    fn content_is_not_cached_and_garbage_is_corrupt() {
        let content = Entry {
            stored_at: 0,
            value: Payload::Content {
                id: "a".into(),
                body: bytes::Bytes::from_static(b"x"),
                content_type: None,
            },
        };
        assert!(content.to_bytes().is_none());
        for bad in [
            &b"nope"[..],
            br#"{"kind":"count","value":1}"#,
            br#"{"storedAt":1,"kind":"count","value":-1}"#,
            br#"{"storedAt":1,"kind":"blob","value":1}"#,
        ] {
            match Entry::from_bytes("plugin=cache/x", bad) {
                Err(Error::Corrupt { key, .. }) => assert_eq!(key, "plugin=cache/x"),
                other => panic!("expected corrupt, got {other:?}"),
            }
        }
    }
}
