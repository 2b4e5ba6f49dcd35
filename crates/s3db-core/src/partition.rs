//! Partition references: `resource=<r>/partition=<p>/<f1>=<v1>/…/id=<id>` objects with an
//! empty body and metadata `{_v}`, written after a record and removed with it.
//!
//! Values are escaped only where s3db.js's raw values would break the key (see [`segment`]).
//! Listing by partition matches values exactly: the prefix ends with `/` after the last value
//! segment, and keys whose shape differs (extra segments written by s3db.js for values
//! containing `/`) are filtered out.

use std::borrow::Cow;
pub mod segment;

use s3db_codec::value::format_js_number;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::small_map::get_path;

/// One declared partition: its name and fields (path, rule), sorted by path as s3db.js
/// writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Partition name, e.g. `byCity`.
    pub name: String,
    /// (field path, rule), sorted by path.
    pub fields: Vec<(String, String)>,
}

impl Partition {
    /// Parses the `partitions` object of a definition.
    pub fn parse_all(resource: &str, partitions: &Map<String, Value>) -> Result<Vec<Partition>> {
        partitions
            .iter()
            .map(|(name, def)| {
                let fields = def
                    .get("fields")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        Error::schema(
                            resource,
                            format!("partitions.{name}"),
                            "needs a `fields` object",
                        )
                    })?;
                let mut fields: Vec<(String, String)> = fields
                    .iter()
                    .map(|(path, rule)| {
                        (path.clone(), rule.as_str().unwrap_or("string").to_owned())
                    })
                    .collect();
                if fields.is_empty() {
                    return Err(Error::schema(
                        resource,
                        format!("partitions.{name}"),
                        "has no fields",
                    ));
                }
                fields.sort_by(|a, b| crate::metadata::hash::js_string_cmp(&a.0, &b.0));
                Ok(Partition {
                    name: name.clone(),
                    fields,
                })
            })
            .collect()
    }

    /// [`Error::Schema`] when a field of the partition is not an attribute of `schema`.
    pub fn check_fields(&self, resource: &str, schema: &Schema) -> Result<()> {
        match self.missing_field(schema) {
            Some(path) => Err(Error::schema(
                resource,
                format!("partitions.{}", self.name),
                format!("partition field {path:?} is not an attribute"),
            )),
            None => Ok(()),
        }
    }

    /// Whether a field of the partition no longer exists in `schema` (an orphaned partition).
    pub fn is_orphaned(&self, schema: &Schema) -> bool {
        self.missing_field(schema).is_some()
    }

    fn missing_field(&self, schema: &Schema) -> Option<&str> {
        self.fields
            .iter()
            .map(|(path, _)| path.as_str())
            .find(|path| {
                *path != "_v"
                    && schema.field(path).is_none()
                    && !schema.fields().iter().any(|f| {
                        f.path
                            .strip_prefix(path)
                            .is_some_and(|r| r.starts_with('.'))
                    })
            })
    }

    /// Whether every record with the `covered` field values has a reference here. A record
    /// with a null or missing partition field has none, so each field not covered must be
    /// `_v` or a required, non-nullable top-level attribute of `schema`.
    pub fn indexes_all_records(&self, schema: &Schema, covered: &[(String, Vec<Value>)]) -> bool {
        self.fields
            .iter()
            .filter(|(path, _)| !covered.iter().any(|(c, _)| c == path))
            .all(|(path, _)| {
                path == "_v"
                    || schema
                        .field(path)
                        .is_some_and(|f| !f.optional && !f.nullable && !path.contains('.'))
            })
    }

    /// `resource=<r>/partition=<p>/`: every reference of the partition lives below it.
    pub fn root(&self, resource: &str) -> String {
        format!("resource={resource}/partition={}/", self.name)
    }

    /// What to list for the given field values (`{"status": "open"}`, dotted or nested
    /// paths). Values of fields not given match anything.
    pub fn selector(&self, resource: &str, values: &Map<String, Value>) -> Selector {
        let mut prefix = self.root(resource);
        let mut leading = true;
        let mut leading_count = 0;
        let mut filters = Vec::new();
        for (index, (path, rule)) in self.fields.iter().enumerate() {
            let given = values
                .get(path)
                .or_else(|| get_path(values, path))
                .and_then(|v| segment_value(v, rule));
            match given {
                Some(value) if leading => {
                    prefix.push_str(path);
                    prefix.push('=');
                    prefix.push_str(&value);
                    prefix.push('/');
                    leading_count += 1;
                }
                Some(value) => filters.push((index, format!("{path}={value}"))),
                None => leading = false,
            }
        }
        Selector {
            root_len: self.root(resource).len(),
            prefix,
            filters,
            given: leading_count,
            fields: self.fields.len(),
        }
    }

    /// The selectors of every combination of `choices` (field path, accepted values): one
    /// per combination, sorted by listing prefix. `None` when an accepted value cannot be a
    /// key segment (null, for example): records holding it have no reference here, so the
    /// partition cannot serve the choice.
    pub fn selectors_for(
        &self,
        resource: &str,
        choices: &[(String, Vec<Value>)],
    ) -> Option<Vec<Selector>> {
        for (path, values) in choices {
            let rule = self.fields.iter().find(|(f, _)| f == path).map(|(_, r)| r);
            if let Some(rule) = rule
                && values.iter().any(|v| segment_value(v, rule).is_none())
            {
                return None;
            }
        }
        let mut combinations = vec![Map::new()];
        for (path, values) in choices {
            combinations = combinations
                .iter()
                .flat_map(|combination| {
                    values.iter().map(move |value| {
                        let mut next = combination.clone();
                        next.insert(path.clone(), value.clone());
                        next
                    })
                })
                .collect();
        }
        let mut selectors: Vec<Selector> = combinations
            .iter()
            .map(|values| self.selector(resource, values))
            .collect();
        selectors.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        selectors.dedup();
        Some(selectors)
    }

    /// The listing prefix s3db.js builds for these values (`buildPartitionPrefix`): the
    /// partition root without its trailing `/`, then `/<field>=<value>` for every field with
    /// a value, in field order. Page cursors carry it.
    pub fn s3dbjs_prefix(&self, resource: &str, values: &Map<String, Value>) -> String {
        let mut prefix = format!("resource={resource}/partition={}", self.name);
        for (path, rule) in &self.fields {
            let given = values
                .get(path)
                .or_else(|| get_path(values, path))
                .and_then(|v| segment_value(v, rule));
            if let Some(value) = given {
                prefix.push('/');
                prefix.push_str(path);
                prefix.push('=');
                prefix.push_str(&value);
            }
        }
        prefix
    }

    /// Whether `a` and `b` hold the same values in every field of the partition (so, at the
    /// same version, they have the same reference key).
    pub fn same_values(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
        self.fields
            .iter()
            .all(|(path, _)| path == "_v" || get_path(a, path) == get_path(b, path))
    }

    /// The reference key of a record, or `None` when any field is null or missing.
    /// `version` is the value of the `_v` field (the `byVersion` partition).
    pub fn reference_key(
        &self,
        resource: &str,
        record: &Map<String, Value>,
        version: &str,
        id: &str,
    ) -> Option<String> {
        let mut key = String::with_capacity(64);
        key.push_str("resource=");
        key.push_str(resource);
        key.push_str("/partition=");
        key.push_str(&self.name);
        for (path, rule) in &self.fields {
            let value = if path == "_v" {
                Cow::Borrowed(version)
            } else {
                segment_value(get_path(record, path)?, rule)?
            };
            key.push('/');
            key.push_str(path);
            key.push('=');
            key.push_str(&value);
        }
        key.push_str("/id=");
        key.push_str(id);
        Some(key)
    }
}

/// A partition listing: the prefix to list and the checks each listed key must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The storage listing prefix (ends with `/`).
    pub prefix: String,
    root_len: usize,
    filters: Vec<(usize, String)>,
    given: usize,
    fields: usize,
}

impl Selector {
    /// The prefix of one value tuple's references (`…/f1=v1/f2=v2/`) when every field has
    /// a value.
    pub fn exact_prefix(&self) -> Option<&str> {
        (self.given == self.fields).then_some(self.prefix.as_str())
    }

    /// The record id of a listed reference key, or `None` when the key does not have the
    /// partition's shape (one `field=value` segment per field, then `id=<id>`) or does not
    /// match the selected values.
    pub fn id_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        // Segments are found by byte: `/` is ASCII, and a byte search is several times
        // cheaper than a `char` pattern on this per-listed-key path.
        let mut rest = key.get(self.root_len..)?;
        let mut filters = self.filters.iter().peekable();
        for seen in 0..self.fields {
            let end = rest.bytes().position(|b| b == b'/')?;
            let segment = rest.get(..end)?;
            if let Some((_, wanted)) = filters.next_if(|(index, _)| *index == seen)
                && segment != wanted
            {
                return None;
            }
            rest = rest.get(end + 1..)?;
        }
        let id = rest.strip_prefix("id=")?;
        (!id.bytes().any(|b| b == b'/')).then_some(id)
    }
}

/// s3db.js's `applyRule`: `maxlength:N` cuts to N UTF-16 units, a `date` rule turns an ISO
/// timestamp into `YYYY-MM-DD`, other values are `${value}`. `None` when the value cannot be
/// a key segment.
fn segment_value<'a>(value: &'a Value, rule: &str) -> Option<Cow<'a, str>> {
    let mut text = match value {
        Value::Null => return None,
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Number(n) => Cow::Owned(n.as_f64().map_or_else(|| n.to_string(), format_js_number)),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        other => Cow::Owned(other.to_string()),
    };
    if rule.contains("date") && text.contains('T') && text.contains('Z') {
        text = Cow::Owned(text.chars().take(10).collect());
    }
    if let Some(max) = rule
        .split('|')
        .find_map(|part| part.strip_prefix("maxlength:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let units: Vec<u16> = text.encode_utf16().take(max).collect();
        text = Cow::Owned(String::from_utf16_lossy(&units));
    }
    // Most values are their own segment: borrowed, not copied.
    Some(match segment::is_plain(&text) {
        true => text,
        false => Cow::Owned(segment::escape(&text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_values_compares_only_the_partition_fields() {
        let defs = json!({"byCity": {"fields": {"profile.city": "string", "_v": "string"}}});
        let part = &Partition::parse_all("users", defs.as_object().unwrap()).unwrap()[0];
        let a = json!({"name": "a", "profile": {"city": "Rio", "zip": "1"}});
        let b = json!({"name": "b", "profile": {"city": "Rio", "zip": "2"}});
        let c = json!({"name": "a", "profile": {"city": "Lima", "zip": "1"}});
        let (a, b, c) = (
            a.as_object().unwrap(),
            b.as_object().unwrap(),
            c.as_object().unwrap(),
        );
        assert!(part.same_values(a, b));
        assert!(!part.same_values(a, c));
        assert!(!part.same_values(a, &Map::new()));
    }

    #[test]
    fn fields_are_sorted_and_values_raw() {
        let defs = json!({"byRegionTier": {"fields": {"tier": "string", "region": "string"}},
                          "byCity": {"fields": {"profile.city": "string"}},
                          "byCreatedDate": {"fields": {"createdAt": "date|maxlength:10"}}});
        let parts = Partition::parse_all("users", defs.as_object().unwrap()).unwrap();
        let rec = json!({"tier": "gold", "region": "south", "profile": {"city": "São Paulo"},
                         "createdAt": "2026-11-21T13:31:39.714Z"});
        let rec = rec.as_object().unwrap();
        assert_eq!(
            parts[0].reference_key("users", rec, "v1", "u1").unwrap(),
            "resource=users/partition=byRegionTier/region=south/tier=gold/id=u1"
        );
        assert_eq!(
            parts[1].reference_key("users", rec, "v1", "u1").unwrap(),
            "resource=users/partition=byCity/profile.city=São Paulo/id=u1"
        );
        assert_eq!(
            parts[2].reference_key("users", rec, "v1", "u1").unwrap(),
            "resource=users/partition=byCreatedDate/createdAt=2026-11-21/id=u1"
        );
        let no_city = json!({"tier": "gold", "region": "south"});
        assert_eq!(
            parts[1].reference_key("users", no_city.as_object().unwrap(), "v1", "u1"),
            None
        );
    }

    #[test]
    fn listed_keys_give_their_id_only_when_shaped_and_selected() {
        let defs = json!({"byRegionTier": {"fields": {"tier": "string", "region": "string"}}});
        let part = &Partition::parse_all("users", defs.as_object().unwrap()).unwrap()[0];
        let root = "resource=users/partition=byRegionTier/";
        // `region` comes first (fields are sorted): selecting only `tier` filters the second
        // segment of each key.
        let gold = part.selector("users", json!({"tier": "gold"}).as_object().unwrap());
        let any = part.selector("users", &Map::new());
        let cases = [
            ("region=south/tier=gold/id=u1", Some("u1"), Some("u1")),
            ("region=são/tier=gold/id=ü-1", Some("ü-1"), Some("ü-1")),
            ("region=south/tier=silver/id=u1", None, Some("u1")),
            ("region=south/tier=gold/id=a/b", None, None),
            ("region=south/tier=gold/u1", None, None),
            ("region=south/id=u1", None, None),
            ("region=south/tier=gold/", None, None),
            ("region=south/tier=gold/id=", Some(""), Some("")),
            ("region=south", None, None),
        ];
        for (rest, from_gold, from_any) in cases {
            let key = format!("{root}{rest}");
            assert_eq!(gold.id_of(&key), from_gold, "{key} selecting gold");
            assert_eq!(any.id_of(&key), from_any, "{key} selecting anything");
        }
        assert_eq!(any.id_of("resource=users/partition=byRegion"), None);
    }
}
