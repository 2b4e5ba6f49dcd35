//! The `tracing` span of every public operation of a resource, a stream or a database.
//!
//! Each public operation runs in a `DEBUG` span named `s3db` (target
//! [`OPERATION_TARGET`]) with the fields `resource`, `operation` (s3db.js's method name:
//! `insert`, `get`, `listIds`, `deleteAll`, `updateIf`, `createResource`, `connect`…) and
//! `id` (given, or known once the operation produced it: an insert's generated id). When it
//! ends, one `DEBUG` event inside the span reports `outcome` (`ok`, `error`, or `partial`
//! for an `insertMany` where some records failed), `count` (records or ids returned,
//! inserted or deleted, where the result has one), `duration_us`, and the storage
//! `requests`, `bytes_read` and `bytes_written` the operation caused (its own tasks
//! included; counted by the storage's trace layer, see [`s3db_storage::layers::tallied`]),
//! plus `error` when it failed. An operation that calls another public one (`upsert` its
//! `exists` and `insert`) shows both spans, nested, and the outer counts the inner's
//! requests too. A database operation that concerns no single resource (`connect`,
//! `backup`) has no `resource` field.
//!
//! A stream ([`Resource::stream`], [`Resource::id_stream`]) has its span from when it is
//! made; every poll runs inside it, and its event comes when the stream ends or is dropped:
//! `count` is the items delivered, `outcome` is `error` if an item was an error, `dropped`
//! if the consumer let go before the end, else `ok`.
//!
//! With `DEBUG` off for the target, the operation runs directly: no clock read, no tally.
//! [`observe`] is public so that crates built on the core (plugins, servers) can run their
//! own operations in the same span (the importer does).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::stream::{BoxStream, Stream, StreamExt};
use s3db_storage::layers::{TalliedStream, Tally, tallied};
use tracing::{Instrument, Span};

use super::{Page, Record, Resource};
use crate::error::{Error, Result};

/// The target of the operation spans and their closing events.
pub const OPERATION_TARGET: &str = "s3db_core::operation";

/// What an operation's result says in its closing event.
pub trait Outcome {
    /// `ok`, `error` or `partial`.
    fn outcome(&self) -> &'static str;
    /// The record id the result names, if any.
    fn id(&self) -> Option<&str> {
        None
    }
    /// The records or ids it holds or counts, if it is a collection or a count.
    fn count(&self) -> Option<usize> {
        None
    }
    /// The error, if it failed as a whole.
    fn error(&self) -> Option<&Error> {
        None
    }
}

/// What a successful result says (a `Result<T>` of such a `T` is an [`Outcome`]).
pub trait Output {
    /// The record id it names, if any.
    fn id(&self) -> Option<&str> {
        None
    }
    /// The records or ids it holds or counts, if any.
    fn count(&self) -> Option<usize> {
        None
    }
    /// Whether some of the work failed though the operation as a whole succeeded.
    fn partial(&self) -> bool {
        false
    }
}

impl<T: Output> Outcome for Result<T> {
    fn outcome(&self) -> &'static str {
        match self {
            Ok(output) if output.partial() => "partial",
            Ok(_) => "ok",
            Err(_) => "error",
        }
    }
    fn id(&self) -> Option<&str> {
        self.as_ref().ok().and_then(Output::id)
    }
    fn count(&self) -> Option<usize> {
        self.as_ref().ok().and_then(Output::count)
    }
    fn error(&self) -> Option<&Error> {
        self.as_ref().err()
    }
}

/// `insertMany`: one result per record.
impl Outcome for Vec<Result<Record>> {
    fn outcome(&self) -> &'static str {
        match self.iter().filter(|r| r.is_err()).count() {
            0 => "ok",
            failed if failed == self.len() => "error",
            _ => "partial",
        }
    }
    /// The records inserted.
    fn count(&self) -> Option<usize> {
        Some(self.iter().filter(|r| r.is_ok()).count())
    }
}

impl Output for Record {
    fn id(&self) -> Option<&str> {
        self.get("id").and_then(|id| id.as_str())
    }
}

impl<T> Output for Vec<T> {
    fn count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<R> Output for Page<R> {
    fn count(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

impl Output for usize {
    fn count(&self) -> Option<usize> {
        Some(*self)
    }
}

impl<T> Output for Option<T> {}
impl Output for () {}
impl Output for bool {}
impl Output for super::RepairReport {}

impl Resource {
    /// Runs `work`, the body of public operation `operation` (on record `id`, if it names
    /// one), in its span; see the [module docs](self).
    ///
    /// `work` is boxed before the operation's future is made. Unboxed, it would be stored
    /// in that future several times over (as the argument, as the awaited future, and inside
    /// the span and tally wrappers), and every move of the operation's future (into a task,
    /// a `FuturesUnordered`, a `Box`) would copy all of it: 10 KB for an update, ~30 000
    /// instructions of `memcpy` per call. One allocation is far cheaper.
    pub(crate) fn observed<'a, F>(
        &'a self,
        operation: &'static str,
        id: Option<&'a str>,
        work: F,
    ) -> impl Future<Output = F::Output> + 'a
    where
        F: Future + 'a,
        F::Output: Outcome,
    {
        observe(Some(&self.def.name), operation, id, Box::pin(work))
    }

    /// `stream`, the items of public operation `operation`, polled in its span; see the
    /// [module docs](self).
    pub(crate) fn observed_stream<T: Send + 'static>(
        &self,
        operation: &'static str,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let Some(span) = operation_span(Some(&self.def.name), operation) else {
            return stream;
        };
        ObservedStream {
            inner: TalliedStream::new(stream),
            span,
            start: Instant::now(),
            count: 0,
            error: None,
            done: false,
        }
        .boxed()
    }
}

/// The span of an operation; `None` when `DEBUG` is off for [`OPERATION_TARGET`].
///
/// The `enabled!` check comes first: when the `log` feature of `tracing` is on anywhere in
/// the build, a disabled span is still made and its fields recorded for `log`, a cost
/// (about 190 instructions per operation) paid even with no subscriber.
fn operation_span(resource: Option<&str>, operation: &'static str) -> Option<Span> {
    if !tracing::enabled!(target: OPERATION_TARGET, tracing::Level::DEBUG) {
        return None;
    }
    let span = tracing::debug_span!(
        target: OPERATION_TARGET,
        "s3db",
        resource = resource.map(tracing::field::display),
        operation,
        id = tracing::field::Empty,
    );
    (!span.is_disabled()).then_some(span)
}

/// Runs `work`, the body of operation `operation` (of resource `resource` and on record
/// `id`, where it has them), in its span, and reports its outcome, duration and storage
/// requests when it ends; see the [module docs](self).
///
/// ```
/// use s3db_core::observe::{Output, observe};
///
/// struct Imported(usize);
/// impl Output for Imported {
///     fn count(&self) -> Option<usize> {
///         Some(self.0)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let done = observe(Some("notes"), "import", None, async {
///     Ok::<_, s3db_core::Error>(Imported(3))
/// })
/// .await?;
/// assert_eq!(done.0, 3);
/// # Ok::<(), s3db_core::Error>(())
/// # }).unwrap();
/// ```
pub async fn observe<O: Outcome>(
    resource: Option<&str>,
    operation: &'static str,
    id: Option<&str>,
    work: impl Future<Output = O>,
) -> O {
    let Some(span) = operation_span(resource, operation) else {
        return work.await;
    };
    if let Some(id) = id {
        span.record("id", id);
    }
    let start = Instant::now();
    let (out, tally) = tallied(work).instrument(span.clone()).await;
    if id.is_none()
        && let Some(made) = out.id()
    {
        span.record("id", made);
    }
    let error = out.error().map(|e| e as &dyn std::fmt::Display);
    report(&span, out.outcome(), out.count(), start, tally, error);
    out
}

/// The closing event of an operation, inside its span.
fn report(
    span: &Span,
    outcome: &'static str,
    count: Option<usize>,
    start: Instant,
    tally: Tally,
    error: Option<&dyn std::fmt::Display>,
) {
    let duration_us = start.elapsed().as_micros() as u64;
    let error = error.map(tracing::field::display);
    let _in_span = span.enter();
    tracing::debug!(
        target: OPERATION_TARGET,
        outcome,
        count,
        duration_us,
        requests = tally.requests,
        bytes_read = tally.bytes_read,
        bytes_written = tally.bytes_written,
        error,
        "done"
    );
}

/// A stream polled in its operation's span, reporting when it ends or is dropped.
struct ObservedStream<T> {
    inner: TalliedStream<BoxStream<'static, Result<T>>>,
    span: Span,
    start: Instant,
    /// Items delivered.
    count: usize,
    /// The first error delivered.
    error: Option<String>,
    /// Whether the closing event was emitted.
    done: bool,
}

impl<T> ObservedStream<T> {
    fn finish(&mut self, ended: bool) {
        self.done = true;
        let outcome = match (&self.error, ended) {
            (Some(_), _) => "error",
            (None, true) => "ok",
            (None, false) => "dropped",
        };
        let error = self.error.as_ref().map(|e| e as &dyn std::fmt::Display);
        let tally = self.inner.tally();
        report(
            &self.span,
            outcome,
            Some(self.count),
            self.start,
            tally,
            error,
        );
    }
}

impl<T> Stream for ObservedStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = {
            let _in_span = this.span.enter();
            this.inner.poll_next_unpin(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(_))) => this.count += 1,
            Poll::Ready(Some(Err(error))) => {
                this.error.get_or_insert_with(|| error.to_string());
            }
            Poll::Ready(None) if !this.done => this.finish(true),
            Poll::Ready(None) | Poll::Pending => {}
        }
        polled
    }
}

impl<T> Drop for ObservedStream<T> {
    fn drop(&mut self) {
        if !self.done {
            self.finish(false);
        }
    }
}
