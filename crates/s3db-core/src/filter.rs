//! Query filters: field paths (dotted) mapped to a value (equality) or operators
//! (`$eq`, `$ne`, `$in`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`).
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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    conditions: Vec<(String, Condition)>,
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

impl Filter {
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
        Ok(Filter { conditions })
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

    /// Whether the record satisfies every condition.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        self.conditions
            .iter()
            .all(|(path, condition)| condition.holds(value_at(record, path)))
    }
}

impl Condition {
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
}
