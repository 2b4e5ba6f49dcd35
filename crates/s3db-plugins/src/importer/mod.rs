//! Importer: records from JSON lines, a JSON array or CSV into a resource, streaming, with
//! field mapping and transforms, a progress callback, and per-item errors (line or element
//! number and reason) that never stop the rest. The CLI's `s3db import` runs on it. See
//! `docs/importer.md`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::importer::{ImportFormat, Importer};
//! use serde_json::json;
//!
//! let db = Database::connect("memory://importer-doc").await?;
//! let people = db
//!     .create_resource(ResourceConfig::new("people").attribute("name", "string|required").attribute("age", "number"))
//!     .await?;
//! let csv = "id,full_name,age\na,Ana,31\nb,,7\nc,Cy,x\n";
//! let report = Importer::new(people.clone())
//!     .format(ImportFormat::Csv)
//!     .map_field("full_name", "name")
//!     .transform_field("name", |v| Ok(json!(v.as_str().unwrap_or_default().to_uppercase())))
//!     .import_reader(std::io::Cursor::new(csv))
//!     .await;
//! assert_eq!((report.imported, report.failed), (1, 2));
//! assert_eq!(people.get("a").await?["name"], "ANA");
//! assert_eq!(report.failures[0].position.to_string(), "line 3"); // name is required
//! assert!(report.failures[1].reason.contains("\"age\""));        // "x" is not a number
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod columns;
mod read;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use s3db_core::Resource;
use s3db_core::observe::{Outcome, observe};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::{Error, Result};

pub use columns::{ColumnKinds, Kind};
pub use read::{ImportFormat, Item, Position, format_of, spawn_reader};

/// Failures kept in an [`ImportReport`]; the rest are only counted (each still reaches the
/// progress callback).
pub const MAX_LISTED_FAILURES: usize = 100;

/// One item that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// Where the item was.
    pub position: Position,
    /// The line/element could not be parsed (as opposed to being refused by the write).
    pub malformed: bool,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.malformed {
            write!(f, "malformed {}: {}", self.position, self.reason)
        } else {
            write!(f, "{}: {}", self.position, self.reason)
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Items written.
    pub imported: u64,
    /// Items not written.
    pub failed: u64,
    /// The first [`MAX_LISTED_FAILURES`] failures, in input order.
    pub failures: Vec<ImportFailure>,
}

/// `ok`, `partial` when some items failed, `error` when every one did; `count`: items
/// imported.
impl Outcome for ImportReport {
    fn outcome(&self) -> &'static str {
        match (self.imported, self.failed) {
            (_, 0) => "ok",
            (0, _) => "error",
            _ => "partial",
        }
    }
    fn count(&self) -> Option<usize> {
        usize::try_from(self.imported).ok()
    }
}

/// What the progress callback is told after each item.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ImportProgress<'a> {
    /// Items done so far (imported + failed).
    pub processed: u64,
    /// Items imported so far.
    pub imported: u64,
    /// This item's failure, if it failed.
    pub failure: Option<&'a ImportFailure>,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(ImportProgress<'_>) + Send + Sync>;
type FieldTransform = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;
type RecordTransform =
    Arc<dyn Fn(Map<String, Value>) -> Result<Map<String, Value>, String> + Send + Sync>;

/// Imports records into one resource. Each item goes through, in order: the field mapping
/// (renames), the field transforms, the record transforms, then an insert (or upsert).
#[derive(Clone)]
pub struct Importer {
    resource: Resource,
    format: ImportFormat,
    mapping: BTreeMap<String, String>,
    field_transforms: Vec<(String, FieldTransform)>,
    record_transforms: Vec<RecordTransform>,
    upsert: bool,
    concurrency: usize,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for Importer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Importer")
            .field("resource", &self.resource.name())
            .field("format", &self.format)
            .field("mapping", &self.mapping)
            .field("upsert", &self.upsert)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Importer {
    /// An importer of JSON lines into `resource`: inserts, 8 writes in flight.
    pub fn new(resource: Resource) -> Importer {
        Importer {
            resource,
            format: ImportFormat::Jsonl,
            mapping: BTreeMap::new(),
            field_transforms: Vec::new(),
            record_transforms: Vec::new(),
            upsert: false,
            concurrency: 8,
            progress: None,
        }
    }

    /// The input's format ([`format_of`] guesses it from a file name).
    pub fn format(mut self, format: ImportFormat) -> Importer {
        self.format = format;
        self
    }

    /// Renames the top-level input field `from` to `to` (fields not mapped keep their
    /// names). For CSV, the column `from` is typed as the attribute `to`.
    pub fn map_field(mut self, from: impl Into<String>, to: impl Into<String>) -> Importer {
        self.mapping.insert(from.into(), to.into());
        self
    }

    /// Replaces the value of the (mapped) top-level field `field`, when present, by
    /// `transform`'s result; `Err(reason)` fails the item.
    pub fn transform_field(
        mut self,
        field: impl Into<String>,
        transform: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Importer {
        self.field_transforms
            .push((field.into(), Arc::new(transform)));
        self
    }

    /// Rewrites each whole record (after mapping and field transforms); `Err(reason)`
    /// fails the item.
    pub fn transform(
        mut self,
        transform: impl Fn(Map<String, Value>) -> Result<Map<String, Value>, String>
        + Send
        + Sync
        + 'static,
    ) -> Importer {
        self.record_transforms.push(Arc::new(transform));
        self
    }

    /// Upsert instead of insert (an existing id is replaced rather than refused).
    pub fn upsert(mut self, on: bool) -> Importer {
        self.upsert = on;
        self
    }

    /// Writes in flight (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Importer {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Called after each item, with running counts and the item's failure if any.
    pub fn on_progress(
        mut self,
        progress: impl Fn(ImportProgress<'_>) + Send + Sync + 'static,
    ) -> Importer {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Imports the file at `path`. [`Error::Io`] names it when it cannot be opened.
    pub async fn import_file(&self, path: impl AsRef<Path>) -> Result<ImportReport> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(self.import_reader(std::io::BufReader::new(file)).await)
    }

    /// Imports everything `reader` holds (read on a blocking thread, streaming). A read
    /// error ends the input and is reported as a failure at its position.
    pub async fn import_reader(&self, reader: impl BufRead + Send + 'static) -> ImportReport {
        let mut columns = ColumnKinds::from_attributes(self.resource.attributes());
        for (from, to) in &self.mapping {
            columns.alias(from, to);
        }
        let items = spawn_reader(Box::new(reader), self.format, columns);
        self.import_items(items).await
    }

    /// Imports items already parsed (e.g. by [`spawn_reader`]), in the `import` operation
    /// span of the resource (docs/observability.md).
    pub async fn import_items(&self, items: mpsc::Receiver<Item>) -> ImportReport {
        let resource = self.resource.name();
        observe(Some(resource), "import", None, self.import_op(items)).await
    }

    async fn import_op(&self, items: mpsc::Receiver<Item>) -> ImportReport {
        let progress = |p: ImportProgress<'_>| {
            if let Some(callback) = &self.progress {
                callback(p);
            }
        };
        apply(items, self.concurrency, &progress, |value| async move {
            let record = self.prepare(into_record(value)?)?;
            let written = if self.upsert {
                self.resource.upsert(record).await
            } else {
                self.resource.insert(record).await
            };
            written.map(|_| ()).map_err(|e| e.to_string())
        })
        .await
    }

    fn prepare(&self, record: Map<String, Value>) -> Result<Map<String, Value>, String> {
        let mut record: Map<String, Value> = record
            .into_iter()
            .map(|(k, v)| (self.mapping.get(&k).cloned().unwrap_or(k), v))
            .collect();
        for (field, transform) in &self.field_transforms {
            if let Some(value) = record.remove(field) {
                let value =
                    transform(value).map_err(|reason| format!("field {field:?}: {reason}"))?;
                record.insert(field.clone(), value);
            }
        }
        self.record_transforms
            .iter()
            .try_fold(record, |record, transform| transform(record))
    }
}

/// Runs `write` on every parsed item, at most `concurrency` at a time, calling `progress`
/// after each; never stops at a failure. The failures are kept in input order.
pub async fn apply<F, Fut>(
    items: mpsc::Receiver<Item>,
    concurrency: usize,
    progress: &(dyn Fn(ImportProgress<'_>) + Sync),
    write: F,
) -> ImportReport
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<(), String>>,
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
                outcome.map_err(|(malformed, reason)| ImportFailure {
                    position,
                    malformed,
                    reason,
                })
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut results = std::pin::pin!(results);
    let mut report = ImportReport::default();
    while let Some(result) = results.next().await {
        let failure = match result {
            Ok(()) => {
                report.imported += 1;
                None
            }
            Err(failure) => {
                report.failed += 1;
                Some(failure)
            }
        };
        progress(ImportProgress {
            processed: report.imported + report.failed,
            imported: report.imported,
            failure: failure.as_ref(),
        });
        if let Some(failure) = failure
            && report.failures.len() < MAX_LISTED_FAILURES
        {
            report.failures.push(failure);
        }
    }
    report.failures.sort_by_key(|f| f.position);
    report
}

/// A JSON value that must be an object (a record).
pub fn into_record(value: Value) -> Result<Map<String, Value>, String> {
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
