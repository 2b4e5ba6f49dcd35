//! Replicator plugin: copies every write to other stores — PostgreSQL (`PostgresTarget`,
//! crate feature `postgres`), MySQL/MariaDB (`MysqlTarget`, feature `mysql`), SQLite
//! (`SqliteTarget`, feature `sqlite`), an HTTP webhook with signed payloads
//! (`WebhookTarget`, feature `webhook`), BigQuery (`BigQueryTarget`, feature `bigquery`),
//! Amazon SQS (`SqsTarget`, feature `sqs`), another s3db database, a JSONL file or sink,
//! or a [`ReplicationTarget`] of your own.
//!
//! After-write hooks (`afterInsert`, `afterUpdate`, `afterPatch`, `afterReplace`,
//! `afterDelete`; `upsert` and `insert_many` go through them) and `deleteMany` /
//! `deleteAll` middleware put each change on the in-memory queue of every target whose
//! [`Route`] matches the resource; the write returns without waiting. Each target has a
//! worker task, started by [`Plugin::start`], that applies its queue in write order (changes
//! queued together in one batch to a target that takes batches, see
//! [`ReplicationTarget::max_batch`]), retrying failures with backoff ([`RetryPolicy`]), so a
//! slow or failing target delays no other. A change that still fails becomes a
//! [`DeadLetter`] in the plugin's storage area (`plugin=replicator/dead-letter/<target>/…`);
//! [`Replicator::retry_dead_letters`] replays them. [`Replicator::stats`] reports counts, the
//! queue length and the replication lag (write → target acknowledgement) percentiles.
//!
//! The queue is in memory. With [`ReplicatorBuilder::journal`] on, each captured change
//! is also written to the plugin's storage area (`plugin=replicator/pending/…`) before the
//! write call returns, and removed once handled: when a process dies with changes queued,
//! the next replicator started on the database replays them from the records' current
//! state (one PUT and one DELETE more per write).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::replicator::{DatabaseTarget, Replicator, Route};
//! use serde_json::json;
//!
//! let db = Database::connect("memory://replicator-doc").await?;
//! let backup = Database::connect("memory://replicator-doc-backup").await?;
//! let replicator = Arc::new(
//!     Replicator::builder()
//!         .target(DatabaseTarget::new(backup.clone()), [Route::all()])
//!         .build()?,
//! );
//! db.use_plugin(replicator.clone()).await?;
//! let users = db
//!     .create_resource(ResourceConfig::new("users").attribute("name", "string"))
//!     .await?;
//! users.insert(json!({"id": "u1", "name": "Ana"}).as_object().cloned().unwrap_or_default()).await?;
//! replicator.flush().await?;
//! assert_eq!(backup.resource("users")?.get("u1").await?["name"], "Ana");
//! assert_eq!(replicator.stats().replicated, 1);
//! db.disconnect().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Limits: the `deleteMany` middleware sees the ids as called (before `beforeDeleteMany` hooks rewrite
//! them); `delete_all` is replicated as one delete per id listed just before it. Without the
//! journal, changes still queued when the process dies are lost; with it, only a process
//! dying between a record's write and its journal entry loses that change.

#[cfg(feature = "bigquery")]
mod bigquery;
mod change;
mod database;
mod dead_letter;
#[cfg(any(feature = "webhook", feature = "bigquery"))]
mod http;
mod journal;
mod jsonl;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod retry;
mod route;
#[cfg(any(feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqs")]
mod sqs;
mod stats;
mod target;
#[cfg(feature = "webhook")]
mod webhook;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use s3db_core::extend::{
    HookPoint, MiddlewareContext, Next, Operation, Payload, Plugin, PluginContext,
};
use s3db_core::{Record, Resource};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

#[cfg(feature = "bigquery")]
pub use bigquery::{AccessToken, BIGQUERY_ENDPOINT, BigQueryTarget};
pub use change::{ChangeOp, TargetChange};
pub use database::DatabaseTarget;
pub use dead_letter::{DEAD_LETTER_PREFIX, DeadLetter};
pub use journal::PENDING_PREFIX;
pub use jsonl::{JsonlTarget, change_json, jsonl_line};
#[cfg(feature = "mysql")]
pub use mysql::MysqlTarget;
#[cfg(feature = "postgres")]
pub use postgres::PostgresTarget;
pub use retry::RetryPolicy;
pub use route::{Route, Transform};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteTarget;
#[cfg(feature = "sqs")]
pub use sqs::{SQS_BATCH, SqsTarget};
pub use stats::{LAG_WINDOW, ReplicatorStats};
pub use target::ReplicationTarget;
#[cfg(feature = "webhook")]
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookTarget, verify_webhook_signature};

use crate::clock::{SharedClock, SystemClock};
use crate::{Error, Result};
use change::SourceChange;
use dead_letter::DeadLetterStore;
use journal::{Journal, PendingEntry};
use stats::Counters;

/// The plugin's slug: its storage area is `plugin=replicator/`.
pub const SLUG: &str = "replicator";

/// Journal entries of one bulk delete written at once.
const JOURNAL_CONCURRENCY: usize = 16;

/// What a target's worker receives.
enum Message {
    Change(Arc<Queued>),
    Stop,
}

/// A captured change on its way to the workers of the targets it is routed to.
struct Queued {
    change: SourceChange,
    /// Workers that have not handled it yet; the last one settles its journal entry.
    remaining: AtomicUsize,
}

/// A target and the routes that feed it.
struct Destination {
    target: Arc<dyn ReplicationTarget>,
    routes: Vec<Route>,
}

impl Destination {
    /// Whether a route leads writes of `resource` here.
    fn takes(&self, resource: &str) -> bool {
        self.routes.iter().any(|r| r.matches(resource))
    }
}

/// State shared by the hooks, the workers and the handle.
struct Shared {
    destinations: Vec<Destination>,
    /// The queue of each destination's worker, in the order of `destinations`.
    lanes: Vec<UnboundedSender<Message>>,
    retry: RetryPolicy,
    /// The clock given; `None`: the database's.
    clock: Option<SharedClock>,
    counters: Counters,
    pending: AtomicUsize,
    running: AtomicBool,
    idle: Notify,
    context: OnceLock<PluginContext>,
    /// Whether changes are journaled ([`ReplicatorBuilder::journal`]).
    journaled: bool,
    /// This instance's token in journal keys.
    instance: String,
    /// The journal, once installed (journaled replicators only).
    journal: OnceLock<Journal>,
}

impl Shared {
    /// The clock given, else the database's (the system clock before installation).
    fn clock(&self) -> SharedClock {
        match (&self.clock, self.context.get()) {
            (Some(clock), _) => clock.clone(),
            (None, Some(ctx)) => ctx.clock().clone(),
            (None, None) => Arc::new(SystemClock),
        }
    }

    fn routed(&self, resource: &str) -> bool {
        self.destinations.iter().any(|d| d.takes(resource))
    }

    /// Queues a change for the worker of every target a route leads it to.
    async fn enqueue(&self, change: SourceChange) {
        let lanes: Vec<&UnboundedSender<Message>> = self
            .destinations
            .iter()
            .zip(&self.lanes)
            .filter(|(d, _)| d.takes(&change.resource))
            .map(|(_, lane)| lane)
            .collect();
        if lanes.is_empty() {
            worker::settle(self, &change).await;
            return;
        }
        let queued = Arc::new(Queued {
            change,
            remaining: AtomicUsize::new(lanes.len()),
        });
        for lane in lanes {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if lane.send(Message::Change(queued.clone())).is_err() {
                // The receivers live as long as the replicator: this cannot happen.
                self.done();
            }
        }
    }

    /// One queued change is processed by one worker.
    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Queues the deletes of a bulk operation; with the journal on, up to
    /// [`JOURNAL_CONCURRENCY`] entries are written at once (the ids are distinct records, so
    /// their order in the queue does not matter).
    async fn capture_deletes(&self, resource: &Arc<str>, ids: Vec<String>) {
        futures::stream::iter(ids)
            .for_each_concurrent(JOURNAL_CONCURRENCY, |id| async move {
                self.capture(resource, ChangeOp::Delete, &Payload::Id(id))
                    .await;
            })
            .await;
    }

    /// Queues the change a hook saw, after writing its journal entry (journal on).
    async fn capture(&self, resource: &Arc<str>, op: ChangeOp, payload: &Payload) {
        let (id, record) = match (op, payload) {
            (ChangeOp::Upsert, Payload::Record(record)) => (id_of(record), Some(record.clone())),
            (ChangeOp::Delete, Payload::Record(record)) => (id_of(record), None),
            (ChangeOp::Delete, Payload::Id(id)) => (Some(id.clone()), None),
            _ => (None, None),
        };
        let Some(id) = id else {
            tracing::warn!(%resource, op = op.as_str(), "replicator: a write without an id is not replicated");
            return;
        };
        let journal_key = self.journal_entry(resource, &id).await;
        self.enqueue(SourceChange {
            resource: resource.clone(),
            op,
            id,
            record,
            written: std::time::Instant::now(),
            journal_key,
        })
        .await;
    }

    /// Writes the journal entry of a change: `None` when the journal is off, or when the
    /// entry could not be written (then the change is only in memory; logged and counted).
    async fn journal_entry(&self, resource: &str, id: &str) -> Option<String> {
        let journal = self.journal.get()?;
        let entry = PendingEntry {
            resource: resource.to_owned(),
            id: id.to_owned(),
        };
        match journal.add(&entry, self.clock().now_millis()).await {
            Ok(key) => Some(key),
            Err(error) => {
                Counters::bump(&self.counters.journal_failures);
                tracing::error!(%resource, %id, %error, "replicator: the journal entry of a change could not be written");
                None
            }
        }
    }
}

fn id_of(record: &Record) -> Option<String> {
    record
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The replicator plugin; build it with [`Replicator::builder`] and install it with
/// `db.use_plugin(Arc::new(replicator))` (keep an `Arc` to read stats and flush).
pub struct Replicator {
    shared: Arc<Shared>,
    /// The workers' queues while they are stopped, in the order of the destinations.
    receivers: Mutex<Option<Vec<UnboundedReceiver<Message>>>>,
    /// The running workers, which hand their queue back when stopped.
    workers: Mutex<Option<Vec<JoinHandle<UnboundedReceiver<Message>>>>>,
}

impl std::fmt::Debug for Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let targets: Vec<&str> = self
            .shared
            .destinations
            .iter()
            .map(|d| d.target.name())
            .collect();
        f.debug_struct("Replicator")
            .field("targets", &targets)
            .field("retry", &self.shared.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Replicator`].
pub struct ReplicatorBuilder {
    destinations: Vec<Destination>,
    retry: RetryPolicy,
    clock: Option<SharedClock>,
    journaled: bool,
}

impl ReplicatorBuilder {
    /// Adds a target fed by `routes` (a resource's writes go to the target once per
    /// matching route).
    pub fn target(
        self,
        target: impl ReplicationTarget,
        routes: impl IntoIterator<Item = Route>,
    ) -> ReplicatorBuilder {
        self.shared_target(Arc::new(target), routes)
    }

    /// Adds a target you keep a handle on.
    pub fn shared_target(
        mut self,
        target: Arc<dyn ReplicationTarget>,
        routes: impl IntoIterator<Item = Route>,
    ) -> ReplicatorBuilder {
        self.destinations.push(Destination {
            target,
            routes: routes.into_iter().collect(),
        });
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> ReplicatorBuilder {
        self.retry = policy;
        self
    }

    /// The clock dating dead letters and journal entries (default: the database's,
    /// [`PluginContext::clock`]).
    pub fn clock(mut self, clock: SharedClock) -> ReplicatorBuilder {
        self.clock = Some(clock);
        self
    }

    /// Journals every captured change in the plugin's storage area until it is handled, so
    /// that changes queued by a process that died are replayed by the next replicator
    /// started on the database (default: off; costs one PUT and one DELETE per write).
    pub fn journal(mut self, on: bool) -> ReplicatorBuilder {
        self.journaled = on;
        self
    }

    /// The replicator; [`Error::Config`] if a target name is not `[A-Za-z0-9_-]+` or is
    /// used twice.
    pub fn build(self) -> Result<Replicator> {
        let mut names = std::collections::HashSet::new();
        for destination in &self.destinations {
            let name = destination.target.name();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(config_error(format!(
                    "target name {name:?} must be made of A-Z, a-z, 0-9, '_' and '-'"
                )));
            }
            if !names.insert(name) {
                return Err(config_error(format!("two targets are named {name:?}")));
            }
        }
        let (lanes, receivers) = self
            .destinations
            .iter()
            .map(|_| unbounded_channel())
            .unzip();
        Ok(Replicator {
            shared: Arc::new(Shared {
                destinations: self.destinations,
                lanes,
                retry: self.retry,
                clock: self.clock,
                counters: Counters::default(),
                pending: AtomicUsize::new(0),
                running: AtomicBool::new(false),
                idle: Notify::new(),
                context: OnceLock::new(),
                journaled: self.journaled,
                // Unique across processes whatever source the database was given.
                instance: s3db_core::id::nanoid(12, &s3db_core::random::ThreadRandom),
                journal: OnceLock::new(),
            }),
            receivers: Mutex::new(Some(receivers)),
            workers: Mutex::new(None),
        })
    }
}

fn config_error(reason: String) -> Error {
    Error::Config {
        plugin: SLUG,
        reason,
    }
}

/// What [`Replicator::retry_dead_letters`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Dead letters applied (or now skipped by their transform) and removed.
    pub replayed: usize,
    /// Dead letters that failed again (kept, with their attempts and error updated).
    pub failed: usize,
    /// Keys of dead letters that could not be read (kept untouched).
    pub corrupt: Vec<String>,
}

impl Replicator {
    /// A builder with no targets, the default retry policy and the database's clock.
    pub fn builder() -> ReplicatorBuilder {
        ReplicatorBuilder {
            destinations: Vec::new(),
            retry: RetryPolicy::default(),
            clock: None,
            journaled: false,
        }
    }

    /// Counters, queue length and lag percentiles.
    pub fn stats(&self) -> ReplicatorStats {
        self.shared
            .counters
            .snapshot(self.shared.pending.load(Ordering::SeqCst))
    }

    /// Waits until every change captured so far was applied or dead-lettered. Returns at
    /// once when the workers are not running (queued changes wait for [`Plugin::start`]).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.pending.load(Ordering::SeqCst) == 0
                || !self.shared.running.load(Ordering::SeqCst)
            {
                return;
            }
            notified.await;
        }
    }

    /// [`Replicator::wait_idle`], then flushes every target.
    pub async fn flush(&self) -> Result<()> {
        self.wait_idle().await;
        for destination in &self.shared.destinations {
            destination.target.flush().await?;
        }
        Ok(())
    }

    /// Every dead letter, oldest first per target.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let store = self.dead_letter_store()?;
        let mut letters = Vec::new();
        for key in store.keys().await? {
            letters.push(store.read(&key).await?);
        }
        Ok(letters)
    }

    /// Replays every dead letter (oldest first per target) with the retry policy, and
    /// removes those that succeed. A replay sends the record's current state — read again
    /// from the source resource, so an old payload never overwrites a newer write — and
    /// falls back to the stored payload when the source resource no longer exists.
    pub async fn retry_dead_letters(&self) -> Result<RetryReport> {
        let store = self.dead_letter_store()?;
        let mut report = RetryReport::default();
        for key in store.keys().await? {
            let letter = match store.read(&key).await {
                Ok(letter) => letter,
                Err(Error::Corrupt { key, .. }) => {
                    report.corrupt.push(key);
                    continue;
                }
                Err(other) => return Err(other),
            };
            if worker::replay(&self.shared, &store, letter).await? {
                report.replayed += 1;
            } else {
                report.failed += 1;
            }
        }
        Ok(report)
    }

    fn context(&self) -> Result<&PluginContext> {
        self.shared
            .context
            .get()
            .ok_or_else(|| config_error("the replicator is not installed on a database".into()))
    }

    fn dead_letter_store(&self) -> Result<DeadLetterStore> {
        Ok(DeadLetterStore::new(self.context()?.storage()))
    }

    /// Registers the capturing hooks and middleware on `resource`.
    fn watch(shared: &Arc<Shared>, resource: &Resource) {
        let name: Arc<str> = resource.name().into();
        let points = [
            (HookPoint::AfterInsert, ChangeOp::Upsert),
            (HookPoint::AfterUpdate, ChangeOp::Upsert),
            (HookPoint::AfterPatch, ChangeOp::Upsert),
            (HookPoint::AfterReplace, ChangeOp::Upsert),
            (HookPoint::AfterDelete, ChangeOp::Delete),
        ];
        for (point, op) in points {
            let shared = shared.clone();
            let name = name.clone();
            resource.hooks().register(point, move |_ctx, payload| {
                let shared = shared.clone();
                let name = name.clone();
                async move {
                    shared.capture(&name, op, &payload).await;
                    Ok(payload)
                }
            });
        }
        let delete_many = {
            let shared = shared.clone();
            let name = name.clone();
            move |ctx: MiddlewareContext, next: Next| {
                let shared = shared.clone();
                let name = name.clone();
                async move {
                    let ids = match &ctx.args {
                        Payload::Ids(ids) => ids.clone(),
                        _ => Vec::new(),
                    };
                    let out = next.run(ctx).await?;
                    shared.capture_deletes(&name, ids).await;
                    Ok(out)
                }
            }
        };
        resource
            .middlewares()
            .register(Operation::DeleteMany, delete_many);
        // `delete_all` names no ids: they are listed first, then deleted one by one in the
        // targets (a record inserted concurrently with the call may be missed).
        let shared = shared.clone();
        let handle = resource.clone();
        resource
            .middlewares()
            .register(Operation::DeleteAll, move |ctx, next| {
                let shared = shared.clone();
                let name = name.clone();
                let handle = handle.clone();
                async move {
                    let current = shared
                        .context
                        .get()
                        .and_then(|ctx| ctx.database().ok())
                        .and_then(|db| db.resource(&name).ok())
                        .unwrap_or(handle);
                    let ids = current.list_ids().await?;
                    let out = next.run(ctx).await?;
                    shared.capture_deletes(&name, ids).await;
                    Ok(out)
                }
            });
    }
}

#[async_trait]
impl Plugin for Replicator {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        if self.shared.context.set(ctx.clone()).is_err() {
            return Err(config_error("the replicator is already installed".into()).into());
        }
        if self.shared.journaled {
            let journal = Journal::new(ctx.storage(), self.shared.instance.clone());
            let _ = self.shared.journal.set(journal);
        }
        let shared = self.shared.clone();
        ctx.for_each_resource(move |resource| {
            if shared.routed(resource.name()) {
                Replicator::watch(&shared, &resource);
            }
        });
        Ok(())
    }

    /// Starts one worker per target. With the journal on, the first worker replays what
    /// dead processes left before it takes its queue.
    async fn start(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let receivers = self
            .receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(receivers) = receivers else {
            return Ok(()); // already running
        };
        self.shared.running.store(true, Ordering::SeqCst);
        let recover = self.shared.journal.get().is_some() && !receivers.is_empty();
        if recover {
            self.shared.pending.fetch_add(1, Ordering::SeqCst);
        }
        let handles = receivers
            .into_iter()
            .enumerate()
            .map(|(lane, receiver)| {
                let first = lane == 0 && recover;
                tokio::spawn(worker::run(self.shared.clone(), lane, receiver, first))
            })
            .collect();
        *self.workers.lock().unwrap_or_else(PoisonError::into_inner) = Some(handles);
        Ok(())
    }

    /// Applies what was queued before the call, stops the workers and flushes the targets.
    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let handles = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handles) = handles else {
            return Ok(());
        };
        for lane in &self.shared.lanes {
            let _ = lane.send(Message::Stop);
        }
        let mut receivers = Vec::with_capacity(handles.len());
        for handle in handles {
            // A worker that panicked or was cancelled: the join error is the source.
            let receiver = handle
                .await
                .map_err(|e| s3db_core::Error::plugin(SLUG, s3db_core::ErrorKind::Internal, e))?;
            receivers.push(receiver);
        }
        self.shared.running.store(false, Ordering::SeqCst);
        self.shared.idle.notify_waiters();
        *self
            .receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(receivers);
        for destination in &self.shared.destinations {
            destination.target.flush().await?;
        }
        Ok(())
    }
}
