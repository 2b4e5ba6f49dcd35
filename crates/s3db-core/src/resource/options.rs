//! List and query requests as the JSON options hooks and middleware see
//! ([`crate::extend::Payload::Options`]), s3db.js-style names: `partition`,
//! `partitionValues`, `offset`, `limit`, `concurrency`, plus `filter` and `allowScan` for
//! queries. Built only when a hook or middleware is registered.

use serde_json::{Map, Value};

use super::query::{ListRequest, QueryOptions};
use crate::error::{Error, Result};

impl ListRequest {
    /// The request as list options.
    pub(crate) fn to_options(&self) -> Map<String, Value> {
        let mut options = Map::new();
        if let Some(partition) = &self.partition {
            options.insert("partition".into(), Value::String(partition.clone()));
            options.insert("partitionValues".into(), Value::Object(self.values.clone()));
        }
        options.insert("offset".into(), Value::from(self.offset));
        options.insert("limit".into(), self.limit.map_or(Value::Null, Value::from));
        options.insert("concurrency".into(), Value::from(self.concurrency));
        options
    }

    /// The request described by list options (absent options take their defaults).
    pub(crate) fn from_options(resource: &str, options: &Map<String, Value>) -> Result<Self> {
        let partition = match options.get("partition") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(_) => return Err(bad_option(resource, "partition", "a string")),
        };
        let values = match options.get("partitionValues") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(values)) => values.clone(),
            Some(_) => return Err(bad_option(resource, "partitionValues", "an object")),
        };
        let defaults = ListRequest::default();
        Ok(ListRequest {
            partition,
            values,
            offset: size(resource, options, "offset")?.unwrap_or(defaults.offset),
            limit: size(resource, options, "limit")?,
            concurrency: size(resource, options, "concurrency")?.unwrap_or(defaults.concurrency),
        })
    }
}

impl QueryOptions {
    /// A query (filter and options) as query options.
    pub(crate) fn to_options(&self, filter: &Value) -> Map<String, Value> {
        let mut options = Map::new();
        options.insert("filter".into(), filter.clone());
        options.insert("allowScan".into(), Value::Bool(self.allow_scan));
        options.insert("offset".into(), Value::from(self.offset));
        options.insert("limit".into(), self.limit.map_or(Value::Null, Value::from));
        options.insert("concurrency".into(), Value::from(self.concurrency));
        options
    }

    /// The filter and options described by query options.
    pub(crate) fn from_options(
        resource: &str,
        options: &Map<String, Value>,
    ) -> Result<(Value, QueryOptions)> {
        let filter = options
            .get("filter")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        let allow_scan = match options.get("allowScan") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(allow)) => *allow,
            Some(_) => return Err(bad_option(resource, "allowScan", "a boolean")),
        };
        let defaults = QueryOptions::default();
        Ok((
            filter,
            QueryOptions {
                allow_scan,
                offset: size(resource, options, "offset")?.unwrap_or(defaults.offset),
                limit: size(resource, options, "limit")?,
                concurrency: size(resource, options, "concurrency")?
                    .unwrap_or(defaults.concurrency),
            },
        ))
    }
}

/// A non-negative integer option; `None` when absent or null.
fn size(resource: &str, options: &Map<String, Value>, name: &str) -> Result<Option<usize>> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad_option(resource, name, "a non-negative integer")),
    }
}

fn bad_option(resource: &str, name: &str, expected: &str) -> Error {
    Error::Unsupported {
        resource: resource.to_owned(),
        reason: format!("option {name:?} must be {expected}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_requests_round_trip_and_bad_options_are_named() {
        let request = ListRequest::partition("byStatus", json!({"status": "open"}))
            .offset(2)
            .limit(5);
        let back = ListRequest::from_options("r", &request.to_options()).unwrap();
        assert_eq!(back.partition.as_deref(), Some("byStatus"));
        assert_eq!(back.values, request.values);
        assert_eq!((back.offset, back.limit), (2, Some(5)));
        let bad = json!({"limit": -1});
        let err = ListRequest::from_options("r", bad.as_object().unwrap()).unwrap_err();
        assert!(err.to_string().contains("\"limit\""), "{err}");
    }

    #[test]
    fn query_options_round_trip() {
        let options = QueryOptions {
            limit: Some(3),
            ..QueryOptions::scanning()
        };
        let filter = json!({"age": {"$gt": 3}});
        let (f, back) = QueryOptions::from_options("r", &options.to_options(&filter)).unwrap();
        assert_eq!(f, filter);
        assert!(back.allow_scan);
        assert_eq!(back.limit, Some(3));
    }
}
