//! [`Metrics`]: request counting per operation and an S3 cost estimate, optionally also per
//! group of keys ([`Metrics::grouped`]: per resource, for example).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::packed::{BodyLen, PackedGet};
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
    /// Per-group counters of a [`Metrics::grouped`] layer, by group name.
    groups: RwLock<BTreeMap<String, MetricsRecorder>>,
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

    /// The counts of each group of a [`Metrics::grouped`] layer, by group name (empty for
    /// an ungrouped layer). A group appears once a request was counted in it.
    pub fn groups(&self) -> BTreeMap<String, MetricsSnapshot> {
        self.counters
            .groups
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, recorder)| (name.clone(), recorder.snapshot()))
            .collect()
    }

    /// The recorder of group `name`, created on first use.
    fn group(&self, name: String) -> MetricsRecorder {
        let groups = &self.counters.groups;
        if let Some(found) = groups
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
        {
            return found.clone();
        }
        groups
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name)
            .or_default()
            .clone()
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

    fn bytes_written(&self, n: u64) {
        self.counters.bytes_written.fetch_add(n, Ordering::Relaxed);
    }

    fn bytes_read(&self, n: u64) {
        self.counters.bytes_read.fetch_add(n, Ordering::Relaxed);
    }
}

/// Names the group a key's requests are counted in (see [`Metrics::grouped`]).
type KeyGrouper = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The recorders one request is counted in: the layer's, and its key's group's if the layer
/// is grouped. The layer's is borrowed: a clone per request would add two atomic updates
/// of one shared counter, which concurrent requests on several cores fight over.
struct Targets<'a> {
    total: &'a MetricsRecorder,
    group: Option<MetricsRecorder>,
}

impl Targets<'_> {
    fn each(&self, count: impl Fn(&MetricsRecorder)) {
        count(self.total);
        if let Some(group) = &self.group {
            count(group);
        }
    }
}

/// Counts the requests that go through it; read them with [`Metrics::recorder`].
pub struct Metrics<S> {
    inner: S,
    recorder: MetricsRecorder,
    grouper: Option<KeyGrouper>,
}

impl<S: fmt::Debug> fmt::Debug for Metrics<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("inner", &self.inner)
            .field("recorder", &self.recorder)
            .field("grouped", &self.grouper.is_some())
            .finish()
    }
}

impl<S: Storage> Metrics<S> {
    /// Wraps `inner` with fresh counters.
    pub fn new(inner: S) -> Self {
        Metrics {
            inner,
            recorder: MetricsRecorder::default(),
            grouper: None,
        }
    }

    /// Wraps `inner` with fresh counters that also count each request in the group
    /// `grouper` names for its key ([`MetricsRecorder::groups`]). A listing is grouped by
    /// its prefix, a copy by its destination, and a `delete_many` counts in each group its
    /// keys fall in one request per batch of that group's keys.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use s3db_storage::layers::Metrics;
    /// use s3db_storage::{MemoryStorage, Storage, StorageExt};
    ///
    /// let first_segment = |key: &str| key.split('/').next().unwrap_or_default().to_owned();
    /// let layer = Metrics::grouped(MemoryStorage::new(), first_segment);
    /// layer.put_bytes("a/1", "x").await?;
    /// layer.put_bytes("a/2", "x").await?;
    /// layer.put_bytes("b/1", "x").await?;
    /// let groups = layer.recorder().groups();
    /// assert_eq!(groups["a"].put.requests, 2);
    /// assert_eq!(groups["b"].put.requests, 1);
    /// assert_eq!(layer.recorder().snapshot().put.requests, 3);
    /// # Ok::<(), s3db_storage::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn grouped(inner: S, grouper: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        Metrics {
            inner,
            recorder: MetricsRecorder::default(),
            grouper: Some(Arc::new(grouper)),
        }
    }

    /// The counters' handle.
    pub fn recorder(&self) -> MetricsRecorder {
        self.recorder.clone()
    }

    /// Where a request on `key` is counted.
    fn targets(&self, key: &str) -> Targets<'_> {
        Targets {
            total: &self.recorder,
            group: self
                .grouper
                .as_ref()
                .map(|grouper| self.recorder.group(grouper(key))),
        }
    }

    /// A GET of either kind, counted with the bytes it read.
    async fn counted_get<T: BodyLen>(
        &self,
        key: &str,
        read: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let (targets, result) = self.counted(Kind::Get, key, read).await;
        if let Ok(got) = &result {
            targets.each(|r| r.bytes_read(got.body_len()));
        }
        result
    }

    /// Counts one request of `kind` on `key`, runs it, and counts its outcome.
    async fn counted<T>(
        &self,
        kind: Kind,
        key: &str,
        request: impl std::future::Future<Output = Result<T>>,
    ) -> (Targets<'_>, Result<T>) {
        let targets = self.targets(key);
        targets.each(|r| r.requests(kind, 1));
        let result = request.await;
        targets.each(|r| r.outcome(kind, &result));
        (targets, result)
    }
}

#[async_trait]
impl<S: Storage> Storage for Metrics<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        let size = payload.body.len() as u64;
        let (targets, result) = self
            .counted(Kind::Put, key, self.inner.put(key, payload, mode))
            .await;
        if result.is_ok() {
            targets.each(|r| r.bytes_written(size));
        }
        result
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        self.counted_get(key, self.inner.get(key)).await
    }

    async fn get_packed(&self, key: &str) -> Result<PackedGet> {
        self.counted_get(key, self.inner.get_packed(key)).await
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        self.counted(Kind::Head, key, self.inner.head(key)).await.1
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.counted(Kind::Copy, to, self.inner.copy(from, to, options))
            .await
            .1
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.counted(Kind::Delete, key, self.inner.delete(key))
            .await
            .1
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let batch = self.inner.capabilities().max_delete_batch.max(1);
        let batches = |n: usize| n.div_ceil(batch) as u64;
        self.recorder
            .requests(Kind::DeleteMany, batches(keys.len()));
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        if let Some(grouper) = &self.grouper {
            for key in keys {
                *groups.entry(grouper(key)).or_default() += 1;
            }
        }
        let groups: Vec<(MetricsRecorder, usize)> = groups
            .into_iter()
            .map(|(name, n)| (self.recorder.group(name), n))
            .collect();
        for (group, n) in &groups {
            group.requests(Kind::DeleteMany, batches(*n));
        }
        let result = self.inner.delete_many(keys).await;
        self.recorder.outcome(Kind::DeleteMany, &result);
        for (group, _) in &groups {
            group.outcome(Kind::DeleteMany, &result);
        }
        result
    }

    /// Counts one request for the first page and one more per `page_size` keys after it.
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        let page = options.page_size.unwrap_or(S3_PAGE).clamp(1, S3_PAGE);
        let targets = self.targets(&options.prefix);
        targets.each(|r| r.requests(Kind::List, 1));
        let mut seen = 0usize;
        self.inner
            .list(options)
            .map(move |item| {
                match &item {
                    Ok(_) => {
                        if seen > 0 && seen.is_multiple_of(page) {
                            targets.each(|r| r.requests(Kind::List, 1));
                        }
                        seen += 1;
                    }
                    Err(_) => targets.each(|r| r.outcome(Kind::List, &item)),
                }
                item
            })
            .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ext::StorageExt;
    use crate::memory::MemoryStorage;

    fn first_segment(key: &str) -> String {
        key.split('/').next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn groups_count_each_kind_by_key_and_add_up_to_the_total() {
        let layer = Metrics::grouped(MemoryStorage::new(), first_segment);
        for key in ["a/1", "a/2", "b/1"] {
            layer.put_bytes(key, "xy").await.unwrap();
        }
        layer.get_bytes("a/1").await.unwrap();
        assert!(layer.get_bytes("b/missing").await.is_err());
        assert!(layer.exists("b/1").await.unwrap());
        layer
            .copy("a/1", "c/1", CopyOptions::default())
            .await
            .unwrap();
        assert_eq!(layer.list_keys("a/").await.unwrap().len(), 2);
        layer.delete("c/1").await.unwrap();
        layer
            .delete_many(&["a/1".into(), "a/2".into(), "b/1".into()])
            .await
            .unwrap();

        let total = layer.recorder().snapshot();
        let groups = layer.recorder().groups();
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        let (a, b, c) = (groups["a"], groups["b"], groups["c"]);
        assert_eq!((a.put.requests, b.put.requests, c.put.requests), (2, 1, 0));
        assert_eq!((a.get.requests, a.get.errors), (1, 0));
        assert_eq!((b.get.requests, b.get.errors), (1, 1));
        assert_eq!((a.bytes_written, a.bytes_read, b.bytes_read), (4, 2, 0));
        assert_eq!(b.head.requests, 1);
        assert_eq!((c.copy.requests, c.delete.requests), (1, 1));
        assert_eq!(a.list.requests, 1);
        // One batch for the whole call; one per group in the groups.
        assert_eq!(total.delete_many.requests, 1);
        assert_eq!((a.delete_many.requests, b.delete_many.requests), (1, 1));
        for kind in [
            |s: &MetricsSnapshot| s.put,
            |s: &MetricsSnapshot| s.get,
            |s: &MetricsSnapshot| s.head,
            |s: &MetricsSnapshot| s.copy,
            |s: &MetricsSnapshot| s.delete,
            |s: &MetricsSnapshot| s.list,
        ] {
            let sum: u64 = groups.values().map(|g| kind(g).requests).sum();
            assert_eq!(sum, kind(&total).requests);
        }
    }

    #[tokio::test]
    async fn an_ungrouped_layer_has_no_groups() {
        let layer = Metrics::new(MemoryStorage::new());
        layer.put_bytes("a/1", "x").await.unwrap();
        assert!(layer.recorder().groups().is_empty());
        assert_eq!(layer.recorder().snapshot().put.requests, 1);
    }
}
