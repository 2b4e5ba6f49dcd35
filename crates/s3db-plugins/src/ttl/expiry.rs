//! Reading a record's expiry: ISO-8601 timestamps or epoch milliseconds.

use s3db_core::Record;
use serde_json::Value;

use crate::clock::parse_iso;

/// Why an expiry value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "field {field:?} holds {value}, which is neither an ISO-8601 timestamp nor epoch milliseconds"
)]
pub struct InvalidExpiry {
    /// The expiry field.
    pub field: String,
    /// The value found (JSON).
    pub value: String,
}

/// The expiry in epoch milliseconds held by `record[field]`: `None` when the field is absent
/// or `null`.
pub fn expiry_millis(record: &Record, field: &str) -> Result<Option<i64>, InvalidExpiry> {
    let invalid = |value: &Value| InvalidExpiry {
        field: field.to_owned(),
        value: value.to_string(),
    };
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| invalid(value)),
        Some(value @ Value::String(text)) => {
            let text = text.trim();
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                return text.parse().map(Some).map_err(|_| invalid(value));
            }
            parse_iso(text)
                .and_then(|at| i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok())
                .map(Some)
                .ok_or_else(|| invalid(value))
        }
        Some(other) => Err(invalid(other)),
    }
}

/// Whether a soft delete already flagged the record (`field` present, not `null`/`false`).
pub fn is_flagged(record: &Record, field: &str) -> bool {
    !matches!(
        record.get(field),
        None | Some(Value::Null) | Some(Value::Bool(false))
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        let mut record = Record::new();
        record.insert("expiresAt".into(), value);
        record
    }

    #[test]
    fn reads_iso_and_epoch_millis() {
        let at = 1_700_000_000_123;
        for value in [
            json!("2023-11-14T22:13:20.123Z"),
            json!(at),
            json!(at as f64),
            json!("1700000000123"),
        ] {
            assert_eq!(expiry_millis(&record(value), "expiresAt"), Ok(Some(at)));
        }
        assert_eq!(expiry_millis(&record(Value::Null), "expiresAt"), Ok(None));
        assert_eq!(expiry_millis(&Record::new(), "expiresAt"), Ok(None));
    }

    #[test]
    fn names_the_field_of_a_bad_value() {
        for value in [json!("tomorrow"), json!(true), json!({"at": 1})] {
            let error = expiry_millis(&record(value), "expiresAt").unwrap_err();
            assert_eq!(error.field, "expiresAt");
        }
    }

    #[test]
    fn flags() {
        let mut flagged = Record::new();
        assert!(!is_flagged(&flagged, "deletedAt"));
        flagged.insert("deletedAt".into(), json!(false));
        assert!(!is_flagged(&flagged, "deletedAt"));
        flagged.insert("deletedAt".into(), json!("2024-01-01T00:00:00.000Z"));
        assert!(is_flagged(&flagged, "deletedAt"));
    }
}
