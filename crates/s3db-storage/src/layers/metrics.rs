//! [`Metrics`]: request counting per operation and an S3 cost estimate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// S3's default (and maximum) keys per listing page.
const S3_PAGE: usize = 1000;

/// Request prices in US dollars per 1 000 requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// PUT, COPY, POST and LIST requests.
    pub write_list_per_1000: f64,
    /// GET, HEAD and other reads.
    pub read_per_1000: f64,
}

impl Prices {
    /// S3 Standard: PUT/COPY/LIST $0.005 per 1 000, GET/HEAD $0.0004 per 1 000, DELETE free.
    pub const S3_STANDARD: Prices = Prices {
        write_list_per_1000: 0.005,
        read_per_1000: 0.0004,
    };
}

/// Requests sent and failed for one kind of operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Requests sent (a listing counts one per page, `delete_many` one per batch).
    pub requests: u64,
    /// Calls that returned an error.
    pub errors: u64,
}

/// What a [`Metrics`] layer has counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// PutObject.
    pub put: OpCount,
    /// GetObject.
    pub get: OpCount,
    /// HeadObject.
    pub head: OpCount,
    /// CopyObject.
    pub copy: OpCount,
    /// DeleteObject.
    pub delete: OpCount,
    /// DeleteObjects (batches of up to `max_delete_batch` keys).
    pub delete_many: OpCount,
    /// ListObjectsV2 pages.
    pub list: OpCount,
    /// Body bytes sent by `put`.
    pub bytes_written: u64,
    /// Body bytes received by `get`.
    pub bytes_read: u64,
}

impl MetricsSnapshot {
    /// All requests of every kind.
    pub fn requests(&self) -> u64 {
        [
            self.put,
            self.get,
            self.head,
            self.copy,
            self.delete,
            self.delete_many,
            self.list,
        ]
        .iter()
        .map(|c| c.requests)
        .sum()
    }

    /// Estimated request cost in US dollars (deletes are free; storage and transfer not included).
    pub fn estimated_cost_usd(&self, prices: Prices) -> f64 {
        let writes = self.put.requests + self.copy.requests + self.list.requests;
        let reads = self.get.requests + self.head.requests;
        (writes as f64 * prices.write_list_per_1000 + reads as f64 * prices.read_per_1000) / 1000.0
    }
}

/// A cloneable handle to a metrics layer's counters.
#[derive(Debug, Clone, Default)]
pub struct MetricsRecorder {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    ops: [OpCounters; 7],
    bytes_written: AtomicU64,
    bytes_read: AtomicU64,
}

#[derive(Debug, Default)]
struct OpCounters {
    requests: AtomicU64,
    errors: AtomicU64,
}

/// Which counter slot an operation uses.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Put,
    Get,
    Head,
    Copy,
    Delete,
    DeleteMany,
    List,
}

impl MetricsRecorder {
    /// The counts so far.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let op = |kind: Kind| {
            let c = &self.counters.ops[kind as usize];
            OpCount {
                requests: c.requests.load(Ordering::Relaxed),
                errors: c.errors.load(Ordering::Relaxed),
            }
        };
        MetricsSnapshot {
            put: op(Kind::Put),
            get: op(Kind::Get),
            head: op(Kind::Head),
            copy: op(Kind::Copy),
            delete: op(Kind::Delete),
            delete_many: op(Kind::DeleteMany),
            list: op(Kind::List),
            bytes_written: self.counters.bytes_written.load(Ordering::Relaxed),
            bytes_read: self.counters.bytes_read.load(Ordering::Relaxed),
        }
    }

    fn requests(&self, kind: Kind, n: u64) {
        self.counters.ops[kind as usize]
            .requests
            .fetch_add(n, Ordering::Relaxed);
    }

    fn outcome<T>(&self, kind: Kind, result: &Result<T>) {
        if result.is_err() {
            self.counters.ops[kind as usize]
                .errors
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts the requests that go through it; read them with [`Metrics::recorder`].
#[derive(Debug)]
pub struct Metrics<S> {
    inner: S,
    recorder: MetricsRecorder,
}

impl<S: Storage> Metrics<S> {
    /// Wraps `inner` with fresh counters.
    pub fn new(inner: S) -> Self {
        Metrics {
            inner,
            recorder: MetricsRecorder::default(),
        }
    }

    /// The counters' handle.
    pub fn recorder(&self) -> MetricsRecorder {
        self.recorder.clone()
    }

    fn counted<T>(&self, kind: Kind, result: Result<T>) -> Result<T> {
        self.recorder.outcome(kind, &result);
        result
    }
}

#[async_trait]
impl<S: Storage> Storage for Metrics<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        self.recorder.requests(Kind::Put, 1);
        let size = payload.body.len() as u64;
        let result = self.inner.put(key, payload, mode).await;
        if result.is_ok() {
            let c = &self.recorder.counters;
            c.bytes_written.fetch_add(size, Ordering::Relaxed);
        }
        self.counted(Kind::Put, result)
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        self.recorder.requests(Kind::Get, 1);
        let result = self.inner.get(key).await;
        if let Ok(got) = &result {
            let c = &self.recorder.counters;
            c.bytes_read
                .fetch_add(got.body.len() as u64, Ordering::Relaxed);
        }
        self.counted(Kind::Get, result)
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        self.recorder.requests(Kind::Head, 1);
        let result = self.inner.head(key).await;
        self.counted(Kind::Head, result)
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.recorder.requests(Kind::Copy, 1);
        let result = self.inner.copy(from, to, options).await;
        self.counted(Kind::Copy, result)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.recorder.requests(Kind::Delete, 1);
        let result = self.inner.delete(key).await;
        self.counted(Kind::Delete, result)
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let batch = self.inner.capabilities().max_delete_batch.max(1);
        self.recorder
            .requests(Kind::DeleteMany, keys.len().div_ceil(batch) as u64);
        let result = self.inner.delete_many(keys).await;
        self.counted(Kind::DeleteMany, result)
    }

    /// Counts one request for the first page and one more per `page_size` keys after it.
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let page = options.page_size.unwrap_or(S3_PAGE).clamp(1, S3_PAGE);
        self.recorder.requests(Kind::List, 1);
        let mut seen = 0usize;
        self.inner
            .list(options)
            .map(move |item| {
                match &item {
                    Ok(_) => {
                        if seen > 0 && seen % page == 0 {
                            self.recorder.requests(Kind::List, 1);
                        }
                        seen += 1;
                    }
                    Err(_) => self.recorder.outcome(Kind::List, &item),
                }
                item
            })
            .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
