//! [`Trace`]: one `tracing` event per request (level `TRACE`, target
//! `s3db_storage::request`) and the per-operation request tally ([`tallied`]).
//!
//! Every request that reaches the layer adds to the [`Tally`] of the [`tallied`] scopes
//! it runs in: the requests sent and the body bytes read and written. The tally lives in a
//! Tokio task-local, so concurrent operations each count only their own requests; a task
//! spawned by an operation joins its tally through [`carry_tally`]. Outside any scope the
//! layer adds nothing, and with `TRACE` off it reads no clock: the cost is one task-local
//! look-up per request.
//!
//! The event's fields: `op` (`put`, `get`, `head`, `copy`, `delete`, `delete_many`, `list`),
//! `key` (a listing's prefix, a copy's destination, a batch's first key), `status` (`ok` or
//! the error kind), `bytes` (body bytes sent or received), `keys` (of a batch or listing
//! page) and `duration_us`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use s3db_storage::layers::{Trace, tallied};
//! use s3db_storage::{MemoryStorage, StorageExt};
//!
//! let storage = Trace::new(MemoryStorage::new());
//! let ((), tally) = tallied(async {
//!     storage.put_bytes("a", "hello").await.unwrap();
//!     storage.get_bytes("a").await.unwrap();
//! })
//! .await;
//! assert_eq!((tally.requests, tally.bytes_written, tally.bytes_read), (2, 5, 5));
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use futures::future::Either;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::error::{Error, ErrorKind, Result};
use crate::packed::{BodyLen, PackedGet};
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// S3's default (and maximum) keys per listing page.
const S3_PAGE: usize = 1000;

/// The target of the per-request events.
pub const REQUEST_TARGET: &str = "s3db_storage::request";

/// Requests and body bytes counted in a [`tallied`] scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests sent (a listing counts one per page, `delete_many` one per batch).
    pub requests: u64,
    /// Body bytes received by `get`.
    pub bytes_read: u64,
    /// Body bytes sent by `put`.
    pub bytes_written: u64,
}

/// The shared counters of one scope; a request counts in its scope and every enclosing one.
#[derive(Debug, Default)]
struct Counter {
    requests: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    parent: Option<Arc<Counter>>,
}

impl Counter {
    fn add(&self, requests: u64, bytes_read: u64, bytes_written: u64) {
        let mut scope = Some(self);
        while let Some(counter) = scope {
            counter.requests.fetch_add(requests, Ordering::Relaxed);
            counter.bytes_read.fetch_add(bytes_read, Ordering::Relaxed);
            counter
                .bytes_written
                .fetch_add(bytes_written, Ordering::Relaxed);
            scope = counter.parent.as_deref();
        }
    }

    fn tally(&self) -> Tally {
        Tally {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    static SCOPE: Arc<Counter>;
}

/// Runs `work`, counting the requests that pass through a [`Trace`] layer while it runs
/// (in this task, and in tasks it spawns through [`carry_tally`]). Scopes nest: a request
/// also counts in every enclosing scope.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Tally) {
    let counter = Arc::new(Counter {
        parent: SCOPE.try_with(Arc::clone).ok(),
        ..Counter::default()
    });
    let output = SCOPE.scope(counter.clone(), work).await;
    (output, counter.tally())
}

/// `work`, counted in the current [`tallied`] scope (if any) wherever it runs: wrap a
/// future before spawning it as a task of the operation.
pub fn carry_tally<F: Future>(work: F) -> impl Future<Output = F::Output> {
    match SCOPE.try_with(Arc::clone) {
        Ok(counter) => Either::Left(SCOPE.scope(counter, work)),
        Err(_) => Either::Right(work),
    }
}

/// A stream whose polls count their requests in a scope of its own, as [`tallied`] counts a
/// future's: read [`TalliedStream::tally`] at any time. The scope nests in the one current
/// when the stream was made (if any), wherever the stream is polled afterwards.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use futures::StreamExt;
/// use s3db_storage::layers::{TalliedStream, Trace};
/// use s3db_storage::{MemoryStorage, StorageExt};
///
/// let storage = Trace::new(MemoryStorage::new());
/// storage.put_bytes("a", "hello").await.unwrap();
/// let reads = futures::stream::iter(0..2).then(|_| storage.get_bytes("a")).boxed();
/// let mut reads = TalliedStream::new(reads);
/// while let Some(read) = reads.next().await {
///     assert_eq!(read.unwrap(), "hello");
/// }
/// assert_eq!((reads.tally().requests, reads.tally().bytes_read), (2, 10));
/// # });
/// ```
#[derive(Debug)]
pub struct TalliedStream<S> {
    inner: S,
    counter: Arc<Counter>,
}

impl<S> TalliedStream<S> {
    /// Counts the requests of `inner`'s polls from now on.
    pub fn new(inner: S) -> Self {
        TalliedStream {
            inner,
            counter: Arc::new(Counter {
                parent: SCOPE.try_with(Arc::clone).ok(),
                ..Counter::default()
            }),
        }
    }

    /// The requests and bytes counted so far.
    pub fn tally(&self) -> Tally {
        self.counter.tally()
    }
}

impl<S: Stream + Unpin> Stream for TalliedStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        SCOPE.sync_scope(this.counter.clone(), || this.inner.poll_next_unpin(cx))
    }
}

/// Counts a request in the current scope, if any.
fn count(requests: u64, bytes_read: u64, bytes_written: u64) {
    let _ = SCOPE.try_with(|counter| counter.add(requests, bytes_read, bytes_written));
}

/// The start time of a request, read only when its event will be emitted.
fn started() -> Option<Instant> {
    tracing::enabled!(target: REQUEST_TARGET, tracing::Level::TRACE).then(Instant::now)
}

/// Emits the event of one finished request (when [`started`] gave a start time).
fn finished(
    start: Option<Instant>,
    op: &'static str,
    key: &str,
    failure: Option<ErrorKind>,
    bytes: u64,
    keys: usize,
) {
    let Some(start) = start else { return };
    let duration_us = start.elapsed().as_micros() as u64;
    match failure {
        None => tracing::trace!(
            target: REQUEST_TARGET,
            op, key, status = "ok", bytes, keys, duration_us, "storage request"
        ),
        Some(kind) => tracing::trace!(
            target: REQUEST_TARGET,
            op, key, status = ?kind, bytes, keys, duration_us, "storage request"
        ),
    }
}

/// A GET of either kind, counted and traced with its body size.
async fn traced_get<T: BodyLen>(key: &str, read: impl Future<Output = Result<T>>) -> Result<T> {
    let start = started();
    let result = read.await;
    let size = result.as_ref().map_or(0, BodyLen::body_len);
    count(1, size, 0);
    finished(start, "get", key, failure(&result), size, 1);
    result
}

/// The kind of `result`'s error, if it failed.
fn failure<T>(result: &Result<T>) -> Option<ErrorKind> {
    result.as_ref().err().map(Error::kind)
}

/// Traces and tallies the requests that go through it; see the [module docs](self).
#[derive(Debug)]
pub struct Trace<S> {
    inner: S,
}

impl<S: Storage> Trace<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Trace { inner }
    }
}

#[async_trait]
impl<S: Storage> Storage for Trace<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        let size = payload.body.len() as u64;
        let start = started();
        let result = self.inner.put(key, payload, mode).await;
        count(1, 0, if result.is_ok() { size } else { 0 });
        finished(start, "put", key, failure(&result), size, 1);
        result
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        traced_get(key, self.inner.get(key)).await
    }

    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        traced_get(key, self.inner.get_packed(key)).await
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let start = started();
        let result = self.inner.head(key).await;
        count(1, 0, 0);
        finished(start, "head", key, failure(&result), 0, 1);
        result
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        let start = started();
        let result = self.inner.copy(from, to, options).await;
        count(1, 0, 0);
        finished(start, "copy", to, failure(&result), 0, 1);
        result
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let start = started();
        let result = self.inner.delete(key).await;
        count(1, 0, 0);
        finished(start, "delete", key, failure(&result), 0, 1);
        result
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let batch = self.inner.capabilities().max_delete_batch.max(1);
        let start = started();
        let result = self.inner.delete_many(keys).await;
        count(keys.len().div_ceil(batch) as u64, 0, 0);
        let first = keys.first().map_or("", String::as_str);
        finished(start, "delete_many", first, failure(&result), 0, keys.len());
        result
    }

    /// One request for the first page and one more per `page_size` keys after it, each
    /// traced when its last entry (or the end, or an error) arrives.
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let page = options.page_size.unwrap_or(S3_PAGE).clamp(1, S3_PAGE);
        let prefix = options.prefix.clone();
        count(1, 0, 0);
        ListPages {
            inner: self.inner.list(options),
            prefix,
            page,
            in_page: 0,
            start: started(),
            done: false,
        }
        .boxed()
    }

    /// The inner storage's, marked [`traced`](Capabilities::traced).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            traced: true,
            ..self.inner.capabilities()
        }
    }
}

/// A listing that counts and traces its pages.
struct ListPages<'a> {
    inner: BoxStream<'a, Result<ObjectMeta>>,
    prefix: String,
    page: usize,
    /// Entries of the current page seen so far.
    in_page: usize,
    /// When the current page was asked for (if its event will be emitted).
    start: Option<Instant>,
    /// Whether the end was reached (and traced).
    done: bool,
}

impl ListPages<'_> {
    fn page_done(&mut self, failure: Option<ErrorKind>) {
        finished(self.start, "list", &self.prefix, failure, 0, self.in_page);
    }
}

impl Stream for ListPages<'_> {
    type Item = Result<ObjectMeta>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let item = std::task::ready!(this.inner.poll_next_unpin(cx));
        match &item {
            Some(Ok(_)) => {
                if this.in_page == this.page {
                    this.page_done(None);
                    count(1, 0, 0);
                    this.in_page = 0;
                    this.start = started();
                }
                this.in_page += 1;
            }
            Some(Err(error)) => {
                this.page_done(Some(error.kind()));
                this.in_page = 0;
                this.start = started();
            }
            None => {
                this.done = true;
                this.page_done(None);
            }
        }
        Poll::Ready(item)
    }
}
