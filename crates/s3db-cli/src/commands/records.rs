//! Record commands: `insert`, `get`, `update`, `delete`, `list`, `count`.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::apply::{apply, into_record};
use crate::args::{InsertArgs, ListArgs};
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, Result};
use crate::input::{self, Item, Position};
use crate::progress::Progress;
use crate::session::Session;

/// Bulk inserts in flight for `insert --file` / a JSON array in `--data`.
const INSERT_CONCURRENCY: usize = 8;

/// `insert R --data JSON | --file F`: one object prints the stored record; an array or a
/// file prints a summary (failures with their positions, the rest inserted).
pub async fn insert(session: &Session, args: InsertArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = db.resource(&args.resource)?;
    let items = match (&args.data, &args.file) {
        (Some(text), _) => match parse_json(text, "--data")? {
            Value::Object(record) => {
                let stored = resource.insert(record).await?;
                return session.output.record(&Value::Object(stored));
            }
            Value::Array(values) => items_of(values),
            _ => return Err(CliError::invalid("--data must be a JSON object or array")),
        },
        (None, Some(file)) => {
            let columns = ColumnKinds::from_attributes(resource.attributes());
            input::spawn_reader(input::open(file)?, input::format_of(file), columns)
        }
        (None, None) => return Err(CliError::usage("give --data or --file")),
    };
    let progress = Progress::new(&session.output, "records inserted");
    let tally = apply(items, INSERT_CONCURRENCY, &progress, |value| {
        let resource = resource.clone();
        async move {
            let record = into_record(value)?;
            resource
                .insert(record)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await;
    progress.finish();
    session.output.summary(&tally.summary("inserted"))?;
    tally.into_result("records")
}

/// `get R ID`.
pub async fn get(session: &Session, resource: &str, id: &str) -> Result<()> {
    let db = session.database().await?;
    let record = db.resource(resource)?.get(id).await?;
    session.output.record(&Value::Object(record))
}

/// `update R ID --data JSON`: merges the changes and prints the stored record.
pub async fn update(session: &Session, resource: &str, id: &str, data: &str) -> Result<()> {
    let changes = match parse_json(data, "--data")? {
        Value::Object(changes) => changes,
        _ => {
            return Err(CliError::invalid(
                "--data must be a JSON object of the changes",
            ));
        }
    };
    let db = session.database().await?;
    let record = db.resource(resource)?.update(id, changes).await?;
    session.output.record(&Value::Object(record))
}

/// `delete R ID`.
pub async fn delete(session: &Session, resource: &str, id: &str) -> Result<()> {
    let db = session.database().await?;
    db.resource(resource)?.delete(id).await?;
    let mut summary = Map::new();
    summary.insert("deleted".into(), json!(id));
    summary.insert("resource".into(), json!(resource));
    session.output.summary(&summary)
}

/// `list R [--limit N] [--offset K]`: records in id order.
pub async fn list(session: &Session, args: ListArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = db.resource(&args.resource)?;
    let ids = resource.list_ids().await?;
    let end = args.limit.map_or(ids.len(), |limit| {
        args.offset.saturating_add(limit).min(ids.len())
    });
    let page = ids.get(args.offset.min(ids.len())..end).unwrap_or_default();
    let records: Vec<Value> = resource
        .get_many(page)
        .await?
        .into_iter()
        .map(Value::Object)
        .collect();
    session.output.records(&records)
}

/// `count R`.
pub async fn count(session: &Session, resource: &str) -> Result<()> {
    let db = session.database().await?;
    let count = db.resource(resource)?.count().await?;
    let mut summary = Map::new();
    summary.insert("resource".into(), json!(resource));
    summary.insert("count".into(), json!(count));
    session.output.summary(&summary)
}

/// Parses JSON given on the command line; the option is named in the error.
pub fn parse_json(text: &str, option: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| CliError::invalid(format!("{option} is not valid JSON: {e}")))
}

/// The values of a JSON array as input items (element positions).
fn items_of(values: Vec<Value>) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(values.len().max(1));
    for (i, value) in values.into_iter().enumerate() {
        let position = Position::Element(u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1));
        // The channel holds every element, so this never waits or fails.
        let _ = tx.try_send(Item {
            position,
            value: Ok(value),
        });
    }
    rx
}
