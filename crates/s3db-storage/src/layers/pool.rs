//! [`Pool`]: bounded concurrency with queue statistics, latency percentiles, pause/resume/drain.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::packed::PackedGet;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// Concurrency of a pool when none is given.
pub const DEFAULT_CONCURRENCY: usize = 100;
/// How many recent latencies the percentiles are computed over.
const RESERVOIR: usize = 4096;

/// Runs at most `capacity` operations on the inner storage at once; the rest wait in FIFO order.
///
/// A listing holds one slot from its first poll until it ends or is dropped, and is counted
/// in `completed` but not in the latency percentiles. Statistics and pause/resume/drain are on
/// the [`PoolControl`] handle.
#[derive(Debug)]
pub struct Pool<S> {
    inner: S,
    control: PoolControl,
}

/// A cloneable handle to a pool's statistics and flow control.
#[derive(Debug, Clone)]
pub struct PoolControl {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    capacity: usize,
    slots: Arc<Semaphore>,
    paused: watch::Sender<bool>,
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    completed: AtomicU64,
    failed: AtomicU64,
    latencies: Mutex<VecDeque<Duration>>,
    idle: Notify,
}

/// A point-in-time view of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// Maximum operations in flight.
    pub capacity: usize,
    /// Operations running now.
    pub in_flight: usize,
    /// Operations waiting for a slot (or for `resume`).
    pub queued: usize,
    /// Operations finished (successfully or not).
    pub completed: u64,
    /// Finished operations that returned an error.
    pub failed: u64,
    /// Whether new operations are held back.
    pub paused: bool,
    /// Median latency of the recent operations (`None` before the first).
    pub p50: Option<Duration>,
    /// 95th percentile latency of the recent operations.
    pub p95: Option<Duration>,
    /// 99th percentile latency of the recent operations.
    pub p99: Option<Duration>,
}

impl<S: Storage> Pool<S> {
    /// Wraps `inner` allowing `capacity` (at least 1) concurrent operations.
    pub fn new(inner: S, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let shared = Shared {
            capacity,
            slots: Arc::new(Semaphore::new(capacity)),
            paused: watch::Sender::new(false),
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latencies: Mutex::new(VecDeque::with_capacity(RESERVOIR)),
            idle: Notify::new(),
        };
        Pool {
            inner,
            control: PoolControl {
                shared: Arc::new(shared),
            },
        }
    }

    /// The statistics and flow-control handle.
    pub fn control(&self) -> PoolControl {
        self.control.clone()
    }

    async fn run<T>(
        &self,
        operation: Operation,
        key: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let slot = self.control.acquire(operation, key).await?;
        let started = Instant::now();
        let result = call.await;
        slot.finish(started.elapsed(), result.is_ok());
        result
    }
}

impl PoolControl {
    /// Current statistics.
    pub fn stats(&self) -> PoolStats {
        let s = &self.shared;
        let mut recent: Vec<Duration> = s
            .latencies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .copied()
            .collect();
        recent.sort_unstable();
        let percentile =
            |p: usize| (!recent.is_empty()).then(|| recent[(recent.len() - 1) * p / 100]);
        PoolStats {
            capacity: s.capacity,
            in_flight: s.in_flight.load(Ordering::SeqCst),
            queued: s.queued.load(Ordering::SeqCst),
            completed: s.completed.load(Ordering::SeqCst),
            failed: s.failed.load(Ordering::SeqCst),
            paused: *s.paused.borrow(),
            p50: percentile(50),
            p95: percentile(95),
            p99: percentile(99),
        }
    }

    /// Holds back operations that have not started yet; running ones finish normally.
    pub fn pause(&self) {
        self.shared.paused.send_replace(true);
    }

    /// Lets held-back operations start again.
    pub fn resume(&self) {
        self.shared.paused.send_replace(false);
    }

    /// Waits until no operation is running or queued. While paused with operations queued,
    /// this waits for `resume`.
    pub async fn drain(&self) {
        loop {
            let idle = self.shared.idle.notified();
            let s = &self.shared;
            if s.in_flight.load(Ordering::SeqCst) == 0 && s.queued.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    async fn acquire(&self, operation: Operation, key: &str) -> Result<Slot> {
        let mut slot = Slot {
            shared: self.shared.clone(),
            permit: None,
        };
        self.shared.queued.fetch_add(1, Ordering::SeqCst);
        let mut paused = self.shared.paused.subscribe();
        let closed =
            || Error::new(ErrorKind::Internal, operation, key).with_message("executor pool closed");
        paused.wait_for(|p| !*p).await.map_err(|_| closed())?;
        let permit = self
            .shared
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
        self.shared.queued.fetch_sub(1, Ordering::SeqCst);
        slot.permit = Some(permit);
        Ok(slot)
    }
}

/// One operation's place in the pool; keeps the counters right even when dropped mid-way.
struct Slot {
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Slot {
    /// Records a finished single-shot operation; the counters move when the slot drops.
    fn finish(self, latency: Duration, ok: bool) {
        {
            let mut recent = self
                .shared
                .latencies
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if recent.len() == RESERVOIR {
                recent.pop_front();
            }
            recent.push_back(latency);
        }
        if !ok {
            self.shared.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.permit.take().is_some() {
            self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.shared.completed.fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared.queued.fetch_sub(1, Ordering::SeqCst);
        }
        self.shared.idle.notify_waiters();
    }
}

#[async_trait]
impl<S: Storage> Storage for Pool<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        self.run(Operation::Put, key, self.inner.put(key, payload, mode))
            .await
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        self.run(Operation::Get, key, self.inner.get(key)).await
    }

    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        self.run(Operation::Get, key, self.inner.get_packed(key))
            .await
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        self.run(Operation::Head, key, self.inner.head(key)).await
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.run(Operation::Copy, to, self.inner.copy(from, to, options))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.run(Operation::Delete, key, self.inner.delete(key))
            .await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        self.run(Operation::DeleteMany, "", self.inner.delete_many(keys))
            .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let prefix = options.prefix.clone();
        stream::once(async move { self.control.acquire(Operation::List, &prefix).await })
            .flat_map(move |slot| match slot {
                Ok(slot) => self
                    .inner
                    .list(options.clone())
                    .map(move |item| {
                        let _held = &slot;
                        item
                    })
                    .boxed(),
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            })
            .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
