//! CSV columns of a resource: one column per leaf attribute (nested fields as dotted paths),
//! with the kind of value each holds, so records convert to rows and back.
//!
//! Strings are written as they are, numbers and booleans as JSON text, arrays, objects and
//! `json` fields as JSON; an empty cell is an absent field. Fields outside the schema are
//! not written (the JSON formats keep everything).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, as is.
    Text,
    /// A JSON number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// Any JSON (arrays, objects, `json`, embeddings).
    Json,
}

/// The columns of a resource, in schema order, with their kinds.
#[derive(Debug, Clone, Default)]
pub struct ColumnKinds {
    columns: Vec<(String, Kind)>,
    kinds: HashMap<String, Kind>,
}

impl ColumnKinds {
    /// The columns of a resource's attribute definitions (fastest-validator shorthand,
    /// nested objects, `$$type`, or `{type: ...}` long forms).
    pub fn from_attributes(attributes: &Map<String, Value>) -> Self {
        let mut columns = Vec::new();
        collect(attributes, "", &mut columns);
        let kinds = columns.iter().cloned().collect();
        ColumnKinds { columns, kinds }
    }

    /// Header row: `id` then every leaf path.
    pub fn header(&self) -> Vec<String> {
        std::iter::once("id".to_owned())
            .chain(
                self.columns
                    .iter()
                    .filter(|(p, _)| p != "id")
                    .map(|(p, _)| p.clone()),
            )
            .collect()
    }

    /// The cells of `record` under [`ColumnKinds::header`].
    pub fn cells(&self, record: &Map<String, Value>) -> Vec<String> {
        self.header()
            .iter()
            .map(|path| match lookup(record, path) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) if self.kind(path) != Kind::Json => s.clone(),
                Some(other) => serde_json::to_string(other).unwrap_or_default(),
            })
            .collect()
    }

    /// A record from a CSV row under `headers`: dotted columns become nested objects, cells
    /// are converted by their column's kind (columns outside the schema stay text).
    pub fn record(
        &self,
        headers: &csv::StringRecord,
        row: &csv::StringRecord,
    ) -> Result<Map<String, Value>, String> {
        let mut record = Map::new();
        for (column, cell) in headers.iter().zip(row.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = convert(cell, self.kind(column))
                .map_err(|reason| format!("column {column:?}: {reason}"))?;
            insert_path(&mut record, column, value)
                .map_err(|reason| format!("column {column:?}: {reason}"))?;
        }
        Ok(record)
    }

    /// Types the input column `alias` like the column `path` (for inputs whose columns are
    /// renamed on import).
    pub fn alias(&mut self, alias: &str, path: &str) {
        let kind = self.kind(path);
        self.kinds.insert(alias.to_owned(), kind);
    }

    fn kind(&self, path: &str) -> Kind {
        self.kinds.get(path).copied().unwrap_or(Kind::Text)
    }
}

fn collect(attributes: &Map<String, Value>, prefix: &str, out: &mut Vec<(String, Kind)>) {
    for (name, definition) in attributes {
        if name.starts_with("$$") {
            continue;
        }
        let path = format!("{prefix}{name}");
        match definition {
            Value::String(rule) => out.push((path, kind_of_rule(rule))),
            Value::Object(nested) => match nested.get("type").and_then(Value::as_str) {
                Some(rule) if !nested.values().any(Value::is_object) => {
                    out.push((path, kind_of_rule(rule)))
                }
                _ => collect(nested, &format!("{path}."), out),
            },
            _ => out.push((path, Kind::Json)),
        }
    }
}

/// The kind of a shorthand rule (`number|min:1`, `array|items:string`, `embedding:8`...).
fn kind_of_rule(rule: &str) -> Kind {
    let head = rule.split('|').next().unwrap_or_default().trim();
    let name = head.split(':').next().unwrap_or_default();
    match name {
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "array" | "object" | "json" | "embedding" | "any" => Kind::Json,
        _ => Kind::Text,
    }
}

fn convert(cell: &str, kind: Kind) -> Result<Value, String> {
    match kind {
        Kind::Text => Ok(Value::String(cell.to_owned())),
        Kind::Boolean => match cell.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            other => Err(format!("{other:?} is not true or false")),
        },
        Kind::Number => match serde_json::from_str::<Value>(cell.trim()) {
            Ok(n @ Value::Number(_)) => Ok(n),
            _ => Err(format!("{cell:?} is not a number")),
        },
        Kind::Json => serde_json::from_str(cell).map_err(|e| format!("invalid JSON: {e}")),
    }
}

fn lookup<'a>(record: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = record.get(path) {
        return Some(value);
    }
    let (head, rest) = path.split_once('.')?;
    lookup(record.get(head)?.as_object()?, rest)
}

fn insert_path(record: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), String> {
    match path.split_once('.') {
        None => {
            record.insert(path.to_owned(), value);
            Ok(())
        }
        Some((head, rest)) => {
            let slot = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(nested) => insert_path(nested, rest, value),
                _ => Err(format!("{head:?} is both a value and an object")),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn people() -> ColumnKinds {
        let attributes = json!({
            "name": "string|required",
            "age": "number",
            "active": "boolean",
            "address": {"city": "string", "zip": "string"},
            "tags": "array|items:string",
            "meta": {"type": "object"},
        });
        ColumnKinds::from_attributes(attributes.as_object().unwrap())
    }

    #[test]
    fn nested_attributes_become_dotted_columns() {
        assert_eq!(
            people().header(),
            [
                "id",
                "name",
                "age",
                "active",
                "address.city",
                "address.zip",
                "tags",
                "meta"
            ]
        );
    }

    #[test]
    fn records_round_trip_through_rows() {
        let columns = people();
        let record = json!({"id": "p1", "name": "Ana, \"A\"", "age": 31.5, "active": false,
            "address": {"city": "Porto"}, "tags": ["a", "b"], "meta": {"k": 1}});
        let record = record.as_object().unwrap();
        let cells = columns.cells(record);
        assert_eq!(cells[5], "");
        let headers = csv::StringRecord::from(columns.header());
        let row = csv::StringRecord::from(cells);
        assert_eq!(&columns.record(&headers, &row).unwrap(), record);
    }

    #[test]
    fn bad_cells_name_their_column() {
        let columns = people();
        let headers = csv::StringRecord::from(vec!["id", "age"]);
        let row = csv::StringRecord::from(vec!["p1", "old"]);
        let err = columns.record(&headers, &row).unwrap_err();
        assert_eq!(err, "column \"age\": \"old\" is not a number");
    }
}
