//! The object dump format: one JSON object per line, as in the s3db.js fixtures'
//! `objects.jsonl`. Written by [`MemoryStorage::save`](crate::MemoryStorage::save) and the
//! CLI's `objects export`, read by [`MemoryStorage::load`](crate::MemoryStorage::load) and
//! `objects import`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::types::{GetResult, Metadata};

/// One object of a dump. Reading ignores unknown fields and the written-only `etag` and
/// `size` (they follow from the body).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpedObject {
    /// The object key.
    pub key: String,
    /// User metadata as stored.
    #[serde(default)]
    pub metadata: Metadata,
    /// The body, standard base64.
    #[serde(default)]
    pub body_base64: String,
    /// Content-Type, if one was stored.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The quoted ETag when dumped.
    #[serde(default, skip_deserializing)]
    pub etag: String,
    /// Body bytes when dumped.
    #[serde(default, skip_deserializing)]
    pub size: u64,
    /// Last modification, epoch milliseconds (written by memory snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_ms: Option<u64>,
}

impl DumpedObject {
    /// The dump line of an object read from a store.
    pub fn from_get(found: &GetResult) -> DumpedObject {
        DumpedObject {
            key: found.meta.key.clone(),
            metadata: found.metadata.clone(),
            body_base64: BASE64.encode(&found.body),
            content_type: found.content_type.clone(),
            etag: found.meta.etag.clone(),
            size: found.meta.size,
            last_modified_ms: None,
        }
    }

    /// The body, decoded from `body_base64`; the error names the key.
    pub fn body(&self) -> Result<Vec<u8>, String> {
        BASE64
            .decode(self.body_base64.as_bytes())
            .map_err(|e| format!("key {:?}: body_base64: {e}", self.key))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fixture_lines_parse_and_extra_fields_are_ignored() {
        let line: DumpedObject = serde_json::from_value(json!({
            "key": "resource=a/data/id=1", "metadata": {"_v": "v1"}, "body_base64": "aGk=",
            "content_type": null, "content_type_sent": null, "etag": "\"x\"", "size": 2
        }))
        .unwrap();
        assert_eq!(line.metadata["_v"], "v1");
        assert_eq!(line.body().unwrap(), b"hi");
        assert!(
            line.etag.is_empty() && line.size == 0,
            "recomputed, not read"
        );
        let bare: DumpedObject = serde_json::from_value(json!({"key": "k"})).unwrap();
        assert!(bare.metadata.is_empty() && bare.content_type.is_none());
        let bad: DumpedObject =
            serde_json::from_value(json!({"key": "k", "body_base64": "%"})).unwrap();
        assert!(bad.body().unwrap_err().contains("\"k\""));
    }
}
