//! `backup DIR [--compress] [--resources a,b] [--no-schemas]` and
//! `restore DIR [--resources a,b] [--clear]` in the backup format of s3db.js's BackupPlugin: `DIR/s3db.json` (schemas and stats) plus one `RESOURCE.jsonl[.gz]` of
//! decoded records per resource. `s3db.json` is written last, so an interrupted backup
//! has none and `restore` refuses it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use s3db::core::ResourceConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::args::{BackupArgs, Format, RestoreArgs};
use crate::commands::transfer::{import_items, write_records};
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, ExitKind, Result};
use crate::input;
use crate::output_file::OutputFile;
use crate::progress::Progress;
use crate::session::Session;

/// Name of the backup's description file.
const MANIFEST: &str = "s3db.json";

/// Records read in flight while backing up.
const BACKUP_CONCURRENCY: usize = 8;

/// `DIR/s3db.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    version: String,
    timestamp: String,
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    key_prefix: String,
    #[serde(default)]
    compressed: bool,
    resources: BTreeMap<String, ManifestResource>,
    #[serde(default)]
    total_records: u64,
    #[serde(default)]
    total_size: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestResource {
    /// `{attributes, partitions, behavior, timestamps}`: a `createResource` shape without
    /// name; absent in a backup made without schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<Map<String, Value>>,
    #[serde(default)]
    stats: ManifestStats,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestStats {
    record_count: u64,
    file_size: u64,
}

/// What `restore` did to one resource.
#[derive(Debug, Serialize)]
struct RestoredResource {
    resource: String,
    /// Records deleted first (`--clear`).
    cleared: u64,
    restored: u64,
    failed: u64,
}

/// `backup DIR [--compress] [--resources a,b] [--no-schemas]`.
pub async fn backup(session: &Session, args: BackupArgs) -> Result<()> {
    let dir = args.dir.as_path();
    let db = session.database().await?;
    let document = db.document();
    check_selection(&args.resources, "the database", |name| {
        document.resources.contains_key(name)
    })?;
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot create {}", dir.display()),
            e,
        )
    })?;
    let mut resources = BTreeMap::new();
    let (mut total_records, mut total_size) = (0, 0);
    for (name, entry) in &document.resources {
        if !is_selected(&args.resources, name) {
            continue;
        }
        let resource = session.resource(&db, name)?;
        let path = data_file(dir, name, args.compress)?;
        let mut out = if args.compress {
            OutputFile::create_gzip(&path)?
        } else {
            OutputFile::create(&path)?
        };
        let progress = Progress::new(&session.output, &format!("{name} records backed up"));
        let count = write_records(
            &resource,
            &mut out,
            Format::Jsonl,
            BACKUP_CONCURRENCY,
            &progress,
        )
        .await?;
        out.finish()?;
        progress.finish();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let schema = (!args.no_schemas).then(|| {
            let mut schema = Map::new();
            if let Some(current) = entry.current() {
                schema.insert("attributes".into(), json!(current.attributes));
                schema.insert("behavior".into(), json!(current.behavior));
                schema.insert("timestamps".into(), json!(current.timestamps));
            }
            schema.insert("partitions".into(), json!(entry.partitions));
            schema
        });
        total_records += count;
        total_size += size;
        resources.insert(
            name.clone(),
            ManifestResource {
                schema,
                stats: ManifestStats {
                    record_count: count,
                    file_size: size,
                },
            },
        );
    }
    let manifest = Manifest {
        version: "1.0".into(),
        timestamp: now_iso(),
        bucket: session.location(),
        key_prefix: String::new(),
        compressed: args.compress,
        resources,
        total_records,
        total_size,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| CliError::context(ExitKind::Failure, "cannot serialize s3db.json", e))?;
    let mut out = OutputFile::create(&dir.join(MANIFEST))?;
    out.write_bytes(&text)?;
    out.finish()?;
    let mut summary = Map::new();
    summary.insert("backup".into(), json!(dir.display().to_string()));
    summary.insert("resources".into(), json!(manifest.resources.len()));
    summary.insert("records".into(), json!(total_records));
    summary.insert("bytes".into(), json!(total_size));
    summary.insert("compressed".into(), json!(args.compress));
    summary.insert("schemas".into(), json!(!args.no_schemas));
    session.output.summary(&summary)
}

/// `restore DIR [--resources a,b] [--clear]`: defines each resource from its schema (a
/// no-op when the definition is already the same; a backup without schemas needs the
/// resource to exist), optionally deletes its records, then upserts the backup's records:
/// a record whose id exists already gets the backup's fields merged in (fields the backup
/// lacks are kept). Everything is checked before anything is written. Failures are
/// reported per line; the rest is restored.
pub async fn restore(session: &Session, args: RestoreArgs) -> Result<()> {
    let dir = args.dir.as_path();
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = serde_json::from_str(&input::read_to_string(&manifest_path)?)
        .map_err(|e| {
            CliError::context(
                ExitKind::Invalid,
                format!("{} is not a backup description", manifest_path.display()),
                e,
            )
        })?;
    check_selection(
        &args.resources,
        &format!("the backup in {}", dir.display()),
        |name| manifest.resources.contains_key(name),
    )?;
    let db = session.database().await?;
    let mut plan = Vec::new();
    for (name, entry) in &manifest.resources {
        if !is_selected(&args.resources, name) {
            continue;
        }
        if entry.schema.is_none() && !db.resource_exists(name) {
            return Err(CliError::new(
                ExitKind::NotFound,
                format!(
                    "resource {name:?} does not exist and the backup has no schema for it \
                     (create it first, or restore from a backup made with schemas)"
                ),
            ));
        }
        plan.push((name, entry, existing_data_file(dir, name)?));
    }
    let mut report = Vec::new();
    let mut errors = Vec::new();
    for (name, entry, path) in plan {
        let resource = match &entry.schema {
            Some(schema) => {
                let mut definition = schema.clone();
                definition.insert("name".into(), json!(name));
                db.create_resource(ResourceConfig::from_json(&Value::Object(definition))?)
                    .await?
            }
            None => db.resource(name)?,
        };
        session.check_passphrase(&resource);
        let cleared = if args.clear {
            u64::try_from(resource.delete_all().await?).unwrap_or(u64::MAX)
        } else {
            0
        };
        let progress = Progress::new(&session.output, &format!("{name} records restored"));
        progress.warn(&format!("restoring {name} from {}", path.display()));
        let columns = ColumnKinds::from_attributes(resource.attributes());
        let items = input::spawn_reader(open_data_file(&path)?, Format::Jsonl, columns);
        let concurrency = usize::from(args.concurrency);
        let tally = import_items(&resource, items, true, concurrency, &progress).await;
        progress.finish();
        for failure in &tally.failures {
            errors.push(json!({"resource": name, "line": failure.position.number(), "error": failure.to_string()}));
        }
        report.push(RestoredResource {
            resource: name.clone(),
            cleared,
            restored: tally.applied,
            failed: tally.failed,
        });
    }
    let restored: u64 = report.iter().map(|r| r.restored).sum();
    let failed: u64 = report.iter().map(|r| r.failed).sum();
    print_report(session, &report, errors)?;
    if failed > 0 {
        return Err(CliError::invalid(format!(
            "{failed} of {} records were not restored (each is reported above)",
            failed + restored
        )));
    }
    Ok(())
}

/// The restore report: a table per resource with a total row, or with `--json`
/// `{"resources": [{resource, cleared, restored, failed}], "restored", "failed", "errors"}`.
fn print_report(session: &Session, report: &[RestoredResource], errors: Vec<Value>) -> Result<()> {
    let cleared: u64 = report.iter().map(|r| r.cleared).sum();
    let restored: u64 = report.iter().map(|r| r.restored).sum();
    let failed: u64 = report.iter().map(|r| r.failed).sum();
    if session.output.is_json() {
        let mut summary = Map::new();
        summary.insert("resources".into(), json!(report));
        summary.insert("restored".into(), json!(restored));
        summary.insert("failed".into(), json!(failed));
        summary.insert("errors".into(), Value::Array(errors));
        return session.output.summary(&summary);
    }
    let mut rows: Vec<Vec<Value>> = report
        .iter()
        .map(|r| {
            vec![
                json!(r.resource),
                json!(r.cleared),
                json!(r.restored),
                json!(r.failed),
            ]
        })
        .collect();
    rows.push(vec![
        json!(format!("({} resources)", report.len())),
        json!(cleared),
        json!(restored),
        json!(failed),
    ]);
    session
        .output
        .rows(&["resource", "cleared", "restored", "failed"], &rows)
}

/// Whether `name` is among `wanted` (everything is when `wanted` is empty).
fn is_selected(wanted: &[String], name: &str) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| w == name)
}

/// Refuses a `--resources` name that `exists` does not know (`place` says where it was
/// looked for).
fn check_selection(wanted: &[String], place: &str, exists: impl Fn(&str) -> bool) -> Result<()> {
    match wanted.iter().find(|name| !exists(name)) {
        Some(name) => Err(CliError::new(
            ExitKind::NotFound,
            format!("--resources: {place} has no resource {name:?}"),
        )),
        None => Ok(()),
    }
}

/// `DIR/NAME.jsonl[.gz]`; refuses names that are not a plain file name.
fn data_file(dir: &Path, name: &str, compressed: bool) -> Result<PathBuf> {
    let plain =
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if !plain {
        return Err(CliError::invalid(format!(
            "resource name {name:?} cannot be used as a backup file name"
        )));
    }
    let extension = if compressed { "jsonl.gz" } else { "jsonl" };
    Ok(dir.join(format!("{name}.{extension}")))
}

/// The data file of `name` that exists (compressed or not).
fn existing_data_file(dir: &Path, name: &str) -> Result<PathBuf> {
    for compressed in [true, false] {
        let path = data_file(dir, name, compressed)?;
        if path.exists() {
            return Ok(path);
        }
    }
    Err(CliError::new(
        ExitKind::NotFound,
        format!(
            "backup has no {name}.jsonl or {name}.jsonl.gz in {}",
            dir.display()
        ),
    ))
}

fn open_data_file(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot open {}", path.display()),
            e,
        )
    })?;
    let gzipped = path.extension().is_some_and(|e| e == "gz");
    Ok(if gzipped {
        Box::new(BufReader::new(GzDecoder::new(BufReader::new(file))))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Now as JavaScript's `toISOString()` (`2025-10-25T14:30:00.000Z`).
fn now_iso() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn data_files_stay_inside_the_backup_directory() {
        let dir = Path::new("b");
        assert_eq!(
            data_file(dir, "users", true).unwrap(),
            Path::new("b/users.jsonl.gz")
        );
        assert!(data_file(dir, "../x", false).is_err());
        assert!(data_file(dir, "..", false).is_err());
    }

    #[test]
    fn timestamps_look_like_javascript_iso_strings() {
        let ts = now_iso();
        assert_eq!(ts.len(), 24);
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.');
    }

    #[test]
    fn the_documented_manifest_parses() {
        let manifest: Manifest = serde_json::from_value(json!({
            "version": "1.0", "timestamp": "2025-10-25T14:30:00.000Z", "bucket": "my-bucket",
            "keyPrefix": "", "compressed": true,
            "resources": {"users": {"schema": {"attributes": {}, "partitions": {}, "behavior": "body-overflow"},
                                    "stats": {"recordCount": 2, "fileSize": 1024}}},
            "totalRecords": 2, "totalSize": 1024
        }))
        .unwrap();
        assert_eq!(manifest.resources["users"].stats.record_count, 2);
        let bare: Manifest = serde_json::from_value(json!({
            "version": "1.0", "timestamp": "2025-10-25T14:30:00.000Z",
            "resources": {"users": {"stats": {"recordCount": 2, "fileSize": 1024}}}
        }))
        .unwrap();
        assert!(bare.resources["users"].schema.is_none());
    }

    #[test]
    fn resource_selection_is_everything_or_the_names_given() {
        let wanted = vec!["a".to_owned(), "b".to_owned()];
        assert!(is_selected(&[], "x"));
        assert!(is_selected(&wanted, "b") && !is_selected(&wanted, "x"));
        assert!(check_selection(&wanted, "db", |n| n != "z").is_ok());
        let err = check_selection(&wanted, "db", |n| n == "a").unwrap_err();
        assert_eq!(err.kind(), ExitKind::NotFound);
        assert!(err.to_string().contains("\"b\""));
    }
}
