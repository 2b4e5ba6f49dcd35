//! `include`: loading related records for a batch of records, one batch per relation and
//! level.

use std::collections::{BTreeMap, HashMap};

use futures::future::BoxFuture;
use s3db_core::{Database, Record};
use serde_json::Value;

use super::config::{Kind, RelationsConfig};
use super::lookup::{by_field, field_text, id_of, keys_of};
use crate::Result;

/// Which relations to load, nested: `Include::paths(["posts.comments", "profile"])`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Include(BTreeMap<String, Include>);

impl Include {
    /// Nothing to include.
    pub fn new() -> Include {
        Include::default()
    }

    /// The relations named by dotted paths (`"posts.comments"` includes `posts` and, in
    /// each post, `comments`).
    pub fn paths<I, S>(paths: I) -> Include
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut include = Include::new();
        for path in paths {
            let mut node = &mut include;
            for part in path.as_ref().split('.').filter(|p| !p.is_empty()) {
                node = node.0.entry(part.to_owned()).or_default();
            }
        }
        include
    }

    /// Adds the relation `name`, with `nested` relations loaded inside it.
    pub fn relation(mut self, name: &str, nested: Include) -> Include {
        self.0.insert(name.to_owned(), nested);
        self
    }

    /// Whether nothing is included.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Fills each relation of `include` into `records` of `owner` (see [`Include`]): an array
/// for `hasMany`/`belongsToMany` (in id order), a record or null for `hasOne`/`belongsTo`.
/// One batched lookup per relation serves every record; nested relations are loaded once
/// for all related records of the level.
pub(super) fn load<'a>(
    config: &'a RelationsConfig,
    db: &'a Database,
    owner: &'a str,
    records: &'a mut [Record],
    include: &'a Include,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        for (name, nested) in &include.0 {
            let relation = config.get(owner, name)?;
            let related = db.resource(&relation.resource)?;
            match relation.kind {
                Kind::HasOne | Kind::HasMany => {
                    let keys = keys_of(records.iter(), &relation.local_key);
                    let mut children = by_field(db, &related, &relation.foreign_key, &keys).await?;
                    load(config, db, &relation.resource, &mut children, nested).await?;
                    let groups = group_by(children, &relation.foreign_key);
                    for record in records.iter_mut() {
                        let group = field_text(record, &relation.local_key)
                            .and_then(|k| groups.get(&k))
                            .cloned()
                            .unwrap_or_default();
                        let value = match relation.kind {
                            Kind::HasOne => {
                                group.into_iter().next().map_or(Value::Null, Value::Object)
                            }
                            _ => Value::Array(group.into_iter().map(Value::Object).collect()),
                        };
                        record.insert(name.clone(), value);
                    }
                }
                Kind::BelongsTo => {
                    let keys = keys_of(records.iter(), &relation.foreign_key);
                    let mut targets = by_field(db, &related, &relation.local_key, &keys).await?;
                    load(config, db, &relation.resource, &mut targets, nested).await?;
                    let groups = group_by(targets, &relation.local_key);
                    for record in records.iter_mut() {
                        let target = field_text(record, &relation.foreign_key)
                            .and_then(|k| groups.get(&k))
                            .and_then(|g| g.first().cloned());
                        record.insert(name.clone(), target.map_or(Value::Null, Value::Object));
                    }
                }
                Kind::BelongsToMany => {
                    let (Some(through), Some(other_key)) = (&relation.through, &relation.other_key)
                    else {
                        continue;
                    };
                    let junction = db.resource(through)?;
                    let keys = keys_of(records.iter(), &relation.local_key);
                    let rows = by_field(db, &junction, &relation.foreign_key, &keys).await?;
                    let mut targets =
                        by_field(db, &related, "id", &keys_of(rows.iter(), other_key)).await?;
                    load(config, db, &relation.resource, &mut targets, nested).await?;
                    let targets: HashMap<String, Record> = targets
                        .into_iter()
                        .map(|t| (id_of(&t).to_owned(), t))
                        .collect();
                    let pairs = group_by(rows, &relation.foreign_key);
                    for record in records.iter_mut() {
                        let mut found: Vec<&Record> = field_text(record, &relation.local_key)
                            .and_then(|k| pairs.get(&k))
                            .into_iter()
                            .flatten()
                            .filter_map(|row| targets.get(&field_text(row, other_key)?))
                            .collect();
                        found.sort_by(|a, b| id_of(a).cmp(id_of(b)));
                        found.dedup_by(|a, b| id_of(a) == id_of(b));
                        let value = found.into_iter().cloned().map(Value::Object).collect();
                        record.insert(name.clone(), Value::Array(value));
                    }
                }
            }
        }
        Ok(())
    })
}

/// `records` grouped by the key text of `field` (each group keeps the id order).
fn group_by(records: Vec<Record>, field: &str) -> HashMap<String, Vec<Record>> {
    let mut groups: HashMap<String, Vec<Record>> = HashMap::new();
    for record in records {
        if let Some(key) = field_text(&record, field) {
            groups.entry(key).or_default().push(record);
        }
    }
    groups
}
