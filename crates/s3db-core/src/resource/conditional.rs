//! Optimistic concurrency across requests: the version a caller read (`_etag` of
//! [`Resource::get_with_meta`]) makes a later write conditional. The check is the store's own
//! `If-Match` on the record object, so it is atomic: two writers holding the same version
//! cannot both succeed.

use s3db_storage::ErrorKind;
use s3db_storage::etag::etags_match;
use serde_json::Value;

use super::{Loaded, Record, Resource};
use crate::clock::time_iso;
use crate::error::{Error, Result};
use crate::extend::Operation;

/// The internal fields s3db.js adds to a read record (`_etag`, `_v`…). Writes drop them, so
/// a record read with its internals can be written back as it is.
pub const INTERNAL_FIELDS: [&str; 11] = [
    "_contentLength",
    "_lastModified",
    "_hasContent",
    "_mimeType",
    "_etag",
    "_v",
    "_versionId",
    "_expiresAt",
    "_definitionHash",
    "_originalVersion",
    "_versionMapped",
];

/// The Content-Type s3db.js reports for objects stored without one.
const DEFAULT_MIME_TYPE: &str = "application/octet-stream";

/// `record` without the [`INTERNAL_FIELDS`].
pub(crate) fn strip_internals(record: &mut Record) {
    // One pass over the keys (no hashing) finds the usual case: nothing to strip.
    let is_internal = |key: &str| key.starts_with('_') && INTERNAL_FIELDS.contains(&key);
    if record.keys().any(|key| is_internal(key)) {
        record.retain(|key, _| !is_internal(key));
    }
}

impl Resource {
    /// The loaded record plus the internal fields of s3db.js's `get()` result.
    pub(crate) fn with_internals(&self, loaded: Loaded) -> Record {
        let Loaded {
            mut record,
            etag,
            version,
            facts,
            ..
        } = loaded;
        let stored = version.as_deref().unwrap_or(&self.def.version);
        let internals = [
            ("_contentLength", Value::from(facts.size)),
            (
                "_lastModified",
                Value::String(time_iso(facts.last_modified)),
            ),
            ("_hasContent", Value::Bool(facts.size > 0)),
            (
                "_mimeType",
                Value::String(
                    facts
                        .content_type
                        .unwrap_or_else(|| DEFAULT_MIME_TYPE.to_owned()),
                ),
            ),
            ("_etag", Value::String(etag)),
            ("_v", Value::String(self.def.version.clone())),
            (
                "_originalVersion",
                Value::String(stored.strip_prefix('v').unwrap_or(stored).to_owned()),
            ),
            ("_versionMapped", Value::Bool(true)),
        ];
        for (name, value) in internals {
            record.insert(name.to_owned(), value);
        }
        record
    }

    /// [`Resource::update`] only if the record is still at `version` (the `_etag` of
    /// [`Resource::get_with_meta`]): otherwise [`Error::VersionMismatch`] and nothing is
    /// written. No retry: a changed record is the caller's to re-read and decide on.
    pub async fn update_if(&self, id: &str, changes: Record, version: &str) -> Result<Record> {
        self.observed(
            "updateIf",
            Some(id),
            self.change_if(Operation::Update, id, changes, Some(version.to_owned())),
        )
        .await
    }

    /// [`Resource::patch`] only if the record is still at `version` (see
    /// [`Resource::update_if`]).
    pub async fn patch_if(&self, id: &str, changes: Record, version: &str) -> Result<Record> {
        self.observed(
            "patchIf",
            Some(id),
            self.change_if(Operation::Patch, id, changes, Some(version.to_owned())),
        )
        .await
    }

    /// [`Resource::replace`] only if the record exists and is still at `version` (see
    /// [`Resource::update_if`]).
    pub async fn replace_if(&self, id: &str, record: Record, version: &str) -> Result<Record> {
        self.observed(
            "replaceIf",
            Some(id),
            self.change_if(Operation::Replace, id, record, Some(version.to_owned())),
        )
        .await
    }

    /// [`Resource::delete`] only if the record is still at `version`: the record is first
    /// claimed with a conditional write (`If-Match: version`), so a concurrent conditional
    /// writer holding the same version fails, then deleted. [`Error::VersionMismatch`] (and
    /// nothing deleted) when it changed.
    pub async fn delete_if(&self, id: &str, version: &str) -> Result<()> {
        self.observed(
            "deleteIf",
            Some(id),
            self.delete_as(id, Some(version.to_owned())),
        )
        .await
    }

    /// Fails with [`Error::VersionMismatch`] unless `loaded` is at `expected`.
    pub(crate) fn check_version(&self, id: &str, expected: &str, loaded: &Loaded) -> Result<()> {
        match etags_match(expected, &loaded.etag) {
            true => Ok(()),
            false => Err(self.mismatch(id, expected, Some(loaded.etag.clone()))),
        }
    }

    /// The [`Error::VersionMismatch`] of a conditional write that lost its `If-Match`,
    /// naming the version stored now (one HEAD).
    pub(crate) async fn lost_condition(&self, id: &str, expected: &str) -> Error {
        match self.storage.head(&self.def.record_key(id)).await {
            Ok(head) => self.mismatch(id, expected, Some(head.meta.etag)),
            Err(e) if e.kind() == ErrorKind::NotFound => self.mismatch(id, expected, None),
            Err(e) => e.into(),
        }
    }

    /// A version mismatch on `id`.
    pub(crate) fn mismatch(&self, id: &str, expected: &str, found: Option<String>) -> Error {
        Error::VersionMismatch {
            resource: self.def.name.clone(),
            id: id.to_owned(),
            expected: expected.to_owned(),
            found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn internals_are_stripped_and_fields_kept() {
        let mut record = json!({"name": "a", "_etag": "\"x\"", "_v": "v1", "_geohash": "u"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        strip_internals(&mut record);
        assert_eq!(Value::Object(record), json!({"name": "a", "_geohash": "u"}));
    }
}
