//! Backups as a library part: the backup format of the CLI (`s3db_core::backup`,
//! `docs/backup-format.md`) written to any [`Storage`] (a directory through
//! [`s3db_storage::FsStorage`], another bucket or prefix), full or incremental, listed,
//! verified, restored, pruned by count and age, and scheduled through the
//! [scheduler](crate::scheduler). See `docs/plugins-backup.md`.
//!
//! Layout in the destination: one folder per backup, `<id>/`, holding the core's backup
//! directory as it is (`s3db.json` and the `NAME.jsonl[.gz]` record files) plus
//! `backup.json` (this plugin's entry: kind, parent, time, deleted ids) and `index.json`
//! (each record's content hash, by resource and id). Ids are the backup time
//! (`2025-01-01T00-00-00.000Z-full`), so they sort by time.
//!
//! **Incremental** backups compare each record's content hash (MD5 of its JSON) with the
//! `index.json` of the previous backup: only new or changed records are written, and the
//! ids that disappeared are listed as `deleted`. Every record is still read (a full scan);
//! what is saved is the writing and the storage. Restoring an incremental restores its
//! chain: the full backup it descends from, then each incremental in order, deleting the
//! `deleted` ids after each.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::backup::{BackupKind, Backups};
//! use s3db_storage::MemoryStorage;
//! use serde_json::json;
//!
//! let db = Database::connect("memory://backups-doc").await?;
//! let notes = db.create_resource(ResourceConfig::new("notes").attribute("text", "string")).await?;
//! let rec = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
//! notes.insert(rec(json!({"id": "a", "text": "one"}))).await?;
//! notes.insert(rec(json!({"id": "b", "text": "two"}))).await?;
//!
//! let backups = Backups::new(db.clone(), Arc::new(MemoryStorage::new()));
//! let full = backups.backup(BackupKind::Full).await?;
//! notes.delete("a").await?;
//! notes.update("b", rec(json!({"text": "TWO"}))).await?;
//! let incremental = backups.backup(BackupKind::Incremental).await?;
//! assert_eq!((full.records, incremental.records, incremental.deleted_count()), (2, 1, 1));
//! backups.verify(&incremental.id).await?;
//!
//! let copy = Database::connect("memory://backups-doc-copy").await?;
//! backups.restore(&incremental.id, &copy).await?;
//! let restored = copy.resource("notes")?;
//! assert!(restored.get("a").await.is_err(), "the deletion is restored too");
//! assert_eq!(restored.get("b").await?["text"], "TWO");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::TryStreamExt;
use md5::{Digest, Md5};
use s3db_core::backup::{BackupOptions, RecordFilter, RestoreOptions, RestoreReport};
use s3db_core::{Database, ErrorKind};
use s3db_storage::{ListOptions, Storage, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::parse_iso;
use crate::coord::CasDoc;
use crate::json_object::{get_json, put_json};
use crate::scheduler::{Job, Schedule};
use crate::{Error, Result};

const SLUG: &str = "backup";

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BackupKind {
    /// Every record.
    Full,
    /// Records new or changed since the previous backup, and the ids deleted since (a
    /// full backup when there is none yet).
    Incremental,
}

/// One backup in the destination (`<id>/backup.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupEntry {
    /// Its folder in the destination.
    pub id: String,
    /// Full or incremental.
    pub kind: BackupKind,
    /// The backup an incremental one builds on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When it was made (ISO-8601).
    pub timestamp: String,
    /// Records written.
    pub records: u64,
    /// Ids deleted since the parent, by resource (incremental only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deleted: BTreeMap<String, Vec<String>>,
}

impl BackupEntry {
    /// How many ids it lists as deleted.
    pub fn deleted_count(&self) -> usize {
        self.deleted.values().map(Vec::len).sum()
    }
}

/// Content hash of every record, by resource and id.
type Index = BTreeMap<String, BTreeMap<String, String>>;

/// Backups of one database into one destination storage.
#[derive(Clone)]
pub struct Backups {
    db: Database,
    destination: Arc<dyn Storage>,
    options: BackupOptions,
    keep_last: Option<usize>,
    max_age: Option<Duration>,
}

impl std::fmt::Debug for Backups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backups")
            .field("options", &self.options)
            .field("keep_last", &self.keep_last)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Backups {
    /// Backups of `db` (every resource, uncompressed, with schemas) into `destination`.
    pub fn new(db: Database, destination: Arc<dyn Storage>) -> Backups {
        Backups {
            db,
            destination,
            options: BackupOptions::new(),
            keep_last: None,
            max_age: None,
        }
    }

    /// The core's options for each backup (compression, resources, schemas).
    pub fn options(mut self, options: BackupOptions) -> Backups {
        self.options = options;
        self
    }

    /// [`Backups::prune`] keeps the newest `n` full backups (with their incrementals).
    pub fn keep_last(mut self, n: usize) -> Backups {
        self.keep_last = Some(n.max(1));
        self
    }

    /// [`Backups::prune`] deletes backups older than `age` (never the newest full one and
    /// what builds on it).
    pub fn max_age(mut self, age: Duration) -> Backups {
        self.max_age = Some(age);
        self
    }

    /// Makes a backup, then prunes by the retention rules.
    pub async fn backup(&self, kind: BackupKind) -> Result<BackupEntry> {
        let previous = match kind {
            BackupKind::Full => None,
            BackupKind::Incremental => self.list().await?.pop(),
        };
        let base: Index = match &previous {
            Some(entry) => get_json(self.destination.as_ref(), &index_key(&entry.id)).await?,
            None => Index::new(),
        };
        let kind = if previous.is_some() {
            kind
        } else {
            BackupKind::Full
        };
        let seen = Arc::new(Mutex::new(Index::new()));
        let filter = {
            let (seen, base) = (seen.clone(), base.clone());
            RecordFilter::new(move |resource, record| {
                let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                let hash = hex::encode(Md5::digest(serde_json::to_vec(record).unwrap_or_default()));
                let changed = base.get(resource).and_then(|ids| ids.get(id)) != Some(&hash);
                seen.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(resource.to_owned())
                    .or_default()
                    .insert(id.to_owned(), hash);
                kind == BackupKind::Full || changed
            })
        };
        let stage = tempdir()?;
        let made =
            s3db_core::backup::backup(&self.db, stage.path(), &self.options.clone().filter(filter))
                .await?;
        let index = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
        let deleted: BTreeMap<String, Vec<String>> = base
            .iter()
            .filter(|_| kind == BackupKind::Incremental)
            .map(|(resource, ids)| {
                let now = index.get(resource);
                let gone = ids
                    .keys()
                    .filter(|id| now.is_none_or(|n| !n.contains_key(*id)))
                    .cloned();
                (resource.clone(), gone.collect::<Vec<_>>())
            })
            .filter(|(_, gone)| !gone.is_empty())
            .collect();
        let timestamp = self.db.clock().now_iso();
        let id = format!("{}-{}", timestamp.replace(':', "-"), kind_name(kind));
        let entry = BackupEntry {
            id: id.clone(),
            kind,
            parent: previous
                .filter(|_| kind == BackupKind::Incremental)
                .map(|p| p.id),
            timestamp,
            records: made.records,
            deleted,
        };
        for file in std::fs::read_dir(stage.path()).map_err(|e| io(stage.path(), e))? {
            let path = file.map_err(|e| io(stage.path(), e))?.path();
            let body = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            self.destination
                .put_bytes(&format!("{id}/{name}"), body)
                .await?;
        }
        put_json(self.destination.as_ref(), &index_key(&id), &index).await?;
        // The entry last: a backup without it is incomplete and not listed.
        let created = CasDoc::new(self.destination.clone(), entry_key(&id))
            .create(&entry)
            .await?;
        if created.is_none() {
            return Err(config(format!(
                "backup {id:?} exists already (two backups in the same millisecond)"
            )));
        }
        self.prune().await?;
        Ok(entry)
    }

    /// The complete backups in the destination, oldest first.
    pub async fn list(&self) -> Result<Vec<BackupEntry>> {
        let metas: Vec<_> = self
            .destination
            .list(ListOptions::default())
            .try_collect()
            .await?;
        let mut entries = Vec::new();
        for meta in metas.iter().filter(|m| m.key.ends_with("/backup.json")) {
            entries.push(get_json::<BackupEntry>(self.destination.as_ref(), &meta.key).await?);
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// Checks a backup and the chain it needs: every file is there, every record file
    /// matches the SHA-256 and record count its manifest gives.
    pub async fn verify(&self, id: &str) -> Result<()> {
        for entry in self.chain(id).await? {
            let stage = self.download(&entry.id).await?;
            let manifest: Value = serde_json::from_slice(
                &std::fs::read(stage.path().join("s3db.json")).map_err(|e| io(stage.path(), e))?,
            )
            .map_err(|e| corrupt(&entry.id, e.to_string()))?;
            let resources = manifest["resources"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (resource, about) in resources {
                let file = about["file"].as_str().unwrap_or_default();
                let bytes = std::fs::read(stage.path().join(file)).map_err(|_| {
                    corrupt(
                        &entry.id,
                        format!("record file {file:?} of {resource:?} is missing"),
                    )
                })?;
                let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
                if about["sha256"].as_str() != Some(sha.as_str()) {
                    return Err(corrupt(
                        &entry.id,
                        format!("{file:?}: SHA-256 {sha} differs from the manifest's"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Restores backup `id` into `target` (which may be the source database): its chain
    /// in order (the full backup first, cleared-then-restored resource by resource; each
    /// incremental upserted, then its deleted ids deleted). Returns each step's report.
    pub async fn restore(&self, id: &str, target: &Database) -> Result<Vec<RestoreReport>> {
        let mut reports = Vec::new();
        for entry in self.chain(id).await? {
            let stage = self.download(&entry.id).await?;
            let options = RestoreOptions::new().clear(entry.kind == BackupKind::Full);
            reports.push(s3db_core::backup::restore(target, stage.path(), &options).await?);
            for (resource, ids) in &entry.deleted {
                let resource = target.resource(resource)?;
                for id in ids {
                    match resource.delete(id).await {
                        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
                        _ => {}
                    }
                }
            }
        }
        Ok(reports)
    }

    /// Deletes the backups the retention rules no longer keep: full backups beyond the
    /// newest [`Backups::keep_last`], and those older than [`Backups::max_age`], each with
    /// the incrementals built on it. The newest full backup always stays. Returns the
    /// deleted ids.
    pub async fn prune(&self) -> Result<Vec<String>> {
        let entries = self.list().await?;
        let fulls: Vec<&BackupEntry> = entries
            .iter()
            .filter(|e| e.kind == BackupKind::Full)
            .collect();
        let now = self.db.clock().now();
        let mut doomed_fulls = Vec::new();
        for (age_rank, full) in fulls.iter().rev().enumerate().skip(1) {
            let too_many = self.keep_last.is_some_and(|n| age_rank >= n);
            let too_old = self.max_age.is_some_and(|age| {
                let age = time::Duration::try_from(age).unwrap_or(time::Duration::MAX);
                parse_iso(&full.timestamp).is_some_and(|at| at + age < now)
            });
            if too_many || too_old {
                doomed_fulls.push(full.id.clone());
            }
        }
        let mut doomed = Vec::new();
        for entry in &entries {
            let chain_root = self.root_of(&entries, entry);
            if doomed_fulls.contains(&chain_root) {
                doomed.push(entry.id.clone());
            }
        }
        for id in &doomed {
            // The entry first, so a half-deleted backup is no longer listed.
            self.destination.delete(&entry_key(id)).await?;
            self.destination.delete_prefix(&format!("{id}/")).await?;
        }
        Ok(doomed)
    }

    /// A scheduler job making a backup of `kind` on each tick of `schedule` (run once per
    /// tick across processes).
    pub fn job(&self, name: &str, schedule: Schedule, kind: BackupKind) -> Job {
        let backups = self.clone();
        Job::new(name, schedule, move |_| {
            let backups = backups.clone();
            async move {
                backups
                    .backup(kind)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }

    fn root_of(&self, entries: &[BackupEntry], entry: &BackupEntry) -> String {
        let mut at = entry;
        while let Some(parent) = at
            .parent
            .as_ref()
            .and_then(|p| entries.iter().find(|e| &e.id == p))
        {
            at = parent;
        }
        at.id.clone()
    }

    /// The backups to restore, in order, to get backup `id`'s state.
    async fn chain(&self, id: &str) -> Result<Vec<BackupEntry>> {
        let entries = self.list().await?;
        let mut chain = Vec::new();
        let mut next = Some(id.to_owned());
        while let Some(id) = next.take() {
            let entry = entries.iter().find(|e| e.id == id).ok_or_else(|| {
                config(format!(
                    "no backup {id:?} in the destination (see Backups::list)"
                ))
            })?;
            next.clone_from(&entry.parent);
            chain.push(entry.clone());
        }
        chain.reverse();
        Ok(chain)
    }

    /// Copies backup `id`'s core files into a new temporary directory.
    async fn download(&self, id: &str) -> Result<tempfile::TempDir> {
        let stage = tempdir()?;
        for key in self.destination.list_keys(&format!("{id}/")).await? {
            let name = &key[id.len() + 1..];
            if name == "backup.json" || name == "index.json" || name.contains('/') {
                continue;
            }
            let body = self.destination.get_bytes(&key).await?;
            let path = stage.path().join(name);
            std::fs::write(&path, body).map_err(|e| io(&path, e))?;
        }
        Ok(stage)
    }
}

fn kind_name(kind: BackupKind) -> &'static str {
    match kind {
        BackupKind::Full => "full",
        BackupKind::Incremental => "incremental",
    }
}

fn entry_key(id: &str) -> String {
    format!("{id}/backup.json")
}

fn index_key(id: &str) -> String {
    format!("{id}/index.json")
}

fn tempdir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn corrupt(id: &str, reason: String) -> Error {
    Error::Corrupt {
        key: format!("{id}/"),
        reason,
    }
}

fn config(reason: String) -> Error {
    Error::Config {
        plugin: SLUG,
        reason,
    }
}
