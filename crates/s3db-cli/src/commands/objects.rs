//! `objects export|import|list`: raw objects, no schema. The dump format is the one of the
//! s3db.js fixtures (`objects.jsonl`): one JSON object per line with `key`, `metadata`,
//! `body_base64` and `content_type` (plus `etag` and `size` on export; extra fields are
//! ignored on import).

use std::path::Path;

use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, json};

use crate::apply::apply;
use crate::args::{Format, ObjectsCommand};
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, Result};
use crate::input;
use crate::output_file::{JsonArrayWriter, OutputFile};
use crate::progress::Progress;
use crate::session::Session;
use s3db::storage::{DumpedObject, ErrorKind, ListOptions, PutMode, PutPayload};

/// Runs an `objects` command.
pub async fn run(session: &Session, command: ObjectsCommand) -> Result<()> {
    match command {
        ObjectsCommand::Export {
            file,
            prefix,
            concurrency,
        } => export(session, &file, prefix, usize::from(concurrency)).await,
        ObjectsCommand::Import { file, concurrency } => {
            import(session, &file, usize::from(concurrency)).await
        }
        ObjectsCommand::List { prefix } => list(session, prefix).await,
    }
}

async fn export(session: &Session, file: &Path, prefix: String, concurrency: usize) -> Result<()> {
    let storage = session.storage();
    let mut out = OutputFile::create(file)?;
    let progress = Progress::new(&session.output, "objects exported");
    let options = ListOptions {
        prefix,
        ..ListOptions::default()
    };
    let mut objects = storage
        .list(options)
        .map_ok(|meta| async move {
            match storage.get(&meta.key).await {
                Ok(found) => Ok(Some(found)),
                // Deleted between the listing and the read: nothing to export.
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .try_buffered(concurrency);
    let mut exported = 0u64;
    while let Some(found) = objects.try_next().await? {
        let Some(found) = found else { continue };
        out.write_json_line(&DumpedObject::from_get(&found))?;
        exported += 1;
        progress.inc();
    }
    let to_stdout = out.is_stdout();
    out.finish()?;
    progress.finish();
    if !to_stdout {
        let mut summary = Map::new();
        summary.insert("exported".into(), json!(exported));
        summary.insert("file".into(), json!(file.display().to_string()));
        session.output.summary(&summary)?;
    }
    Ok(())
}

async fn import(session: &Session, file: &Path, concurrency: usize) -> Result<()> {
    let storage = session.storage();
    let items = input::spawn_reader(input::open(file)?, Format::Jsonl, ColumnKinds::default());
    let progress = Progress::new(&session.output, "objects imported");
    let tally = apply(items, concurrency, &progress, |value| async move {
        let line: DumpedObject =
            serde_json::from_value(value).map_err(|e| format!("not an object line: {e}"))?;
        let body = line.body()?;
        let payload = PutPayload {
            metadata: line.metadata.into(),
            body: body.into(),
            content_type: line.content_type,
        };
        storage
            .put(&line.key, payload, PutMode::Overwrite)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    progress.finish();
    session.output.summary(&tally.summary("imported"))?;
    tally.into_result("objects")
}

/// One element of `objects list --json`.
#[derive(Debug, Serialize)]
struct ListedObject<'a> {
    key: &'a str,
    size: u64,
    etag: &'a str,
}

/// Lists keys: one per line for people, or a JSON array of `{key, size, etag}`; both are
/// written while the listing is read.
async fn list(session: &Session, prefix: String) -> Result<()> {
    let options = ListOptions {
        prefix,
        ..ListOptions::default()
    };
    let mut listing = session.storage().list(options).map_err(CliError::from);
    let mut out = OutputFile::stdout();
    if session.output.is_json() {
        let mut array = JsonArrayWriter::start(&mut out)?;
        while let Some(meta) = listing.try_next().await? {
            array.push(&ListedObject {
                key: &meta.key,
                size: meta.size,
                etag: &meta.etag,
            })?;
            if array.is_closed() {
                break;
            }
        }
        array.end()?;
    } else {
        while let Some(meta) = listing.try_next().await? {
            out.write_bytes(format!("{}\n", meta.key).as_bytes())?;
            if out.is_closed() {
                break;
            }
        }
    }
    out.finish()
}
