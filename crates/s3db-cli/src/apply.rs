//! Applies a stream of parsed input items (one write each) with bounded concurrency through
//! the library importer's [`importer::apply`], showing progress and printing each failure
//! with its position, so an import never stops at the first bad line and never fails
//! silently.

use std::future::Future;

use s3db::plugins::importer::{self, ImportProgress, ImportReport, Position};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::error::{CliError, Result};
use crate::input::Item;
use crate::progress::Progress;

pub use s3db::plugins::importer::into_record;

/// What an import did: the importer's report, with the CLI's summary and exit status.
#[derive(Debug, Default)]
pub struct Tally(pub ImportReport);

impl Tally {
    /// The summary object: `{verb: applied, "failed": n, "errors": [{"line": n, "error": ..}]}`.
    pub fn summary(&self, verb: &str) -> Map<String, Value> {
        let mut summary = Map::new();
        summary.insert(verb.to_owned(), json!(self.0.imported));
        summary.insert("failed".into(), json!(self.0.failed));
        let errors: Vec<Value> = self
            .0
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
        if self.0.failed == 0 {
            return Ok(());
        }
        Err(CliError::invalid(format!(
            "{} of {} {what} were not imported (each is reported above)",
            self.0.failed,
            self.0.failed + self.0.imported
        )))
    }
}

/// What the progress display does after each item: count it, print its failure.
pub fn show(progress: &Progress) -> impl Fn(ImportProgress<'_>) + Send + Sync + 'static {
    let progress = progress.clone();
    move |p: ImportProgress<'_>| {
        progress.inc();
        if let Some(failure) = p.failure {
            progress.warn(&format!("warning: {failure}"));
        }
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
    Tally(importer::apply(items, concurrency, &show(progress), write).await)
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
        assert_eq!(tally.0.imported, 1);
        assert_eq!(tally.0.failed, 2);
        assert_eq!(tally.0.failures[0].to_string(), "malformed line 2: bad");
        assert_eq!(
            tally.0.failures[1].to_string(),
            "line 3: expected a JSON object, found a number"
        );
        let summary = tally.summary("imported");
        assert_eq!(summary["errors"][0]["line"], 2);
        assert!(tally.into_result("records").is_err());
    }
}
