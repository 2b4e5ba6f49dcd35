//! Listings with options (partition, limit, offset, read concurrency), record and id
//! streams, counts and filtered queries planned over partitions.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::sync::Arc;
use std::task::Poll;

use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesOrdered};
use futures::{FutureExt, StreamExt, TryStreamExt, future};
use s3db_storage::layers::carry_tally;
use s3db_storage::{ListOptions, ObjectMeta, Storage};
use serde_json::Value;
use tracing::Instrument;

use super::{Record, Resource};
use crate::error::{Error, Result};
use crate::extend::{Event, HookPoint, Operation, Payload};
use crate::filter::{Choice, Filter};
use crate::partition::{Partition, Selector};

/// Record GETs in flight behind a listing unless told otherwise.
pub const DEFAULT_READ_CONCURRENCY: usize = 32;

/// Tasks a listing's record reads are spread over (each with its share of the reads in
/// flight): enough to keep a few cores busy, few enough that a hand-off between threads is
/// paid per chunk of records.
const READ_TASKS: usize = 4;

/// Largest chunk of ids a read task takes, as a multiple of its reads in flight. The first
/// [`READ_TASKS`] chunks hold as many ids as a task has reads in flight (so a short listing
/// still has all of them in flight), the next ones double up to this: a long listing pays a
/// hand-off between threads per chunk of up to 8 × 8 records rather than of 8, and its last
/// chunks stay short enough that few round trips run below full concurrency.
const LARGEST_CHUNK: usize = 8;

/// How a listing reads each of its records: as the [presented](Resource::presented) record
/// ([`Presented`]) or straight into a caller's type.
pub(crate) trait RecordReader: Send + 'static {
    /// What one read gives.
    type Item: Send + 'static;

    /// Reads record `id`; `None` when it is gone (deleted since the listing) or its id is
    /// not one s3db can read.
    fn read(
        this: &Resource,
        id: Result<String>,
    ) -> impl Future<Output = Result<Option<Self::Item>>> + Send + '_;
}

/// One chunk of a listing's reads, run as a task: the chunk's place in the listing and
/// each of its ids' outcome, in order.
type ChunkRead<T> = BoxFuture<'static, (usize, Result<Vec<Result<Option<T>>>>)>;

/// How a listing's reads run (see [`Resource::read_all`]).
enum ChunkReads<T> {
    /// One at a time, in place: the records.
    InPlace(BoxStream<'static, Result<T>>),
    /// In chunk tasks, of which `tasks` may run at once.
    Tasks {
        chunks: BoxStream<'static, ChunkRead<T>>,
        tasks: usize,
    },
}

/// Reads records as [presented](Resource::presented).
pub(crate) struct Presented;

impl RecordReader for Presented {
    type Item = Record;

    fn read(
        this: &Resource,
        id: Result<String>,
    ) -> impl Future<Output = Result<Option<Record>>> + Send + '_ {
        this.read_present(id)
    }
}

/// What to list: all records or one partition's (optionally for some field values), with
/// offset, limit and the number of record reads in flight.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// Partition name; `None` lists the record objects.
    pub partition: Option<String>,
    /// Field values selecting inside the partition (`{"status": "open"}`); fields not given
    /// match any value. Values match exactly (`open` does not match `opened`).
    pub values: Record,
    /// Keys skipped first.
    pub offset: usize,
    /// At most this many results.
    pub limit: Option<usize>,
    /// Record reads in flight (at least 1).
    pub concurrency: usize,
}

impl Default for ListRequest {
    fn default() -> Self {
        ListRequest {
            partition: None,
            values: Record::new(),
            offset: 0,
            limit: None,
            concurrency: DEFAULT_READ_CONCURRENCY,
        }
    }
}

impl ListRequest {
    /// Every record.
    pub fn all() -> Self {
        ListRequest::default()
    }

    /// The records of `partition` whose fields equal `values` (a JSON object; others are
    /// treated as no values).
    pub fn partition(partition: impl Into<String>, values: Value) -> Self {
        ListRequest {
            partition: Some(partition.into()),
            values: match values {
                Value::Object(values) => values,
                _ => Record::new(),
            },
            ..ListRequest::default()
        }
    }

    /// Skips the first `offset` results.
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Returns at most `limit` results.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Keeps `concurrency` record reads in flight.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }
}

/// How a query may run.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Allow a full scan of the records when no partition serves the filter.
    pub allow_scan: bool,
    /// Matching records skipped first.
    pub offset: usize,
    /// At most this many records.
    pub limit: Option<usize>,
    /// Record reads in flight.
    pub concurrency: usize,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            allow_scan: false,
            offset: 0,
            limit: None,
            concurrency: DEFAULT_READ_CONCURRENCY,
        }
    }
}

impl QueryOptions {
    /// Options that allow a full scan.
    pub fn scanning() -> Self {
        QueryOptions {
            allow_scan: true,
            ..QueryOptions::default()
        }
    }
}

/// Where a listing reads keys from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// `resource=<r>/data/`.
    Data(String),
    /// One partition's references.
    Partition(Selector),
    /// One partition prefix whose keys are kept when any of the selectors (all with that
    /// prefix) accepts them: `$in` values of a field after the listed ones.
    AnyOf(Vec<Selector>),
}

impl KeySource {
    pub(crate) fn prefix(&self) -> &str {
        match self {
            KeySource::Data(prefix) => prefix,
            KeySource::Partition(selector) => &selector.prefix,
            KeySource::AnyOf(selectors) => selectors.first().map_or("", |s| s.prefix.as_str()),
        }
    }

    pub(crate) fn id_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        match self {
            KeySource::Data(prefix) => key.strip_prefix(prefix.as_str())?.strip_prefix("id="),
            KeySource::Partition(selector) => selector.id_of(key),
            KeySource::AnyOf(selectors) => selectors.iter().find_map(|s| s.id_of(key)),
        }
    }
}

/// Keys listed per page of this many.
const LIST_PAGE: usize = 1000;

/// The keys under `prefix` after `start_after`, one listing request per page, owning the
/// storage handle so the stream can outlive the resource borrow.
fn key_pages(
    storage: Arc<dyn Storage>,
    prefix: String,
    start_after: Option<String>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    futures::stream::try_unfold(Some(start_after), move |state| {
        let storage = storage.clone();
        let prefix = prefix.clone();
        async move {
            let Some(after) = state else {
                return Ok(None);
            };
            let options = ListOptions {
                prefix,
                start_after: after,
                page_size: Some(LIST_PAGE),
            };
            // Sized for a full page: collecting grows by doubling, copying the page twice.
            let page = storage
                .list(options)
                .take(LIST_PAGE)
                .try_fold(Vec::with_capacity(LIST_PAGE), |mut page, meta| {
                    page.push(meta);
                    future::ready(Ok(page))
                })
                .await?;
            let next = (page.len() == LIST_PAGE).then(|| page.last().map(|m| m.key.clone()));
            Ok::<_, Error>(Some((page, next)))
        }
    })
    .map_ok(|page| futures::stream::iter(page.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

impl Resource {
    /// A declared partition: [`Error::UnknownPartition`] if there is none of that name.
    pub fn partition(&self, name: &str) -> Result<&Partition> {
        self.def
            .partitions
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::UnknownPartition {
                resource: self.def.name.clone(),
                partition: name.to_owned(),
            })
    }

    pub(crate) fn key_source(&self, partition: Option<&str>, values: &Record) -> Result<KeySource> {
        Ok(match partition {
            None => KeySource::Data(format!("{}/", self.def.data_prefix())),
            Some(name) => {
                KeySource::Partition(self.partition(name)?.selector(&self.def.name, values))
            }
        })
    }

    /// Keys listed from `source` after `start_after`, as ids (lazy: pages are fetched as
    /// the stream is polled).
    pub(crate) fn ids_from(
        &self,
        source: KeySource,
        start_after: Option<String>,
    ) -> BoxStream<'static, Result<(String, String)>> {
        key_pages(
            self.storage.clone(),
            source.prefix().to_owned(),
            start_after,
        )
        .filter_map(move |meta| {
            let found = meta.map(|meta| {
                let id = source.id_of(&meta.key).map(str::to_owned);
                id.map(|id| (id, meta.key))
            });
            future::ready(found.transpose())
        })
        .boxed()
    }

    /// The ids a request selects, lazily, in key order.
    pub fn id_stream(&self, request: &ListRequest) -> Result<BoxStream<'static, Result<String>>> {
        Ok(self.observed_stream("idStream", self.ids_of(request)?))
    }

    /// [`Resource::id_stream`] without its span (for the operations built on it).
    pub(crate) fn ids_of(
        &self,
        request: &ListRequest,
    ) -> Result<BoxStream<'static, Result<String>>> {
        let source = self.key_source(request.partition.as_deref(), &request.values)?;
        let ids = self
            .ids_from(source, None)
            .map_ok(|(id, _)| id)
            .skip(request.offset);
        Ok(match request.limit {
            Some(limit) => ids.take(limit).boxed(),
            None => ids.boxed(),
        })
    }

    /// The records a request selects, lazily, in key order, with `request.concurrency`
    /// reads in flight (backpressure: nothing is read ahead of that window). A reference
    /// whose record is gone is skipped.
    pub fn stream(&self, request: &ListRequest) -> Result<BoxStream<'static, Result<Record>>> {
        let records = self.delivered_stream(self.records(request)?);
        Ok(self.observed_stream("stream", records))
    }

    /// [`Resource::stream`] before delivery (records as the operation carries them).
    pub(crate) fn records(
        &self,
        request: &ListRequest,
    ) -> Result<BoxStream<'static, Result<Record>>> {
        let ids = self.ids_of(request)?;
        Ok(self.read_all(ids, request.concurrency))
    }

    /// `records` as handed to the caller ([`Resource::delivered`] on each).
    pub(crate) fn delivered_stream(
        &self,
        records: BoxStream<'static, Result<Record>>,
    ) -> BoxStream<'static, Result<Record>> {
        if self.meta {
            return records;
        }
        records
            .map_ok(|record| super::deliver(false, record))
            .boxed()
    }

    /// Each record as handed to the caller ([`Resource::delivered`]).
    pub(crate) fn delivered_all(&self, records: Vec<Record>) -> Vec<Record> {
        match self.meta {
            true => records,
            false => records.into_iter().map(|r| self.delivered(r)).collect(),
        }
    }

    /// Reads the records of a stream of ids, in order, skipping missing ones, with at most
    /// `concurrency` reads in flight (and the resource's parallelism). With more than one in
    /// flight and a Tokio runtime present, the ids go in chunks to about [`READ_TASKS`] tasks
    /// at a time, each reading its chunk with the chunk's size in flight: decoding uses every
    /// core, and a cross-thread hand-off is paid per chunk, not per record. One at a time,
    /// reads run in place. The records are [presented](Resource::presented), not yet
    /// delivered.
    pub(crate) fn read_all(
        &self,
        ids: BoxStream<'static, Result<String>>,
        concurrency: usize,
    ) -> BoxStream<'static, Result<Record>> {
        self.read_all_as::<Presented>(ids, concurrency)
    }

    /// [`Resource::read_all`], each record read by `R`.
    pub(crate) fn read_all_as<R: RecordReader>(
        &self,
        ids: BoxStream<'static, Result<String>>,
        concurrency: usize,
    ) -> BoxStream<'static, Result<R::Item>> {
        match self.chunk_reads::<R>(ids, concurrency) {
            ChunkReads::InPlace(records) => records,
            ChunkReads::Tasks { chunks, tasks } => chunks
                .buffered(tasks)
                .flat_map(|(_, chunk)| match chunk {
                    Ok(found) => {
                        futures::stream::iter(found.into_iter().filter_map(Result::transpose))
                            .left_stream()
                    }
                    Err(e) => futures::stream::once(future::ready(Err(e))).right_stream(),
                })
                .boxed(),
        }
    }

    /// Every record of a stream of ids, read by `R` as [`Resource::read_all_as`] reads them,
    /// in order, into one vector. The chunks are taken as they finish, not in order: a slow
    /// chunk does not hold the others' tasks back, and the records are put in order once, at
    /// the end. The first failure to arrive is returned.
    pub(crate) async fn collect_all_as<R: RecordReader>(
        &self,
        ids: BoxStream<'static, Result<String>>,
        concurrency: usize,
    ) -> Result<Vec<R::Item>> {
        let (chunks, tasks) = match self.chunk_reads::<R>(ids, concurrency) {
            ChunkReads::InPlace(records) => return records.try_collect().await,
            ChunkReads::Tasks { chunks, tasks } => (chunks, tasks),
        };
        let mut done = chunks.buffer_unordered(tasks);
        let mut read = Vec::new();
        while let Some((at, found)) = done.next().await {
            let found: Vec<R::Item> = found?
                .into_iter()
                .filter_map(Result::transpose)
                .collect::<Result<_>>()?;
            read.push((at, found));
        }
        read.sort_unstable_by_key(|(at, _)| *at);
        let mut records = Vec::with_capacity(read.iter().map(|(_, found)| found.len()).sum());
        for (_, found) in read {
            records.extend(found);
        }
        Ok(records)
    }

    /// [`Resource::collect_all_as`] of [presented](Resource::presented) records.
    pub(crate) async fn collect_all(
        &self,
        ids: BoxStream<'static, Result<String>>,
        concurrency: usize,
    ) -> Result<Vec<Record>> {
        self.collect_all_as::<Presented>(ids, concurrency).await
    }

    /// How the reads of a listing run (see [`Resource::read_all`]): in place, one at a time,
    /// or as a stream of chunk tasks of which `tasks` may run at once.
    fn chunk_reads<R: RecordReader>(
        &self,
        ids: BoxStream<'static, Result<String>>,
        concurrency: usize,
    ) -> ChunkReads<R::Item> {
        let in_flight = self.in_flight(concurrency);
        let this = self.clone();
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) if in_flight > 1 => runtime,
            _ => {
                let records = ids
                    .then(move |id| {
                        let this = this.clone();
                        async move { R::read(&this, id).await }
                    })
                    .filter_map(|found| future::ready(found.transpose()))
                    .boxed();
                return ChunkReads::InPlace(records);
            }
        };
        // At most `in_flight` reads in all: `tasks` chunks of `per_task`.
        let per_task = (in_flight / READ_TASKS).max(1);
        let tasks = in_flight / per_task;
        let chunks = growing_chunks(ids, per_task, tasks, per_task * LARGEST_CHUNK)
            .enumerate()
            .map(move |(at, chunk)| {
                let this = this.clone();
                let resource = this.def.name.clone();
                let read = async move { read_chunk::<R>(&this, chunk, per_task).await };
                let task = runtime.spawn(carry_tally(read).in_current_span());
                async move {
                    let found = task.await.map_err(|e| Error::Unsupported {
                        resource,
                        reason: format!("record read task failed: {e}"),
                    });
                    (at, found)
                }
                .boxed()
            })
            .boxed();
        ChunkReads::Tasks { chunks, tasks }
    }

    /// Reads one record of a listing as [presented](Resource::presented) (see
    /// [`RecordReader::read`]).
    async fn read_present(&self, id: Result<String>) -> Result<Option<Record>> {
        match self.load(&id?).await {
            Ok(loaded) => Ok(Some(self.presented(loaded))),
            Err(Error::NotFound { .. } | Error::InvalidId(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The records a request selects, in key order.
    pub async fn list(&self, request: &ListRequest) -> Result<Vec<Record>> {
        self.observed("list", None, self.list_op(request)).await
    }

    async fn list_op(&self, request: &ListRequest) -> Result<Vec<Record>> {
        if !self.ext.middlewares.has(Operation::List) {
            return Ok(self.delivered_all(self.list_inner(request).await?));
        }
        let out = self
            .wrapped_listing(Operation::List, request, |this, request| async move {
                Ok(Payload::Records(this.list_inner(&request).await?))
            })
            .await?;
        Ok(self.delivered_all(out.into_records()?))
    }

    /// Runs `inner` through the middleware of `operation`, which sees `request` as options
    /// and may rewrite them.
    pub(super) async fn wrapped_listing<F, Fut>(
        &self,
        operation: Operation,
        request: &ListRequest,
        inner: F,
    ) -> Result<Payload>
    where
        F: FnOnce(Resource, ListRequest) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Payload>> + Send + 'static,
    {
        let args = Payload::Options(request.to_options());
        self.wrapped(operation, args, |this, args| async move {
            let request = ListRequest::from_options(&this.def.name, &args.into_options()?)?;
            inner(this, request).await
        })
        .await
    }

    /// `request` as the `point` before-hooks rewrote it; `None` when none is registered.
    async fn hooked_request(
        &self,
        point: HookPoint,
        request: &ListRequest,
    ) -> Result<Option<ListRequest>> {
        match self
            .before(point, || Payload::Options(request.to_options()))
            .await?
        {
            Some(payload) => Ok(Some(ListRequest::from_options(
                &self.def.name,
                &payload.into_options()?,
            )?)),
            None => Ok(None),
        }
    }

    async fn list_inner(&self, request: &ListRequest) -> Result<Vec<Record>> {
        let rewritten = self.hooked_request(HookPoint::BeforeList, request).await?;
        let request = rewritten.as_ref().unwrap_or(request);
        let records = self
            .collect_all(self.ids_of(request)?, request.concurrency)
            .await?;
        let records = self
            .ext
            .hooks
            .run(HookPoint::AfterList, Payload::Records(records))
            .await?
            .into_records()?;
        self.emit_listed(request, records.len());
        Ok(records)
    }

    /// Emits `Listed` for a listing of `count` records.
    pub(crate) fn emit_listed(&self, request: &ListRequest, count: usize) {
        self.ext.events.emit_with(|| Event::Listed {
            resource: self.def.name.clone(),
            partition: request.partition.clone(),
            count,
            errors: 0,
        });
    }

    /// The ids a request selects, in key order. Runs the `listIds` middleware and emits
    /// `ListedIds`.
    pub async fn list_ids_by(&self, request: &ListRequest) -> Result<Vec<String>> {
        self.observed("listIds", None, self.list_ids_by_op(request))
            .await
    }

    async fn list_ids_by_op(&self, request: &ListRequest) -> Result<Vec<String>> {
        if !self.ext.middlewares.has(Operation::ListIds) {
            return self.list_ids_inner(request).await;
        }
        let out = self
            .wrapped_listing(Operation::ListIds, request, |this, request| async move {
                Ok(Payload::Ids(this.list_ids_inner(&request).await?))
            })
            .await?;
        Ok(out.into_ids()?)
    }

    async fn list_ids_inner(&self, request: &ListRequest) -> Result<Vec<String>> {
        let ids: Vec<String> = self.ids_of(request)?.try_collect().await?;
        self.ext.events.emit_with(|| Event::ListedIds {
            resource: self.def.name.clone(),
            count: ids.len(),
        });
        Ok(ids)
    }

    /// How many keys a request selects (a listing, no record reads).
    pub async fn count_by(&self, request: &ListRequest) -> Result<usize> {
        self.observed("count", None, self.count_by_op(request))
            .await
    }

    async fn count_by_op(&self, request: &ListRequest) -> Result<usize> {
        if !self.ext.middlewares.has(Operation::Count) {
            return self.count_inner(request).await;
        }
        let out = self
            .wrapped_listing(Operation::Count, request, |this, request| async move {
                Ok(Payload::Count(this.count_inner(&request).await?))
            })
            .await?;
        Ok(out.into_count()?)
    }

    async fn count_inner(&self, request: &ListRequest) -> Result<usize> {
        let rewritten = self.hooked_request(HookPoint::BeforeCount, request).await?;
        let request = rewritten.as_ref().unwrap_or(request);
        let count = self
            .ids_of(request)?
            .try_fold(0, |n, _| async move { Ok(n + 1) })
            .await?;
        let count = self
            .ext
            .hooks
            .run(HookPoint::AfterCount, Payload::Count(count))
            .await?
            .into_count()?;
        self.ext.events.emit_with(|| Event::Counted {
            resource: self.def.name.clone(),
            count,
        });
        Ok(count)
    }

    /// The records of `partition` whose fields equal `values`.
    pub async fn list_partition(&self, partition: &str, values: Value) -> Result<Vec<Record>> {
        self.list(&ListRequest::partition(partition, values)).await
    }

    /// The records matching `filter` (see [`Filter`]). The partition covering most of the
    /// filter's equality fields is listed and the remaining conditions are checked on each
    /// record; when no partition covers any, the query is a full scan, run only with
    /// [`QueryOptions::allow_scan`] (else [`Error::ScanRequired`], saying which partition
    /// would serve it or that none does).
    pub async fn query(&self, filter: &Value, options: &QueryOptions) -> Result<Vec<Record>> {
        self.observed("query", None, self.query_op(filter, options))
            .await
    }

    async fn query_op(&self, filter: &Value, options: &QueryOptions) -> Result<Vec<Record>> {
        if !self.ext.middlewares.has(Operation::Query) {
            return Ok(self.delivered_all(self.query_inner(filter, options).await?));
        }
        let args = Payload::Options(options.to_options(filter));
        let out = self
            .wrapped(Operation::Query, args, |this, args| async move {
                let (filter, options) =
                    QueryOptions::from_options(&this.def.name, &args.into_options()?)?;
                Ok(Payload::Records(this.query_inner(&filter, &options).await?))
            })
            .await?;
        Ok(self.delivered_all(out.into_records()?))
    }

    async fn query_inner(&self, filter: &Value, options: &QueryOptions) -> Result<Vec<Record>> {
        let rewritten = self.before(HookPoint::BeforeQuery, || {
            Payload::Options(options.to_options(filter))
        });
        let rewritten = match rewritten.await? {
            Some(payload) => Some(QueryOptions::from_options(
                &self.def.name,
                &payload.into_options()?,
            )?),
            None => None,
        };
        let (filter, options) = match &rewritten {
            Some((filter, options)) => (filter, options),
            None => (filter, options),
        };
        let records: Vec<Record> = self.matching(filter, options)?.try_collect().await?;
        Ok(self
            .ext
            .hooks
            .run(HookPoint::AfterQuery, Payload::Records(records))
            .await?
            .into_records()?)
    }

    /// [`Resource::query`] as a lazy stream.
    pub fn query_stream(
        &self,
        filter: &Value,
        options: &QueryOptions,
    ) -> Result<BoxStream<'static, Result<Record>>> {
        Ok(self.delivered_stream(self.matching(filter, options)?))
    }

    /// [`Resource::query_stream`] before delivery.
    fn matching(
        &self,
        filter: &Value,
        options: &QueryOptions,
    ) -> Result<BoxStream<'static, Result<Record>>> {
        let filter = Filter::parse(filter)?;
        let sources = self.plan(&filter, options.allow_scan)?;
        let ids = self.ids_of_sources(sources);
        let matching = self
            .read_all(ids, options.concurrency)
            .try_filter(move |record| std::future::ready(filter.matches(record)))
            .skip(options.offset);
        Ok(match options.limit {
            Some(limit) => matching.take(limit).boxed(),
            None => matching.boxed(),
        })
    }

    /// The ids listed from `sources` one after the other. Several sources (or one with
    /// several selectors) come from `$in` values: an id listed twice (a stale reference
    /// beside the current one) is kept once.
    fn ids_of_sources(&self, sources: Vec<KeySource>) -> BoxStream<'static, Result<String>> {
        let several = sources.len() > 1 || matches!(sources.first(), Some(KeySource::AnyOf(_)));
        let this = self.clone();
        let ids = futures::stream::iter(sources)
            .flat_map(move |source| this.ids_from(source, None))
            .map_ok(|(id, _)| id);
        if !several {
            return ids.boxed();
        }
        let mut seen = HashSet::new();
        ids.try_filter(move |id| std::future::ready(seen.insert(id.clone())))
            .boxed()
    }

    /// The key sources serving a filter, in key order: of the partitions holding a reference
    /// to every record the filter can match (see [`Partition::indexes_all_records`]), the
    /// one whose fields the filter's equality and `$in` conditions cover most (then: covered completely, fewest
    /// listings, fewest fields), one listing prefix per combination of `$in` values; or the
    /// record objects when scans are allowed.
    fn plan(&self, filter: &Filter, allow_scan: bool) -> Result<Vec<KeySource>> {
        let choices = filter.choices();
        let best = self
            .def
            .partitions
            .iter()
            .filter(|p| !p.is_orphaned(&self.def.schema))
            .filter_map(|p| {
                let used = partition_choices(p, &choices);
                if used.is_empty() || !p.indexes_all_records(&self.def.schema, &used) {
                    return None;
                }
                let selectors = p.selectors_for(&self.def.name, &used)?;
                let complete = used.len() == p.fields.len();
                Some((p, used.len(), complete, selectors))
            })
            .max_by_key(|(p, covered, complete, selectors)| {
                (
                    *covered,
                    *complete,
                    Reverse(selectors.len()),
                    Reverse(p.fields.len()),
                )
            });
        if let Some((_, _, _, selectors)) = best {
            return Ok(group_by_prefix(selectors));
        }
        if allow_scan {
            return Ok(vec![self.key_source(None, &Record::new())?]);
        }
        let fields = filter.fields();
        let advice = match self
            .def
            .partitions
            .iter()
            .find(|p| p.fields.iter().any(|(f, _)| fields.contains(f)))
        {
            Some(p) => format!(
                "partition {:?} holds these fields but cannot serve this filter: only \
                 equality and $in conditions on non-null values use a partition, and they \
                 must fix each of its optional fields",
                p.name
            ),
            None => format!(
                "no partition serves it; declare one over {:?} or allow a scan",
                fields.first().map(String::as_str).unwrap_or("")
            ),
        };
        Err(Error::ScanRequired {
            resource: self.def.name.clone(),
            fields,
            advice,
        })
    }
}

/// Combinations of `$in` values listed at most by one query; beyond, the `$in` conditions of
/// that partition are checked on the records instead.
const MAX_LISTINGS: usize = 64;

/// The filter choices on `partition`'s fields, in field order; `$in` choices are dropped when
/// their combinations would need more than [`MAX_LISTINGS`] listings.
fn partition_choices(partition: &Partition, choices: &[Choice]) -> Vec<(String, Vec<Value>)> {
    let on_fields: Vec<&Choice> = partition
        .fields
        .iter()
        .filter_map(|(f, _)| choices.iter().find(|c| &c.path == f))
        .collect();
    let listings = on_fields
        .iter()
        .fold(1usize, |n, c| n.saturating_mul(c.values.len()));
    on_fields
        .into_iter()
        .filter(|c| c.equality || listings <= MAX_LISTINGS)
        .map(|c| (c.path.clone(), c.values.clone()))
        .collect()
}

/// One key source per distinct listing prefix, in prefix (hence key) order.
fn group_by_prefix(selectors: Vec<Selector>) -> Vec<KeySource> {
    let mut groups: Vec<Vec<Selector>> = Vec::new();
    for selector in selectors {
        match groups.last_mut() {
            Some(group) if group[0].prefix == selector.prefix => group.push(selector),
            _ => groups.push(vec![selector]),
        }
    }
    groups
        .into_iter()
        .map(|mut group| match group.len() {
            1 => KeySource::Partition(group.remove(0)),
            _ => KeySource::AnyOf(group),
        })
        .collect()
}
/// Reads `ids` in order, up to `in_flight` at once. Reads that answer on their first poll
/// (an in-process store) run one after another in place, with no set of reads in flight to
/// keep; from the first read that waits on, the rest of the chunk go through one.
async fn read_chunk<R: RecordReader>(
    this: &Resource,
    ids: Vec<Result<String>>,
    in_flight: usize,
) -> Vec<Result<Option<R::Item>>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut ids = ids.into_iter();
    while let Some(id) = ids.next() {
        let mut read = std::pin::pin!(R::read(this, id));
        if let Poll::Ready(one) = futures::poll!(read.as_mut()) {
            found.push(one);
            continue;
        }
        // A loop, not `buffered` over a closure: a closure over `this` is higher-ranked
        // and defeats the `Send` proof of the task.
        let mut window = FuturesOrdered::new();
        window.push_back(read.left_future());
        loop {
            while window.len() < in_flight {
                let Some(id) = ids.next() else { break };
                window.push_back(R::read(this, id).right_future());
            }
            match window.next().await {
                Some(one) => found.push(one),
                None => return found,
            }
        }
    }
    found
}

/// `ids` in chunks: `steady` (at least one) chunks of at most `first` ids, then each of up to
/// twice as many as the last, up to `largest`. A chunk takes the ids that are ready once its
/// first one is, and never waits for more (as `ready_chunks` does).
fn growing_chunks<T: Send + 'static>(
    ids: BoxStream<'static, T>,
    first: usize,
    steady: usize,
    largest: usize,
) -> BoxStream<'static, Vec<T>> {
    let first = first.max(1);
    let largest = largest.max(first);
    let grown = std::iter::successors(Some((first * 2).min(largest)), move |size| {
        Some((size * 2).min(largest))
    });
    let sizes = std::iter::repeat_n(first, steady.max(1)).chain(grown);
    futures::stream::unfold(
        (ids.fuse(), sizes),
        move |(mut ids, mut sizes)| async move {
            let size = sizes.next().unwrap_or(first);
            let mut chunk = Vec::with_capacity(size);
            chunk.push(ids.next().await?);
            while chunk.len() < size {
                match ids.next().now_or_never() {
                    Some(Some(id)) => chunk.push(id),
                    _ => break,
                }
            }
            Some((chunk, (ids, sizes)))
        },
    )
    .boxed()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_grow_to_the_largest_and_keep_the_order() {
        let chunks: Vec<Vec<u32>> = growing_chunks(futures::stream::iter(0..40).boxed(), 2, 3, 8)
            .collect()
            .await;
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2, 4, 8, 8, 8, 6]);
        assert_eq!(chunks.concat(), (0..40).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_chunk_takes_what_is_ready_and_never_waits_for_more() {
        let (sender, receiver) = futures::channel::mpsc::unbounded();
        let mut chunks = growing_chunks(receiver.boxed(), 2, 1, 8);
        for i in 0..3 {
            sender.unbounded_send(i).unwrap();
        }
        assert_eq!(chunks.next().await.unwrap(), [0, 1]);
        assert_eq!(
            chunks.next().await.unwrap(),
            [2],
            "not waiting for a fourth"
        );
        for i in 3..20 {
            sender.unbounded_send(i).unwrap();
        }
        drop(sender);
        assert_eq!(chunks.next().await.unwrap(), (3..11).collect::<Vec<_>>());
        assert_eq!(chunks.next().await.unwrap(), (11..19).collect::<Vec<_>>());
        assert_eq!(chunks.next().await.unwrap(), [19]);
        assert_eq!(chunks.next().await, None);
    }
}
