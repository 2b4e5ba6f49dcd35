//! The middleware that records each write, and the writing of entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use s3db_core::extend::{
    Event, MiddlewareContext, Next, Operation, OperationContext, Payload, PluginContext,
    Subscription,
};
use s3db_core::{Database, Record, Resource};

use super::AuditConfig;
use super::entry::AuditEntry;
use super::mask::{mask, secret_paths};
use crate::clock::{SharedClock, iso};
use crate::error::{Error, Result};

/// The writes audited, each through a middleware on its operation.
pub(crate) const AUDITED: [Operation; 7] = [
    Operation::Insert,
    Operation::Update,
    Operation::Patch,
    Operation::Replace,
    Operation::Delete,
    Operation::DeleteMany,
    Operation::DeleteAll,
];

/// What one audited write changed.
struct Change {
    resource: String,
    operation: Operation,
    record_id: String,
    before: Option<Record>,
    after: Option<Record>,
}

/// The secret paths of one resource version (`Err`: why its schema could not be read).
type SecretPaths = Arc<Result<Vec<String>, String>>;

/// State shared by the plugin handle and its middleware.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) config: AuditConfig,
    /// The clock given; `None`: the database's.
    clock: Option<SharedClock>,
    pub(crate) ctx: OnceLock<PluginContext>,
    sequence: AtomicU64,
    failures: AtomicU64,
    /// Secret paths per resource and version.
    secrets: Mutex<HashMap<(String, String), SecretPaths>>,
}

impl Recorder {
    pub(crate) fn new(config: AuditConfig, clock: Option<SharedClock>) -> Recorder {
        Recorder {
            config,
            clock,
            ctx: OnceLock::new(),
            sequence: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            secrets: Mutex::default(),
        }
    }

    /// Audit entries that could not be written.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    pub(crate) fn database(&self) -> Result<Database> {
        let ctx = self.ctx.get().ok_or_else(|| Error::Config {
            plugin: "audit",
            reason: "the plugin is not installed on a database".into(),
        })?;
        Ok(ctx.database()?)
    }

    /// The audited resource `name` of the database.
    fn resource(&self, name: &str) -> Result<Resource> {
        Ok(self.database()?.resource(name)?)
    }

    /// Registers the audit middleware on every write operation of `resource`.
    pub(crate) fn watch(self: &Arc<Self>, resource: &Resource) {
        for operation in AUDITED {
            let recorder = self.clone();
            let events = resource.events().clone();
            resource
                .middlewares()
                .register(operation, move |call, next| {
                    let recorder = recorder.clone();
                    // Subscribed before the write, so its `Updated`/`Deleted` event (emitted
                    // inline, before the call returns) is waiting when it is done.
                    let subscription = matches!(
                        operation,
                        Operation::Update
                            | Operation::Patch
                            | Operation::Replace
                            | Operation::Delete
                    )
                    .then(|| events.subscribe());
                    async move { recorder.around(call, next, subscription).await }
                });
        }
    }

    /// Runs the write, then records what it changed.
    async fn around(
        &self,
        call: MiddlewareContext,
        next: Next,
        subscription: Option<Subscription>,
    ) -> s3db_core::Result<Payload> {
        let resource = call.resource.to_string();
        let operation = call.operation;
        let args = call.args.clone();
        let doomed = match (&args, operation) {
            (Payload::Ids(ids), Operation::DeleteMany) => self.read_existing(&resource, ids).await,
            (_, Operation::DeleteAll) => self.existing_records(&resource).await,
            _ => Vec::new(),
        };
        let out = next.run(call).await?;
        let changes = match (operation, &out) {
            (Operation::Insert, Payload::Record(after)) => vec![Change {
                record_id: id_of(after),
                before: None,
                after: Some(after.clone()),
                resource,
                operation,
            }],
            (Operation::Update | Operation::Patch | Operation::Replace, Payload::Record(after)) => {
                let record_id = id_of(after);
                let before =
                    subscription.and_then(|s| updated_before(s, &resource, &record_id, after));
                vec![Change {
                    resource,
                    operation,
                    record_id,
                    before,
                    after: Some(after.clone()),
                }]
            }
            (Operation::Delete, _) => {
                let asked = match &args {
                    Payload::Id(id) => id.clone(),
                    _ => String::new(),
                };
                let before = subscription.and_then(|s| deleted_before(s, &resource, &asked));
                vec![Change {
                    resource,
                    operation,
                    record_id: asked,
                    before,
                    after: None,
                }]
            }
            (Operation::DeleteMany | Operation::DeleteAll, _) => doomed
                .into_iter()
                .map(|(record_id, before)| Change {
                    resource: resource.clone(),
                    operation,
                    record_id,
                    before,
                    after: None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for change in changes {
            if let Err(error) = self.record(change).await {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "audit entry not written");
                if self.config.strict {
                    return Err(error.into());
                }
            }
        }
        Ok(out)
    }

    /// The ids and records of `ids` that exist now (read before a `deleteMany`).
    async fn read_existing(&self, resource: &str, ids: &[String]) -> Vec<(String, Option<Record>)> {
        let Ok(handle) = self.resource(resource) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for id in ids {
            match handle.get(id).await {
                Ok(record) => found.push((id.clone(), Some(record))),
                Err(s3db_core::Error::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(%error, %id, "audit could not read a record before deleteMany")
                }
            }
        }
        found
    }

    /// Every record of `resource` before a `deleteAll`: read whole (one GET each, run
    /// concurrently) when entries carry data, else only its id. Records that cannot be read
    /// are listed by id and recorded without `before`.
    async fn existing_records(&self, resource: &str) -> Vec<(String, Option<Record>)> {
        let handle = match self.resource(resource) {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "audit could not find the records before deleteAll");
                return Vec::new();
            }
        };
        if self.config.include_data {
            match handle.get_all().await {
                Ok(records) => {
                    return records
                        .into_iter()
                        .map(|record| (id_of(&record), Some(record)))
                        .collect();
                }
                Err(error) => {
                    tracing::warn!(%error, "audit could not read the records before deleteAll; recorded without before");
                }
            }
        }
        match handle.list_ids().await {
            Ok(ids) => ids.into_iter().map(|id| (id, None)).collect(),
            Err(error) => {
                tracing::warn!(%error, "audit could not list the records before deleteAll");
                Vec::new()
            }
        }
    }

    /// Writes the entry of one change to the audit resource.
    async fn record(&self, change: Change) -> Result<()> {
        let db = self.database()?;
        let who = OperationContext::current().unwrap_or_default();
        let clock = self.clock.as_ref().unwrap_or(db.clock());
        let now = clock.now();
        let millis = clock.now_millis().max(0);
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut entry = AuditEntry {
            id: format!(
                "{millis:013}-{sequence:010}-{}",
                s3db_core::id::nanoid(6, db.random().as_ref())
            ),
            resource: change.resource,
            record_id: change.record_id,
            operation: change.operation.as_str().to_owned(),
            user: who.user,
            metadata: who.metadata,
            timestamp: iso(now),
            before: None,
            after: None,
        };
        if self.config.include_data {
            let hidden = self.hidden_paths(&db, &entry.resource)?;
            let masked = |mut record: Record| {
                mask(&mut record, hidden.iter());
                record
            };
            entry.before = change.before.map(masked);
            entry.after = change.after.map(masked);
        }
        db.resource(&self.config.resource)?
            .insert(entry.to_record())
            .await?;
        Ok(())
    }

    /// The paths masked in records of `resource`: configured ones and secret fields.
    fn hidden_paths(&self, db: &Database, resource: &str) -> Result<Vec<String>> {
        let handle = db.resource(resource)?;
        let key = (resource.to_owned(), handle.version().to_owned());
        let cached = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let secrets = match cached {
            Some(secrets) => secrets,
            None => {
                let secrets = Arc::new(secret_paths(handle.attributes()));
                self.secrets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, secrets.clone());
                secrets
            }
        };
        // Without the schema the secret fields are unknown: record no data rather than
        // risk storing one in clear.
        let secrets = secrets.as_ref().as_ref().map_err(|reason| Error::Config {
            plugin: "audit",
            reason: format!(
                "the schema of {resource} cannot be read ({reason}): data not recorded"
            ),
        })?;
        let mut paths = self.config.mask.clone();
        paths.extend(
            self.config
                .mask_by_resource
                .get(resource)
                .into_iter()
                .flatten()
                .cloned(),
        );
        paths.extend(secrets.iter().cloned());
        Ok(paths)
    }
}

fn id_of(record: &Record) -> String {
    record
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The `before` of the `Updated` event this write emitted: the one with the same stored
/// record, else the latest for the same id.
fn updated_before(
    mut events: Subscription,
    resource: &str,
    id: &str,
    stored: &Record,
) -> Option<Record> {
    let mut fallback = None;
    while let Some(event) = events.try_recv() {
        if let Event::Updated {
            resource: r,
            id: i,
            before,
            after,
        } = event.as_ref()
            && r == resource
            && i == id
        {
            if after == stored {
                return before.clone();
            }
            fallback = before.clone();
        }
    }
    fallback
}

/// The `before` of the `Deleted` event of `id`.
fn deleted_before(mut events: Subscription, resource: &str, id: &str) -> Option<Record> {
    while let Some(event) = events.try_recv() {
        if let Event::Deleted {
            resource: r,
            id: i,
            before,
        } = event.as_ref()
            && r == resource
            && i == id
        {
            return before.clone();
        }
    }
    None
}
