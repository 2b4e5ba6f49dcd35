#![doc = include_str!("../../../../docs/plugins-queue-consumer.md")]

#[cfg(feature = "amqp")]
mod amqp;
mod message;
#[cfg(feature = "sqs")]
mod sqs;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};
use s3db_storage::{Storage, StorageExt};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[cfg(feature = "amqp")]
pub use amqp::AmqpSource;
pub use message::{Action, Command, parse};
#[cfg(feature = "sqs")]
pub use sqs::SqsSource;

use crate::clock::iso;
use crate::json_object::{get_json, put_json};
use crate::{Error, Result};
use message::Applied;

/// The plugin's slug: its storage area is `plugin=queue-consumer/`.
pub const SLUG: &str = "queue-consumer";
/// Prefix of the dead letters inside the plugin's storage area.
pub const DEAD_LETTER_PREFIX: &str = "dead-letter/";
/// Attempts at a message before it is dead-lettered, unless
/// [`QueueConsumerBuilder::max_attempts`] says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// One message as a source hands it over.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message body.
    pub body: Vec<u8>,
    /// The queue's message id (for dead letters and logs).
    pub message_id: String,
    /// Which delivery of the message this is, from 1 (SQS `ApproximateReceiveCount`).
    pub attempt: u32,
    /// What the source needs to acknowledge or release the message (SQS receipt handle,
    /// AMQP delivery tag).
    pub handle: String,
}

/// A queue the consumer reads: receives messages, acknowledges the ones whose write
/// succeeded, and puts the others back for a later attempt.
///
/// The consumer calls it from one task: `receive`, then `ack` or `retry` for each message
/// received, in order.
#[async_trait]
pub trait MessageSource: Send + Sync + 'static {
    /// The source's name (`[A-Za-z0-9_-]+`): it names the source in stats and dead letters.
    fn name(&self) -> &str;

    /// The next messages; may wait for some (long polling) and may return none.
    async fn receive(&self) -> Result<Vec<Delivery>>;

    /// The message's write succeeded (or it was dead-lettered): remove it from the queue.
    async fn ack(&self, delivery: &Delivery) -> Result<()>;

    /// The message's write failed: deliver it again later, as attempt `attempt + 1`.
    async fn retry(&self, delivery: &Delivery) -> Result<()>;

    /// Stops receiving; messages received but not acknowledged go back to the queue.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// A message given up on: it could not be understood, or its write failed on every attempt.
/// Kept in the plugin's storage area (`plugin=queue-consumer/dead-letter/<source>/…`); the
/// message itself is acknowledged once its dead letter is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Its key in the plugin's storage area (not stored in the object).
    #[serde(skip)]
    pub key: String,
    /// The source's name.
    pub source: String,
    /// The queue's message id.
    pub message_id: String,
    /// The message body (lossy UTF-8).
    pub body: String,
    /// The last error.
    pub error: String,
    /// Deliveries of the message.
    pub attempts: u32,
    /// When it was given up on (ISO 8601).
    pub failed_at: String,
}

/// Counts since the consumer was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConsumerStats {
    /// Messages received (redeliveries included).
    pub received: u64,
    /// Messages whose write was made and acknowledged.
    pub applied: u64,
    /// Redelivered messages that found their write already done (acknowledged).
    pub duplicates: u64,
    /// Failed writes whose message was put back for another attempt.
    pub retried: u64,
    /// Messages dead-lettered (and acknowledged).
    pub dead_lettered: u64,
    /// Receive, acknowledge or release requests that failed (retried by the loop).
    pub source_errors: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    applied: AtomicU64,
    duplicates: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    source_errors: AtomicU64,
}

/// A source and the resources its messages may write (the first is the default).
struct Binding {
    source: Arc<dyn MessageSource>,
    resources: Vec<String>,
}

struct Shared {
    bindings: Vec<Binding>,
    max_attempts: u32,
    counters: Counters,
    context: OnceLock<PluginContext>,
    dead_letter_seq: AtomicU64,
}

/// Builds a [`QueueConsumer`].
#[derive(Default)]
pub struct QueueConsumerBuilder {
    bindings: Vec<Binding>,
    max_attempts: Option<u32>,
}

impl std::fmt::Debug for QueueConsumerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.bindings.iter().map(|b| b.source.name()).collect();
        f.debug_struct("QueueConsumerBuilder")
            .field("sources", &names)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl QueueConsumerBuilder {
    /// Consumes `source` into `resources` (a message naming no resource goes to the first;
    /// one naming a resource not listed is dead-lettered).
    pub fn source<I, S>(mut self, source: impl MessageSource, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bindings.push(Binding {
            source: Arc::new(source),
            resources: resources.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Deliveries of a message whose write keeps failing before it is dead-lettered (at
    /// least 1; default [`DEFAULT_MAX_ATTEMPTS`]).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    /// The consumer; [`Error::Config`] when a source has no resource or two sources share a
    /// name.
    pub fn build(self) -> Result<QueueConsumer> {
        let config = |reason: String| Error::Config {
            plugin: SLUG,
            reason,
        };
        for (index, binding) in self.bindings.iter().enumerate() {
            let name = binding.source.name();
            if binding.resources.is_empty() {
                return Err(config(format!(
                    "source {name:?} writes no resource: give it at least one"
                )));
            }
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(config(format!(
                    "source name {name:?} must be [A-Za-z0-9_-]+: rename it"
                )));
            }
            if self.bindings[..index]
                .iter()
                .any(|b| b.source.name() == name)
            {
                return Err(config(format!(
                    "two sources are named {name:?}: rename one"
                )));
            }
        }
        Ok(QueueConsumer {
            shared: Arc::new(Shared {
                bindings: self.bindings,
                max_attempts: self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
                counters: Counters::default(),
                context: OnceLock::new(),
                dead_letter_seq: AtomicU64::new(0),
            }),
            stop: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        })
    }
}

/// The queue consumer plugin (see the [module docs](self)).
pub struct QueueConsumer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for QueueConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .shared
            .bindings
            .iter()
            .map(|b| b.source.name())
            .collect();
        f.debug_struct("QueueConsumer")
            .field("sources", &names)
            .field("max_attempts", &self.shared.max_attempts)
            .finish_non_exhaustive()
    }
}

impl QueueConsumer {
    /// A builder.
    pub fn builder() -> QueueConsumerBuilder {
        QueueConsumerBuilder::default()
    }

    /// Counts since the consumer was built.
    pub fn stats(&self) -> QueueConsumerStats {
        let c = &self.shared.counters;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        QueueConsumerStats {
            received: load(&c.received),
            applied: load(&c.applied),
            duplicates: load(&c.duplicates),
            retried: load(&c.retried),
            dead_lettered: load(&c.dead_lettered),
            source_errors: load(&c.source_errors),
        }
    }

    /// Every dead letter of the database (all processes), oldest first per source.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let storage = self.shared.storage()?;
        let mut letters = Vec::new();
        for key in storage.list_keys(DEAD_LETTER_PREFIX).await? {
            let mut letter: DeadLetter = get_json(storage.as_ref(), &key).await?;
            letter.key = key;
            letters.push(letter);
        }
        Ok(letters)
    }
}

impl Shared {
    fn context(&self) -> Result<&PluginContext> {
        self.context.get().ok_or_else(|| Error::Config {
            plugin: SLUG,
            reason: "the queue consumer is not installed: pass it to Database::use_plugin".into(),
        })
    }

    fn storage(&self) -> Result<Arc<dyn Storage>> {
        Ok(self.context()?.storage())
    }

    /// Parses and applies one message.
    async fn handle(&self, binding: &Binding, delivery: &Delivery) -> Result<Applied> {
        let command = parse(&delivery.body, &binding.resources)?;
        let resource = self.context()?.database()?.resource(&command.resource)?;
        message::apply(&resource, &command).await
    }

    async fn dead_letter(&self, source: &str, delivery: &Delivery, error: &Error) -> Result<()> {
        let ctx = self.context()?;
        let now = ctx.clock().now();
        let seq = self.dead_letter_seq.fetch_add(1, Ordering::Relaxed);
        let key = format!(
            "{DEAD_LETTER_PREFIX}{source}/{:013}-{}-{seq:08}.json",
            (now.unix_timestamp_nanos() / 1_000_000).max(0),
            std::process::id()
        );
        let letter = DeadLetter {
            key: key.clone(),
            source: source.to_owned(),
            message_id: delivery.message_id.clone(),
            body: String::from_utf8_lossy(&delivery.body).into_owned(),
            error: error.to_string(),
            attempts: delivery.attempt,
            failed_at: iso(now),
        };
        put_json(ctx.storage().as_ref(), &key, &letter).await
    }

    /// Settles one message: acknowledged after its write, dead-lettered then acknowledged
    /// when it cannot be understood or has failed `max_attempts` times, else put back.
    async fn settle(&self, binding: &Binding, delivery: &Delivery) -> Result<()> {
        let source = binding.source.as_ref();
        let counters = &self.counters;
        counters.received.fetch_add(1, Ordering::Relaxed);
        match self.handle(binding, delivery).await {
            Ok(applied) => {
                source.ack(delivery).await?;
                let counter = match applied {
                    Applied::Written => &counters.applied,
                    Applied::AlreadyDone => &counters.duplicates,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                let unreadable = matches!(error, Error::Config { .. });
                if unreadable || delivery.attempt >= self.max_attempts {
                    tracing::warn!(source = source.name(), message = %delivery.message_id, %error, "dead-lettering a message");
                    self.dead_letter(source.name(), delivery, &error).await?;
                    source.ack(delivery).await?;
                    counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                } else {
                    tracing::debug!(source = source.name(), message = %delivery.message_id, attempt = delivery.attempt, %error, "write failed; message put back");
                    source.retry(delivery).await?;
                    counters.retried.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    /// One source's loop: receive, settle each message in order, until told to stop (a
    /// message being written is finished first).
    async fn run(self: Arc<Self>, index: usize, mut stop: watch::Receiver<bool>) {
        let binding = &self.bindings[index];
        let source = binding.source.as_ref();
        while !*stop.borrow() {
            let deliveries = tokio::select! {
                received = source.receive() => received,
                _ = stop.changed() => break,
            };
            let deliveries = match deliveries {
                Ok(deliveries) => deliveries,
                Err(error) => {
                    self.counters.source_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = source.name(), %error, "receive failed");
                    tokio::select! {
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
            };
            for delivery in &deliveries {
                if *stop.borrow() {
                    break; // the rest go back to the queue
                }
                if let Err(error) = self.settle(binding, delivery).await {
                    // The message stays on the queue and comes back; nothing is lost.
                    self.counters.source_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = source.name(), message = %delivery.message_id, %error, "settling failed");
                }
            }
        }
        if let Err(error) = source.close().await {
            tracing::warn!(source = source.name(), %error, "closing the source failed");
        }
    }
}

#[async_trait]
impl Plugin for QueueConsumer {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        if self.shared.context.set(ctx.clone()).is_err() {
            return Err(Error::Config {
                plugin: SLUG,
                reason: "the queue consumer is already installed".into(),
            }
            .into());
        }
        Ok(())
    }

    /// Starts one task per source.
    async fn start(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if !tasks.is_empty() {
            return Ok(());
        }
        self.stop.send_replace(false);
        for index in 0..self.shared.bindings.len() {
            let stop = self.stop.subscribe();
            tasks.push(tokio::spawn(self.shared.clone().run(index, stop)));
        }
        Ok(())
    }

    /// Stops receiving, lets the message being written finish and be acknowledged, closes
    /// the sources (received messages not yet handled go back to their queues).
    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            task.await
                .map_err(|e| s3db_core::Error::plugin(SLUG, s3db_core::ErrorKind::Internal, e))?;
        }
        Ok(())
    }
}
