//! JSONL target: one JSON line per change, appended to a file or any async writer.

use std::path::PathBuf;
use std::pin::Pin;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

use super::change::TargetChange;
use super::target::ReplicationTarget;
use crate::{Error, Result};

type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// Writes each change as one line of JSON:
/// `{"op":"upsert","resource":"users","id":"u1","record":{..}}` or
/// `{"op":"delete","resource":"users","id":"u1"}` (`record` is the transformed record with
/// its `id`; `resource` is the route's target name). Each line is written and flushed
/// before the change counts as replicated.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use s3db_plugins::replicator::{ChangeOp, JsonlTarget, ReplicationTarget, TargetChange};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("changes.jsonl");
/// let target = JsonlTarget::file(&path);
/// let change = TargetChange {
///     resource: "users".into(),
///     source_resource: "users".into(),
///     op: ChangeOp::Delete,
///     id: "u1".into(),
///     record: None,
///     attributes: Default::default(),
/// };
/// target.apply(&change).await?;
/// let text = std::fs::read_to_string(&path).unwrap();
/// assert_eq!(text, "{\"op\":\"delete\",\"resource\":\"users\",\"id\":\"u1\"}\n");
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub struct JsonlTarget {
    name: String,
    sink: Mutex<Sink>,
}

impl std::fmt::Debug for JsonlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlTarget")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

enum Sink {
    /// A file opened (append, create) on the first change.
    File {
        path: PathBuf,
        file: Option<tokio::fs::File>,
    },
    /// A writer given by the caller.
    Writer(Writer),
}

impl JsonlTarget {
    /// A target named `jsonl` appending to the file at `path` (created if missing).
    pub fn file(path: impl Into<PathBuf>) -> JsonlTarget {
        JsonlTarget {
            name: "jsonl".into(),
            sink: Mutex::new(Sink::File {
                path: path.into(),
                file: None,
            }),
        }
    }

    /// A target named `jsonl` writing to `writer` (a socket, a pipe, an in-memory buffer…).
    pub fn writer(writer: impl AsyncWrite + Send + 'static) -> JsonlTarget {
        JsonlTarget {
            name: "jsonl".into(),
            sink: Mutex::new(Sink::Writer(Box::pin(writer))),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> JsonlTarget {
        self.name = name.into();
        self
    }

    fn fail(&self, error: std::io::Error) -> Error {
        Error::target(&self.name, error.to_string(), error)
    }
}

/// The JSON line of a change, newline included: [`change_json`] on one line.
pub fn jsonl_line(change: &TargetChange) -> String {
    let mut text = change_json(change).to_string();
    text.push('\n');
    text
}

/// A change as JSON (a JSONL line, a webhook body):
/// `{"op":"upsert","resource":"users","id":"u1","record":{..}}`, without `record` for a
/// delete.
pub fn change_json(change: &TargetChange) -> Value {
    let mut object = Map::new();
    object.insert("op".into(), Value::from(change.op.as_str()));
    object.insert("resource".into(), Value::from(change.resource.as_str()));
    object.insert("id".into(), Value::from(change.id.as_str()));
    if let Some(record) = &change.record {
        object.insert("record".into(), Value::Object(record.clone()));
    }
    Value::Object(object)
}

#[async_trait]
impl ReplicationTarget for JsonlTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        let line = jsonl_line(change);
        let mut sink = self.sink.lock().await;
        match &mut *sink {
            Sink::File { path, file } => {
                let open = match file {
                    Some(open) => open,
                    None => {
                        let opened = tokio::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&*path)
                            .await
                            .map_err(|source| Error::Io {
                                path: path.display().to_string(),
                                source,
                            })?;
                        file.insert(opened)
                    }
                };
                let written = async {
                    open.write_all(line.as_bytes()).await?;
                    open.flush().await
                };
                if let Err(source) = written.await {
                    // Reopen on the next attempt: the handle may be unusable.
                    *file = None;
                    return Err(Error::Io {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
            Sink::Writer(writer) => {
                writer
                    .write_all(line.as_bytes())
                    .await
                    .map_err(|e| self.fail(e))?;
                writer.flush().await.map_err(|e| self.fail(e))?;
            }
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        let mut sink = self.sink.lock().await;
        match &mut *sink {
            Sink::File {
                path,
                file: Some(file),
            } => file.sync_data().await.map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            }),
            Sink::File { file: None, .. } => Ok(()),
            Sink::Writer(writer) => writer.flush().await.map_err(|e| self.fail(e)),
        }
    }
}
