//! Layers: storages that wrap another storage and add one concern each.
//!
//! [`Stack`] composes them in the one fixed order used everywhere, outermost first:
//!
//! ```text
//! Pool  ->  Retry  ->  Metrics  ->  Trace  ->  Faults  ->  backend
//! ```
//!
//! - the trace layer is always there (once: not above a storage that is already
//!   [`traced`](crate::Capabilities::traced)): it costs a task-local look-up per request,
//!   emits a `TRACE` event per request and tallies requests per operation ([`tallied`]);
//! - the pool bounds *logical* operations (a call and all its retries hold one slot);
//! - retry sits outside metrics, so metrics count every request actually sent (retries and
//!   write-resolution HEADs included), which is what S3 bills;
//! - faults sit right above the backend, standing in for the network.
//!
//! **The default stack.** Every way s3db opens a database — `Database::connect`,
//! `Database::builder(..).open()`, [`StorageConfig::open`](crate::connection::StorageConfig::open),
//! the CLI — goes through [`StackBuilder::retry`] with [`RetryConfig::default`] unless told
//! otherwise, and that builder adds the retry layer only where it is needed: when the storage
//! below can fail transiently ([`Capabilities::transient_failures`](crate::Capabilities):
//! S3, fault injection) and the configuration is enabled. A storage that is already behind a
//! retry layer reports no transient failures, so it is never wrapped twice; memory and
//! filesystem backends are left bare. Opting out is explicit: [`RetryConfig::disabled`]
//! (`?retries=0` in a connection string).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use s3db_storage::layers::{RetryConfig, Stack};
//! use s3db_storage::{MemoryStorage, StorageExt};
//!
//! let stack = Stack::builder(Arc::new(MemoryStorage::new()))
//!     .retry(RetryConfig::default())
//!     .metrics()
//!     .pool(32)
//!     .build();
//! stack.storage().put_bytes("k", "v").await?;
//! assert_eq!(stack.metrics().unwrap().snapshot().put.requests, 1);
//! assert_eq!(stack.pool().unwrap().stats().completed, 1);
//! # Ok::<(), s3db_storage::Error>(())
//! # }).unwrap();
//! ```

pub mod fault;
pub mod metrics;
pub mod pool;
pub mod retry;
pub mod trace;

use std::sync::Arc;

pub use fault::{Fault, FaultPlan, FaultSource, Faults};
pub use metrics::{Metrics, MetricsRecorder, MetricsSnapshot, OpCount, Prices};
pub use pool::{DEFAULT_CONCURRENCY, Pool, PoolControl, PoolStats};
pub use retry::{
    DEFAULT_BASE_DELAY, DEFAULT_DEADLINE, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY,
    DEFAULT_WRITE_ID_KEY, Retry, RetryConfig, RetryPolicy, RetryStats, Sleeper, TokioSleeper,
};

pub use trace::{TalliedStream, Tally, Trace, carry_tally, tallied};

use crate::storage::Storage;

/// Which layers to put around a backend; see [`Stack::builder`].
#[derive(Debug)]
pub struct StackBuilder {
    backend: Arc<dyn Storage>,
    faults: Option<FaultPlan>,
    metrics: bool,
    retry: Option<RetryConfig>,
    pool: Option<usize>,
}

impl StackBuilder {
    /// Injects faults right above the backend.
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = Some(plan);
        self
    }

    /// Counts requests and estimates costs.
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// Retries retryable failures — if there can be any: the layer is added only when
    /// `config` [is enabled](RetryConfig::is_enabled) and the storage below it reports
    /// [`transient_failures`](crate::Capabilities::transient_failures) (so an already retried
    /// storage is not wrapped twice, and memory or filesystem backends stay bare).
    pub fn retry(mut self, config: RetryConfig) -> Self {
        self.retry = Some(config);
        self
    }

    /// Bounds concurrency to `capacity` operations.
    pub fn pool(mut self, capacity: usize) -> Self {
        self.pool = Some(capacity);
        self
    }

    /// Builds the layers in the fixed order (Pool, Retry, Metrics, Trace, Faults, backend);
    /// the trace layer is added unless the storage below is already
    /// [`traced`](crate::Capabilities::traced).
    pub fn build(self) -> Stack {
        let mut storage = self.backend;
        let mut faults = None;
        if let Some(plan) = self.faults {
            let layer = Arc::new(Faults::new(storage, plan));
            faults = Some(layer.clone());
            storage = layer;
        }
        if !storage.capabilities().traced {
            storage = Arc::new(Trace::new(storage));
        }
        let mut metrics = None;
        if self.metrics {
            let layer = Metrics::new(storage);
            metrics = Some(layer.recorder());
            storage = Arc::new(layer);
        }
        let mut retry = None;
        if let Some(config) = self
            .retry
            .filter(|c| c.is_enabled() && storage.capabilities().transient_failures)
        {
            let layer = Arc::new(Retry::new(storage, config));
            retry = Some(layer.clone());
            storage = layer;
        }
        let mut pool = None;
        if let Some(capacity) = self.pool {
            let layer = Pool::new(storage, capacity);
            pool = Some(layer.control());
            storage = Arc::new(layer);
        }
        Stack {
            storage,
            faults,
            metrics,
            retry,
            pool,
        }
    }
}

/// A backend with its layers, and handles to the layers' statistics.
#[derive(Debug, Clone)]
pub struct Stack {
    storage: Arc<dyn Storage>,
    faults: Option<Arc<Faults<Arc<dyn Storage>>>>,
    metrics: Option<MetricsRecorder>,
    retry: Option<Arc<Retry<Arc<dyn Storage>>>>,
    pool: Option<PoolControl>,
}

impl Stack {
    /// Starts a stack around `backend` with no layers.
    pub fn builder(backend: Arc<dyn Storage>) -> StackBuilder {
        StackBuilder {
            backend,
            faults: None,
            metrics: false,
            retry: None,
            pool: None,
        }
    }

    /// The outermost storage: use this one.
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    /// Injected-failure count, if faults are on.
    pub fn faults_injected(&self) -> Option<u64> {
        self.faults.as_ref().map(|f| f.injected())
    }

    /// Request counters, if metrics are on.
    pub fn metrics(&self) -> Option<&MetricsRecorder> {
        self.metrics.as_ref()
    }

    /// Retry counters, if a retry layer was added.
    pub fn retry_stats(&self) -> Option<RetryStats> {
        self.retry.as_ref().map(|r| r.stats())
    }

    /// Pool statistics and flow control, if the pool is on.
    pub fn pool(&self) -> Option<&PoolControl> {
        self.pool.as_ref()
    }
}
