//! `DIR/s3db.json`, the description of a backup: s3db.js BackupPlugin's fields plus, per
//! resource, the `file` it was written to and that file's `sha256`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::BackupError;

/// Name of the backup's description file.
pub(crate) const MANIFEST: &str = "s3db.json";

/// `DIR/s3db.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub version: String,
    pub timestamp: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub key_prefix: String,
    #[serde(default)]
    pub compressed: bool,
    pub resources: BTreeMap<String, ManifestResource>,
    #[serde(default)]
    pub total_records: u64,
    #[serde(default)]
    pub total_size: u64,
}

/// One resource of the backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestResource {
    /// `{attributes, partitions, behavior, timestamps}`: a `createResource` shape without
    /// name; absent in a backup made without schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Map<String, Value>>,
    /// Absent in some s3db.js backups: then the record count cannot be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<ManifestStats>,
    /// The record file's name inside the directory. Absent in s3db.js (and older s3db)
    /// backups, where it is `NAME.jsonl[.gz]` according to `compressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// SHA-256 (lowercase hex) of the record file's bytes as stored (compressed or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `stats` of one resource.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestStats {
    pub record_count: u64,
    /// Bytes of the record file (s3db.js counts the uncompressed bytes; not checked).
    #[serde(default)]
    pub file_size: u64,
}

impl Manifest {
    /// Reads and parses `DIR/s3db.json`.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::Manifest {
                    path,
                    reason: "it does not exist (not a backup directory, or an interrupted \
                             backup)"
                        .into(),
                });
            }
            Err(e) => return Err(BackupError::io("read", path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| BackupError::Manifest {
            path,
            reason: e.to_string(),
        })
    }

    /// The record file of resource `name`: the manifest's `file`, or for a manifest without
    /// one `NAME.jsonl[.gz]` according to `compressed` — never guessed from what exists.
    pub fn file_of(&self, name: &str, entry: &ManifestResource) -> Result<String, BackupError> {
        match &entry.file {
            Some(file) => plain_name(file).map(|()| file.clone()),
            None => data_file_name(name, self.compressed),
        }
    }
}

/// `NAME.jsonl` or `NAME.jsonl.gz`; refuses a name that is not a plain file name.
pub(crate) fn data_file_name(name: &str, compressed: bool) -> Result<String, BackupError> {
    plain_name(name)?;
    let extension = if compressed { "jsonl.gz" } else { "jsonl" };
    Ok(format!("{name}.{extension}"))
}

/// Refuses names that could leave the directory or are not a file name at all.
fn plain_name(name: &str) -> Result<(), BackupError> {
    let plain =
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if plain {
        Ok(())
    } else {
        Err(BackupError::UnsafeName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn file_names_stay_inside_the_directory() {
        assert_eq!(data_file_name("users", true).unwrap(), "users.jsonl.gz");
        assert_eq!(data_file_name("users", false).unwrap(), "users.jsonl");
        for bad in ["../x", "..", ".", "", "a\\b", "a\0"] {
            assert!(matches!(
                data_file_name(bad, false),
                Err(BackupError::UnsafeName { .. })
            ));
        }
    }

    #[test]
    fn the_s3dbjs_manifest_parses_and_names_its_files_from_compressed() {
        let manifest: Manifest = serde_json::from_value(json!({
            "version": "1.0", "timestamp": "2025-10-25T14:30:00.000Z", "bucket": "my-bucket",
            "keyPrefix": "", "compressed": true,
            "resources": {"users": {"schema": {"attributes": {}, "partitions": {}, "behavior": "body-overflow"},
                                    "stats": {"recordCount": 2, "fileSize": 1024}}},
            "totalRecords": 2, "totalSize": 1024
        }))
        .unwrap();
        let users = &manifest.resources["users"];
        assert_eq!(users.stats.as_ref().unwrap().record_count, 2);
        assert_eq!(manifest.file_of("users", users).unwrap(), "users.jsonl.gz");
        assert!(users.sha256.is_none());
        let bare: Manifest = serde_json::from_value(json!({
            "version": "1.0", "timestamp": "2025-10-25T14:30:00.000Z",
            "resources": {"users": {}}
        }))
        .unwrap();
        let users = &bare.resources["users"];
        assert!(users.schema.is_none() && users.stats.is_none());
        assert_eq!(bare.file_of("users", users).unwrap(), "users.jsonl");
    }

    #[test]
    fn a_file_named_by_the_manifest_must_be_a_plain_name() {
        let manifest: Manifest = serde_json::from_value(json!({
            "version": "1.0", "timestamp": "t",
            "resources": {"users": {"file": "../../etc/passwd"}}
        }))
        .unwrap();
        let err = manifest
            .file_of("users", &manifest.resources["users"])
            .unwrap_err();
        assert!(err.to_string().contains("../../etc/passwd"), "{err}");
    }
}
