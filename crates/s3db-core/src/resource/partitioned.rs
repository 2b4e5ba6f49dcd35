//! Partition reads and maintenance: reading a record through one of its references,
//! orphaned partitions (whose fields left the schema; their definitions are dropped from
//! `s3db.json` by `Database::remove_orphaned_partitions`) and `repair`, which reconciles
//! references with records after a crash between the record write and the reference writes.

use std::collections::{BTreeSet, HashSet};

use futures::{StreamExt, TryStreamExt};
use s3db_storage::{ErrorKind, PutMode, PutPayload, StorageExt};

use serde_json::{Map, Value};

use super::query::DEFAULT_READ_CONCURRENCY;
use super::{Record, Resource};
use crate::error::{Error, Result};
use crate::extend::{Operation, Payload};
use crate::id::validate_id;
use crate::metadata::document::ResourceEntry;
use crate::metadata::hash::definition_hash;

/// What [`Resource::repair`] found and fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Records read.
    pub records: usize,
    /// References listed.
    pub references: usize,
    /// References deleted: their record is gone or no longer has those values.
    pub stale_removed: Vec<String>,
    /// References written: the record had values for them but no reference.
    pub missing_written: Vec<String>,
}

impl RepairReport {
    /// Whether nothing needed fixing.
    pub fn is_clean(&self) -> bool {
        self.stale_removed.is_empty() && self.missing_written.is_empty()
    }
}

impl Resource {
    /// Reads a record through its reference in `partition` for `values` (every field of
    /// the partition needs a value): a HEAD on the reference, then the record.
    /// [`Error::NotFound`] when either is missing. Runs the `getFromPartition` middleware
    /// (options `{"partition", "partitionValues", "id"}`), then the record read runs the
    /// `get` hooks and emits `Fetched`, as [`Resource::get`] does.
    pub async fn get_from_partition(
        &self,
        id: &str,
        partition: &str,
        values: &Record,
    ) -> Result<Record> {
        self.observed(
            "getFromPartition",
            Some(id),
            self.get_from_partition_op(id, partition, values),
        )
        .await
    }

    async fn get_from_partition_op(
        &self,
        id: &str,
        partition: &str,
        values: &Record,
    ) -> Result<Record> {
        if !self.ext.middlewares.has(Operation::GetFromPartition) {
            let record = self.get_from_partition_inner(id, partition, values).await?;
            return Ok(self.delivered(record));
        }
        let mut args = Map::new();
        args.insert("partition".into(), Value::String(partition.to_owned()));
        args.insert("partitionValues".into(), Value::Object(values.clone()));
        args.insert("id".into(), Value::String(id.to_owned()));
        let out = self
            .wrapped(
                Operation::GetFromPartition,
                Payload::Options(args),
                |this, args| async move {
                    let args = args.into_options()?;
                    let text = |name: &str| match args.get(name) {
                        Some(Value::String(text)) => Ok(text.clone()),
                        _ => Err(this.bad_option(name, "a string")),
                    };
                    let (id, partition) = (text("id")?, text("partition")?);
                    let values = match args.get("partitionValues") {
                        Some(Value::Object(values)) => values.clone(),
                        _ => return Err(this.bad_option("partitionValues", "an object")),
                    };
                    let record = this
                        .get_from_partition_inner(&id, &partition, &values)
                        .await?;
                    Ok(Payload::Record(record))
                },
            )
            .await?;
        Ok(self.delivered(out.into_record()?))
    }

    async fn get_from_partition_inner(
        &self,
        id: &str,
        partition: &str,
        values: &Record,
    ) -> Result<Record> {
        validate_id(id)?;
        let found = self.partition(partition)?;
        let key = found
            .selector(&self.def.name, values)
            .exact_prefix()
            .map(|prefix| format!("{prefix}id={id}"))
            .ok_or_else(|| Error::Unsupported {
                resource: self.def.name.clone(),
                reason: format!(
                    "get_from_partition needs a value for every field of {partition:?}"
                ),
            })?;
        match self.storage.head(&key).await {
            Ok(_) => self.get_inner(id).await,
            Err(e) if e.kind() == ErrorKind::NotFound => Err(self.not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// A middleware argument that is missing or of the wrong type.
    fn bad_option(&self, name: &str, expected: &str) -> Error {
        Error::Unsupported {
            resource: self.def.name.clone(),
            reason: format!("option {name:?} must be {expected}"),
        }
    }

    /// Names of the declared partitions naming a field the schema no longer has.
    pub fn find_orphaned_partitions(&self) -> Vec<String> {
        self.def
            .partitions
            .iter()
            .filter(|p| p.is_orphaned(&self.def.schema))
            .map(|p| p.name.clone())
            .collect()
    }

    /// Deletes every reference of the partitions named (the first half of
    /// `Database::remove_orphaned_partitions`, which then drops their definitions).
    pub(crate) async fn delete_partition_references(&self, names: &[String]) -> Result<()> {
        for name in names {
            let keys = self
                .list_keys(&self.partition(name)?.root(&self.def.name))
                .await?;
            self.delete_keys(&keys).await?;
        }
        Ok(())
    }

    /// Drops the partitions named from a stored resource entry. The current version's
    /// definition loses them; when its hash changes (it does unless they were absent), a
    /// new version is recorded — a copy of the current one with the new partitions and hash,
    /// as s3db.js's next metadata upload records it. Returns whether the entry changed.
    pub(crate) fn drop_partitions(entry: &mut ResourceEntry, names: &[String], now: &str) -> bool {
        let Some(current) = entry.current().cloned() else {
            return false;
        };
        let mut partitions = current.partitions.clone().unwrap_or_default();
        let before = partitions.len();
        partitions.retain(|name, _| !names.contains(name));
        let mut resource_partitions = entry.partitions.clone().unwrap_or_default();
        resource_partitions.retain(|name, _| !names.contains(name));
        let resource_changed = entry
            .partitions
            .as_ref()
            .is_some_and(|p| p.len() != resource_partitions.len());
        if partitions.len() == before && !resource_changed {
            return false;
        }
        let hash = definition_hash(
            current.attributes.as_ref().unwrap_or(&Map::new()),
            &current.behavior,
            &partitions,
            current.timestamps,
        );
        if hash != current.hash {
            let mut next = current;
            next.hash = hash;
            next.partitions = Some(partitions);
            next.created_at = Some(now.to_owned());
            let name = entry.next_version_name();
            entry.versions.insert(name.clone(), next);
            entry.current_version = name;
        }
        entry.partitions = Some(resource_partitions);
        true
    }

    /// Reconciles partition references with records: deletes references whose record is
    /// gone or has other values, writes the references a record should have but lacks
    /// (a crash between the record PUT and the reference PUTs). Reads every record.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.observed("repair", None, self.repair_op()).await
    }

    async fn repair_op(&self) -> Result<RepairReport> {
        let references: BTreeSet<String> = self
            .list_keys(&format!("resource={}/partition=", self.def.name))
            .await?
            .into_iter()
            .collect();
        let ids: Vec<String> = self
            .list_keys(&format!("{}/", self.def.data_prefix()))
            .await?
            .iter()
            .filter_map(|key| super::listing::id_of_key(key).map(str::to_owned))
            .collect();
        let wanted: Vec<(String, String)> = futures::stream::iter(ids.clone())
            .map(|id| async move {
                let refs = self.wanted_references(&id).await?;
                Ok::<_, Error>(
                    refs.into_iter()
                        .map(|k| (k, id.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .buffered(self.in_flight(DEFAULT_READ_CONCURRENCY))
            .try_concat()
            .await?;
        let wanted_keys: HashSet<&str> = wanted.iter().map(|(k, _)| k.as_str()).collect();
        let mut report = RepairReport {
            records: ids.len(),
            references: references.len(),
            ..RepairReport::default()
        };
        report.stale_removed = references
            .iter()
            .filter(|k| !wanted_keys.contains(k.as_str()))
            .cloned()
            .collect();
        self.delete_keys(&report.stale_removed).await?;
        for (key, _) in wanted {
            if !references.contains(&key) {
                self.put_reference(&key).await?;
                report.missing_written.push(key);
            }
        }
        Ok(report)
    }

    /// The references a stored record should have (with `_v` as stored in the object);
    /// none when the record vanished meanwhile.
    async fn wanted_references(&self, id: &str) -> Result<Vec<String>> {
        let key = self.def.record_key(id);
        let found = match self.storage.get_packed(&key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let loaded = self.decode_versioned(id, &key, found)?;
        Ok(self.references_at(&loaded.record, id, self.version_of(&loaded)))
    }

    /// Partition reference keys of a record written under `version`.
    pub(crate) fn references_at(&self, record: &Record, id: &str, version: &str) -> Vec<String> {
        self.def
            .partitions
            .iter()
            .filter_map(|p| p.reference_key(&self.def.name, record, version, id))
            .collect()
    }

    /// Writes one reference object (empty body, metadata `{_v}`).
    pub(crate) async fn put_reference(&self, key: &str) -> Result<()> {
        let payload = PutPayload {
            metadata: [("_v", self.def.version.as_str())].into(),
            ..PutPayload::default()
        };
        self.storage.put(key, payload, PutMode::Overwrite).await?;
        Ok(())
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.storage.list_keys(prefix).await?)
    }

    async fn delete_keys(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        match self.storage.delete_many(keys).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
