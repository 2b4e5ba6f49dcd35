//! Referential integrity: the existence check on writes, and `onDelete` (restrict, cascade,
//! set null) on deletes, as middleware.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use s3db_core::extend::{Operation, Payload};
use s3db_core::{Database, ErrorKind, Record, Resource};
use serde_json::Value;

use super::config::{OnDelete, Reference};
use super::lookup::{Keys, by_field, id_of, key_text, keys_of};
use super::{RelationError, SLUG, Shared};

/// Updates and deletes of one cascade level in flight.
const WRITES_IN_FLIGHT: usize = 10;

tokio::task_local! {
    /// Set while a planned cascade runs: the deletes it issues were planned with it, so
    /// their own middleware does not plan again.
    static CASCADING: ();
}

fn cascading() -> bool {
    CASCADING.try_with(|_| ()).is_ok()
}

/// Registers the middleware `resource` needs: the write check where it holds a checked
/// foreign key, the delete policies where it is referenced.
pub(super) fn register(shared: &Arc<Shared>, resource: &Resource) {
    let name = resource.name();
    if shared.references.iter().any(|r| r.child == name && r.check) {
        for operation in [
            Operation::Insert,
            Operation::Update,
            Operation::Patch,
            Operation::Replace,
            Operation::Upsert,
        ] {
            let shared = shared.clone();
            resource
                .middlewares()
                .register(operation, move |ctx, next| {
                    let shared = shared.clone();
                    async move {
                        let written = match &ctx.args {
                            Payload::Record(record) | Payload::Change { record, .. } => {
                                Some(record)
                            }
                            _ => None,
                        };
                        if let Some(record) = written {
                            check_targets(&shared, &ctx.resource, record).await?;
                        }
                        next.run(ctx).await
                    }
                });
        }
    }
    if shared
        .references
        .iter()
        .any(|r| r.parent == name && r.on_delete != OnDelete::NoAction)
    {
        for operation in [Operation::Delete, Operation::DeleteMany] {
            let shared = shared.clone();
            resource
                .middlewares()
                .register(operation, move |ctx, next| {
                    let shared = shared.clone();
                    async move {
                        let ids = match &ctx.args {
                            Payload::Id(id) => vec![id.clone()],
                            Payload::Ids(ids) => ids.clone(),
                            _ => Vec::new(),
                        };
                        if !cascading() && !ids.is_empty() {
                            let db = shared.database()?;
                            let plan = plan(&shared, &db, &ctx.resource, &ids).await?;
                            CASCADING.scope((), plan.run(&db)).await?;
                        }
                        next.run(ctx).await
                    }
                });
        }
    }
}

/// [`RelationError::MissingTarget`] unless every checked foreign key `record` sets names an
/// existing record. One HEAD (key `id`) or one lookup per foreign key set.
async fn check_targets(shared: &Shared, resource: &str, record: &Record) -> s3db_core::Result<()> {
    for reference in shared
        .references
        .iter()
        .filter(|r| r.child == resource && r.check)
    {
        let Some(value) = record.get(&reference.field) else {
            continue;
        };
        let Some(text) = key_text(value) else {
            continue;
        };
        let db = shared.database()?;
        let target = db.resource(&reference.parent)?;
        let found = if reference.key == "id" {
            match target.exists(&text).await {
                Ok(found) => found,
                Err(s3db_core::Error::InvalidId(_)) => false,
                Err(e) => return Err(e),
            }
        } else {
            let keys = Keys::from([(text.clone(), value.clone())]);
            !by_field(&db, &target, &reference.key, &keys)
                .await?
                .is_empty()
        };
        if !found {
            return Err(RelationError::MissingTarget {
                resource: resource.to_owned(),
                field: reference.field.clone(),
                value: text,
                target: reference.parent.clone(),
                key: reference.key.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// The writes deleting some records imply, found before any is made.
#[derive(Debug, Default)]
struct Plan {
    /// (resource, field, id): foreign keys to null.
    nulls: Vec<(String, String, String)>,
    /// Records to delete, one entry per level and resource, shallowest level first.
    deletes: Vec<(String, Vec<String>)>,
}

impl Plan {
    /// Nulls, then deletes deepest level first: every write removes references to records
    /// still present, so stopping after any write (a crash) leaves no reference to a
    /// missing record; deleting again finishes the work.
    async fn run(self, db: &Database) -> s3db_core::Result<()> {
        let nulls = self.nulls.into_iter().map(|(resource, field, id)| {
            let db = db.clone();
            async move {
                let changes = Record::from_iter([(field, Value::Null)]);
                match db.resource(&resource)?.update(&id, changes).await {
                    Ok(_) | Err(s3db_core::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        });
        futures::stream::iter(nulls)
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await?;
        for (resource, ids) in self.deletes.iter().rev() {
            db.resource(resource)?.delete_many(ids).await?;
        }
        Ok(())
    }
}

/// Walks the references below `ids` of `resource`, level by level (one batched lookup per
/// reference and level), and returns the writes to make; [`RelationError::Restricted`]
/// when a `restrict` reference holds a record that the delete does not remove.
async fn plan(
    shared: &Shared,
    db: &Database,
    resource: &str,
    ids: &[String],
) -> s3db_core::Result<Plan> {
    let roots = db.resource(resource)?.get_many(ids).await?;
    let mut doomed: HashSet<(String, String)> = roots
        .iter()
        .map(|r| (resource.to_owned(), id_of(r).to_owned()))
        .collect();
    let mut frontier = BTreeMap::from([(resource.to_owned(), roots)]);
    let mut restricted: Vec<(&Reference, Record)> = Vec::new();
    let mut plan = Plan::default();
    let mut nulled: HashSet<(String, String, String)> = HashSet::new();
    while !frontier.is_empty() {
        let mut next: BTreeMap<String, Vec<Record>> = BTreeMap::new();
        for (parent, records) in &frontier {
            for reference in shared
                .references
                .iter()
                .filter(|r| &r.parent == parent && r.on_delete != OnDelete::NoAction)
            {
                let keys = keys_of(records.iter(), &reference.key);
                let child = db.resource(&reference.child)?;
                for found in by_field(db, &child, &reference.field, &keys).await? {
                    let id = id_of(&found).to_owned();
                    match reference.on_delete {
                        OnDelete::Restrict => restricted.push((reference, found)),
                        OnDelete::SetNull => {
                            let null = (reference.child.clone(), reference.field.clone(), id);
                            if nulled.insert(null.clone()) {
                                plan.nulls.push(null);
                            }
                        }
                        OnDelete::Cascade => {
                            if doomed.insert((reference.child.clone(), id)) {
                                next.entry(reference.child.clone()).or_default().push(found);
                            }
                        }
                        OnDelete::NoAction => {}
                    }
                }
            }
        }
        for (child, records) in &next {
            let ids = records.iter().map(|r| id_of(r).to_owned()).collect();
            plan.deletes.push((child.clone(), ids));
        }
        frontier = next;
    }
    let blocking: Vec<&(&Reference, Record)> = restricted
        .iter()
        .filter(|(reference, record)| {
            !doomed.contains(&(reference.child.clone(), id_of(record).to_owned()))
        })
        .collect();
    if let Some((reference, record)) = blocking.first() {
        return Err(RelationError::Restricted {
            resource: reference.parent.clone(),
            key: reference.key.clone(),
            value: record
                .get(&reference.field)
                .and_then(key_text)
                .unwrap_or_default(),
            child: reference.child.clone(),
            field: reference.field.clone(),
            child_id: id_of(record).to_owned(),
            count: blocking.len(),
            relation: reference.declared.clone(),
        }
        .into());
    }
    // A record both nulled and deleted is only deleted.
    plan.nulls
        .retain(|(resource, _, id)| !doomed.contains(&(resource.clone(), id.clone())));
    Ok(plan)
}

impl From<RelationError> for s3db_core::Error {
    fn from(error: RelationError) -> Self {
        let kind = match error {
            RelationError::MissingTarget { .. } => ErrorKind::Validation,
            RelationError::Restricted { .. } => ErrorKind::Refused,
        };
        s3db_core::Error::plugin(SLUG, kind, error)
    }
}
