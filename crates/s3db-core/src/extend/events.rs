//! Events: typed notifications broadcast to every subscriber after an operation.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::Stream;
use serde_json::Value;
use tokio::sync::broadcast;

use super::operation::Operation;
use crate::Record;

/// How many events the bus keeps for subscribers that have not read them yet.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// Something that happened in a database or resource, with s3db.js's event payloads.
///
/// [`Event::name`] gives the s3db.js event name; s3db.js also emits `<name>:<id>` when an
/// id is known, which is [`Event::id`] here.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A record was inserted (`inserted`).
    Inserted {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The stored record.
        record: Record,
    },
    /// A record was updated, patched or replaced (`updated`).
    Updated {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The record before the write (`None` when a replace created it).
        before: Option<Record>,
        /// The stored record.
        after: Record,
    },
    /// A record was deleted (`deleted`).
    Deleted {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The record as it was, when it was read before deleting.
        before: Option<Record>,
    },
    /// A record was read (`fetched`).
    Fetched {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The record.
        record: Record,
    },
    /// Records were listed (`list`).
    Listed {
        /// The resource.
        resource: String,
        /// The partition listed, if any.
        partition: Option<String>,
        /// Records returned.
        count: usize,
        /// Records that could not be read.
        errors: usize,
    },
    /// Ids were listed (`listed-ids`).
    ListedIds {
        /// The resource.
        resource: String,
        /// Ids returned.
        count: usize,
    },
    /// Records were counted (`count`).
    Counted {
        /// The resource.
        resource: String,
        /// The count.
        count: usize,
    },
    /// Several records were inserted (`inserted-many`).
    InsertedMany {
        /// The resource.
        resource: String,
        /// Records inserted.
        count: usize,
    },
    /// Several records were read (`fetched-many`).
    FetchedMany {
        /// The resource.
        resource: String,
        /// Records read.
        count: usize,
    },
    /// Several records were deleted (`deleted-many`).
    DeletedMany {
        /// The resource.
        resource: String,
        /// Records deleted.
        count: usize,
    },
    /// Every record of a resource was deleted (`deleted-all-data`).
    DeletedAll {
        /// The resource.
        resource: String,
        /// Objects deleted.
        count: usize,
    },
    /// Binary content was stored for a record (`content-set`).
    ContentSet {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The content type.
        content_type: String,
        /// The body size in bytes.
        content_length: usize,
    },
    /// Binary content was read (`content-fetched`).
    ContentFetched {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
    },
    /// Binary content was removed (`content-deleted`).
    ContentDeleted {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
    },
    /// A record's metadata exceeds the 2 KB budget; the behavior decided what to do
    /// (`exceedsLimit`).
    ExceedsLimit {
        /// The resource.
        resource: String,
        /// The write that exceeded.
        operation: Operation,
        /// The record id, when known.
        id: Option<String>,
        /// Bytes of the mapped record (s3db.js accounting).
        total_size: usize,
        /// The effective limit.
        limit: usize,
        /// `total_size - limit`.
        excess: usize,
    },
    /// A partition reference could not be written or removed after the record was
    /// (`partitionIndexError`).
    PartitionIndexError {
        /// The resource.
        resource: String,
        /// The write during which it failed.
        operation: Operation,
        /// The record id.
        id: String,
        /// The partition name.
        partition: String,
        /// What went wrong.
        message: String,
    },
    /// A resource definition changed and new writes carry a new version
    /// (`versionUpdated`).
    VersionUpdated {
        /// The resource.
        resource: String,
        /// The previous version (`v1`).
        old_version: String,
        /// The new version (`v2`).
        new_version: String,
    },
    /// A failure the caller does not see directly, such as one item of a bulk operation
    /// (`error`).
    Error {
        /// The resource, if any.
        resource: Option<String>,
        /// The operation, if any.
        operation: Option<Operation>,
        /// The record id, if any.
        id: Option<String>,
        /// The error message.
        message: String,
    },
    /// The database connected (`db:connected`).
    Connected,
    /// The database disconnected (`db:disconnected`).
    Disconnected,
    /// A resource was defined (`db:resource-created`).
    ResourceCreated {
        /// The resource.
        resource: String,
    },
    /// Part of a resource definition is kept but not applied, or read differently than
    /// written (`db:definition-warning`): an unknown modifier, type or key, a deprecated
    /// spelling. Emitted when the definition is compiled (on open, on reload, on create).
    DefinitionWarning {
        /// The resource.
        resource: String,
        /// The attribute path or definition key concerned (`email`, `options`, `behavior`).
        key: String,
        /// What is done with it.
        message: String,
    },
    /// A resource definition changed (`db:resource-updated`).
    ResourceUpdated {
        /// The resource.
        resource: String,
    },
    /// `s3db.json` was written (`db:metadata-uploaded`).
    MetadataUploaded {
        /// The document as written.
        document: Value,
    },
}

impl Event {
    /// The s3db.js event name (`"inserted"`, `"exceedsLimit"`, `"db:resource-created"`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Inserted { .. } => "inserted",
            Event::Updated { .. } => "updated",
            Event::Deleted { .. } => "deleted",
            Event::Fetched { .. } => "fetched",
            Event::Listed { .. } => "list",
            Event::ListedIds { .. } => "listed-ids",
            Event::Counted { .. } => "count",
            Event::InsertedMany { .. } => "inserted-many",
            Event::FetchedMany { .. } => "fetched-many",
            Event::DeletedMany { .. } => "deleted-many",
            Event::DeletedAll { .. } => "deleted-all-data",
            Event::ContentSet { .. } => "content-set",
            Event::ContentFetched { .. } => "content-fetched",
            Event::ContentDeleted { .. } => "content-deleted",
            Event::ExceedsLimit { .. } => "exceedsLimit",
            Event::PartitionIndexError { .. } => "partitionIndexError",
            Event::VersionUpdated { .. } => "versionUpdated",
            Event::Error { .. } => "error",
            Event::Connected => "db:connected",
            Event::Disconnected => "db:disconnected",
            Event::ResourceCreated { .. } => "db:resource-created",
            Event::ResourceUpdated { .. } => "db:resource-updated",
            Event::DefinitionWarning { .. } => "db:definition-warning",
            Event::MetadataUploaded { .. } => "db:metadata-uploaded",
        }
    }

    /// The resource the event is about, if any.
    pub fn resource(&self) -> Option<&str> {
        match self {
            Event::Inserted { resource, .. }
            | Event::Updated { resource, .. }
            | Event::Deleted { resource, .. }
            | Event::Fetched { resource, .. }
            | Event::Listed { resource, .. }
            | Event::ListedIds { resource, .. }
            | Event::Counted { resource, .. }
            | Event::InsertedMany { resource, .. }
            | Event::FetchedMany { resource, .. }
            | Event::DeletedMany { resource, .. }
            | Event::DeletedAll { resource, .. }
            | Event::ContentSet { resource, .. }
            | Event::ContentFetched { resource, .. }
            | Event::ContentDeleted { resource, .. }
            | Event::ExceedsLimit { resource, .. }
            | Event::PartitionIndexError { resource, .. }
            | Event::VersionUpdated { resource, .. }
            | Event::ResourceCreated { resource }
            | Event::ResourceUpdated { resource }
            | Event::DefinitionWarning { resource, .. } => Some(resource),
            Event::Error { resource, .. } => resource.as_deref(),
            Event::Connected | Event::Disconnected | Event::MetadataUploaded { .. } => None,
        }
    }

    /// The record id the event is about, if any (s3db.js's `<name>:<id>` events).
    pub fn id(&self) -> Option<&str> {
        match self {
            Event::Inserted { id, .. }
            | Event::Updated { id, .. }
            | Event::Deleted { id, .. }
            | Event::Fetched { id, .. }
            | Event::ContentSet { id, .. }
            | Event::ContentFetched { id, .. }
            | Event::ContentDeleted { id, .. }
            | Event::PartitionIndexError { id, .. } => Some(id),
            Event::ExceedsLimit { id, .. } | Event::Error { id, .. } => id.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Some(resource) = self.resource() {
            write!(f, " {resource}")?;
        }
        if let Some(id) = self.id() {
            write!(f, ":{id}")?;
        }
        Ok(())
    }
}

/// Broadcasts [`Event`]s to every [`Subscription`].
///
/// The bus is a cheap `Arc` handle (clones share the subscribers), backed by a
/// [`tokio::sync::broadcast`] channel:
///
/// - **No cost without listeners.** [`EventBus::emit_with`] takes a closure and calls it
///   only when someone subscribes, so the payload (record clones…) is never built for
///   nobody.
/// - **No leak.** Dropping a [`Subscription`] unsubscribes it; the bus keeps no reference.
/// - **Writers never wait.** The channel keeps the last `capacity` events
///   ([`DEFAULT_EVENT_CAPACITY`] by default). A subscriber that falls further behind loses
///   the oldest events it has not read: [`Subscription::recv`] skips to the oldest event
///   still kept and adds the number lost to [`Subscription::missed`]. Emitting never
///   blocks and never fails.
/// - Each event is built once and shared (`Arc<Event>`) by all subscribers.
///
/// ```
/// use s3db_core::extend::{Event, EventBus};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let events = EventBus::new();
///
/// // Nobody listens: the closure is not even called.
/// events.emit_with(|| unreachable!("no subscriber, no payload"));
///
/// let mut subscription = events.subscribe();
/// events.emit_with(|| Event::Counted { resource: "users".into(), count: 3 });
/// let event = subscription.recv().await.unwrap();
/// assert_eq!(event.name(), "count");
/// assert_eq!(*event, Event::Counted { resource: "users".into(), count: 3 });
///
/// drop(subscription);
/// assert!(!events.has_subscribers());
/// # });
/// ```
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// Live subscriptions, kept apart from the channel so checking costs one atomic load
    /// (the channel's own count takes a lock).
    subscribers: Arc<AtomicUsize>,
}

impl EventBus {
    /// A bus keeping up to [`DEFAULT_EVENT_CAPACITY`] unread events per subscriber.
    pub fn new() -> EventBus {
        EventBus::with_capacity(DEFAULT_EVENT_CAPACITY)
    }

    /// A bus keeping up to `capacity` unread events per subscriber (at least 1; the channel
    /// rounds it up to a power of two).
    pub fn with_capacity(capacity: usize) -> EventBus {
        // The channel rejects 0 and absurd sizes; both are caller mistakes we can absorb.
        let capacity = capacity.clamp(1, usize::MAX >> 2);
        EventBus {
            sender: broadcast::Sender::new(capacity),
            subscribers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A new subscriber, receiving every event emitted from now on.
    pub fn subscribe(&self) -> Subscription {
        self.subscribers.fetch_add(1, Ordering::AcqRel);
        Subscription {
            receiver: self.sender.subscribe(),
            missed: 0,
            subscribers: self.subscribers.clone(),
        }
    }

    /// Whether anyone is subscribed.
    pub fn has_subscribers(&self) -> bool {
        self.subscriber_count() > 0
    }

    /// How many subscriptions are alive.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers.load(Ordering::Acquire)
    }

    /// Sends `event` to every subscriber (dropped when there is none).
    pub fn emit(&self, event: Event) {
        self.emit_with(|| event);
    }

    /// Builds the event with `build` and sends it, only if someone is subscribed (checking
    /// costs one atomic load).
    pub fn emit_with(&self, build: impl FnOnce() -> Event) {
        if self.has_subscribers() {
            // Fails only when the last subscriber left since the check: nobody to tell.
            let _ = self.sender.send(Arc::new(build()));
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscriber_count())
            .finish()
    }
}

/// One subscriber of an [`EventBus`]; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    missed: u64,
    subscribers: Arc<AtomicUsize>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Subscription {
    /// The next event, waiting for one; `None` once every [`EventBus`] handle is dropped.
    /// Events lost because this subscriber lagged are skipped and counted in
    /// [`Subscription::missed`].
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(lost)) => self.missed += lost,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<Event>> {
        loop {
            match self.receiver.try_recv() {
                Ok(event) => return Some(event),
                Err(broadcast::error::TryRecvError::Lagged(lost)) => self.missed += lost,
                Err(
                    broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed,
                ) => return None,
            }
        }
    }

    /// How many events this subscriber lost by falling more than the capacity behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The events as a stream, ending when every [`EventBus`] handle is dropped.
    pub fn into_stream(self) -> impl Stream<Item = Arc<Event>> + Send + Unpin {
        Box::pin(futures::stream::unfold(
            self,
            |mut subscription| async move {
                let event = subscription.recv().await?;
                Some((event, subscription))
            },
        ))
    }
}
