//! Records written under older definition versions: decoded with the attributes and types
//! of the version that wrote them (`_v` of the object), optionally migrated by a
//! user-supplied function; historical copies when an update moves a record to the current
//! version.

use crate::extend::Operation;
use std::sync::Arc;

use s3db_storage::{PackedGet, PutMode};
use serde_json::Value;

use super::codec::{self, BodyPlan};
use super::{Loaded, Record, Resource};
use crate::error::Result;

/// A migration: `(version the record was written under, record) → record in the current
/// version's shape`. Runs on every read of an older-version record (and so before updates).
pub type MigrateFn = dyn Fn(&str, Record) -> Result<Record> + Send + Sync;

/// A shared migration function.
#[derive(Clone)]
pub(crate) struct Migration(pub Arc<MigrateFn>);

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Migration")
    }
}

impl Resource {
    /// A handle that migrates older-version records on read with `migrate` (the handle it
    /// is called on is unchanged). Without one, such records are returned as their own
    /// version defines them.
    pub fn with_migration(
        &self,
        migrate: impl Fn(&str, Record) -> Result<Record> + Send + Sync + 'static,
    ) -> Resource {
        let mut handle = self.clone();
        handle.migration = Some(Migration(Arc::new(migrate)));
        handle
    }

    /// Decodes an object with the definition of the version that wrote it, then migrates.
    pub(crate) fn decode_versioned(&self, id: &str, key: &str, found: PackedGet) -> Result<Loaded> {
        // The current version is the common case: nothing to copy or look up.
        let version = self.older_version(&found).map(str::to_owned);
        let older = match &version {
            Some(v) => self.def.at_version(v)?,
            None => None,
        };
        let mut loaded = match &older {
            Some(def) => codec::decode_object(def, id, key, found)?,
            None => codec::decode_object(&self.def, id, key, found)?,
        };
        if let (Some(from), Some(migration)) = (&version, &self.migration) {
            let mut record = (migration.0)(from, std::mem::take(&mut loaded.record))?;
            record.insert("id".into(), Value::String(id.to_owned()));
            loaded.record = record;
        }
        loaded.version = version;
        Ok(loaded)
    }

    /// The version `found` was written with, when it is not the current one.
    pub(crate) fn older_version<'a>(&self, found: &'a PackedGet) -> Option<&'a str> {
        found.metadata.get("_v").filter(|v| *v != self.def.version)
    }

    /// The version a loaded record's references were written with.
    pub(crate) fn version_of<'a>(&'a self, loaded: &'a Loaded) -> &'a str {
        loaded.version.as_deref().unwrap_or(&self.def.version)
    }

    /// Writes `resource=<r>/historical/id=<id>`: the record as it was, encoded by the
    /// version that wrote it, plus `_historicalTimestamp` — when an update moves a record
    /// written under an older version to the current one.
    pub(crate) async fn keep_history(&self, id: &str, previous: &Loaded) -> Result<()> {
        let Some(version) = previous.version.as_deref() else {
            return Ok(());
        };
        // A migrated record already has the current shape.
        let def = match (&self.migration, self.def.at_version(version)?) {
            (None, Some(older)) => older,
            _ => self.def.clone(),
        };
        let mut record = previous.record.clone();
        record.shift_remove("id");
        let mut payload = codec::encode_record(
            &def,
            id,
            &record,
            None,
            BodyPlan::insert(),
            self.oversize(Operation::Update),
        )?;
        payload.metadata = payload
            .metadata
            .with("_historicalTimestamp", &self.settings.clock.now_iso());
        let key = format!("resource={}/historical/id={id}", self.def.name);
        self.storage.put(&key, payload, PutMode::Overwrite).await?;
        Ok(())
    }
}
