//! Streaming writes: records from any stream inserted with a bounded number in flight
//! (backpressure: the source is polled only when a slot frees up), one failure report per
//! record that could not be written.

use futures::{Stream, StreamExt};
use serde_json::Value;

use super::observe::Outcome;
use super::{Record, Resource};
use crate::error::{Error, Result};

/// One record that failed in [`Resource::write`].
#[derive(Debug)]
pub struct WriteFailure {
    /// Position of the record in the input stream (0-based).
    pub index: usize,
    /// The record's id, when it had one.
    pub id: Option<String>,
    /// Why it failed.
    pub error: Error,
}

/// What [`Resource::write`] did.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Records inserted.
    pub written: usize,
    /// Records that failed, in completion order.
    pub failures: Vec<WriteFailure>,
}

/// `ok`, `partial` when some records failed, `error` when every one did; `count` is the
/// records written.
impl Outcome for WriteReport {
    fn outcome(&self) -> &'static str {
        match (self.written, self.failures.len()) {
            (_, 0) => "ok",
            (0, _) => "error",
            _ => "partial",
        }
    }
    fn count(&self) -> Option<usize> {
        Some(self.written)
    }
}

impl Resource {
    /// Inserts every record of `records` with at most `in_flight` inserts running (and the
    /// resource's [parallelism](Resource::parallelism)); the
    /// stream is consumed lazily, so memory stays bounded whatever its length. Failures do
    /// not stop the others.
    pub async fn write<S>(&self, records: S, in_flight: usize) -> WriteReport
    where
        S: Stream<Item = Record>,
    {
        self.write_made(records.map(Ok), in_flight).await
    }

    /// [`Resource::write`] of records whose making may have failed (a typed value that
    /// did not serialize): such an item is reported as a failure at its index, not written.
    pub(crate) async fn write_made<S>(&self, records: S, in_flight: usize) -> WriteReport
    where
        S: Stream<Item = Result<Record>>,
    {
        self.observed("write", None, self.write_op(records, in_flight))
            .await
    }

    async fn write_op<S>(&self, records: S, in_flight: usize) -> WriteReport
    where
        S: Stream<Item = Result<Record>>,
    {
        records
            .enumerate()
            .map(|(index, record)| async move {
                let record = record.map_err(|error| WriteFailure {
                    index,
                    id: None,
                    error,
                })?;
                let id = record.get("id").and_then(Value::as_str).map(str::to_owned);
                self.insert(record)
                    .await
                    .map_err(|error| WriteFailure { index, id, error })
            })
            .buffer_unordered(self.in_flight(in_flight))
            .fold(WriteReport::default(), |mut report, result| async move {
                match result {
                    Ok(_) => report.written += 1,
                    Err(failure) => report.failures.push(failure),
                }
                report
            })
            .await
    }
}
