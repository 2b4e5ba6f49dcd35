//! Masking: configured paths and secret fields replaced by `"***"` before a record is stored
//! in the trail.

use s3db_core::Record;
use s3db_core::schema::Schema;
use serde_json::Value;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// Dotted paths of the fields of `attributes` that must never be stored in clear: `secret`
/// fields (encrypted in the resource) and `password` fields (one-way hashed there).
pub(crate) fn secret_paths(
    attributes: &serde_json::Map<String, Value>,
) -> Result<Vec<String>, String> {
    let schema = Schema::parse(attributes).map_err(|e| e.to_string())?;
    Ok(schema
        .fields()
        .iter()
        .filter(|field| field.secret || field.rule.type_name() == "password")
        .map(|field| field.path.clone())
        .collect())
}

/// Replaces the value at each dotted path of `paths` present in `record` with [`MASK`]
/// (`null` stays `null`: there is nothing to hide).
pub(crate) fn mask<'a>(record: &mut Record, paths: impl IntoIterator<Item = &'a String>) {
    for path in paths {
        mask_path(record, path);
    }
}

fn mask_path(record: &mut Record, path: &str) {
    let mut segments = path.split('.').peekable();
    let mut object = record;
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            if let Some(value) = object.get_mut(segment)
                && !value.is_null()
            {
                *value = Value::String(MASK.to_owned());
            }
            return;
        }
        match object.get_mut(segment) {
            Some(Value::Object(inner)) => object = inner,
            _ => return,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_and_password_fields_are_found_at_any_depth() {
        let attributes = json!({
            "name": "string",
            "token": "secret|required",
            "login": {"password": "password", "hint": "string"},
            "keys": {"$$type": "object", "api": "secret"},
        });
        let paths = secret_paths(attributes.as_object().unwrap()).unwrap();
        assert_eq!(paths, ["token", "login.password", "keys.api"]);
    }

    #[test]
    fn present_values_are_masked_and_missing_paths_ignored() {
        let mut record = json!({"a": 1, "p": {"ssn": "123", "x": null}, "q": "s"})
            .as_object()
            .cloned()
            .unwrap();
        let paths: Vec<String> = ["a", "p.ssn", "p.x", "p.none", "q.deep", "zz"]
            .iter()
            .map(|p| p.to_string())
            .collect();
        mask(&mut record, &paths);
        assert_eq!(
            Value::Object(record),
            json!({"a": "***", "p": {"ssn": "***", "x": null}, "q": "s"})
        );
    }
}
