//! `check` and `repair`: finding (and fixing) references to records that do not exist.

use std::collections::{HashMap, HashSet};

use s3db_core::{Database, Record};
use serde_json::Value;

use super::config::OnDelete;
use super::lookup::{field_text, id_of};
use super::{RelationError, Shared};
use crate::Result;

/// A record whose foreign key names a record that does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Dangling {
    /// The referencing record's resource.
    pub resource: String,
    /// Its id.
    pub id: String,
    /// The foreign key field.
    pub field: String,
    /// The value it holds.
    pub value: Value,
    /// The resource it should name a record of.
    pub target: String,
    /// The field of `target` the value should match (`id` unless a local key was set).
    pub key: String,
    /// The reference's delete policy, which `repair` applies.
    pub on_delete: OnDelete,
}

/// What [`super::RelationsPlugin::check`] found and [`super::RelationsPlugin::repair`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrityReport {
    /// Every dangling reference found, by resource, id and field.
    pub dangling: Vec<Dangling>,
    /// Records deleted (references with `onDelete: cascade`).
    pub deleted: usize,
    /// Foreign keys set to null (`onDelete: set null`).
    pub nulled: usize,
    /// Dangling references left as they are (`restrict` or `no action`: which fix is right
    /// is the application's choice), or whose delete a `restrict` reference refused.
    pub unfixed: usize,
}

impl IntegrityReport {
    /// Whether nothing dangles.
    pub fn is_clean(&self) -> bool {
        self.dangling.is_empty()
    }
}

/// Every dangling reference. Each resource holding a foreign key is read once (one LIST
/// per 1 000 records, one GET per record); each referenced resource is listed (ids only)
/// when the key is `id`, else read.
pub(super) async fn check(shared: &Shared, db: &Database) -> Result<Vec<Dangling>> {
    let mut records: HashMap<String, Vec<Record>> = HashMap::new();
    let mut keys: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut dangling = Vec::new();
    for reference in &shared.references {
        if !records.contains_key(&reference.child) {
            let all = db.resource(&reference.child)?.get_all().await?;
            records.insert(reference.child.clone(), all);
        }
        let target = (reference.parent.clone(), reference.key.clone());
        if !keys.contains_key(&target) {
            let parent = db.resource(&reference.parent)?;
            let present: HashSet<String> = if reference.key == "id" {
                parent.list_ids().await?.into_iter().collect()
            } else {
                parent
                    .get_all()
                    .await?
                    .iter()
                    .filter_map(|r| field_text(r, &reference.key))
                    .collect()
            };
            keys.insert(target.clone(), present);
        }
        let present = &keys[&target];
        for record in &records[&reference.child] {
            let Some(text) = field_text(record, &reference.field) else {
                continue;
            };
            if !present.contains(&text) {
                dangling.push(Dangling {
                    resource: reference.child.clone(),
                    id: id_of(record).to_owned(),
                    field: reference.field.clone(),
                    value: record[&reference.field].clone(),
                    target: reference.parent.clone(),
                    key: reference.key.clone(),
                    on_delete: reference.on_delete,
                });
            }
        }
    }
    dangling.sort_by(|a, b| (&a.resource, &a.id, &a.field).cmp(&(&b.resource, &b.id, &b.field)));
    Ok(dangling)
}

/// [`check`], then each dangling reference fixed by its policy: `cascade` deletes the
/// record (its own references cascade as on any delete), `set null` nulls the field.
pub(super) async fn repair(shared: &Shared, db: &Database) -> Result<IntegrityReport> {
    let mut report = IntegrityReport {
        dangling: check(shared, db).await?,
        ..IntegrityReport::default()
    };
    for found in &report.dangling {
        let resource = db.resource(&found.resource)?;
        let outcome = match found.on_delete {
            OnDelete::Cascade => resource
                .delete(&found.id)
                .await
                .map(|()| &mut report.deleted),
            OnDelete::SetNull => {
                let changes = Record::from_iter([(found.field.clone(), Value::Null)]);
                resource
                    .update(&found.id, changes)
                    .await
                    .map(|_| &mut report.nulled)
            }
            OnDelete::Restrict | OnDelete::NoAction => Ok(&mut report.unfixed),
        };
        match outcome {
            Ok(counter) => *counter += 1,
            // Gone meanwhile (an earlier cascade of this repair took it): nothing to fix.
            Err(s3db_core::Error::NotFound { .. }) => {}
            Err(e) if RelationError::of(&e).is_some() => report.unfixed += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}
