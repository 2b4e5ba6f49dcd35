//! The `tracing` span of every public operation of a resource.
//!
//! Each public operation runs in a `DEBUG` span named `s3db` (target
//! [`OPERATION_TARGET`]) with the fields `resource`, `operation` (s3db.js's method name:
//! `insert`, `get`, `listIds`, `deleteAll`, `updateIf`…) and `id` (given, or known once the
//! operation produced it: an insert's generated id). When it ends, one `DEBUG` event inside
//! the span reports `outcome` (`ok`, `error`, or `partial` for an `insertMany` where some
//! records failed), `count` (records or ids returned, inserted or deleted, where the result
//! has one), `duration_us`, and the storage `requests`, `bytes_read` and `bytes_written` the
//! operation caused (its own tasks included; counted by the storage's trace layer, see
//! [`s3db_storage::layers::tallied`]), plus `error` when it failed. An operation that calls
//! another public one (`upsert` its `exists` and `insert`) shows both spans, nested, and the
//! outer counts the inner's requests too.
//!
//! With `DEBUG` off for the target, the operation runs directly: no clock read, no tally.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use s3db_storage::layers::tallied;
use tracing::Instrument;

use super::{Page, Record, Resource};
use crate::error::{Error, Result};

/// The target of the operation spans and their closing events.
pub const OPERATION_TARGET: &str = "s3db_core::operation";

/// What an operation's result says in its closing event.
pub(crate) trait Outcome {
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

/// What a successful result says.
pub(crate) trait Output {
    /// The record id it names, if any.
    fn id(&self) -> Option<&str> {
        None
    }
    /// The records or ids it holds or counts, if any.
    fn count(&self) -> Option<usize> {
        None
    }
}

impl<T: Output> Outcome for Result<T> {
    fn outcome(&self) -> &'static str {
        if self.is_ok() { "ok" } else { "error" }
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
        self.observe(operation, id, Box::pin(work))
    }

    async fn observe<O: Outcome>(
        &self,
        operation: &'static str,
        id: Option<&str>,
        work: Pin<Box<impl Future<Output = O>>>,
    ) -> O {
        let span = tracing::debug_span!(
            target: OPERATION_TARGET,
            "s3db",
            resource = %self.def.name,
            operation,
            id = tracing::field::Empty,
        );
        if span.is_disabled() {
            return work.await;
        }
        if let Some(id) = id {
            span.record("id", id);
        }
        let start = Instant::now();
        let (out, tally) = tallied(work).instrument(span.clone()).await;
        let duration_us = start.elapsed().as_micros() as u64;
        if id.is_none()
            && let Some(made) = out.id()
        {
            span.record("id", made);
        }
        let _in_span = span.enter();
        let error = out.error().map(tracing::field::display);
        tracing::debug!(
            target: OPERATION_TARGET,
            outcome = out.outcome(),
            count = out.count(),
            duration_us,
            requests = tally.requests,
            bytes_read = tally.bytes_read,
            bytes_written = tally.bytes_written,
            error,
            "done"
        );
        out
    }
}
