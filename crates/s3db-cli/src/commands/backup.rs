//! `backup DIR [--compress]` and `restore DIR` in the backup format of s3db.js's
//! BackupPlugin: `DIR/s3db.json` (schemas and stats) plus one `RESOURCE.jsonl[.gz]` of
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

use crate::args::Format;
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
    /// `{attributes, partitions, behavior, timestamps}`: a `createResource` shape without name.
    schema: Map<String, Value>,
    #[serde(default)]
    stats: ManifestStats,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestStats {
    record_count: u64,
    file_size: u64,
}

/// `backup DIR [--compress]`.
pub async fn backup(session: &Session, dir: &Path, compress: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot create {}", dir.display()),
            e,
        )
    })?;
    let db = session.database().await?;
    let document = db.document();
    let mut resources = BTreeMap::new();
    let (mut total_records, mut total_size) = (0, 0);
    for (name, entry) in &document.resources {
        let resource = db.resource(name)?;
        let path = data_file(dir, name, compress)?;
        let mut out = if compress {
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
        let mut schema = Map::new();
        if let Some(current) = entry.current() {
            schema.insert("attributes".into(), json!(current.attributes));
            schema.insert("behavior".into(), json!(current.behavior));
            schema.insert("timestamps".into(), json!(current.timestamps));
        }
        schema.insert("partitions".into(), json!(entry.partitions));
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
        compressed: compress,
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
    summary.insert("compressed".into(), json!(compress));
    session.output.summary(&summary)
}

/// `restore DIR`: defines each resource from its schema (a no-op when the definition is
/// already the same), then upserts its records: a record whose id exists already gets the
/// backup's fields merged in (fields the backup lacks are kept). Failures are reported per
/// line; the rest is restored.
pub async fn restore(session: &Session, dir: &Path, concurrency: usize) -> Result<()> {
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = serde_json::from_str(&input::read_to_string(&manifest_path)?)
        .map_err(|e| {
            CliError::context(
                ExitKind::Invalid,
                format!("{} is not a backup description", manifest_path.display()),
                e,
            )
        })?;
    let db = session.database().await?;
    let (mut restored, mut failed) = (0u64, 0u64);
    let mut errors = Vec::new();
    for (name, entry) in &manifest.resources {
        let mut definition = entry.schema.clone();
        definition.insert("name".into(), json!(name));
        let resource = db
            .create_resource(ResourceConfig::from_json(&Value::Object(definition))?)
            .await?;
        let path = existing_data_file(dir, name)?;
        let progress = Progress::new(&session.output, &format!("{name} records restored"));
        progress.warn(&format!("restoring {name} from {}", path.display()));
        let columns = ColumnKinds::from_attributes(resource.attributes());
        let items = input::spawn_reader(open_data_file(&path)?, Format::Jsonl, columns);
        let tally = import_items(&resource, items, true, concurrency, &progress).await;
        progress.finish();
        restored += tally.applied;
        failed += tally.failed;
        for failure in &tally.failures {
            errors.push(json!({"resource": name, "line": failure.position.number(), "error": failure.to_string()}));
        }
    }
    let mut summary = Map::new();
    summary.insert("resources".into(), json!(manifest.resources.len()));
    summary.insert("restored".into(), json!(restored));
    summary.insert("failed".into(), json!(failed));
    summary.insert("errors".into(), Value::Array(errors));
    session.output.summary(&summary)?;
    if failed > 0 {
        return Err(CliError::invalid(format!(
            "{failed} of {} records were not restored (each is reported above)",
            failed + restored
        )));
    }
    Ok(())
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
    }
}
