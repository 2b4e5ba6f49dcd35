//! Applies a stream of parsed input items (one write each) with bounded concurrency,
//! counting successes and keeping every failure with its position, so an import never
//! stops at the first bad line and never fails silently.

use std::future::Future;

use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::error::{CliError, Result};
use crate::input::{Item, Position};
use crate::progress::Progress;

/// Failures listed in the summary; the rest are only counted (each is printed on stderr).
const MAX_LISTED_FAILURES: usize = 100;

/// One item that was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where the item was.
    pub position: Position,
    /// The line/element could not be parsed (as opposed to being refused by the write).
    pub malformed: bool,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.malformed {
            write!(f, "malformed {}: {}", self.position, self.reason)
        } else {
            write!(f, "{}: {}", self.position, self.reason)
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Tally {
    /// Items written.
    pub applied: u64,
    /// Items not written.
    pub failed: u64,
    /// The first failures, in file order.
    pub failures: Vec<Failure>,
}

impl Tally {
    fn fail(&mut self, failure: Failure, progress: &Progress) {
        progress.warn(&format!("warning: {failure}"));
        self.failed += 1;
        if self.failures.len() < MAX_LISTED_FAILURES {
            self.failures.push(failure);
        }
    }

    /// The summary object: `{verb: applied, "failed": n, "errors": [{"line": n, "error": ..}]}`.
    pub fn summary(&self, verb: &str) -> Map<String, Value> {
        let mut summary = Map::new();
        summary.insert(verb.to_owned(), json!(self.applied));
        summary.insert("failed".into(), json!(self.failed));
        let errors: Vec<Value> = self
            .failures
            .iter()
            .map(|f| {
                let place = match f.position {
                    Position::Line(_) => "line",
                    Position::Element(_) => "element",
                };
                json!({ place: f.position.number(), "error": f.to_string() })
            })
            .collect();
        summary.insert("errors".into(), Value::Array(errors));
        summary
    }

    /// `Ok` when everything was applied, else an invalid-input error counting the failures.
    pub fn into_result(self, what: &str) -> Result<()> {
        if self.failed == 0 {
            return Ok(());
        }
        Err(CliError::invalid(format!(
            "{} of {} {what} were not imported (each is reported above)",
            self.failed,
            self.failed + self.applied
        )))
    }
}

/// Runs `write` on every parsed item, at most `concurrency` at a time.
pub async fn apply<F, Fut>(
    items: mpsc::Receiver<Item>,
    concurrency: usize,
    progress: &Progress,
    write: F,
) -> Tally
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    let stream = futures::stream::unfold(items, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let results = stream
        .map(|item| {
            let write = &write;
            async move {
                let Item { position, value } = item;
                let outcome = match value {
                    Err(reason) => Err((true, reason)),
                    Ok(value) => write(value).await.map_err(|reason| (false, reason)),
                };
                outcome.map_err(|(malformed, reason)| Failure {
                    position,
                    malformed,
                    reason,
                })
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut results = std::pin::pin!(results);
    let mut tally = Tally::default();
    while let Some(result) = results.next().await {
        progress.inc();
        match result {
            Ok(()) => tally.applied += 1,
            Err(failure) => tally.fail(failure, progress),
        }
    }
    tally.failures.sort_by_key(|f| f.position);
    tally
}

/// A JSON value that must be an object (a record).
pub fn into_record(value: Value) -> std::result::Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "expected a JSON object, found {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::output::Output;

    #[tokio::test]
    async fn failures_are_kept_with_positions_and_the_rest_applied() {
        let (tx, rx) = mpsc::channel(8);
        tx.send(Item {
            position: Position::Line(1),
            value: Ok(json!({"a": 1})),
        })
        .await
        .unwrap();
        tx.send(Item {
            position: Position::Line(2),
            value: Err("bad".into()),
        })
        .await
        .unwrap();
        tx.send(Item {
            position: Position::Line(3),
            value: Ok(json!(5)),
        })
        .await
        .unwrap();
        drop(tx);
        let progress = Progress::new(&Output::new(true), "items");
        let tally = apply(
            rx,
            4,
            &progress,
            |v| async move { into_record(v).map(|_| ()) },
        )
        .await;
        assert_eq!(tally.applied, 1);
        assert_eq!(tally.failed, 2);
        assert_eq!(tally.failures[0].to_string(), "malformed line 2: bad");
        assert_eq!(
            tally.failures[1].to_string(),
            "line 3: expected a JSON object, found a number"
        );
        let summary = tally.summary("imported");
        assert_eq!(summary["errors"][0]["line"], 2);
        assert!(tally.into_result("records").is_err());
    }
}
