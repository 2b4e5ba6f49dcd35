//! The typed `s3db.json` document. Unknown fields are kept verbatim so a round trip through
//! this crate never drops what another writer (s3db.js, a plugin) stored.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::registry::SchemaRegistry;
use crate::error::{Error, Result};

/// The object key of the database document, relative to the database root.
pub const METADATA_KEY: &str = "s3db.json";

/// The s3db.js version this crate writes into `s3dbVersion`.
pub const S3DBJS_VERSION: &str = "21.6.2";

/// The whole `s3db.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseDocument {
    /// Format version (`"1"`).
    #[serde(default = "format_version")]
    pub version: Value,
    /// Version of the library that wrote the file.
    #[serde(rename = "s3dbVersion", default)]
    pub s3db_version: String,
    /// Time of the last write (ISO 8601).
    #[serde(rename = "lastUpdated", default)]
    pub last_updated: String,
    /// Resources by name, in stored order.
    #[serde(default)]
    pub resources: IndexMap<String, ResourceEntry>,
    /// Fields this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn format_version() -> Value {
    Value::String("1".into())
}

/// One resource in `s3db.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceEntry {
    /// The version new writes use (`"v1"`, `"v2"`…).
    #[serde(rename = "currentVersion", default = "first_version")]
    pub current_version: String,
    /// The partitions of the current version (read first on connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Map<String, Value>>,
    /// Who defined the resource (`"user"`, or a plugin).
    #[serde(rename = "createdBy", default = "user")]
    pub created_by: String,
    /// Every version ever defined; old ones are kept verbatim.
    #[serde(default)]
    pub versions: IndexMap<String, VersionEntry>,
    /// Short-key index assignment.
    #[serde(
        rename = "schemaRegistry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_registry: Option<SchemaRegistry>,
    /// Short keys of plugin-owned attributes (kept verbatim).
    #[serde(
        rename = "pluginSchemaRegistry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub plugin_schema_registry: Option<Value>,
    /// Fields this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn first_version() -> String {
    "v1".into()
}

fn user() -> String {
    "user".into()
}

/// One version of a resource definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// `sha256:<hex>` of `{attributes, behavior, partitions}`.
    #[serde(default)]
    pub hash: String,
    /// Attribute definitions, in definition order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    /// Behavior name.
    #[serde(default = "default_behavior")]
    pub behavior: String,
    /// Whether `createdAt`/`updatedAt` are maintained.
    #[serde(default)]
    pub timestamps: bool,
    /// Partition definitions, automatic ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Map<String, Value>>,
    /// s3db.js `paranoid` option.
    #[serde(default = "yes")]
    pub paranoid: bool,
    /// s3db.js `allNestedObjectsOptional` option.
    #[serde(rename = "allNestedObjectsOptional", default = "yes")]
    pub all_nested_objects_optional: bool,
    /// s3db.js `autoDecrypt` option.
    #[serde(rename = "autoDecrypt", default = "yes")]
    pub auto_decrypt: bool,
    /// s3db.js `cache` option (omitted when undefined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    /// s3db.js `asyncEvents` option (omitted when undefined).
    #[serde(
        rename = "asyncEvents",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub async_events: Option<bool>,
    /// s3db.js `asyncPartitions` option (omitted when undefined).
    #[serde(
        rename = "asyncPartitions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub async_partitions: Option<bool>,
    /// Summary of the hooks (functions are never stored).
    #[serde(default = "empty_object")]
    pub hooks: Value,
    /// Length of generated ids.
    #[serde(rename = "idSize", default = "default_id_size")]
    pub id_size: u64,
    /// Label of the id generator (`"default"`, `"custom"`, `"incremental"`).
    #[serde(rename = "idGenerator", default = "default_generator")]
    pub id_generator: Value,
    /// When this version was created (ISO 8601).
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields this crate does not know (e.g. a legacy `map`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_behavior() -> String {
    "user-managed".into()
}

fn yes() -> bool {
    true
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn default_id_size() -> u64 {
    22
}

fn default_generator() -> Value {
    Value::String("default".into())
}

impl DatabaseDocument {
    /// A blank document (no resources) stamped `now`.
    pub fn blank(now: &str) -> Self {
        DatabaseDocument {
            version: format_version(),
            s3db_version: S3DBJS_VERSION.into(),
            last_updated: now.to_owned(),
            resources: IndexMap::new(),
            extra: Map::new(),
        }
    }

    /// Parses the stored bytes. Anything that is not a well-formed document is
    /// [`Error::Corrupt`] naming `key` — never silently replaced by a blank one. A resource
    /// whose entry is unusable (no current version, no attributes) does not fail the
    /// document: that resource alone fails when it is compiled.
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(key, format!("not a valid s3db.json document: {e}")))
    }

    /// Serializes as s3db.js does: `JSON.stringify(doc, null, 2)`.
    pub fn to_pretty_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::corrupt(METADATA_KEY, format!("cannot serialize: {e}")))
    }
}

impl ResourceEntry {
    /// The entry of the current version (checked to exist by [`DatabaseDocument::parse`]).
    pub fn current(&self) -> Option<&VersionEntry> {
        self.versions.get(&self.current_version)
    }

    /// The entry of the current version, to change in place.
    pub fn current_version_mut(&mut self) -> Option<&mut VersionEntry> {
        self.versions.get_mut(&self.current_version)
    }

    /// The name of the version after the highest `vN` present.
    pub fn next_version_name(&self) -> String {
        let max = self
            .versions
            .keys()
            .filter_map(|v| v.strip_prefix('v'))
            .filter_map(|n| n.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("v{}", max + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_documents_are_errors() {
        for bad in [&b"{not json"[..], b"[]", b"{\"resources\": 3}", b""] {
            let err = DatabaseDocument::parse("s3db.json", bad).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        }
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let text = r#"{"version":"1","s3dbVersion":"21.6.2","lastUpdated":"x","resources":{"a":{"currentVersion":"v1","partitions":{},"createdBy":"user","versions":{"v1":{"hash":"h","attributes":{"n":"string"},"behavior":"user-managed","timestamps":false,"partitions":{},"paranoid":true,"allNestedObjectsOptional":true,"autoDecrypt":true,"hooks":{},"idSize":22,"idGenerator":"default","createdAt":"t","map":{"n":"0"}}},"custom":1}},"plugins":{"x":1}}"#;
        let doc = DatabaseDocument::parse("s3db.json", text.as_bytes()).unwrap();
        let back: Value = serde_json::from_str(&doc.to_pretty_json().unwrap()).unwrap();
        let orig: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn next_version_skips_past_the_highest() {
        let text = r#"{"resources":{"a":{"currentVersion":"v1","versions":{"v1":{"attributes":{}},"v10":{"attributes":{}},"v2":{"attributes":{}}}}}}"#;
        let doc = DatabaseDocument::parse("s3db.json", text.as_bytes()).unwrap();
        assert_eq!(doc.resources["a"].next_version_name(), "v11");
    }
}
