//! Backups of a database into a local directory, and restores from one, in the directory
//! format of s3db.js's BackupPlugin (`docs/backup-format.md`): `DIR/s3db.json` describing
//! the backup, plus one `NAME.jsonl[.gz]` of decoded records per resource.
//!
//! Backups you can trust:
//! * **Atomic.** Record files are written under temporary names (`.NAME.jsonl.partial`),
//!   fsynced, then renamed; `s3db.json` is renamed last. A backup that fails or is
//!   interrupted leaves no manifest naming half-written files.
//! * **Self-checking.** The manifest names each resource's `file`, its `recordCount` and
//!   its `sha256`. [`restore`] reads only the files the manifest names and verifies every
//!   one (checksum, record count, each line a JSON object) **before it writes anything**.
//! * **No silent mixing.** [`backup`] into a non-empty directory is refused unless
//!   [`BackupOptions::overwrite`]; with it, the directory ends up holding exactly the files
//!   the new manifest names (an older backup's files are deleted), and it refuses to delete
//!   anything a backup does not write.
//! * **Compatible.** A manifest from s3db.js (or an older s3db) has no `file` or `sha256`:
//!   the file is `NAME.jsonl.gz` or `NAME.jsonl` according to its `compressed` flag (never
//!   guessed from what exists), its record count is checked when `stats` has one, and the
//!   restore goes ahead with a warning in [`RestoreReport::warnings`] naming the file.
//!
//! File I/O is buffered `std::fs` on the calling task.
//!
//! ```
//! use s3db_core::backup::{BackupOptions, RestoreOptions, backup, restore};
//! use s3db_core::{Database, ResourceConfig};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://backup-example").await?;
//! let people = db
//!     .create_resource(ResourceConfig::new("people").attribute("name", "string"))
//!     .await?;
//! people.insert(json!({"id": "ana", "name": "Ana"}).as_object().cloned().unwrap_or_default()).await?;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let made = backup(&db, dir.path(), &BackupOptions::new().compress(true)).await?;
//! assert_eq!(made.records, 1);
//!
//! let copy = Database::connect("memory://backup-example-copy").await?;
//! let report = restore(&copy, dir.path(), &RestoreOptions::new()).await?;
//! assert_eq!(report.restored(), 1);
//! assert_eq!(copy.resource("people")?.get("ana").await?["name"], "Ana");
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! Restoring with [`RestoreOptions::clear`] deletes each restored resource's records first.
//! That is a bulk delete, so a resource that exists and is `paranoid` (the default) refuses
//! it with [`crate::Error::Paranoid`] before anything is written; define it with
//! `paranoid: false` to allow it.

mod error;
mod files;
mod manifest;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub use error::BackupError;
use files::{Digest, RecordReader, RecordWriter, Staging};
use manifest::{Manifest, ManifestResource, ManifestStats, data_file_name};

use crate::database::Database;
use crate::error::{Error, Result};
use crate::extend::Operation;
use crate::resource::config::ResourceConfig;
use crate::resource::observe::{Output, observe};
use crate::resource::{ListRequest, Record, Resource};

/// Failures listed per resource in a [`RestoreReport`]; the rest are only counted.
const MAX_LISTED_FAILURES: usize = 100;

/// Called with the resource name after each record is backed up or restored (for progress
/// displays).
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(&str) + Send + Sync>);

impl Observer {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Observer(Arc::new(callback))
    }

    fn record(observer: &Option<Observer>, resource: &str) {
        if let Some(observer) = observer {
            (observer.0)(resource);
        }
    }
}

/// Decides which records a backup writes: called with the resource name and each record;
/// `false` leaves the record out (an incremental backup keeps only what changed).
#[derive(Clone)]
pub struct RecordFilter(Arc<KeepRecord>);

/// The predicate of a [`RecordFilter`]: resource name, record, keep it?
type KeepRecord = dyn Fn(&str, &Record) -> bool + Send + Sync;

impl RecordFilter {
    /// Wraps a predicate.
    pub fn new(keep: impl Fn(&str, &Record) -> bool + Send + Sync + 'static) -> Self {
        RecordFilter(Arc::new(keep))
    }
}

impl fmt::Debug for RecordFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordFilter")
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// How [`backup`] runs. `BackupOptions::new()` backs up every resource, uncompressed, with
/// schemas, into an empty (or new) directory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackupOptions {
    /// Gzip the record files (`NAME.jsonl.gz`).
    pub compress: bool,
    /// Only these resources (empty: every resource).
    pub resources: Vec<String>,
    /// Write each resource's definition into the manifest.
    pub schemas: bool,
    /// Replace the backup already in the directory (see [`BackupError::ForeignEntry`]).
    pub overwrite: bool,
    /// Where the data came from, written as the manifest's `bucket`.
    pub bucket: String,
    /// Record reads in flight.
    pub concurrency: usize,
    /// Progress callback.
    pub observer: Option<Observer>,
    /// Only the records this accepts are written (all when `None`); every record read is
    /// still shown to it, so it can also take note of what it saw.
    pub filter: Option<RecordFilter>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            compress: false,
            resources: Vec::new(),
            schemas: true,
            overwrite: false,
            bucket: String::new(),
            concurrency: 8,
            observer: None,
            filter: None,
        }
    }
}

impl BackupOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gzip the record files.
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    /// Only these resources.
    pub fn resources<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.resources = names.into_iter().map(Into::into).collect();
        self
    }

    /// Include (default) or leave out the resource definitions.
    pub fn schemas(mut self, on: bool) -> Self {
        self.schemas = on;
        self
    }

    /// Replace a backup already in the directory.
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }

    /// The manifest's `bucket` (e.g. a connection string without secrets).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }

    /// Record reads in flight (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Called after each record written.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Writes only the records `filter` accepts.
    pub fn filter(mut self, filter: RecordFilter) -> Self {
        self.filter = Some(filter);
        self
    }
}

/// What [`backup`] wrote.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BackupReport {
    /// The backup directory.
    pub dir: PathBuf,
    /// One entry per resource backed up, by name.
    pub resources: Vec<BackedUpResource>,
    /// Records over all resources.
    pub records: u64,
    /// Bytes of the record files.
    pub bytes: u64,
    /// Whether the record files are gzipped.
    pub compressed: bool,
    /// Whether the definitions are in the manifest.
    pub schemas: bool,
    /// Files of a previous backup that `overwrite` deleted.
    pub removed: Vec<String>,
}

/// One resource of a [`BackupReport`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BackedUpResource {
    /// The resource.
    pub resource: String,
    /// Its record file, inside the backup directory.
    pub file: String,
    /// Records written.
    pub records: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// SHA-256 of the file (hex).
    pub sha256: String,
}

/// Backs up `db` into the local directory `dir` (created if needed). Refuses a non-empty
/// directory unless [`BackupOptions::overwrite`]; a `resources` name the database lacks is
/// refused before anything is written.
pub async fn backup(
    db: &Database,
    dir: impl AsRef<Path>,
    options: &BackupOptions,
) -> Result<BackupReport> {
    observe(None, "backup", None, backup_op(db, dir.as_ref(), options)).await
}

async fn backup_op(db: &Database, dir: &Path, options: &BackupOptions) -> Result<BackupReport> {
    let document = db.document();
    check_selection(&options.resources, "the database", |name| {
        document.resources.contains_key(name)
    })?;
    let selected: Vec<(&String, _)> = document
        .resources
        .iter()
        .filter(|(name, _)| is_selected(&options.resources, name))
        .collect();
    let mut files = Vec::new();
    for (name, _) in &selected {
        files.push(data_file_name(name, options.compress)?);
    }
    let mut staging = Staging::open(dir, options.overwrite)?;
    let mut manifest = Manifest {
        version: "1.0".into(),
        timestamp: String::new(),
        bucket: options.bucket.clone(),
        key_prefix: String::new(),
        compressed: options.compress,
        resources: Default::default(),
        total_records: 0,
        total_size: 0,
    };
    let mut report = Vec::new();
    for ((name, entry), file) in selected.into_iter().zip(files) {
        let resource = db.resource(name)?;
        let path = staging.stage(&file);
        let (records, digest) = write_resource(&resource, &path, options).await?;
        let schema = options.schemas.then(|| {
            let mut schema = Map::new();
            if let Some(current) = entry.current() {
                schema.insert("attributes".into(), json!(current.attributes));
                schema.insert("behavior".into(), json!(current.behavior));
                schema.insert("timestamps".into(), json!(current.timestamps));
            }
            schema.insert("partitions".into(), json!(entry.partitions));
            schema
        });
        manifest.total_records += records;
        manifest.total_size += digest.size;
        manifest.resources.insert(
            name.clone(),
            ManifestResource {
                schema,
                stats: Some(ManifestStats {
                    record_count: records,
                    file_size: digest.size,
                }),
                file: Some(file.clone()),
                sha256: Some(digest.sha256.clone()),
            },
        );
        report.push(BackedUpResource {
            resource: name.clone(),
            file,
            records,
            bytes: digest.size,
            sha256: digest.sha256,
        });
    }
    manifest.timestamp = db.clock().now_iso();
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io {
        action: "serialize the manifest for",
        path: dir.to_owned(),
        source: e.into(),
    })?;
    let removed = staging.commit(&text)?;
    Ok(BackupReport {
        dir: dir.to_owned(),
        resources: report,
        records: manifest.total_records,
        bytes: manifest.total_size,
        compressed: options.compress,
        schemas: options.schemas,
        removed,
    })
}

/// Streams every record of `resource` into `path`; returns the count and the file digest.
async fn write_resource(
    resource: &Resource,
    path: &Path,
    options: &BackupOptions,
) -> Result<(u64, Digest)> {
    let mut writer = RecordWriter::create(path, options.compress)?;
    let request = ListRequest::all().concurrency(options.concurrency.max(1));
    let mut records = resource.stream(&request)?;
    let mut count = 0u64;
    while let Some(record) = records.try_next().await? {
        if let Some(filter) = &options.filter
            && !(filter.0)(resource.name(), &record)
        {
            continue;
        }
        writer.write(&record)?;
        count += 1;
        Observer::record(&options.observer, resource.name());
    }
    Ok((count, writer.finish()?))
}

/// How [`restore`] runs. `RestoreOptions::new()` restores every resource of the backup,
/// upserting over existing records, 8 writes in flight.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Only these resources of the backup (empty: all of them).
    pub resources: Vec<String>,
    /// Delete each restored resource's records first.
    pub clear: bool,
    /// Writes in flight.
    pub concurrency: usize,
    /// Progress callback.
    pub observer: Option<Observer>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            resources: Vec::new(),
            clear: false,
            concurrency: 8,
            observer: None,
        }
    }
}

impl RestoreOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these resources of the backup.
    pub fn resources<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.resources = names.into_iter().map(Into::into).collect();
        self
    }

    /// Delete each restored resource's records first.
    pub fn clear(mut self, on: bool) -> Self {
        self.clear = on;
        self
    }

    /// Writes in flight (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Called after each record restored.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RestoreReport {
    /// One entry per resource restored, by name.
    pub resources: Vec<RestoredResource>,
    /// What could not be verified (files of a manifest without checksums or counts).
    pub warnings: Vec<String>,
}

/// `count`: the records backed up.
impl Output for BackupReport {
    fn count(&self) -> Option<usize> {
        usize::try_from(self.records).ok()
    }
}

/// `count`: the records restored; `partial` when some were refused.
impl Output for RestoreReport {
    fn count(&self) -> Option<usize> {
        usize::try_from(self.restored()).ok()
    }
    fn partial(&self) -> bool {
        self.failed() > 0
    }
}

impl RestoreReport {
    /// Records written over all resources.
    pub fn restored(&self) -> u64 {
        self.resources.iter().map(|r| r.restored).sum()
    }

    /// Records refused over all resources.
    pub fn failed(&self) -> u64 {
        self.resources.iter().map(|r| r.failed).sum()
    }
}

/// One resource of a [`RestoreReport`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RestoredResource {
    /// The resource.
    pub resource: String,
    /// Records deleted first ([`RestoreOptions::clear`]).
    pub cleared: u64,
    /// Records written.
    pub restored: u64,
    /// Records the database refused (validation and the like).
    pub failed: u64,
    /// The first refusals, in no particular order.
    pub failures: Vec<RestoreFailure>,
}

/// A record of the backup the database refused.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RestoreFailure {
    /// Its line in the record file.
    pub line: u64,
    /// Why.
    pub error: String,
}

/// One resource to restore, verified.
struct Planned<'a> {
    name: &'a str,
    config: Option<ResourceConfig>,
    path: PathBuf,
    digest: Digest,
}

/// Restores the backup in `dir` into `db`. First, without writing anything: reads the
/// manifest, checks the `resources` selection, parses each schema, checks that a resource
/// without one exists, and verifies every record file the manifest names (checksum, record
/// count, every line a JSON object). Then for each resource: defines it from its schema
/// (a no-op when the definition is already the same) or uses the existing one, clears it
/// when asked, and upserts each record. Records the database refuses are counted and listed
/// in the report; the rest are restored.
pub async fn restore(
    db: &Database,
    dir: impl AsRef<Path>,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    observe(None, "restore", None, restore_op(db, dir.as_ref(), options)).await
}

async fn restore_op(db: &Database, dir: &Path, options: &RestoreOptions) -> Result<RestoreReport> {
    let manifest = Manifest::read(dir)?;
    check_selection(
        &options.resources,
        &format!("the backup in {}", dir.display()),
        |name| manifest.resources.contains_key(name),
    )?;
    let mut plan = Vec::new();
    let mut warnings = Vec::new();
    for (name, entry) in &manifest.resources {
        if !is_selected(&options.resources, name) {
            continue;
        }
        let config = match &entry.schema {
            Some(schema) => {
                let mut definition = schema.clone();
                definition.insert("name".into(), json!(name));
                // A schema without the flag keeps the existing resource's.
                if let Ok(existing) = db.resource(name) {
                    definition
                        .entry("paranoid")
                        .or_insert_with(|| json!(existing.paranoid()));
                }
                Some(ResourceConfig::from_json(&Value::Object(definition))?)
            }
            None if db.resource_exists(name) => None,
            None => {
                return Err(BackupError::NoSchema {
                    resource: name.clone(),
                }
                .into());
            }
        };
        let path = dir.join(manifest.file_of(name, entry)?);
        let digest = verify(name, entry, &path, manifest.compressed, &mut warnings)?;
        plan.push(Planned {
            name,
            config,
            path,
            digest,
        });
    }
    // Every file is verified first (a damaged backup is reported before anything else).
    if options.clear {
        for planned in &plan {
            refuse_paranoid_clear(db, planned.name)?;
        }
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let mut report = Vec::new();
    for planned in plan {
        report.push(restore_resource(db, planned, manifest.compressed, options).await?);
    }
    Ok(RestoreReport {
        resources: report,
        warnings,
    })
}

/// Reads the whole file and checks it against the manifest entry; returns its digest.
fn verify(
    name: &str,
    entry: &ManifestResource,
    path: &Path,
    compressed: bool,
    warnings: &mut Vec<String>,
) -> Result<Digest, BackupError> {
    let mut reader = RecordReader::open(path, compressed, name)?;
    let mut count = 0u64;
    while reader.next_record()?.is_some() {
        count += 1;
    }
    let digest = reader.finish()?;
    match &entry.sha256 {
        Some(expected) if !expected.eq_ignore_ascii_case(&digest.sha256) => {
            return Err(BackupError::ChecksumMismatch {
                file: path.to_owned(),
                expected: expected.clone(),
                actual: digest.sha256,
            });
        }
        Some(_) => {}
        None => warnings.push(format!(
            "{}: the manifest has no checksum for it (a backup by s3db.js or an older s3db); \
             only its record count and lines were checked",
            path.display()
        )),
    }
    match &entry.stats {
        Some(stats) if stats.record_count != count => Err(BackupError::CountMismatch {
            file: path.to_owned(),
            expected: stats.record_count,
            actual: count,
        }),
        Some(_) => Ok(digest),
        None => {
            warnings.push(format!(
                "{}: the manifest has no record count for it",
                path.display()
            ));
            Ok(digest)
        }
    }
}

/// Defines, clears and fills one resource from its verified file.
async fn restore_resource(
    db: &Database,
    planned: Planned<'_>,
    compressed: bool,
    options: &RestoreOptions,
) -> Result<RestoredResource> {
    let name = planned.name;
    let resource = match planned.config {
        Some(config) => db.create_resource(config).await?,
        None => db.resource(name)?,
    };
    let cleared = if options.clear {
        clear(&resource).await?
    } else {
        0
    };
    let mut reader = RecordReader::open(&planned.path, compressed, name)?;
    let mut done = RestoredResource {
        resource: name.to_owned(),
        cleared,
        restored: 0,
        failed: 0,
        failures: Vec::new(),
    };
    let concurrency = options.concurrency.max(1);
    // Lines are read in batches so that reading (blocking, local) and writing (async,
    // `concurrency` in flight) alternate without holding the whole file.
    loop {
        let mut batch = Vec::with_capacity(concurrency * 4);
        while batch.len() < concurrency * 4 {
            match reader.next_record()? {
                Some(item) => batch.push(item),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let mut writes = futures::stream::iter(batch)
            .map(|(line, record): (u64, Record)| {
                let resource = &resource;
                async move { (line, resource.upsert(record).await) }
            })
            .buffer_unordered(concurrency);
        while let Some((line, written)) = writes.next().await {
            match written {
                Ok(_) => {
                    done.restored += 1;
                    Observer::record(&options.observer, name);
                }
                Err(e) => {
                    done.failed += 1;
                    if done.failures.len() < MAX_LISTED_FAILURES {
                        done.failures.push(RestoreFailure {
                            line,
                            error: e.to_string(),
                        });
                    }
                }
            }
        }
    }
    let digest = reader.finish()?;
    if digest != planned.digest {
        // Changed between verification and restore: what was written is not what was checked.
        return Err(BackupError::ChecksumMismatch {
            file: planned.path,
            expected: planned.digest.sha256,
            actual: digest.sha256,
        }
        .into());
    }
    Ok(done)
}

/// Refuses to clear a resource that exists and is paranoid (checked before anything is
/// written): clearing is a bulk delete, which `paranoid` forbids.
fn refuse_paranoid_clear(db: &Database, name: &str) -> Result<()> {
    match db.resource(name) {
        Ok(resource) if resource.paranoid() => Err(Error::Paranoid {
            resource: name.to_owned(),
            operation: Operation::DeleteAll,
        }),
        _ => Ok(()),
    }
}

/// Deletes every record of `resource`; returns how many. Its paranoid flag was checked
/// before anything was written ([`refuse_paranoid_clear`]).
async fn clear(resource: &Resource) -> Result<u64> {
    let ids = resource.list_ids().await?;
    let deleted = resource.delete_many(&ids).await?;
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

/// Whether `name` is among `wanted` (everything is when `wanted` is empty).
fn is_selected(wanted: &[String], name: &str) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| w == name)
}

/// Refuses a `resources` name that `exists` does not know (`place` says where it was
/// looked for).
fn check_selection(
    wanted: &[String],
    place: &str,
    exists: impl Fn(&str) -> bool,
) -> Result<(), BackupError> {
    match wanted.iter().find(|name| !exists(name)) {
        Some(name) => Err(BackupError::NoSuchResource {
            place: place.to_owned(),
            name: name.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_selection_is_everything_or_the_names_given() {
        let wanted = vec!["a".to_owned(), "b".to_owned()];
        assert!(is_selected(&[], "x"));
        assert!(is_selected(&wanted, "b") && !is_selected(&wanted, "x"));
        assert!(check_selection(&wanted, "db", |n| n != "z").is_ok());
        let err = check_selection(&wanted, "db", |n| n == "a").unwrap_err();
        assert_eq!(err.to_string(), "db has no resource \"b\"");
    }
}
