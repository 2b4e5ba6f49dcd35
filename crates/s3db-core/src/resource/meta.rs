//! The object facts of a record read with its internals ([`Resource::get_with_meta`]), as a
//! typed struct.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Record;
#[cfg(doc)]
use super::Resource;
use super::conditional::INTERNAL_FIELDS;

/// What s3db.js reports beside a record read with its internals: the `_etag`,
/// `_lastModified`, `_contentLength`, `_hasContent`, `_mimeType`, `_v`… fields of
/// [`Resource::get_with_meta`], typed. It (de)serializes under those s3db.js names, so it
/// reads from and writes to the flat record map.
///
/// ```
/// use s3db_core::RecordMeta;
/// use serde_json::json;
///
/// let mut record = json!({
///     "id": "a", "name": "Ana",
///     "_etag": "\"abc\"", "_lastModified": "2026-01-02T03:04:05.678Z",
///     "_contentLength": 0, "_hasContent": false, "_mimeType": "application/json", "_v": "v1",
/// })
/// .as_object()
/// .cloned()
/// .unwrap();
/// let meta = RecordMeta::from_record(&mut record).unwrap();
/// assert_eq!(meta.etag, "\"abc\"");
/// assert_eq!(meta.version, "v1");
/// assert_eq!(record.len(), 2); // only `id` and `name` are left
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordMeta {
    /// The record's version (`_etag`): what [`Resource::update_if`] and the other
    /// conditional writes expect.
    #[serde(rename = "_etag")]
    pub etag: String,
    /// Time of the last write (`_lastModified`, an ISO-8601 string on the wire).
    #[serde(rename = "_lastModified", with = "iso_time")]
    pub last_modified: SystemTime,
    /// Size of the object body in bytes (`_contentLength`).
    #[serde(rename = "_contentLength")]
    pub content_length: u64,
    /// Whether the object has a body (`_hasContent`).
    #[serde(rename = "_hasContent")]
    pub has_content: bool,
    /// The object's Content-Type (`_mimeType`).
    #[serde(rename = "_mimeType")]
    pub mime_type: String,
    /// The resource version the record is read as (`_v`, e.g. `v1`).
    #[serde(rename = "_v")]
    pub version: String,
    /// The version the object was written with, without its `v` (`_originalVersion`).
    #[serde(
        rename = "_originalVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub original_version: Option<String>,
    /// Whether the record was mapped to the current version (`_versionMapped`).
    #[serde(
        rename = "_versionMapped",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version_mapped: Option<bool>,
    /// The S3 object version, on versioned buckets (`_versionId`).
    #[serde(
        rename = "_versionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version_id: Option<String>,
    /// When the record expires, as s3db.js's TTL support writes it (`_expiresAt`).
    #[serde(
        rename = "_expiresAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Value>,
    /// Hash of the definition the record was written under (`_definitionHash`).
    #[serde(
        rename = "_definitionHash",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub definition_hash: Option<String>,
}

impl RecordMeta {
    /// Takes the [`INTERNAL_FIELDS`] out of `record` and reads them as facts; the record
    /// keeps its own fields. On failure (a record read without its internals has no
    /// `_etag`: read it with [`Resource::get_with_meta`]) the error names the field and
    /// `record` is left unchanged.
    pub fn from_record(record: &mut Record) -> Result<RecordMeta, serde_json::Error> {
        let internals: Record = INTERNAL_FIELDS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), record.get(*name)?.clone())))
            .collect();
        let meta = serde_json::from_value(Value::Object(internals))?;
        for name in INTERNAL_FIELDS {
            record.shift_remove(name);
        }
        Ok(meta)
    }
}

/// `SystemTime` as the ISO-8601 string s3db.js writes.
mod iso_time {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::clock::{parse_iso, time_iso};

    pub fn serialize<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time_iso(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_iso(&text).map(SystemTime::from).ok_or_else(|| {
            D::Error::custom(format!(
                "{text:?} is not an ISO-8601 time such as 2026-01-02T03:04:05.678Z"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_internal_field_has_a_typed_field() {
        let meta = RecordMeta {
            etag: "\"e\"".into(),
            last_modified: SystemTime::UNIX_EPOCH,
            content_length: 3,
            has_content: true,
            mime_type: "text/plain".into(),
            version: "v2".into(),
            original_version: Some("1".into()),
            version_mapped: Some(true),
            version_id: Some("x".into()),
            expires_at: Some(json!(1)),
            definition_hash: Some("sha256:0".into()),
        };
        let Value::Object(flat) = serde_json::to_value(&meta).unwrap() else {
            panic!("a struct serializes to an object")
        };
        let mut names: Vec<&str> = flat.keys().map(String::as_str).collect();
        let mut expected = INTERNAL_FIELDS.to_vec();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(flat["_lastModified"], json!("1970-01-01T00:00:00.000Z"));
        let mut record = flat.clone();
        record.insert("name".into(), json!("kept"));
        assert_eq!(RecordMeta::from_record(&mut record).unwrap(), meta);
        assert_eq!(Value::Object(record), json!({"name": "kept"}));
    }

    #[test]
    fn a_record_without_internals_is_left_alone_and_the_field_named() {
        let mut record = json!({"id": "a", "_v": "v1"}).as_object().cloned().unwrap();
        let err = RecordMeta::from_record(&mut record).unwrap_err();
        assert!(err.to_string().contains("_etag"), "{err}");
        assert_eq!(record.len(), 2);
        let mut bad_time = json!({
            "_etag": "e", "_lastModified": "soon", "_contentLength": 0,
            "_hasContent": false, "_mimeType": "x", "_v": "v1"
        })
        .as_object()
        .cloned()
        .unwrap();
        let err = RecordMeta::from_record(&mut bad_time).unwrap_err();
        assert!(err.to_string().contains("\"soon\""), "{err}");
    }
}
