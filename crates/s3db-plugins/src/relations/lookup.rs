//! The one batched read every relation uses: the records of a resource whose field holds
//! any of a set of values.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use s3db_core::partition::Partition;
use s3db_core::{Database, ListRequest, Record, Resource};
use s3db_storage::StorageExt;
use serde_json::{Map, Value};

use crate::Result;

/// At most this many distinct values are looked up with one partition listing each; more
/// list the whole partition once (its pages), so the listings never grow with the values.
pub const PER_VALUE_LISTINGS: usize = 8;

/// Partition listings in flight at once.
const LISTINGS_IN_FLIGHT: usize = 8;

/// Distinct key values: canonical text → the value as found (so a partition segment is
/// built from the same JSON value the record holds).
pub(super) type Keys = BTreeMap<String, Value>;

/// The canonical text of a key value: strings as they are, numbers and booleans as JSON
/// prints them; `None` for null, arrays and objects (they reference nothing).
pub(super) fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The canonical key text of `record.field`.
pub(super) fn field_text(record: &Record, field: &str) -> Option<String> {
    record.get(field).and_then(key_text)
}

/// The distinct values of `field` over `records`.
pub(super) fn keys_of<'r>(records: impl IntoIterator<Item = &'r Record>, field: &str) -> Keys {
    records
        .into_iter()
        .filter_map(|r| {
            let value = r.get(field)?;
            Some((key_text(value)?, value.clone()))
        })
        .collect()
}

/// The single-field partition on `field` whose segments are the exact values (no
/// `maxlength` cut, no date truncation), if the resource declares one.
fn partition_on<'r>(resource: &'r Resource, field: &str) -> Option<&'r Partition> {
    resource.partitions().iter().find(|p| {
        matches!(p.fields.as_slice(), [(f, rule)] if f == field
            && !rule.contains("maxlength") && !rule.starts_with("date"))
    })
}

/// The records of `resource` whose `field` holds one of `keys`, each once, in id order.
///
/// Requests (never one per caller record):
/// - `id`: one GET per distinct value;
/// - a single-field partition on `field`: one LIST per distinct value when there are at
///   most [`PER_VALUE_LISTINGS`], else one listing of the whole partition (one LIST per
///   1 000 references); then one GET per referenced record;
/// - otherwise a scan: one LIST per 1 000 records and one GET per record of the resource.
///
/// Every record returned was read and holds one of the values, so stale partition
/// references (a record moved or deleted since) are never reported.
pub(super) async fn by_field(
    db: &Database,
    resource: &Resource,
    field: &str,
    keys: &Keys,
) -> Result<Vec<Record>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let records = match partition_on(resource, field) {
        _ if field == "id" => {
            let ids: Vec<String> = keys.keys().cloned().collect();
            resource.get_many(&ids).await?
        }
        Some(partition) => {
            let ids = partition_ids(db, resource.name(), partition, field, keys).await?;
            resource.get_many(&ids).await?
        }
        None => {
            // Owned captures: a closure over borrowed data defeats the `Send` proof the
            // middleware futures need.
            let wanted: HashSet<String> = keys.keys().cloned().collect();
            let field = field.to_owned();
            resource
                .stream(&ListRequest::all())?
                .try_filter(move |r| {
                    std::future::ready(field_text(r, &field).is_some_and(|k| wanted.contains(&k)))
                })
                .try_collect()
                .await?
        }
    };
    let mut records: Vec<Record> = records
        .into_iter()
        .filter(|r| field_text(r, field).is_some_and(|k| keys.contains_key(&k)))
        .collect();
    records.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    records.dedup_by(|a, b| id_of(a) == id_of(b));
    Ok(records)
}

/// The ids referenced in `partition` under any of `keys`, sorted and distinct.
async fn partition_ids(
    db: &Database,
    resource: &str,
    partition: &Partition,
    field: &str,
    keys: &Keys,
) -> Result<Vec<String>> {
    let storage = db.storage();
    // The exact listing prefix of each value (`…/partition=p/field=value/`).
    let prefixes: HashMap<String, &str> = keys
        .iter()
        .filter_map(|(text, value)| {
            let values = Map::from_iter([(field.to_owned(), value.clone())]);
            let selector = partition.selector(resource, &values);
            Some((selector.exact_prefix()?.to_owned(), text.as_str()))
        })
        .collect();
    let listed: Vec<Vec<String>> = if prefixes.len() <= PER_VALUE_LISTINGS {
        let listings = prefixes.keys().cloned().map(|prefix| {
            let storage = storage.clone();
            async move { storage.list_keys(&prefix).await }
        });
        futures::stream::iter(listings)
            .buffer_unordered(LISTINGS_IN_FLIGHT)
            .try_collect()
            .await?
    } else {
        vec![storage.list_keys(&partition.root(resource)).await?]
    };
    let ids: BTreeSet<String> = listed
        .iter()
        .flatten()
        .filter_map(|key| {
            let (prefix, id) = key.rsplit_once("/id=")?;
            // The prefix up to and including the `/` before `id=`.
            let prefix = &key[..=prefix.len()];
            prefixes.contains_key(prefix).then(|| id.to_owned())
        })
        .collect();
    Ok(ids.into_iter().collect())
}

/// A record's id (empty when it has none).
pub(super) fn id_of(record: &Record) -> &str {
    record.get("id").and_then(Value::as_str).unwrap_or_default()
}
