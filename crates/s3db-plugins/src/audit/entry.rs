//! One entry of the audit trail, and how it is stored as a record of the audit resource.

use serde_json::{Map, Value};

use s3db_core::{BehaviorKind, Record, ResourceConfig};

use crate::error::{Error, Result};

/// The audit resource's partition by day (`createdAt`, `YYYY-MM-DD`).
pub(crate) const BY_DATE: &str = "byDate";
/// The audit resource's partition by audited resource (`resourceName`).
pub(crate) const BY_RESOURCE: &str = "byResource";

/// One recorded write.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The entry's id in the audit resource (sorts by time, then by order of recording in
    /// this process).
    pub id: String,
    /// The resource written.
    pub resource: String,
    /// The id of the record written.
    pub record_id: String,
    /// The operation: `insert`, `update`, `patch`, `replace`, `delete` or `deleteMany`.
    pub operation: String,
    /// Who wrote ([`s3db_core::extend::OperationContext::user`]), if known.
    pub user: Option<String>,
    /// The facts of the operation context ([`s3db_core::extend::OperationContext::metadata`]).
    pub metadata: Map<String, Value>,
    /// When (ISO-8601 UTC with milliseconds, from the plugin's clock).
    pub timestamp: String,
    /// The record before the write (masked); `None` for inserts, replaces that created the
    /// record, or when data is not recorded.
    pub before: Option<Record>,
    /// The record as stored (masked); `None` for deletes, or when data is not recorded.
    pub after: Option<Record>,
}

/// The audit resource's definition (s3db.js's audit layout, JSON as text).
pub(crate) fn resource_config(name: &str) -> ResourceConfig {
    let mut config = ResourceConfig::new(name)
        .attribute("resourceName", "string|required")
        .attribute("operation", "string|required")
        .attribute("recordId", "string|required")
        .attribute("userId", "string|optional")
        .attribute("timestamp", "string|required")
        .attribute("createdAt", "string|required")
        .attribute("oldData", "string|optional")
        .attribute("newData", "string|optional")
        .attribute("metadata", "string|optional")
        .behavior(BehaviorKind::BodyOverflow)
        .partition(BY_DATE, [("createdAt", "string")])
        .partition(BY_RESOURCE, [("resourceName", "string")]);
    config.created_by = "plugin".into();
    config
}

impl AuditEntry {
    /// The record stored in the audit resource.
    pub(crate) fn to_record(&self) -> Record {
        let mut record = Record::new();
        let mut set = |key: &str, value: String| {
            record.insert(key.to_owned(), Value::String(value));
        };
        set("id", self.id.clone());
        set("resourceName", self.resource.clone());
        set("operation", self.operation.clone());
        set("recordId", self.record_id.clone());
        if let Some(user) = &self.user {
            set("userId", user.clone());
        }
        set("timestamp", self.timestamp.clone());
        set("createdAt", self.timestamp.chars().take(10).collect());
        let text = |record: &Record| Value::Object(record.clone()).to_string();
        if let Some(before) = &self.before {
            set("oldData", text(before));
        }
        if let Some(after) = &self.after {
            set("newData", text(after));
        }
        if !self.metadata.is_empty() {
            set("metadata", text(&self.metadata));
        }
        record
    }

    /// Reads an entry back from a record of the audit resource `audits`.
    pub(crate) fn from_record(audits: &str, record: &Record) -> Result<AuditEntry> {
        let id = text(record, "id").unwrap_or_default().to_owned();
        let corrupt = |reason: String| Error::Corrupt {
            key: format!("{audits}/{id}"),
            reason,
        };
        let required = |field: &str| {
            text(record, field)
                .map(str::to_owned)
                .ok_or_else(|| corrupt(format!("field {field} is missing")))
        };
        let object = |field: &str| -> Result<Option<Map<String, Value>>> {
            match text(record, field) {
                None => Ok(None),
                Some(json) => match serde_json::from_str(json) {
                    Ok(Value::Object(object)) => Ok(Some(object)),
                    Ok(_) => Err(corrupt(format!("field {field} is not a JSON object"))),
                    Err(e) => Err(corrupt(format!("field {field}: {e}"))),
                },
            }
        };
        Ok(AuditEntry {
            resource: required("resourceName")?,
            record_id: required("recordId")?,
            operation: required("operation")?,
            user: text(record, "userId").map(str::to_owned),
            metadata: object("metadata")?.unwrap_or_default(),
            timestamp: required("timestamp")?,
            before: object("oldData")?,
            after: object("newData")?,
            id,
        })
    }
}

fn text<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_round_trip_through_records() {
        let entry = AuditEntry {
            id: "0000000000001-0000000001-abc".into(),
            resource: "users".into(),
            record_id: "u1".into(),
            operation: "update".into(),
            user: Some("ana".into()),
            metadata: json!({"request": "r-1"}).as_object().cloned().unwrap(),
            timestamp: "2024-01-02T03:04:05.678Z".into(),
            before: json!({"id": "u1", "n": 1}).as_object().cloned(),
            after: json!({"id": "u1", "n": 2}).as_object().cloned(),
        };
        let record = entry.to_record();
        assert_eq!(record["createdAt"], "2024-01-02");
        assert_eq!(record["oldData"], r#"{"id":"u1","n":1}"#);
        assert_eq!(AuditEntry::from_record("a", &record).unwrap(), entry);
    }

    #[test]
    fn a_bad_stored_entry_is_corrupt_and_named() {
        let mut record = AuditEntry {
            id: "e1".into(),
            resource: "users".into(),
            record_id: "u1".into(),
            operation: "delete".into(),
            user: None,
            metadata: Map::new(),
            timestamp: "2024-01-02T03:04:05.678Z".into(),
            before: None,
            after: None,
        }
        .to_record();
        record.insert("oldData".into(), json!("[1]"));
        let error = AuditEntry::from_record("plugin_audits", &record).unwrap_err();
        assert!(matches!(&error, Error::Corrupt { key, .. } if key == "plugin_audits/e1"));
        assert!(error.to_string().contains("oldData"));
    }
}
