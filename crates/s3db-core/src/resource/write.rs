//! Writes: insert, update/patch (conditional read-modify-write), replace, upsert, delete.

use std::time::Duration;

use rand::Rng;
use s3db_storage::{ErrorKind, PutMode};
use serde_json::Value;

use super::codec::{BodyPlan, encode_record, set_path, validate};
use super::{Loaded, Record, Resource};
use crate::clock::now_iso;
use crate::error::{Error, Result};
use crate::id::validate_id;
use crate::schema::ValidationMode;

impl Resource {
    /// Inserts a record. Its `id` is taken from the record (validated) or generated. Never
    /// overwrites: an existing id is [`Error::AlreadyExists`]. Returns the stored record.
    pub async fn insert(&self, mut record: Record) -> Result<Record> {
        let id = match record.shift_remove("id") {
            Some(Value::String(id)) => id,
            Some(Value::Null) | None => self.def.id_generator.generate(&record),
            Some(other) => other.to_string(),
        };
        validate_id(&id)?;
        if self.def.timestamps {
            let now = Value::String(now_iso());
            record.insert("createdAt".into(), now.clone());
            record.insert("updatedAt".into(), now);
        }
        validate(&self.def, &mut record, ValidationMode::Insert)?;
        let payload = encode_record(&self.def, &id, &record, None, BodyPlan::insert())?;
        match self
            .storage
            .put(&self.def.record_key(&id), payload, PutMode::Create)
            .await
        {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                ) =>
            {
                return Err(Error::AlreadyExists {
                    resource: self.def.name.clone(),
                    id,
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.write_references(&record, &id, None).await?;
        record.insert("id".into(), Value::String(id));
        Ok(record)
    }

    /// Merges `changes` into the stored record and writes it back only if nobody wrote in
    /// between (ETag condition), retrying the whole read-modify-write on conflict up to the
    /// configured number of attempts ([`Error::Conflict`] after that). Top-level object
    /// values are merged one level deep; dotted keys (`"profile.city"`) set nested paths.
    pub async fn update(&self, id: &str, changes: Record) -> Result<Record> {
        self.update_with(id, |current| Ok(merge(current, &changes)))
            .await
    }

    /// Same as [`Resource::update`] (s3db.js's `patch` differs only in request pattern).
    pub async fn patch(&self, id: &str, changes: Record) -> Result<Record> {
        self.update(id, changes).await
    }

    /// Replaces the whole record (creating it if absent), keeping `createdAt`.
    pub async fn replace(&self, id: &str, record: Record) -> Result<Record> {
        validate_id(id)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let previous = match self.load(id).await {
                Ok(loaded) => Some(loaded),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            let mut next = record.clone();
            next.shift_remove("id");
            if self.def.timestamps {
                let now = now_iso();
                let created = previous
                    .as_ref()
                    .and_then(|p| p.record.get("createdAt").cloned())
                    .or_else(|| next.get("createdAt").cloned())
                    .unwrap_or_else(|| Value::String(now.clone()));
                next.insert("createdAt".into(), created);
                next.insert("updatedAt".into(), Value::String(now));
            }
            let mode = match &previous {
                Some(p) => PutMode::IfMatch(p.etag.clone()),
                None => PutMode::Create,
            };
            validate(&self.def, &mut next, ValidationMode::Insert)?;
            match self
                .conditional_put(id, &next, previous.as_ref(), mode)
                .await?
            {
                true => {
                    self.write_references(&next, id, previous.as_ref()).await?;
                    next.insert("id".into(), Value::String(id.to_owned()));
                    return Ok(next);
                }
                false => self.back_off(id, attempts).await?,
            }
        }
    }

    /// Inserts the record, or merges it into the stored one when its id exists (then only
    /// the given fields need to be present).
    pub async fn upsert(&self, record: Record) -> Result<Record> {
        let Some(Value::String(id)) = record.get("id").cloned() else {
            return self.insert(record).await;
        };
        let mut changes = record.clone();
        changes.shift_remove("id");
        if self.exists(&id).await? {
            return self.update(&id, changes).await;
        }
        match self.insert(record).await {
            Err(Error::AlreadyExists { .. }) => self.update(&id, changes).await,
            other => other,
        }
    }

    /// Deletes a record and its partition references: [`Error::NotFound`] if there is none.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let loaded = self.load(id).await?;
        self.storage.delete(&self.def.record_key(id)).await?;
        let stale = self.references_at(&loaded.record, id, self.version_of(&loaded));
        if !stale.is_empty() {
            self.storage.delete_many(&stale).await?;
        }
        Ok(())
    }

    /// Applies `change` to the freshly read record and writes the result only if the object
    /// did not change meanwhile; on conflict, re-reads and calls `change` again (bounded;
    /// then [`Error::Conflict`]). Use it for updates computed from the current value, such
    /// as counters.
    pub async fn update_with(
        &self,
        id: &str,
        change: impl Fn(&Record) -> Result<Record>,
    ) -> Result<Record> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let loaded = self.load(id).await?;
            let mut next = change(&loaded.record)?;
            next.shift_remove("id");
            if self.def.timestamps {
                if let Some(created) = loaded.record.get("createdAt") {
                    next.insert("createdAt".into(), created.clone());
                }
                next.insert("updatedAt".into(), Value::String(now_iso()));
            }
            validate(&self.def, &mut next, ValidationMode::Update)?;
            let mode = PutMode::IfMatch(loaded.etag.clone());
            self.keep_history(id, &loaded).await?;
            if self.conditional_put(id, &next, Some(&loaded), mode).await? {
                self.write_references(&next, id, Some(&loaded)).await?;
                next.insert("id".into(), Value::String(id.to_owned()));
                return Ok(next);
            }
            self.back_off(id, attempts).await?;
        }
    }

    /// Writes a record object under a condition; `false` when the condition failed.
    async fn conditional_put(
        &self,
        id: &str,
        record: &Record,
        previous: Option<&Loaded>,
        mode: PutMode,
    ) -> Result<bool> {
        let payload = encode_record(
            &self.def,
            id,
            record,
            previous,
            BodyPlan::overwrite(previous),
        )?;
        match self
            .storage
            .put(&self.def.record_key(id), payload, mode)
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Err(self.not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Sleeps before the next attempt (exponential backoff with full jitter, capped at
    /// 100 ms), or gives up with [`Error::Conflict`].
    async fn back_off(&self, id: &str, attempts: u32) -> Result<()> {
        if attempts >= self.settings.max_attempts {
            return Err(Error::Conflict {
                what: self.def.record_key(id),
                attempts,
            });
        }
        let cap_micros = (500u64 << attempts.min(8)).min(100_000);
        let wait = rand::thread_rng().gen_range(0..=cap_micros);
        tokio::time::sleep(Duration::from_micros(wait)).await;
        Ok(())
    }

    /// Partition reference keys of a record.
    pub(crate) fn reference_keys(&self, record: &Record, id: &str) -> Vec<String> {
        self.def
            .partitions
            .iter()
            .filter_map(|p| p.reference_key(&self.def.name, record, &self.def.version, id))
            .collect()
    }

    /// Writes the references of `record` and removes those of `previous` that changed.
    async fn write_references(
        &self,
        record: &Record,
        id: &str,
        previous: Option<&Loaded>,
    ) -> Result<()> {
        if self.def.partitions.is_empty() {
            return Ok(());
        }
        let mut wanted = self.reference_keys(record, id);
        if let Some(previous) = previous {
            // Unchanged references stay as they are: an update costs one DELETE and one PUT
            // per partition whose key changed, and never a listing.
            let before = self.references_at(&previous.record, id, self.version_of(previous));
            let stale: Vec<String> = before
                .iter()
                .filter(|k| !wanted.contains(k))
                .cloned()
                .collect();
            if !stale.is_empty() {
                self.storage.delete_many(&stale).await?;
            }
            wanted.retain(|k| !before.contains(k));
        }
        for key in wanted {
            self.put_reference(&key).await?;
        }
        Ok(())
    }
}

/// `current` with `changes` applied: dotted keys set nested paths; object values are merged
/// into existing objects one level deep; everything else replaces.
fn merge(current: &Record, changes: &Record) -> Record {
    let mut next = current.clone();
    for (key, value) in changes {
        if key.contains('.') {
            set_path(&mut next, key, value.clone());
            continue;
        }
        match (next.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                for (k, v) in incoming {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => {
                next.insert(key.clone(), value.clone());
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_shallow_for_objects_and_deep_for_dotted_keys() {
        let current = json!({"a": 1, "p": {"x": 1, "y": 2}, "q": {"z": 1}});
        let changes = json!({"p": {"y": 3}, "q.w": 2, "a": null});
        let merged = merge(current.as_object().unwrap(), changes.as_object().unwrap());
        assert_eq!(
            Value::Object(merged),
            json!({"a": null, "p": {"x": 1, "y": 3}, "q": {"z": 1, "w": 2}})
        );
    }
}
