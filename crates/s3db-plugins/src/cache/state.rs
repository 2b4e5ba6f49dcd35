//! The running cache: per-resource generations and counters, the driver, and the read and
//! write middleware that use them.
//!
//! Freshness rests on one rule: a result is looked up and stored under a key carrying the
//! resource's generation *as it was when the read started*, and every write bumps the
//! generation after it lands (write middleware, synchronous with the call). So
//!
//! - a read that starts after a write returned uses the new generation: it cannot see
//!   entries stored before the write;
//! - a read that started before a write (and may have read the old value) finds the
//!   generation changed when it is about to store, and does not store; if the write lands
//!   while the entry is being stored, the read removes its entry again.
//!
//! Changes that no middleware wraps (a redefinition of the resource, and any change core
//! reports only by event) are caught from the database's events: every cache access first takes the events
//! already emitted (emitting is synchronous with the write), bumping the generations they
//! name; if events were lost (the subscriber lagged), every generation is bumped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use dashmap::DashMap;
use s3db_core::Resource;
use s3db_core::extend::{Event, MiddlewareContext, Next, Operation, Payload, Subscription};

use super::driver::CacheDriver;
use super::entry::Entry;
use super::key::{cache_key, resource_prefix};
use super::stats::{CacheStats, Counters};
use crate::clock::SharedClock;

/// Reads whose results are cached (a page's result carries its next cursor).
pub(crate) const READ_OPERATIONS: [Operation; 11] = [
    Operation::Get,
    Operation::Page,
    Operation::HasContent,
    Operation::GetMany,
    Operation::GetFromPartition,
    Operation::Exists,
    Operation::List,
    Operation::ListIds,
    Operation::GetAll,
    Operation::Count,
    Operation::Query,
];

type CoreResult<T> = s3db_core::Result<T>;

/// The cache state of one resource.
#[derive(Debug)]
pub(crate) struct ResourceState {
    name: String,
    prefix: String,
    generation: AtomicU64,
    /// Something may have been stored since the driver was last cleaned for this resource.
    dirty: AtomicBool,
    /// The generation was bumped from an event; old entries are still in the driver.
    needs_cleanup: AtomicBool,
    counters: Counters,
}

impl ResourceState {
    fn new(name: &str) -> ResourceState {
        ResourceState {
            name: name.to_owned(),
            prefix: resource_prefix(name),
            generation: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            needs_cleanup: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        Counters::bump(&self.counters.invalidations);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// The database's events, read without waiting.
#[derive(Debug)]
struct EventFeed {
    subscription: Subscription,
    missed: u64,
}

/// Everything the middleware of every resource shares.
#[derive(Debug)]
pub(crate) struct CacheState {
    driver: Arc<dyn CacheDriver>,
    ttl_millis: Option<i64>,
    clock: SharedClock,
    resources: DashMap<String, Arc<ResourceState>>,
    events: Mutex<Option<EventFeed>>,
    enabled: AtomicBool,
}

impl CacheState {
    pub(crate) fn new(
        driver: Arc<dyn CacheDriver>,
        ttl: Option<std::time::Duration>,
        clock: SharedClock,
        events: Subscription,
    ) -> CacheState {
        CacheState {
            driver,
            ttl_millis: ttl.map(|ttl| i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            clock,
            resources: DashMap::new(),
            events: Mutex::new(Some(EventFeed {
                subscription: events,
                missed: 0,
            })),
            enabled: AtomicBool::new(true),
        }
    }

    /// Wraps `resource`'s reads and writes.
    pub(crate) fn attach(self: &Arc<Self>, resource: &Resource) {
        let state = self.resource_state(resource.name());
        for operation in READ_OPERATIONS {
            let (cache, state) = (self.clone(), state.clone());
            resource
                .middlewares()
                .register(operation, move |ctx, next| {
                    let (cache, state) = (cache.clone(), state.clone());
                    async move { cache.read(&state, ctx, next).await }
                });
        }
        // Every write invalidates the resource's entries.
        for operation in Operation::ALL.into_iter().filter(|op| op.is_write()) {
            let (cache, state) = (self.clone(), state.clone());
            resource
                .middlewares()
                .register(operation, move |ctx, next| {
                    let (cache, state) = (cache.clone(), state.clone());
                    async move {
                        let result = next.run(ctx).await;
                        // Failed writes too: a bulk write may have landed in part. The
                        // write's own event may already have bumped the generation.
                        if !cache.take_events(Some(&state)) {
                            state.bump();
                        }
                        cache.clean(&state).await;
                        result
                    }
                });
        }
    }

    fn resource_state(&self, name: &str) -> Arc<ResourceState> {
        self.resources
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(ResourceState::new(name)))
            .clone()
    }

    /// Stops caching: reads go to the database, events are no longer taken.
    pub(crate) fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        *self.events.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    async fn read(
        &self,
        state: &ResourceState,
        ctx: MiddlewareContext,
        next: Next,
    ) -> CoreResult<Payload> {
        if !self.enabled.load(Ordering::SeqCst) {
            return next.run(ctx).await;
        }
        self.take_events(None);
        if state.needs_cleanup.swap(false, Ordering::SeqCst) {
            self.clean(state).await;
        }
        let generation = state.generation();
        let Some(key) = cache_key(&state.name, generation, ctx.operation, &ctx.args) else {
            return next.run(ctx).await;
        };
        let started = self.clock.now_millis();
        match self.driver.get(&key).await {
            Ok(Some(entry)) if !self.expired(&entry, started) => {
                Counters::bump(&state.counters.hits);
                return Ok(entry.value);
            }
            Ok(Some(_)) => {
                Counters::bump(&state.counters.expired);
                self.remove(state, &key).await;
            }
            Ok(None) => {}
            Err(error) => self.failed(state, &key, &error),
        }
        Counters::bump(&state.counters.misses);
        let value = next.run(ctx).await?;
        let entry = Entry {
            stored_at: started,
            value: value.clone(),
        };
        self.store(state, &key, generation, entry).await;
        Ok(value)
    }

    /// Stores `entry` if no write landed since the read began at `generation`.
    async fn store(&self, state: &ResourceState, key: &str, generation: u64, entry: Entry) {
        self.take_events(None);
        if state.generation() != generation {
            Counters::bump(&state.counters.stale_skips);
            return;
        }
        state.dirty.store(true, Ordering::SeqCst);
        match self.driver.put(key, entry).await {
            Ok(()) => Counters::bump(&state.counters.stores),
            Err(error) => self.failed(state, key, &error),
        }
        self.take_events(None);
        if state.generation() != generation {
            // A write landed while storing: the entry is unreachable here, but a shared
            // driver would keep it for a process starting at this generation.
            Counters::bump(&state.counters.stale_skips);
            self.remove(state, key).await;
        }
    }

    fn expired(&self, entry: &Entry, now: i64) -> bool {
        self.ttl_millis
            .is_some_and(|ttl| now.saturating_sub(entry.stored_at) >= ttl)
    }

    /// Makes every entry of `state`'s resource unreachable, then removes them.
    async fn invalidate(&self, state: &ResourceState) {
        state.bump();
        self.clean(state).await;
    }

    /// Invalidates the resource `name` (a no-op for resources never cached).
    pub(crate) async fn invalidate_resource(&self, name: &str) {
        let state = self.resources.get(name).map(|s| s.clone());
        if let Some(state) = state {
            self.invalidate(&state).await;
        }
    }

    /// Invalidates every resource and empties the driver.
    pub(crate) async fn clear(&self) -> crate::Result<()> {
        for state in self.all_states() {
            state.bump();
            state.dirty.store(false, Ordering::SeqCst);
        }
        self.driver.clear().await
    }

    async fn clean(&self, state: &ResourceState) {
        if state.dirty.swap(false, Ordering::SeqCst)
            && let Err(error) = self.driver.remove_prefix(&state.prefix).await
        {
            self.failed(state, &state.prefix, &error);
        }
    }

    async fn remove(&self, state: &ResourceState, key: &str) {
        if let Err(error) = self.driver.remove(key).await {
            self.failed(state, key, &error);
        }
    }

    fn failed(&self, state: &ResourceState, key: &str, error: &crate::Error) {
        Counters::bump(&state.counters.errors);
        tracing::warn!(resource = %state.name, %key, %error, "cache driver failed; reading through");
    }

    /// Bumps the generations named by the write events emitted so far; whether that bumped
    /// `watched`'s.
    fn take_events(&self, watched: Option<&ResourceState>) -> bool {
        let mut feed = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(feed) = feed.as_mut() else {
            return false;
        };
        let mut bumped_watched = false;
        let mut bump = |state: &ResourceState| {
            state.bump();
            state.needs_cleanup.store(true, Ordering::SeqCst);
            bumped_watched |= watched.is_some_and(|w| std::ptr::eq(w, state));
        };
        while let Some(event) = feed.subscription.try_recv() {
            if !is_write(&event) {
                continue;
            }
            let state = event.resource().and_then(|name| self.resources.get(name));
            if let Some(state) = state {
                bump(&state);
            }
        }
        if feed.subscription.missed() != feed.missed {
            feed.missed = feed.subscription.missed();
            for state in self.all_states() {
                bump(&state);
            }
        }
        bumped_watched
    }

    fn all_states(&self) -> Vec<Arc<ResourceState>> {
        self.resources.iter().map(|s| s.value().clone()).collect()
    }

    /// Counters of `resource` (zeros if it was never cached).
    pub(crate) fn resource_stats(&self, resource: &str) -> CacheStats {
        self.resources
            .get(resource)
            .map(|state| state.counters.snapshot())
            .unwrap_or_default()
    }

    /// Counters of every resource added up.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut total = CacheStats::default();
        for state in self.resources.iter() {
            total.add(&state.counters.snapshot());
        }
        total
    }
}

/// Whether `event` reports a change to a resource's records or definition.
fn is_write(event: &Event) -> bool {
    matches!(
        event,
        Event::Inserted { .. }
            | Event::Updated { .. }
            | Event::Deleted { .. }
            | Event::InsertedMany { .. }
            | Event::DeletedMany { .. }
            | Event::DeletedAll { .. }
            | Event::ContentSet { .. }
            | Event::ContentDeleted { .. }
            | Event::ResourceUpdated { .. }
            | Event::VersionUpdated { .. }
    )
}
