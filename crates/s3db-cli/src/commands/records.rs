//! Record commands: `insert`, `get`, `update`, `delete`, `list`, `count`.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::apply::{apply, into_record};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use s3db::core::{ListRequest, QueryOptions, Record, Resource};

use crate::args::{InsertArgs, ListArgs, QueryArgs};
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, ExitKind, Result};
use crate::input::{self, Item, Position};
use crate::output_file::{JsonArrayWriter, OutputFile};
use crate::progress::Progress;
use crate::session::Session;

/// Bulk inserts in flight for `insert --file` / a JSON array in `--data`.
const INSERT_CONCURRENCY: usize = 8;

/// `insert R --data JSON | --file F`: one object prints the stored record; an array or a
/// file prints a summary (failures with their positions, the rest inserted).
pub async fn insert(session: &Session, args: InsertArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = session.resource(&db, &args.resource)?;
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

/// `get R ID [--meta]`.
pub async fn get(session: &Session, resource: &str, id: &str, meta: bool) -> Result<()> {
    let db = session.database().await?;
    let record = reading(session.resource(&db, resource)?, meta)
        .get(id)
        .await?;
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
    let record = session.resource(&db, resource)?.update(id, changes).await?;
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

/// The handle reads go through: with the internal fields when `meta` (`--meta`).
fn reading(resource: Resource, meta: bool) -> Resource {
    match meta {
        true => resource.with_meta(),
        false => resource,
    }
}

/// `list R [--limit N] [--offset K] [--partition P [--values k=v,..]] [--meta]`: records in
/// key order (id order, or partition-value order through a partition).
pub async fn list(session: &Session, args: ListArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = reading(session.resource(&db, &args.resource)?, args.meta);
    let mut request = match &args.partition {
        Some(partition) => {
            let values = parse_values(args.values.as_deref().unwrap_or_default())?;
            ListRequest::partition(partition.clone(), Value::Object(values))
        }
        None => ListRequest::all(),
    }
    .offset(args.offset);
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    if session.output.is_json() {
        return stream_records(resource.stream(&request)?).await;
    }
    let records = resource.list(&request).await?;
    session.output.records(&into_values(records))
}

/// Prints records as a JSON array written element by element while they are read.
async fn stream_records(records: BoxStream<'static, s3db::core::Result<Record>>) -> Result<()> {
    let mut records = records.map_err(CliError::from);
    let mut out = OutputFile::stdout();
    let mut array = JsonArrayWriter::start(&mut out)?;
    while let Some(record) = records.try_next().await? {
        array.push(&record)?;
        if array.is_closed() {
            break;
        }
    }
    array.end()?;
    out.finish()
}

/// `query R --filter JSON [--scan] [--limit N] [--offset K] [--meta]`.
pub async fn query(session: &Session, args: QueryArgs) -> Result<()> {
    let filter = parse_json(&args.filter, "--filter")?;
    let db = session.database().await?;
    let resource = reading(session.resource(&db, &args.resource)?, args.meta);
    let options = QueryOptions {
        allow_scan: args.scan,
        offset: args.offset,
        limit: args.limit,
        ..QueryOptions::default()
    };
    let records = match resource.query(&filter, &options).await {
        Err(e @ s3db::core::Error::ScanRequired { .. }) => {
            return Err(CliError::context(
                ExitKind::Usage,
                "the query needs a full scan; add --scan to allow it",
                e,
            ));
        }
        found => found?,
    };
    session.output.records(&into_values(records))
}

/// `repair R`: what was wrong with the partition references and the claims of `unique`
/// fields, and what was fixed (values several records hold are reported, not changed).
pub async fn repair(session: &Session, resource: &str) -> Result<()> {
    let db = session.database().await?;
    let handle = db.resource(resource)?;
    let report = handle.repair().await?;
    let progress = Progress::new(&session.output, "records checked for unique values");
    let unique = handle.repair_unique_with(|| progress.inc()).await;
    progress.finish();
    let unique = unique?;
    let mut summary = Map::new();
    summary.insert("resource".into(), json!(resource));
    summary.insert("records".into(), json!(report.records));
    summary.insert("references".into(), json!(report.references));
    summary.insert(
        "clean".into(),
        json!(report.is_clean() && unique.is_clean()),
    );
    summary.insert("stale_removed".into(), json!(report.stale_removed));
    summary.insert("missing_written".into(), json!(report.missing_written));
    summary.insert("unique".into(), json!(unique));
    session.output.summary(&summary)
}

/// `field=value,...` as partition values: numbers and booleans as JSON, the rest as text.
fn parse_values(text: &str) -> Result<Map<String, Value>> {
    let mut values = Map::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (field, value) = pair
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--values: {pair:?} is not field=value")))?;
        let value = match serde_json::from_str::<Value>(value) {
            Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
            _ => Value::String(value.to_owned()),
        };
        values.insert(field.trim().to_owned(), value);
    }
    Ok(values)
}

fn into_values(records: Vec<Record>) -> Vec<Value> {
    records.into_iter().map(Value::Object).collect()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_parse_numbers_booleans_and_text() {
        let values = parse_values("address.city=porto, stars=3,open=true").unwrap();
        assert_eq!(
            Value::Object(values),
            json!({"address.city": "porto", "stars": 3, "open": true})
        );
        assert!(parse_values("").unwrap().is_empty());
        assert_eq!(parse_values("city").unwrap_err().kind().code(), 2);
    }
}
