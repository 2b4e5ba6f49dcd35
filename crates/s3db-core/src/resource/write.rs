//! Writes: insert, update/patch (conditional read-modify-write), replace, upsert, delete.

use std::time::Duration;

use s3db_storage::{ErrorKind, PutMode};
use serde_json::Value;

use std::borrow::Cow;
use std::sync::Arc;

/// The change of [`Resource::update_with`]: the new record computed from the stored one.
type ChangeFn = Arc<dyn Fn(&Record) -> Result<Record> + Send + Sync>;

use super::codec::{BodyPlan, Oversize, encode_record, set_path, validate};
use super::conditional::strip_internals;
use super::{Loaded, Record, Resource};
use crate::error::{Error, Result};
use crate::extend::{Event, HookPoint, Operation, Payload};
use crate::id::{IdGenerator, validate_id};
use crate::schema::ValidationMode;
use crate::small_map;

impl Resource {
    /// Inserts a record. Its `id` is taken from the record (validated) or generated. Never
    /// overwrites: an existing id is [`Error::AlreadyExists`]. Returns the stored record.
    pub async fn insert(&self, record: Record) -> Result<Record> {
        self.observed("insert", None, self.insert_op(record)).await
    }

    async fn insert_op(&self, record: Record) -> Result<Record> {
        if !self.ext.middlewares.has(Operation::Insert) {
            return self.insert_inner(record).await;
        }
        let out = self
            .wrapped(
                Operation::Insert,
                Payload::Record(record),
                |this, args| async move {
                    Ok(Payload::Record(
                        this.insert_inner(args.into_record()?).await?,
                    ))
                },
            )
            .await?;
        Ok(out.into_record()?)
    }

    async fn insert_inner(&self, record: Record) -> Result<Record> {
        let mut record = self
            .ext
            .hooks
            .run(HookPoint::BeforeInsert, Payload::Record(record))
            .await?
            .into_record()?;
        strip_internals(&mut record);
        let id = match record.shift_remove("id") {
            Some(Value::String(id)) => id,
            Some(Value::Null) | None => self.generate_id(&record).await?,
            Some(other) => other.to_string(),
        };
        validate_id(&id)?;
        if self.def.timestamps {
            let now = Value::String(self.settings.clock.now_iso());
            record.insert("createdAt".into(), now.clone());
            record.insert("updatedAt".into(), now);
        }
        validate(&self.def, &mut record, ValidationMode::Insert)?;
        let payload = encode_record(
            &self.def,
            &id,
            &record,
            None,
            BodyPlan::insert(),
            self.oversize(Operation::Insert),
        )?;
        let held = self.claim_unique(&id, &record, None).await?;
        let written = match self
            .storage
            .put(&self.def.record_key(&id), payload, PutMode::Create)
            .await
        {
            Ok(etag) => etag,
            Err(e) => {
                self.release_held(held).await;
                return Err(match e.kind() {
                    ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed => {
                        Error::AlreadyExists {
                            resource: self.def.name.clone(),
                            id,
                        }
                    }
                    _ => e.into(),
                });
            }
        };
        self.settle_unique(Operation::Insert, &id, held, &written, None)
            .await?;
        self.write_references(Operation::Insert, &record, &id, None)
            .await?;
        record.insert("id".into(), Value::String(id));
        let record = self
            .ext
            .hooks
            .run(HookPoint::AfterInsert, Payload::Record(record))
            .await?
            .into_record()?;
        self.ext.events.emit_with(|| Event::Inserted {
            resource: self.def.name.clone(),
            id: record
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            record: record.clone(),
        });
        Ok(record)
    }

    /// Merges `changes` into the stored record and writes it back only if nobody wrote in
    /// between (ETag condition), retrying the whole read-modify-write on conflict up to the
    /// configured number of attempts ([`Error::Conflict`] after that). Top-level object
    /// values are merged one level deep; dotted keys (`"profile.city"`) set nested paths.
    /// `beforeUpdate` hooks run once, on the changes, not on every retry.
    pub async fn update(&self, id: &str, changes: Record) -> Result<Record> {
        self.observed(
            "update",
            Some(id),
            self.change(Operation::Update, id, changes),
        )
        .await
    }

    /// Same as [`Resource::update`] (s3db.js's `patch` differs only in request pattern),
    /// with the `patch` hooks and middleware.
    pub async fn patch(&self, id: &str, changes: Record) -> Result<Record> {
        self.observed(
            "patch",
            Some(id),
            self.change(Operation::Patch, id, changes),
        )
        .await
    }

    /// `update`/`patch`/`replace` through their middleware.
    async fn change(&self, operation: Operation, id: &str, record: Record) -> Result<Record> {
        self.change_if(operation, id, record, None).await
    }

    /// `update`/`patch`/`replace` through their middleware, conditional on the stored
    /// version when `expected` is given.
    pub(crate) async fn change_if(
        &self,
        operation: Operation,
        id: &str,
        record: Record,
        expected: Option<String>,
    ) -> Result<Record> {
        self.change_computed(operation, id, record, None, expected)
            .await
    }

    /// `update`/`patch`/`replace` through their middleware; `computed` (update only) makes
    /// the base the changes are merged into from the stored record; `expected` makes the
    /// write conditional on the version the caller read.
    async fn change_computed(
        &self,
        operation: Operation,
        id: &str,
        record: Record,
        computed: Option<ChangeFn>,
        expected: Option<String>,
    ) -> Result<Record> {
        if !self.ext.middlewares.has(operation) {
            return self
                .change_inner(operation, id, record, computed, expected)
                .await;
        }
        let args = Payload::Change {
            id: id.to_owned(),
            record,
        };
        let out = self
            .wrapped(operation, args, move |this, args| async move {
                let (id, record) = args.into_change()?;
                Ok(Payload::Record(
                    this.change_inner(operation, &id, record, computed, expected)
                        .await?,
                ))
            })
            .await?;
        Ok(out.into_record()?)
    }

    /// Runs the before hooks on the change, writes it, runs the after hooks, emits
    /// `Updated`. Internal fields of a read record (`_etag`…) are not written.
    async fn change_inner(
        &self,
        operation: Operation,
        id: &str,
        mut record: Record,
        computed: Option<ChangeFn>,
        expected: Option<String>,
    ) -> Result<Record> {
        strip_internals(&mut record);
        let (before, after) = match operation {
            Operation::Patch => (HookPoint::BeforePatch, HookPoint::AfterPatch),
            Operation::Replace => (HookPoint::BeforeReplace, HookPoint::AfterReplace),
            _ => (HookPoint::BeforeUpdate, HookPoint::AfterUpdate),
        };
        let (id, record) = if self.ext.hooks.has(before) {
            let change = Payload::Change {
                id: id.to_owned(),
                record,
            };
            let (id, record) = self.ext.hooks.run(before, change).await?.into_change()?;
            (Cow::Owned(id), record)
        } else {
            (Cow::Borrowed(id), record)
        };
        let (previous, next) =
            match operation {
                Operation::Replace => self.replace_loop(&id, &record, expected.as_deref()).await?,
                _ => {
                    let (previous, next) =
                        self.cas_update(operation, &id, expected.as_deref(), |current| {
                            match &computed {
                                Some(compute) => Ok(merge(&compute(current)?, &record)),
                                None => Ok(merge(current, &record)),
                            }
                        })
                        .await?;
                    (Some(previous), next)
                }
            };
        let next = self
            .ext
            .hooks
            .run(after, Payload::Record(next))
            .await?
            .into_record()?;
        self.emit_updated(&id, previous, &next);
        Ok(next)
    }

    fn emit_updated(&self, id: &str, before: Option<Record>, after: &Record) {
        self.ext.events.emit_with(|| Event::Updated {
            resource: self.def.name.clone(),
            id: id.to_owned(),
            before,
            after: after.clone(),
        });
    }

    /// Replaces the whole record (creating it if absent), keeping `createdAt`.
    pub async fn replace(&self, id: &str, record: Record) -> Result<Record> {
        self.observed(
            "replace",
            Some(id),
            self.change(Operation::Replace, id, record),
        )
        .await
    }

    /// The replace write loop: the previous record (if any) and the stored one. With
    /// `expected`, the record must exist at that version (one attempt).
    async fn replace_loop(
        &self,
        id: &str,
        record: &Record,
        expected: Option<&str>,
    ) -> Result<(Option<Record>, Record)> {
        validate_id(id)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let previous = match self.load(id).await {
                Ok(loaded) => Some(loaded),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            if let Some(expected) = expected {
                match &previous {
                    Some(loaded) => self.check_version(id, expected, loaded)?,
                    None => return Err(self.mismatch(id, expected, None)),
                }
            }
            let mut next = record.clone();
            next.shift_remove("id");
            if self.def.timestamps {
                let now = self.settings.clock.now_iso();
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
                .write_record(Operation::Replace, id, &next, previous.as_ref(), mode)
                .await?
            {
                true => {
                    next.insert("id".into(), Value::String(id.to_owned()));
                    return Ok((previous.map(|p| p.record), next));
                }
                false => self.retry_or_fail(id, expected, attempts).await?,
            }
        }
    }

    /// Inserts the record, or merges it into the stored one when its id exists (then only
    /// the given fields need to be present). Runs the `upsert` middleware around the
    /// `insert` or `update` it makes (each with its own hooks and middleware).
    pub async fn upsert(&self, record: Record) -> Result<Record> {
        self.observed("upsert", None, self.upsert_op(record)).await
    }

    async fn upsert_op(&self, record: Record) -> Result<Record> {
        if !self.ext.middlewares.has(Operation::Upsert) {
            return self.upsert_inner(record).await;
        }
        let out = self
            .wrapped(
                Operation::Upsert,
                Payload::Record(record),
                |this, args| async move {
                    Ok(Payload::Record(
                        this.upsert_inner(args.into_record()?).await?,
                    ))
                },
            )
            .await?;
        Ok(out.into_record()?)
    }

    async fn upsert_inner(&self, record: Record) -> Result<Record> {
        let Some(Value::String(id)) = record.get("id").cloned() else {
            return self.insert(record).await;
        };
        let mut changes = record.clone();
        changes.shift_remove("id");
        if self.update_is_watched() {
            // Hooks and middleware only ever see the update or the insert that happens.
            if self.exists(&id).await? {
                return self.update(&id, changes).await;
            }
        } else {
            // Nothing watches updates or existence checks: try the update directly, so an
            // existing record costs GET + PUT instead of HEAD + GET + PUT (a missing one
            // costs its GET instead of the HEAD).
            match self.update(&id, changes.clone()).await {
                Err(Error::NotFound { .. }) => {}
                other => return other,
            }
        }
        match self.insert(record).await {
            Err(Error::AlreadyExists { .. }) => self.update(&id, changes).await,
            other => other,
        }
    }

    /// Whether hooks or middleware would see `upsert`'s existence check or an update of a
    /// missing record.
    fn update_is_watched(&self) -> bool {
        let (hooks, middlewares) = (&self.ext.hooks, &self.ext.middlewares);
        middlewares.has(Operation::Update)
            || middlewares.has(Operation::Exists)
            || hooks.has(HookPoint::BeforeUpdate)
            || hooks.has(HookPoint::BeforeExists)
            || hooks.has(HookPoint::AfterExists)
    }

    /// Deletes a record and its partition references: [`Error::NotFound`] if there is none.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.observed("delete", Some(id), self.delete_as(id, None))
            .await
    }

    /// `delete` through its middleware, conditional on the stored version when `expected`
    /// is given.
    pub(crate) async fn delete_as(&self, id: &str, expected: Option<String>) -> Result<()> {
        if !self.ext.middlewares.has(Operation::Delete) {
            return self.delete_inner(id, expected.as_deref()).await;
        }
        let out = self
            .wrapped(
                Operation::Delete,
                Payload::Id(id.to_owned()),
                move |this, args| async move {
                    this.delete_inner(&args.into_id()?, expected.as_deref())
                        .await?;
                    Ok(Payload::None)
                },
            )
            .await?;
        Ok(out.into_none()?)
    }

    async fn delete_inner(&self, id: &str, expected: Option<&str>) -> Result<()> {
        let redirected = self.before(HookPoint::BeforeDelete, || Payload::Id(id.to_owned()));
        let redirected = match redirected.await? {
            Some(payload) => Some(payload.into_id()?),
            None => None,
        };
        let id = redirected.as_deref().unwrap_or(id);
        let record = self.delete_record(id, expected).await?;
        let record = self
            .ext
            .hooks
            .run(HookPoint::AfterDelete, Payload::Record(record))
            .await?
            .into_record()?;
        self.ext.events.emit_with(|| Event::Deleted {
            resource: self.def.name.clone(),
            id: id.to_owned(),
            before: Some(record),
        });
        Ok(())
    }

    /// Deletes a record and its references (no hooks, no events); returns the record. With
    /// `expected`, the record is first claimed by a conditional write at that version.
    pub(crate) async fn delete_record(&self, id: &str, expected: Option<&str>) -> Result<Record> {
        let loaded = self.load(id).await?;
        if let Some(expected) = expected {
            self.check_version(id, expected, &loaded)?;
            let mut record = loaded.record.clone();
            record.shift_remove("id");
            let claim = PutMode::IfMatch(loaded.etag.clone());
            if self
                .conditional_put(Operation::Delete, id, &record, Some(&loaded), claim)
                .await?
                .is_none()
            {
                return Err(self.lost_condition(id, expected).await);
            }
        }
        // The record and its references in one request, the record first. A batch that
        // fails part-way (or a crash) leaves either stale references, which readers skip,
        // or a record missing some references: `repair` finds and fixes both.
        let mut keys = vec![self.def.record_key(id)];
        keys.extend(self.references_at(&loaded.record, id, self.version_of(&loaded)));
        match keys.as_slice() {
            [record] => self.storage.delete(record).await?,
            _ => self.storage.delete_many(&keys).await?,
        }
        // Claims are released after the record is gone, with If-Match on the claim read
        // (there is no conditional DELETE); one left behind is stale and gets taken over.
        self.release_unique(id, &self.unique_values(&loaded.record))
            .await;
        Ok(loaded.record)
    }

    /// Applies `change` to the freshly read record and writes the result only if the object
    /// did not change meanwhile; on conflict, re-reads and calls `change` again (bounded;
    /// then [`Error::Conflict`]). Use it for updates computed from the current value, such
    /// as counters.
    ///
    /// It is an `update` like any other: the `update` middleware and the `beforeUpdate` /
    /// `afterUpdate` hooks run and `Updated` is emitted, so plugins that follow writes
    /// (audit, cache, replicator, TTL, metrics) see it. The middleware and `beforeUpdate`
    /// hooks see the id and an empty change set (the change is computed at write time);
    /// fields they add are merged over the result of `change`.
    pub async fn update_with(
        &self,
        id: &str,
        change: impl Fn(&Record) -> Result<Record> + Send + Sync + 'static,
    ) -> Result<Record> {
        let work = self.change_computed(
            Operation::Update,
            id,
            Record::new(),
            Some(Arc::new(change)),
            None,
        );
        self.observed("updateWith", Some(id), work).await
    }

    /// The conditional read-modify-write loop: the record before and as stored. With
    /// `expected`, the record must be at that version (one attempt, no retry).
    async fn cas_update(
        &self,
        operation: Operation,
        id: &str,
        expected: Option<&str>,
        change: impl Fn(&Record) -> Result<Record>,
    ) -> Result<(Record, Record)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let loaded = self.load(id).await?;
            if let Some(expected) = expected {
                self.check_version(id, expected, &loaded)?;
            }
            let mut next = change(&loaded.record)?;
            next.shift_remove("id");
            if self.def.timestamps {
                if let Some(created) = loaded.record.get("createdAt") {
                    next.insert("createdAt".into(), created.clone());
                }
                next.insert(
                    "updatedAt".into(),
                    Value::String(self.settings.clock.now_iso()),
                );
            }
            validate(&self.def, &mut next, ValidationMode::Update)?;
            let mode = PutMode::IfMatch(loaded.etag.clone());
            self.keep_history(id, &loaded).await?;
            if self
                .write_record(operation, id, &next, Some(&loaded), mode)
                .await?
            {
                next.insert("id".into(), Value::String(id.to_owned()));
                return Ok((loaded.record, next));
            }
            self.retry_or_fail(id, expected, attempts).await?;
        }
    }

    /// Writes a record over `previous` (`None`: creates it) under `mode` with its side
    /// structures: claims the unique values it adds before the write and confirms them after
    /// (a lost claim rolls the write back: [`Error::UniqueViolation`]), then writes its
    /// partition references and releases the unique values it dropped. `false` when the
    /// condition failed (the claims it took are released).
    async fn write_record(
        &self,
        operation: Operation,
        id: &str,
        next: &Record,
        previous: Option<&Loaded>,
        mode: PutMode,
    ) -> Result<bool> {
        let held = self
            .claim_unique(id, next, previous.map(|p| &p.record))
            .await?;
        let written = match self
            .conditional_put(operation, id, next, previous, mode)
            .await
        {
            Ok(Some(etag)) => etag,
            Ok(None) => {
                self.release_held(held).await;
                return Ok(false);
            }
            Err(e) => {
                self.release_held(held).await;
                return Err(e);
            }
        };
        self.settle_unique(operation, id, held, &written, previous)
            .await?;
        self.write_references(operation, next, id, previous).await?;
        if let Some(previous) = previous {
            let dropped = self.unique_dropped(&previous.record, next);
            self.release_unique(id, &dropped).await;
        }
        Ok(true)
    }

    /// Writes a record object under a condition: its new ETag, or `None` when the condition
    /// failed.
    pub(crate) async fn conditional_put(
        &self,
        operation: Operation,
        id: &str,
        record: &Record,
        previous: Option<&Loaded>,
        mode: PutMode,
    ) -> Result<Option<String>> {
        let payload = encode_record(
            &self.def,
            id,
            record,
            previous,
            BodyPlan::overwrite(previous, self.settings.random.next_u64()),
            self.oversize(operation),
        )?;
        match self
            .storage
            .put(&self.def.record_key(id), payload, mode)
            .await
        {
            Ok(etag) => Ok(Some(etag)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists
                ) =>
            {
                Ok(None)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Err(self.not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// After a lost `If-Match`: a write conditional on the caller's version fails with
    /// [`Error::VersionMismatch`]; any other backs off for another attempt.
    async fn retry_or_fail(&self, id: &str, expected: Option<&str>, attempts: u32) -> Result<()> {
        match expected {
            Some(expected) => Err(self.lost_condition(id, expected).await),
            None => self.back_off(id, attempts).await,
        }
    }

    /// An id for `record` from the resource's generator; an incremental generator advances
    /// the resource's sequence (shared with s3db.js).
    async fn generate_id(&self, record: &Record) -> Result<String> {
        let generator = &self.def.id_generator;
        if let Some(id) = generator.generate(record, self.settings.random.as_ref()) {
            return Ok(id);
        }
        match generator {
            IdGenerator::Incremental(ids) => {
                let sequence = ids
                    .sequence(Arc::clone(&self.storage), &self.def.name)
                    .clock(Arc::clone(&self.settings.clock));
                ids.next_id(&sequence).await
            }
            IdGenerator::Nanoid { .. } | IdGenerator::Custom(_) => Err(Error::Unsupported {
                resource: self.def.name.clone(),
                reason: "the id generator produced no id".into(),
            }),
        }
    }

    /// Sleeps before the next attempt (exponential backoff with full jitter, the ceiling
    /// doubling from 1 ms to 1 s), or gives up with [`Error::Conflict`]. On a slow server a
    /// round outlasts short waits, and a writer that keeps losing would lose every attempt.
    async fn back_off(&self, id: &str, attempts: u32) -> Result<()> {
        if attempts >= self.settings.max_attempts {
            return Err(Error::Conflict {
                what: self.def.record_key(id),
                attempts,
            });
        }
        let cap_micros = (500u64 << attempts.min(11)).min(1_000_000);
        let wait = self.settings.random.below_or_equal(cap_micros);
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
    pub(crate) async fn write_references(
        &self,
        operation: Operation,
        record: &Record,
        id: &str,
        previous: Option<&Loaded>,
    ) -> Result<()> {
        if self.def.partitions.is_empty() {
            return Ok(());
        }
        if let Some(previous) = previous
            && self.version_of(previous) == self.def.version
            && self
                .def
                .partitions
                .iter()
                .all(|p| p.same_values(record, &previous.record))
        {
            // Same version, same partition values: the same keys, so nothing to write or
            // remove (as below, unchanged references stay as they are), and no key to build.
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
            if !stale.is_empty()
                && let Err(e) = self.storage.delete_many(&stale).await
            {
                let e = Error::from(e);
                self.partition_index_error(
                    operation,
                    id,
                    stale.first().map_or("", String::as_str),
                    &e,
                );
                return Err(e);
            }
            wanted.retain(|k| !before.contains(k));
        }
        for key in wanted {
            if let Err(e) = self.put_reference(&key).await {
                self.partition_index_error(operation, id, &key, &e);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Emits `PartitionIndexError` for a reference write that failed after the record was
    /// written (the error is still returned to the caller).
    fn partition_index_error(&self, operation: Operation, id: &str, key: &str, error: &Error) {
        self.ext.events.emit_with(|| Event::PartitionIndexError {
            resource: self.def.name.clone(),
            operation,
            id: id.to_owned(),
            partition: key
                .split('/')
                .find_map(|segment| segment.strip_prefix("partition="))
                .unwrap_or_default()
                .to_owned(),
            message: error.to_string(),
        });
    }

    /// What `encode_record` reports an oversize user-managed record to.
    pub(crate) fn oversize(&self, operation: Operation) -> Oversize<'_> {
        Oversize {
            events: &self.ext.events,
            operation,
        }
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
        match (small_map::get_mut(&mut next, key), value) {
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
