//! Queue plugin (s3db.js's `S3QueuePlugin`): records of a resource become messages that
//! workers in any number of processes claim, acknowledge or fail, at least once each.
//!
//! Each message is one state object (`messages/<id>` in the resource's plugin area) changed
//! only by conditional writes ([`CasDoc`]): a claim replaces it `If-Match` the version read,
//! so of the workers racing for one delivery exactly one wins. A claim hides the message
//! for the visibility timeout; a worker that dies mid-message simply lets it expire, and the
//! next claim takes it over (counted in [`Message::redeliveries`]), so nothing is lost and a
//! message is only ever handled twice after a timeout expired. Settling (ack, nack, extend)
//! is again conditional on the version the claim wrote: a worker whose claim was taken over
//! learns it ([`Settled::LeaseLost`]) instead of overwriting the new holder's state.
//!
//! Claims do not list the queue: a ready index (`ready/<visibleAt>/<id>`, sorted by the time
//! a message becomes visible) is read from its start, one page, up to the first entry still
//! in the future. Every message not yet completed or dead has an entry no later than its
//! `visibleAt` (entries are written before and removed after the state changes that move
//! them), so an index entry can be stale but a message is never missing from it.
//!
//! | operation | requests |
//! |---|---|
//! | [`enqueue_id`](QueuePlugin::enqueue_id) | 2 PUT (index entry, then message) |
//! | [`claim`](QueuePlugin::claim) (won at the first candidate) | 1 LIST + 1 GET + 2 PUT + 1 DELETE, + 1 GET of the record |
//! | each candidate lost to another worker | + 1 GET (+ 1 PUT refused with 412 on a close race) |
//! | [`ack`](QueuePlugin::ack) | 1 PUT + 1 DELETE |
//! | [`nack`](QueuePlugin::nack) | 2 PUT + 1 DELETE (1 PUT + 1 DELETE when it goes dead) |
//! | [`extend`](QueuePlugin::extend) | 2 PUT + 1 DELETE |
//! | [`stats`](QueuePlugin::stats) | 1 LIST per 1000 messages + 1 GET per message |
//!
//! The guide with a compiled example: `docs/plugins-queue.md`.

mod message;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use s3db_core::extend::{HookPoint, Payload, Plugin, PluginContext, Veto};
use s3db_core::{Record, Resource};
use s3db_storage::{ErrorKind, ListOptions, PutMode, Storage};
use serde_json::Value;

pub use message::{Message, Status};

use crate::clock::SharedClock;
use crate::coord::{CasDoc, Versioned};
use crate::error::{Error, Result};
use crate::json_object::json_payload;
use message::{Entry, MESSAGES, READY, message_key};

/// The plugin's slug: its objects live under `resource=<R>/plugin=queue/`.
pub const SLUG: &str = "queue";

/// GETs in flight while [`QueuePlugin::stats`] reads the messages.
const STATS_READS_IN_FLIGHT: usize = 16;

/// How the queue behaves (names follow s3db.js's `S3QueuePlugin` options).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueueConfig {
    /// The resource whose records are enqueued.
    pub resource: String,
    /// How long a claim hides a message (`visibilityTimeout`, default 30 s).
    pub visibility_timeout: Duration,
    /// Deliveries after which a failed message becomes a dead letter (`maxAttempts`,
    /// default 3).
    pub max_attempts: u32,
    /// The first retry delay of a nack without one; doubled each attempt (default 1 s).
    pub retry_backoff: Duration,
    /// The largest retry delay (default 30 s, as s3db.js).
    pub max_backoff: Duration,
    /// Enqueue every record inserted into the resource (default: only explicit enqueues).
    pub enqueue_on_insert: bool,
    /// Index entries a claim reads at most (`pollBatchSize`, default 16): the candidates
    /// workers spread over instead of all racing for the oldest.
    pub poll_batch_size: usize,
}

impl QueueConfig {
    /// A queue of the records of `resource`, with s3db.js's defaults.
    pub fn new(resource: impl Into<String>) -> QueueConfig {
        QueueConfig {
            resource: resource.into(),
            visibility_timeout: Duration::from_secs(30),
            max_attempts: 3,
            retry_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            enqueue_on_insert: false,
            poll_batch_size: 16,
        }
    }

    /// Sets the visibility timeout.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = timeout;
        self
    }

    /// Sets the deliveries before a failed message goes dead.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets the first and the largest retry delay.
    pub fn retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.retry_backoff = first;
        self.max_backoff = max;
        self
    }

    /// Enqueues every inserted record.
    pub fn enqueue_on_insert(mut self, on: bool) -> Self {
        self.enqueue_on_insert = on;
        self
    }

    /// Sets how many index entries a claim reads.
    pub fn poll_batch_size(mut self, size: usize) -> Self {
        self.poll_batch_size = size;
        self
    }

    fn validate(&self) -> Result<()> {
        let problem = if self.resource.is_empty() {
            Some("`resource` is empty; name the resource whose records are enqueued")
        } else if self.visibility_timeout.is_zero() {
            Some("`visibility_timeout` is zero; a claim must hide its message for a while")
        } else if self.max_attempts == 0 {
            Some("`max_attempts` is 0; allow at least one delivery")
        } else if self.poll_batch_size == 0 || self.poll_batch_size > 1000 {
            Some("`poll_batch_size` must be 1..=1000 (one listing page)")
        } else {
            None
        };
        match problem {
            Some(reason) => Err(Error::Config {
                plugin: SLUG,
                reason: reason.into(),
            }),
            None => Ok(()),
        }
    }
}

/// A message this worker claimed: handle it, then [`ack`](QueuePlugin::ack) or
/// [`nack`](QueuePlugin::nack) it before `message.visible_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The message as the claim wrote it (`attempts` counts this delivery).
    pub message: Message,
    /// The record it is about (`None` if it was deleted meanwhile).
    pub record: Option<Record>,
    etag: String,
}

/// How settling a delivery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Done as asked.
    Done,
    /// A nack made the message a dead letter (its attempts were used up).
    Dead,
    /// The visibility timeout had expired and another worker claimed the message: this
    /// delivery no longer counts and nothing was written.
    LeaseLost,
}

/// Counts of the queue's messages by state (as of one pass over them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Waiting for a worker (including retries whose delay has not passed).
    pub pending: u64,
    /// Claimed, visibility timeout not expired.
    pub in_flight: u64,
    /// Claimed, but the timeout expired: the next claim takes it over.
    pub expired: u64,
    /// Acknowledged.
    pub done: u64,
    /// Dead letters.
    pub dead: u64,
    /// Deliveries that took over an expired claim, over all messages.
    pub redeliveries: u64,
    /// Deliveries after a nack, over all messages.
    pub retries: u64,
}

/// The queue plugin. Install it on a database that has (or will have) the resource; keep a
/// clone of the `Arc` to enqueue and claim. Clones share the installation.
#[derive(Clone)]
pub struct QueuePlugin {
    config: Arc<QueueConfig>,
    clock: Option<SharedClock>,
    worker: Arc<str>,
    ctx: Arc<OnceLock<PluginContext>>,
}

impl fmt::Debug for QueuePlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuePlugin")
            .field("config", &self.config)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl QueuePlugin {
    /// A queue per `config`, reading "now" from the database's clock; [`Error::Config`]
    /// names what cannot work.
    pub fn new(config: QueueConfig) -> Result<QueuePlugin> {
        QueuePlugin::build(config, None)
    }

    /// Like [`QueuePlugin::new`], with "now" from `clock`.
    pub fn with_clock(config: QueueConfig, clock: SharedClock) -> Result<QueuePlugin> {
        QueuePlugin::build(config, Some(clock))
    }

    fn build(config: QueueConfig, clock: Option<SharedClock>) -> Result<QueuePlugin> {
        config.validate()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(QueuePlugin {
            config: Arc::new(config),
            clock,
            worker: format!("{:x}-{nanos:x}", std::process::id()).into(),
            ctx: Arc::new(OnceLock::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// This worker's id (in [`Message::claimed_by`]).
    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    fn ctx(&self) -> Result<&PluginContext> {
        self.ctx.get().ok_or_else(|| Error::Config {
            plugin: SLUG,
            reason: "the plugin is not installed on a database".into(),
        })
    }

    fn area(&self) -> Result<Arc<dyn Storage>> {
        Ok(self.ctx()?.resource_storage(&self.config.resource))
    }

    fn now(&self) -> Result<i64> {
        let ctx = self.ctx()?;
        Ok(self.clock.as_ref().unwrap_or(ctx.clock()).now_millis())
    }

    fn resource(&self) -> Result<Resource> {
        Ok(self.ctx()?.database()?.resource(&self.config.resource)?)
    }

    fn token(&self) -> Result<String> {
        Ok(s3db_core::id::nanoid(16, self.ctx()?.random().as_ref()))
    }

    /// Inserts `record` into the resource and enqueues it (s3db.js's `resource.enqueue`);
    /// returns the record as stored. With [`QueueConfig::enqueue_on_insert`] the insert
    /// hook enqueues it.
    pub async fn enqueue(&self, record: Record) -> Result<Record> {
        let stored = self.resource()?.insert(record).await?;
        if !self.config.enqueue_on_insert {
            let id = stored.get("id").and_then(Value::as_str).unwrap_or_default();
            self.enqueue_id(id).await?;
        }
        Ok(stored)
    }

    /// Enqueues the record `id` (which need not exist yet): 2 PUTs, the index entry first,
    /// so a crash in between leaves an entry without a message (removed by a later claim)
    /// rather than a message no claim can find.
    pub async fn enqueue_id(&self, id: &str) -> Result<Message> {
        if id.is_empty() {
            return Err(Error::Config {
                plugin: SLUG,
                reason: "enqueue_id needs a record id; got an empty one".into(),
            });
        }
        let (storage, now) = (self.area()?, self.now()?);
        let message = Message {
            id: s3db_core::id::nanoid(21, self.ctx()?.random().as_ref()),
            original_id: id.to_owned(),
            status: Status::Pending,
            visible_at: now,
            attempts: 0,
            max_attempts: self.config.max_attempts,
            queued_at: now,
            claimed_by: None,
            claimed_at: None,
            lock_token: None,
            error: None,
            completed_at: None,
            redeliveries: 0,
            retries: 0,
        };
        put_entry(&storage, &Entry::new(now, &message.id)).await?;
        let created = self.doc(&storage, &message.id).create(&message).await?;
        match created {
            Some(_) => Ok(message),
            None => Err(Error::Corrupt {
                key: message_key(&message.id),
                reason: "a message with this fresh id already exists".into(),
            }),
        }
    }

    fn doc(&self, storage: &Arc<dyn Storage>, id: &str) -> CasDoc<Message> {
        CasDoc::new(storage.clone(), message_key(id))
    }

    /// Claims the next visible message, or `None` when no message is visible now. Reads one
    /// page of the ready index (up to [`QueueConfig::poll_batch_size`] entries already due)
    /// and tries them from a random point, so concurrent workers rarely race for the same
    /// message; tidies the stale entries it meets.
    pub async fn claim(&self) -> Result<Option<Delivery>> {
        let (storage, now) = (self.area()?, self.now()?);
        let due: Vec<Entry> = storage
            .list(ListOptions {
                prefix: READY.into(),
                start_after: None,
                page_size: Some(self.config.poll_batch_size),
            })
            .take(self.config.poll_batch_size)
            .try_collect::<Vec<_>>()
            .await?
            .iter()
            .filter_map(|meta| Entry::parse(&meta.key))
            .take_while(|entry| entry.at <= now)
            .collect();
        if due.is_empty() {
            return Ok(None);
        }
        let start =
            usize::try_from(self.ctx()?.random().next_u64() % due.len() as u64).unwrap_or_default();
        for entry in due[start..].iter().chain(&due[..start]) {
            if let Some(delivery) = self.try_claim(&storage, entry, now).await? {
                return Ok(Some(delivery));
            }
        }
        Ok(None)
    }

    /// Claims the message of `entry` if it is claimable now; otherwise tidies the entry.
    async fn try_claim(
        &self,
        storage: &Arc<dyn Storage>,
        entry: &Entry,
        now: i64,
    ) -> Result<Option<Delivery>> {
        let doc = self.doc(storage, &entry.id);
        let Some(Versioned {
            value: current,
            etag,
        }) = doc.load().await?
        else {
            // An enqueue writes the entry first: only an old entry without a message is an
            // orphan (its enqueue died).
            if entry.at < now - millis(self.config.visibility_timeout) {
                delete(storage, &entry.key()).await?;
            }
            return Ok(None);
        };
        if current.status.is_terminal() {
            delete(storage, &entry.key()).await?;
            return Ok(None);
        }
        if current.visible_at > now {
            // Stale (the message moved later): make sure the right entry exists, then drop
            // this one.
            if current.visible_at != entry.at {
                put_entry(storage, &Entry::new(current.visible_at, &entry.id)).await?;
                delete(storage, &entry.key()).await?;
            }
            return Ok(None);
        }
        let expired = current.status == Status::Processing;
        let mut next = current.clone();
        if expired && current.attempts >= current.max_attempts {
            next.status = Status::Dead;
            next.error = Some(format!(
                "the visibility timeout expired on each of {} deliveries",
                current.attempts
            ));
            next.lock_token = None;
            if doc.replace(&next, &etag).await?.is_some() {
                delete(storage, &entry.key()).await?;
            }
            return Ok(None);
        }
        next.status = Status::Processing;
        next.attempts += 1;
        next.visible_at = now + millis(self.config.visibility_timeout);
        next.claimed_by = Some(self.worker.to_string());
        next.claimed_at = Some(now);
        next.lock_token = Some(self.token()?);
        next.redeliveries += u32::from(expired);
        let Some(etag) = doc.replace(&next, &etag).await? else {
            return Ok(None);
        };
        // Won. The old entry stays until the new one exists: a crash in between leaves an
        // early entry, which the next claim moves.
        self.move_entry(storage, entry, next.visible_at).await?;
        let record = match self.resource()?.get(&next.original_id).await {
            Ok(record) => Some(record),
            Err(e) if e.kind() == s3db_core::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Delivery {
            message: next,
            record,
            etag,
        }))
    }

    async fn move_entry(&self, storage: &Arc<dyn Storage>, from: &Entry, to: i64) -> Result<()> {
        if from.at != to {
            put_entry(storage, &Entry::new(to, &from.id)).await?;
            delete(storage, &from.key()).await?;
        }
        Ok(())
    }

    /// Acknowledges a delivery: the message is done. [`Settled::LeaseLost`] if its
    /// visibility timeout expired and another worker claimed it since.
    pub async fn ack(&self, delivery: &Delivery) -> Result<Settled> {
        let (storage, now) = (self.area()?, self.now()?);
        let mut done = delivery.message.clone();
        done.status = Status::Completed;
        done.completed_at = Some(now);
        done.lock_token = None;
        let doc = self.doc(&storage, &done.id);
        if doc.replace(&done, &delivery.etag).await?.is_none() {
            return Ok(Settled::LeaseLost);
        }
        delete(
            &storage,
            &Entry::new(delivery.message.visible_at, &done.id).key(),
        )
        .await?;
        Ok(Settled::Done)
    }

    /// Fails a delivery with `error`: the message is retried after `delay` (`None`: the
    /// configured backoff, doubled per attempt) or, its attempts used up, becomes a dead
    /// letter ([`Settled::Dead`]).
    pub async fn nack(
        &self,
        delivery: &Delivery,
        error: &str,
        delay: Option<Duration>,
    ) -> Result<Settled> {
        let (storage, now) = (self.area()?, self.now()?);
        let held = Entry::new(delivery.message.visible_at, &delivery.message.id);
        let doc = self.doc(&storage, &held.id);
        let mut next = delivery.message.clone();
        next.error = Some(error.to_owned());
        next.lock_token = None;
        if next.attempts >= next.max_attempts {
            next.status = Status::Dead;
            if doc.replace(&next, &delivery.etag).await?.is_none() {
                return Ok(Settled::LeaseLost);
            }
            delete(&storage, &held.key()).await?;
            return Ok(Settled::Dead);
        }
        let delay = delay.unwrap_or_else(|| self.backoff(next.attempts));
        next.status = Status::Pending;
        next.visible_at = now + millis(delay);
        next.retries += 1;
        // The new entry first: the message is never later than its earliest entry.
        let retry = Entry::new(next.visible_at, &next.id);
        put_entry(&storage, &retry).await?;
        if doc.replace(&next, &delivery.etag).await?.is_none() {
            return Ok(Settled::LeaseLost);
        }
        if retry.at != held.at {
            delete(&storage, &held.key()).await?;
        }
        Ok(Settled::Done)
    }

    /// Holds a delivery `by` longer (from now), for handlers that run long; the delivery
    /// then carries the new version. [`Settled::LeaseLost`] if it was taken over already.
    pub async fn extend(&self, delivery: &mut Delivery, by: Duration) -> Result<Settled> {
        let (storage, now) = (self.area()?, self.now()?);
        let held = Entry::new(delivery.message.visible_at, &delivery.message.id);
        let mut next = delivery.message.clone();
        next.visible_at = now + millis(by);
        let Some(etag) = self
            .doc(&storage, &next.id)
            .replace(&next, &delivery.etag)
            .await?
        else {
            return Ok(Settled::LeaseLost);
        };
        self.move_entry(&storage, &held, next.visible_at).await?;
        delivery.message = next;
        delivery.etag = etag;
        Ok(Settled::Done)
    }

    /// The retry delay after `attempts` deliveries: `retry_backoff × 2^(attempts-1)`, at
    /// most `max_backoff`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        self.config
            .retry_backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    /// Message `id`'s state, if it exists.
    pub async fn message(&self, id: &str) -> Result<Option<Message>> {
        Ok(self.doc(&self.area()?, id).load().await?.map(|v| v.value))
    }

    /// Every message's state (one LIST per 1000 messages, one GET per message).
    pub async fn messages(&self) -> Result<Vec<Message>> {
        let storage = self.area()?;
        let keys: Vec<String> = storage
            .list(ListOptions {
                prefix: MESSAGES.into(),
                ..ListOptions::default()
            })
            .map_ok(|meta| meta.key)
            .try_collect()
            .await?;
        futures::stream::iter(keys)
            .map(|key| {
                let id = key.strip_prefix(MESSAGES).unwrap_or(&key).to_owned();
                let doc = self.doc(&storage, &id);
                async move { doc.load().await }
            })
            .buffer_unordered(STATS_READS_IN_FLIGHT)
            .try_filter_map(|found| async move { Ok(found.map(|v| v.value)) })
            .try_collect()
            .await
    }

    /// Counts the messages by state and adds up their redeliveries and retries.
    pub async fn stats(&self) -> Result<QueueStats> {
        let now = self.now()?;
        let mut stats = QueueStats::default();
        for message in self.messages().await? {
            let slot = match message.status {
                Status::Pending => &mut stats.pending,
                Status::Processing if message.visible_at > now => &mut stats.in_flight,
                Status::Processing => &mut stats.expired,
                Status::Completed => &mut stats.done,
                Status::Dead => &mut stats.dead,
            };
            *slot += 1;
            stats.redeliveries += u64::from(message.redeliveries);
            stats.retries += u64::from(message.retries);
        }
        Ok(stats)
    }

    /// Whether every message is done or dead: the ready index is empty (one LIST).
    pub async fn is_drained(&self) -> Result<bool> {
        let storage = self.area()?;
        let first = storage
            .list(ListOptions {
                prefix: READY.into(),
                start_after: None,
                page_size: Some(1),
            })
            .next()
            .await
            .transpose()?;
        Ok(first.is_none())
    }
}

#[async_trait]
impl Plugin for QueuePlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    /// With [`QueueConfig::enqueue_on_insert`], enqueues each record inserted into the
    /// resource (after the insert; a failed enqueue fails the insert call, the record
    /// stays).
    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        if self.ctx.set(ctx.clone()).is_err() {
            return Err(Error::Config {
                plugin: SLUG,
                reason: "a QueuePlugin is installed on one database only".into(),
            }
            .into());
        }
        if !self.config.enqueue_on_insert {
            return Ok(());
        }
        let (queue, name) = (self.clone(), self.config.resource.clone());
        ctx.for_each_resource(move |resource| {
            if resource.name() == name {
                let queue = queue.clone();
                resource
                    .hooks()
                    .register(HookPoint::AfterInsert, move |_ctx, data| {
                        let queue = queue.clone();
                        async move {
                            let id = match &data {
                                Payload::Record(record) => {
                                    record.get("id").and_then(Value::as_str).map(str::to_owned)
                                }
                                _ => None,
                            };
                            if let Some(id) = id {
                                queue.enqueue_id(&id).await.map_err(|e| {
                                    Veto::new(format!("queue: record {id:?} not enqueued: {e}"))
                                })?;
                            }
                            Ok(data)
                        }
                    });
            }
        });
        Ok(())
    }
}

async fn put_entry(storage: &Arc<dyn Storage>, entry: &Entry) -> Result<()> {
    storage
        .put(&entry.key(), json_payload(""), PutMode::Overwrite)
        .await?;
    Ok(())
}

async fn delete(storage: &Arc<dyn Storage>, key: &str) -> Result<()> {
    match storage.delete(key).await {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
