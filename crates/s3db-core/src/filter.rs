//! Query filters: field paths (dotted) mapped to a value (equality) or operators
//! (`$eq`, `$ne`, `$in`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`). A filter is a
//! conjunction: every condition must hold (there is no `$or` or `$not`).
//!
//! Filters come from JSON ([`Filter::parse`]) or from the builder ([`Filter::field`]); both
//! make the same [`Filter`], and [`Filter::to_json`] gives the JSON form
//! [`crate::Resource::query`] takes.
//!
//! ```
//! use s3db_core::filter::Filter;
//! use serde_json::json;
//!
//! let built = Filter::field("age").gte(18).and(Filter::field("status").eq("active"));
//! let parsed = Filter::parse(&json!({"age": {"$gte": 18}, "status": "active"})).unwrap();
//! assert_eq!(built, parsed);
//! assert_eq!(built.to_json().unwrap(), json!({"age": {"$gte": 18}, "status": "active"}));
//! ```
//!
//! ```
//! use s3db_core::filter::Filter;
//! use serde_json::json;
//!
//! let filter = Filter::parse(&json!({"status": "open", "profile.age": {"$gte": 18}})).unwrap();
//! let record = json!({"status": "open", "profile": {"age": 30}});
//! assert!(filter.matches(record.as_object().unwrap()));
//! assert_eq!(filter.equalities().count(), 1);
//! ```

use std::cmp::Ordering;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

/// One condition on a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Equal to the value (`{"f": v}` or `{"f": {"$eq": v}}`).
    Eq(Value),
    /// Not equal (a missing field is not equal).
    Ne(Value),
    /// Equal to one of the values.
    In(Vec<Value>),
    /// Greater than.
    Gt(Value),
    /// Greater than or equal.
    Gte(Value),
    /// Less than.
    Lt(Value),
    /// Less than or equal.
    Lte(Value),
    /// Present (non-null) or absent.
    Exists(bool),
}

/// A conjunction of conditions on dotted field paths.
///
/// The empty filter (`Filter::default()`) matches every record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    conditions: Vec<(String, Condition)>,
    /// A builder value that did not serialize: reported by [`Filter::to_json`] (and the
    /// typed queries), and the filter then matches nothing.
    invalid: Option<FilterError>,
}

/// The builder of a condition on one field: [`Filter::field`]`("age").gte(18)`.
///
/// Values are anything `Serialize` (numbers, strings, `bool`, enums with their serde names,
/// `serde_json::Value`), compared as their JSON form as [`Filter::parse`] compares them: a
/// value that does not serialize makes [`Filter::to_json`] fail naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a field filter does nothing until given a condition (eq, gte, in_…)"]
pub struct Field {
    path: String,
}

/// The values a field may take according to a filter's equality or `$in` condition (what
/// partition listings can serve).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The field path.
    pub path: String,
    /// The accepted values (one for an equality).
    pub values: Vec<Value>,
    /// Whether it comes from an equality (else from `$in`).
    pub equality: bool,
}

/// A filter that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter field {field:?}: {reason}")]
pub struct FilterError {
    /// The field path.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl Field {
    /// Equal to `value` (`{"f": value}`).
    pub fn eq(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Eq)
    }

    /// Not equal to `value` (`{"f": {"$ne": value}}`); a missing field is not equal.
    pub fn ne(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Ne)
    }

    /// Greater than `value` (`$gt`).
    pub fn gt(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Gt)
    }

    /// Greater than or equal to `value` (`$gte`).
    pub fn gte(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Gte)
    }

    /// Less than `value` (`$lt`).
    pub fn lt(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Lt)
    }

    /// Less than or equal to `value` (`$lte`).
    pub fn lte(self, value: impl Serialize) -> Filter {
        self.with(value, Condition::Lte)
    }

    /// Equal to one of `values` (`$in`).
    pub fn in_<V: Serialize>(self, values: impl IntoIterator<Item = V>) -> Filter {
        let values: Vec<V> = values.into_iter().collect();
        self.with(values, |value| match value {
            Value::Array(values) => Condition::In(values),
            other => Condition::In(vec![other]),
        })
    }

    /// Present and non-null (`{"$exists": true}`), or absent or null (`false`).
    pub fn exists(self, present: bool) -> Filter {
        Filter {
            conditions: vec![(self.path, Condition::Exists(present))],
            invalid: None,
        }
    }

    fn with(self, value: impl Serialize, condition: impl FnOnce(Value) -> Condition) -> Filter {
        match serde_json::to_value(value) {
            Ok(value) => Filter {
                conditions: vec![(self.path, condition(value))],
                invalid: None,
            },
            Err(e) => Filter {
                invalid: Some(FilterError {
                    reason: format!("the value does not serialize to JSON: {e}"),
                    field: self.path,
                }),
                conditions: Vec::new(),
            },
        }
    }
}

impl Filter {
    /// Starts a condition on the dotted field path `path` (see [`Field`]).
    pub fn field(path: impl Into<String>) -> Field {
        Field { path: path.into() }
    }

    /// Both filters' conditions: records must satisfy all of them.
    #[must_use]
    pub fn and(mut self, other: Filter) -> Filter {
        self.conditions.extend(other.conditions);
        self.invalid = self.invalid.or(other.invalid);
        self
    }

    /// Whether the filter has no condition (it matches every record).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.invalid.is_none()
    }

    /// The JSON form ([`Filter::parse`] reads it back to an equal filter when conditions
    /// on one field are given together): an equality is the plain value (`$eq` when the
    /// value is an object), other conditions are operators under the field.
    ///
    /// Fails naming the field when a builder value did not serialize, or when one field
    /// has the same operator twice with different values (a JSON object holds each
    /// operator once per field; keep the stricter bound, or use `in_`).
    pub fn to_json(&self) -> Result<Value, FilterError> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        let mut fields: IndexMap<&str, Map<String, Value>> = IndexMap::new();
        for (path, condition) in &self.conditions {
            let (operator, value) = condition.to_operator();
            let ops = fields.entry(path.as_str()).or_default();
            match ops.get(operator) {
                Some(existing) if *existing != value => {
                    return Err(FilterError {
                        field: path.clone(),
                        reason: format!(
                            "{operator} given twice ({existing} and {value}); a JSON filter \
                             holds each operator once per field, so keep one"
                        ),
                    });
                }
                _ => ops.insert(operator.to_owned(), value),
            };
        }
        let object = fields
            .into_iter()
            .map(|(path, ops)| {
                let spec = match ops.get("$eq") {
                    Some(value) if ops.len() == 1 && !value.is_object() => value.clone(),
                    _ => Value::Object(ops),
                };
                (path.to_owned(), spec)
            })
            .collect();
        Ok(Value::Object(object))
    }

    /// Parses `{"path": value | {"$op": value, …}, …}`.
    pub fn parse(filter: &Value) -> Result<Filter, FilterError> {
        let fail = |field: &str, reason: &str| FilterError {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let object = filter
            .as_object()
            .ok_or_else(|| fail("", "a filter must be a JSON object"))?;
        let mut conditions = Vec::new();
        for (path, spec) in object {
            match spec {
                Value::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    for (op, value) in ops {
                        let condition = match op.as_str() {
                            "$eq" => Condition::Eq(value.clone()),
                            "$ne" => Condition::Ne(value.clone()),
                            "$gt" => Condition::Gt(value.clone()),
                            "$gte" => Condition::Gte(value.clone()),
                            "$lt" => Condition::Lt(value.clone()),
                            "$lte" => Condition::Lte(value.clone()),
                            "$in" => Condition::In(
                                value
                                    .as_array()
                                    .ok_or_else(|| fail(path, "$in needs an array"))?
                                    .clone(),
                            ),
                            "$exists" => Condition::Exists(
                                value
                                    .as_bool()
                                    .ok_or_else(|| fail(path, "$exists needs a boolean"))?,
                            ),
                            other => return Err(fail(path, &format!("unknown operator {other}"))),
                        };
                        conditions.push((path.clone(), condition));
                    }
                }
                value => conditions.push((path.clone(), Condition::Eq(value.clone()))),
            }
        }
        Ok(Filter {
            conditions,
            invalid: None,
        })
    }

    /// The conditions, in the order given.
    pub fn conditions(&self) -> &[(String, Condition)] {
        &self.conditions
    }

    /// The equality conditions (what a partition can serve).
    pub fn equalities(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.conditions.iter().filter_map(|(path, c)| match c {
            Condition::Eq(v) => Some((path.as_str(), v)),
            _ => None,
        })
    }

    /// One choice per field with an equality or `$in` condition, in the order the fields
    /// first appear; an equality wins over an `$in` on the same field.
    pub fn choices(&self) -> Vec<Choice> {
        let mut choices: Vec<Choice> = Vec::new();
        for (path, condition) in &self.conditions {
            let choice = match condition {
                Condition::Eq(value) => Choice {
                    path: path.clone(),
                    values: vec![value.clone()],
                    equality: true,
                },
                Condition::In(values) => Choice {
                    path: path.clone(),
                    values: values.clone(),
                    equality: false,
                },
                _ => continue,
            };
            match choices.iter_mut().find(|c| c.path == *path) {
                Some(existing) if !existing.equality && choice.equality => *existing = choice,
                Some(_) => {}
                None => choices.push(choice),
            }
        }
        choices
    }

    /// The distinct field paths filtered on.
    pub fn fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = Vec::new();
        for (path, _) in &self.conditions {
            if !fields.contains(path) {
                fields.push(path.clone());
            }
        }
        fields
    }

    /// Whether the record satisfies every condition (never, for a filter whose builder
    /// value did not serialize).
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        self.invalid.is_none()
            && self
                .conditions
                .iter()
                .all(|(path, condition)| condition.holds(value_at(record, path)))
    }
}

impl Condition {
    /// The operator and operand of the JSON form.
    fn to_operator(&self) -> (&'static str, Value) {
        match self {
            Condition::Eq(v) => ("$eq", v.clone()),
            Condition::Ne(v) => ("$ne", v.clone()),
            Condition::In(values) => ("$in", Value::Array(values.clone())),
            Condition::Gt(v) => ("$gt", v.clone()),
            Condition::Gte(v) => ("$gte", v.clone()),
            Condition::Lt(v) => ("$lt", v.clone()),
            Condition::Lte(v) => ("$lte", v.clone()),
            Condition::Exists(present) => ("$exists", Value::Bool(*present)),
        }
    }

    fn holds(&self, value: Option<&Value>) -> bool {
        let present = value.filter(|v| !v.is_null());
        match self {
            Condition::Exists(wanted) => present.is_some() == *wanted,
            Condition::Eq(expected) => value.is_some_and(|v| loosely_equal(v, expected)),
            Condition::Ne(expected) => !value.is_some_and(|v| loosely_equal(v, expected)),
            Condition::In(options) => {
                value.is_some_and(|v| options.iter().any(|o| loosely_equal(v, o)))
            }
            Condition::Gt(bound) => compare(present, bound) == Some(Ordering::Greater),
            Condition::Gte(bound) => {
                matches!(
                    compare(present, bound),
                    Some(Ordering::Greater | Ordering::Equal)
                )
            }
            Condition::Lt(bound) => compare(present, bound) == Some(Ordering::Less),
            Condition::Lte(bound) => {
                matches!(
                    compare(present, bound),
                    Some(Ordering::Less | Ordering::Equal)
                )
            }
        }
    }
}

/// The value at a dotted path (`profile.city`), looking through nested objects.
pub fn value_at<'a>(record: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(direct) = record.get(path) {
        return Some(direct);
    }
    let mut parts = path.split('.');
    let mut current = record.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Order of numbers by value and of strings by code point; other pairs do not compare.
fn compare(value: Option<&Value>, bound: &Value) -> Option<Ordering> {
    match (value?, bound) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(filter: Value, record: Value) -> bool {
        Filter::parse(&filter)
            .unwrap()
            .matches(record.as_object().unwrap())
    }

    #[test]
    fn operators_hold_on_nested_paths() {
        let rec = json!({"a": 5, "s": "m", "p": {"q": 2.5}, "n": null});
        assert!(check(json!({"a": 5}), rec.clone()));
        assert!(check(json!({"a": 5.0}), rec.clone()));
        assert!(!check(json!({"a": 6}), rec.clone()));
        assert!(check(json!({"p.q": {"$gt": 2, "$lte": 2.5}}), rec.clone()));
        assert!(!check(json!({"p.q": {"$lt": 2.5}}), rec.clone()));
        assert!(check(json!({"s": {"$in": ["x", "m"]}}), rec.clone()));
        assert!(check(json!({"s": {"$gte": "a", "$ne": "z"}}), rec.clone()));
        assert!(check(json!({"missing": {"$ne": 1}}), rec.clone()));
        assert!(check(
            json!({"missing": {"$exists": false}, "n": {"$exists": false}}),
            rec.clone()
        ));
        assert!(check(json!({"a": {"$exists": true}}), rec.clone()));
        assert!(!check(json!({"s": {"$gt": 1}}), rec));
    }

    #[test]
    fn choices_prefer_equalities_and_keep_in_values() {
        let filter = Filter::parse(&json!({
            "s": {"$in": ["a", "b"]},
            "t": {"$in": [1], "$eq": 2},
            "u": {"$gt": 1}
        }))
        .unwrap();
        let choices = filter.choices();
        assert_eq!(choices.len(), 2);
        assert_eq!(choices[0].values, [json!("a"), json!("b")]);
        assert!(!choices[0].equality);
        assert_eq!((choices[1].path.as_str(), choices[1].equality), ("t", true));
        assert_eq!(choices[1].values, [json!(2)]);
    }

    #[test]
    fn bad_filters_name_the_field() {
        let err = Filter::parse(&json!({"a": {"$regex": "x"}})).unwrap_err();
        assert_eq!(err.field, "a");
        assert!(Filter::parse(&json!({"a": {"$in": 1}})).is_err());
        assert!(Filter::parse(&json!([1])).is_err());
    }

    #[derive(Serialize)]
    enum Status {
        #[serde(rename = "active")]
        Active,
    }

    #[test]
    fn every_builder_operator_equals_its_parsed_json() {
        let cases = [
            (Filter::field("a").eq(5), json!({"a": 5})),
            (
                Filter::field("a").eq(Status::Active),
                json!({"a": "active"}),
            ),
            (
                Filter::field("a").eq(json!({"x": 1})),
                json!({"a": {"$eq": {"x": 1}}}),
            ),
            (Filter::field("a").ne("x"), json!({"a": {"$ne": "x"}})),
            (Filter::field("a").gt(1.5), json!({"a": {"$gt": 1.5}})),
            (Filter::field("a").gte(2), json!({"a": {"$gte": 2}})),
            (Filter::field("a").lt("m"), json!({"a": {"$lt": "m"}})),
            (Filter::field("a").lte(false), json!({"a": {"$lte": false}})),
            (
                Filter::field("p.q").in_([1, 2]),
                json!({"p.q": {"$in": [1, 2]}}),
            ),
            (
                Filter::field("a").in_(Vec::<u8>::new()),
                json!({"a": {"$in": []}}),
            ),
            (
                Filter::field("a").exists(true),
                json!({"a": {"$exists": true}}),
            ),
            (
                Filter::field("a").exists(false),
                json!({"a": {"$exists": false}}),
            ),
            (
                Filter::field("a")
                    .gte(18)
                    .and(Filter::field("a").lt(65))
                    .and(Filter::field("s").eq("open")),
                json!({"a": {"$gte": 18, "$lt": 65}, "s": "open"}),
            ),
            (
                Filter::field("s")
                    .eq("open")
                    .and(Filter::field("s").ne("x")),
                json!({"s": {"$eq": "open", "$ne": "x"}}),
            ),
            (Filter::default(), json!({})),
        ];
        for (built, expected) in cases {
            assert_eq!(built, Filter::parse(&expected).unwrap(), "{expected}");
            assert_eq!(built.to_json().unwrap(), expected);
        }
    }

    #[test]
    fn builder_filters_match_like_their_json() {
        let rec = json!({"a": 5, "s": "m", "p": {"q": 2}});
        let record = rec.as_object().unwrap();
        let built = Filter::field("a")
            .gt(4)
            .and(Filter::field("p.q").in_([2, 3]))
            .and(Filter::field("missing").exists(false));
        assert!(built.matches(record));
        assert!(!Filter::field("s").ne("m").matches(record));
    }

    #[test]
    fn builder_failures_name_the_field() {
        let mut bad_key = std::collections::HashMap::new();
        bad_key.insert((1, 2), 3);
        let filter = Filter::field("ok")
            .eq(1)
            .and(Filter::field("weird").eq(bad_key));
        let err = filter.to_json().unwrap_err();
        assert_eq!(err.field, "weird");
        assert!(!filter.matches(json!({"ok": 1}).as_object().unwrap()));
        assert!(!filter.is_empty());
        let twice = Filter::field("a").gt(1).and(Filter::field("a").gt(2));
        let err = twice.to_json().unwrap_err();
        assert_eq!(err.field, "a");
        assert!(err.reason.contains("$gt given twice"), "{err}");
        let same = Filter::field("a").gt(1).and(Filter::field("a").gt(1));
        assert_eq!(same.to_json().unwrap(), json!({"a": {"$gt": 1}}));
    }
}
