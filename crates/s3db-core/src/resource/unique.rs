//! `unique` fields (`"email": "email|unique"`): one **claim object** per value, written with
//! conditional requests so that two records never both hold a value, whatever the timing of
//! concurrent writers.
//!
//! # Layout
//!
//! `resource=<name>/unique/<field>/<digest>`, where `<field>` is the dotted path of the
//! field (`profile.email`) and `<digest>` the lower-case hex SHA-256 of the value's
//! canonical text (`s:` + a string, `n:` + a number written as an integer when it is one
//! below 2^53, `b:` + a boolean, `j:` + the key-sorted JSON of anything else). Keys stay
//! short and values never appear in them. The body is JSON: `{"id": <record id>, "state":
//! "pending" | "confirmed" | "free", "at": <ms since the epoch of the last write>}`. The
//! value itself is not stored (secret fields stay secret). Absent and `null` values are not
//! claimed: many records may lack a value. s3db.js lists only `resource=<name>/data` and
//! `partition=` prefixes, so it never mistakes a claim for a record
//! (`fixtures/s3dbjs-checks/unique-index.mjs` checks it).
//!
//! # Protocol
//!
//! A value is *held* by record `X` when the claim names `X` (pending or confirmed) and
//! `X`'s stored record has that value. A claim naming a record that is absent or has
//! another value is *stale* (a crash, an s3db.js write, an s3db.js `deleteAll`).
//!
//! * **Claim** (insert, and any write that sets a new value), before the record is written:
//!   create the claim `pending` with `If-None-Match: *`. If it exists: a `free` claim, or one
//!   already naming this id, is taken with `If-Match` on the ETag read; a claim whose record
//!   holds the value is a [`Error::UniqueViolation`]; a stale claim is taken over with
//!   `If-Match`, except a `pending` one younger than [`CLAIM_GRACE`] (its writer may be
//!   about to write its record): a violation too.
//! * **Confirm**, right after the record write: rewrite the claim `confirmed` with
//!   `If-Match` on the ETag this writer got. If the claim changed meanwhile it is read
//!   again: still naming this id (a concurrent write of the same record) or `free`, it is
//!   confirmed with `If-Match` on the new ETag; naming another id, the write **lost**: its
//!   record is rolled back (an insert deleted; an update restored, or, if someone wrote on
//!   top of it, its unique fields restored) and the caller gets
//!   [`Error::UniqueViolation`].
//! * **Release** of a value the record no longer has (update, delete), after the record
//!   write: a claim naming this id is rewritten `free` with `If-Match` on the ETag read. A
//!   write that fails before its record is stored frees the claims it wrote the same way.
//!
//! Why two records cannot both end up holding a value: every change of a claim object is a
//! conditional request on the ETag its writer read, so the changes of one claim form a
//! single chain, and a write succeeds only if its confirm lands in that chain naming its
//! own id *after* its record is stored. From then on the claim can move to another id only
//! through a take-over, which needs the claim `free` or stale — that is, the record no
//! longer holds the value — and whoever takes it must confirm in turn after storing its own
//! record; a writer whose claim was taken before its confirm rolls back. Timing never
//! decides safety: a writer slower than the grace period loses its claim and rolls back.
//! The grace period only gives progress (without it, concurrent writers could keep taking
//! a pending claim from each other). While a losing write is being rolled back, readers may
//! briefly see its record.
//!
//! Claims are never deleted on the write path: the storage API has no conditional DELETE
//! (nor do all S3 servers), and an unconditional one could remove a claim another writer
//! just confirmed. A released value keeps a `free` claim (an empty-metadata object of a few
//! dozen bytes) until [`Resource::delete_all`] removes the whole `unique/` prefix.
//!
//! # Cost
//!
//! Per unique field whose value is set or changed: 2 PUTs (claim, confirm); per value
//! released (update to another value, delete): 1 GET + 1 PUT. Writes that leave unique
//! values unchanged cost nothing more. A contended claim costs 1 GET of the claim and 1 GET
//! of the record it names.
//!
//! # Repair
//!
//! Records written by s3db.js (which does not enforce `unique`), a crash, or a field made
//! unique after records were written leave values without claims, stale claims and even
//! duplicates. [`Resource::repair_unique`] reads every record, writes the missing claims,
//! frees stale ones, and reports duplicate values without choosing a winner.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use s3db_storage::etag::etags_match;
use s3db_storage::{ErrorKind, PutMode, PutPayload, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::set_path;
use super::query::DEFAULT_READ_CONCURRENCY;
use super::{Loaded, Record, Resource};
use crate::error::{Error, Result};
use crate::extend::Operation;
use crate::metadata::hash::stable_stringify;
use crate::small_map::get_path;

/// How long a `pending` claim whose record does not hold the value yet is left to its
/// writer before another writer may take it over.
pub const CLAIM_GRACE: Duration = Duration::from_secs(30);

/// Rounds of a claim, confirm or rollback against concurrent changes before
/// [`Error::Conflict`].
const MAX_ROUNDS: u32 = 16;

/// The state of a claim object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// Written before the record; not confirmed yet.
    Pending,
    /// Confirmed after the record was written.
    Confirmed,
    /// Released: anyone may take it.
    Free,
}

/// The body of a claim object.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    /// The record holding the value (empty when free).
    id: String,
    /// Pending, confirmed or free.
    state: State,
    /// Milliseconds since the epoch of the write.
    at: u64,
}

impl Claim {
    fn new(id: &str, state: State, at: u64) -> Self {
        Claim {
            id: id.to_owned(),
            state,
            at,
        }
    }

    fn payload(&self) -> PutPayload {
        PutPayload {
            body: Bytes::from(serde_json::to_vec(self).unwrap_or_default()),
            content_type: Some("application/json".into()),
            ..PutPayload::default()
        }
    }

    /// A pending claim written less than [`CLAIM_GRACE`] before `now` (milliseconds).
    fn is_young_pending(&self, now: u64) -> bool {
        let grace = u64::try_from(CLAIM_GRACE.as_millis()).unwrap_or(u64::MAX);
        self.state == State::Pending && now.saturating_sub(self.at) < grace
    }

    /// Names `id` (pending or confirmed).
    fn names(&self, id: &str) -> bool {
        self.state != State::Free && self.id == id
    }
}

/// A claim as read, with its ETag.
#[derive(Debug)]
struct Found {
    claim: Claim,
    etag: String,
}

/// One unique value of a record and its claim key.
#[derive(Debug, Clone)]
pub(crate) struct UniqueValue {
    field: String,
    value: Value,
    key: String,
}

/// A claim a write took and must confirm or release.
#[derive(Debug)]
pub(crate) struct Held {
    value: UniqueValue,
    /// The ETag of the claim as this writer last saw it.
    etag: String,
    /// Whether this writer wrote it (a claim already naming the id is used as it is).
    written: bool,
}

/// A value two or more records hold (found by [`Resource::repair_unique`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UniqueDuplicate {
    /// The unique field's dotted path.
    pub field: String,
    /// The value.
    pub value: Value,
    /// The records holding it, in id order.
    pub ids: Vec<String>,
}

/// What [`Resource::repair_unique`] found and fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UniqueRepairReport {
    /// Records read.
    pub records: usize,
    /// Claim objects listed.
    pub claims: usize,
    /// Claims written for a record holding a value without one (key of each).
    pub written: Vec<String>,
    /// Stale claims freed: their record is gone or holds another value (key of each).
    pub released: Vec<String>,
    /// Values held by several records: nothing was changed for them; change or delete all
    /// but one record, then repair again.
    pub duplicates: Vec<UniqueDuplicate>,
    /// Claims left alone because a write is in flight on them (pending, younger than
    /// [`CLAIM_GRACE`]).
    pub in_flight: usize,
}

impl UniqueRepairReport {
    /// Whether nothing needed fixing and no value is duplicated.
    pub fn is_clean(&self) -> bool {
        self.written.is_empty() && self.released.is_empty() && self.duplicates.is_empty()
    }
}

/// The canonical text of a value, hashed into its claim key.
fn canonical(value: &Value) -> String {
    match value {
        Value::String(text) => format!("s:{text}"),
        Value::Bool(flag) => format!("b:{flag}"),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(i), _, _) => format!("n:{i}"),
            (_, Some(u), _) => format!("n:{u}"),
            // `+ 0.0` turns -0 into 0.
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 2f64.powi(53) => {
                format!("n:{:.0}", f + 0.0)
            }
            _ => format!("n:{number}"),
        },
        other => format!("j:{}", stable_stringify(other)),
    }
}

/// Lower-case hex SHA-256 of the canonical text of `value`.
fn digest(value: &Value) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical(value).as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes the value at a dotted path (if any).
fn remove_path(record: &mut Record, path: &str) {
    match path.split_once('.') {
        None => {
            record.shift_remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = record.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Whether a failed conditional request lost its condition (rather than failed).
fn lost(e: &s3db_storage::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed | ErrorKind::NotFound
    )
}

impl Resource {
    /// Now on the database's clock, in milliseconds since the epoch.
    fn now_millis(&self) -> u64 {
        u64::try_from(self.settings.clock.now_millis()).unwrap_or(0)
    }

    /// A claim dated now.
    fn claim_now(&self, id: &str, state: State) -> Claim {
        Claim::new(id, state, self.now_millis())
    }

    /// Listing prefix of the claim objects.
    fn unique_prefix(&self) -> String {
        format!("resource={}/unique/", self.def.name)
    }

    /// The unique values a record has (absent and `null` ones are not claimed).
    pub(crate) fn unique_values(&self, record: &Record) -> Vec<UniqueValue> {
        self.def
            .schema
            .fields()
            .iter()
            .filter(|f| f.unique)
            .filter_map(|f| {
                let value = get_path(record, &f.path).filter(|v| !v.is_null())?;
                Some(UniqueValue {
                    key: format!("{}{}/{}", self.unique_prefix(), f.path, digest(value)),
                    field: f.path.clone(),
                    value: value.clone(),
                })
            })
            .collect()
    }

    /// The values of `before` that `after` no longer has.
    pub(crate) fn unique_dropped(&self, before: &Record, after: &Record) -> Vec<UniqueValue> {
        let kept: BTreeSet<String> = self
            .unique_values(after)
            .into_iter()
            .map(|v| v.key)
            .collect();
        self.unique_values(before)
            .into_iter()
            .filter(|v| !kept.contains(&v.key))
            .collect()
    }

    /// The [`Error::UniqueViolation`] of `value` held by `existing_id`.
    fn violation(&self, value: &UniqueValue, existing_id: &str) -> Error {
        Error::UniqueViolation {
            resource: self.def.name.clone(),
            field: value.field.clone(),
            value: Box::new(value.value.clone()),
            existing_id: existing_id.to_owned(),
        }
    }

    /// Reads a claim (`None` when there is none).
    async fn read_claim(&self, key: &str) -> Result<Option<Found>> {
        let found = match self.storage.get(key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let claim = serde_json::from_slice(&found.body).map_err(|e| {
            Error::corrupt(
                key,
                format!("not a unique-value claim ({e}); delete it, then run `s3db repair`"),
            )
        })?;
        Ok(Some(Found {
            claim,
            etag: found.meta.etag,
        }))
    }

    /// Writes a claim under `mode`: its new ETag, or `None` when the condition failed.
    async fn put_claim(&self, key: &str, claim: &Claim, mode: PutMode) -> Result<Option<String>> {
        match self.storage.put(key, claim.payload(), mode).await {
            Ok(etag) => Ok(Some(etag)),
            Err(e) if lost(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the stored record `id` holds `value` (one GET).
    async fn holds(&self, id: &str, value: &UniqueValue) -> Result<bool> {
        match self.load(id).await {
            Ok(loaded) => Ok(self
                .unique_values(&loaded.record)
                .iter()
                .any(|v| v.key == value.key)),
            Err(Error::NotFound { .. } | Error::InvalidId(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Claims, for record `id`, every unique value of `record` that `previous` does not
    /// have. On a violation or failure the claims already taken are released.
    pub(crate) async fn claim_unique(
        &self,
        id: &str,
        record: &Record,
        previous: Option<&Record>,
    ) -> Result<Vec<Held>> {
        let had: BTreeSet<String> = previous
            .map(|p| self.unique_values(p).into_iter().map(|v| v.key).collect())
            .unwrap_or_default();
        let mut held = Vec::new();
        for value in self.unique_values(record) {
            if had.contains(&value.key) {
                continue;
            }
            match self.claim_one(id, value).await {
                Ok(claim) => held.push(claim),
                Err(e) => {
                    self.release_held(held).await;
                    return Err(e);
                }
            }
        }
        Ok(held)
    }

    /// Claims one value for `id` (see the module doc).
    async fn claim_one(&self, id: &str, value: UniqueValue) -> Result<Held> {
        let pending = self.claim_now(id, State::Pending);
        for _ in 0..MAX_ROUNDS {
            if let Some(etag) = self
                .put_claim(&value.key, &pending, PutMode::Create)
                .await?
            {
                return Ok(Held {
                    value,
                    etag,
                    written: true,
                });
            }
            let Some(found) = self.read_claim(&value.key).await? else {
                continue;
            };
            if found.claim.names(id) {
                return Ok(Held {
                    value,
                    etag: found.etag,
                    written: false,
                });
            }
            let taken = found.claim.state != State::Free
                && (found.claim.is_young_pending(self.now_millis())
                    || self.holds(&found.claim.id, &value).await?);
            if taken {
                return Err(self.violation(&value, &found.claim.id));
            }
            let mode = PutMode::IfMatch(found.etag);
            if let Some(etag) = self.put_claim(&value.key, &pending, mode).await? {
                return Ok(Held {
                    value,
                    etag,
                    written: true,
                });
            }
        }
        Err(Error::Conflict {
            what: value.key,
            attempts: MAX_ROUNDS,
        })
    }

    /// Confirms the claims of a write whose record `id` is stored. Returns the first value
    /// lost to another record (with that record's id), after confirming the others.
    pub(crate) async fn confirm_unique(
        &self,
        id: &str,
        held: &[Held],
    ) -> Result<Option<(UniqueValue, String)>> {
        let mut lost_to = None;
        for claim in held {
            if let Some(owner) = self.confirm_one(id, claim).await? {
                lost_to.get_or_insert((claim.value.clone(), owner));
            }
        }
        Ok(lost_to)
    }

    /// Confirms one claim: `None` when confirmed, else the id now holding the value.
    async fn confirm_one(&self, id: &str, held: &Held) -> Result<Option<String>> {
        let confirmed = self.claim_now(id, State::Confirmed);
        let key = &held.value.key;
        let mut mode = PutMode::IfMatch(held.etag.clone());
        for _ in 0..MAX_ROUNDS {
            if self.put_claim(key, &confirmed, mode).await?.is_some() {
                return Ok(None);
            }
            mode = match self.read_claim(key).await? {
                None => PutMode::Create,
                Some(found) if found.claim.state == State::Free || found.claim.id == id => {
                    PutMode::IfMatch(found.etag)
                }
                Some(found) => return Ok(Some(found.claim.id)),
            };
        }
        Err(Error::Conflict {
            what: key.clone(),
            attempts: MAX_ROUNDS,
        })
    }

    /// Frees the claims a failed write wrote (best effort: a claim left pending is taken
    /// over once [`CLAIM_GRACE`] has passed).
    pub(crate) async fn release_held(&self, held: Vec<Held>) {
        let free = self.claim_now("", State::Free);
        for claim in held.into_iter().filter(|c| c.written) {
            let mode = PutMode::IfMatch(claim.etag);
            if let Err(error) = self.put_claim(&claim.value.key, &free, mode).await {
                tracing::warn!(key = %claim.value.key, %error, "unique claim not released");
            }
        }
    }

    /// Frees the claims of `values` that still name `id` (its record no longer holds
    /// them). Best effort: a claim left behind is stale, so the next writer of the value
    /// takes it over.
    pub(crate) async fn release_unique(&self, id: &str, values: &[UniqueValue]) {
        let free = self.claim_now("", State::Free);
        for value in values {
            let released = async {
                match self.read_claim(&value.key).await? {
                    Some(found) if found.claim.names(id) => {
                        let mode = PutMode::IfMatch(found.etag);
                        self.put_claim(&value.key, &free, mode).await.map(|_| ())
                    }
                    _ => Ok(()),
                }
            };
            if let Err(error) = released.await {
                tracing::warn!(key = %value.key, %error, "unique claim not released");
            }
        }
    }

    /// Confirms the claims of a stored write; if one was lost, rolls the write back and
    /// returns the violation. `written` is the ETag of the stored record; `previous` the
    /// record it replaced (`None`: it created it).
    pub(crate) async fn settle_unique(
        &self,
        operation: Operation,
        id: &str,
        held: Vec<Held>,
        written: &str,
        previous: Option<&Loaded>,
    ) -> Result<()> {
        if held.is_empty() {
            return Ok(());
        }
        let Some((value, owner)) = self.confirm_unique(id, &held).await? else {
            return Ok(());
        };
        let values: Vec<UniqueValue> = held.into_iter().map(|h| h.value).collect();
        match previous {
            None => {
                self.storage.delete(&self.def.record_key(id)).await?;
            }
            Some(previous) => {
                self.restore(operation, id, written, previous, &values)
                    .await?
            }
        }
        self.release_unique(id, &values).await;
        Err(self.violation(&value, &owner))
    }

    /// Rolls back an update that lost a claim: the previous record when the stored one is
    /// still the one written (`written`), else the stored one with the unique fields of
    /// `values` set back to their previous values.
    async fn restore(
        &self,
        operation: Operation,
        id: &str,
        written: &str,
        previous: &Loaded,
        values: &[UniqueValue],
    ) -> Result<()> {
        for _ in 0..MAX_ROUNDS {
            let current = match self.load(id).await {
                Ok(current) => current,
                Err(Error::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut restored = if etags_match(written, &current.etag) {
                previous.record.clone()
            } else {
                let mut record = current.record.clone();
                for value in values {
                    match get_path(&previous.record, &value.field) {
                        Some(old) => set_path(&mut record, &value.field, old.clone()),
                        None => remove_path(&mut record, &value.field),
                    }
                }
                record
            };
            restored.shift_remove("id");
            let mode = PutMode::IfMatch(current.etag.clone());
            if self
                .conditional_put(operation, id, &restored, Some(&current), mode)
                .await?
                .is_some()
            {
                return self
                    .write_references(operation, &restored, id, Some(&current))
                    .await;
            }
        }
        Err(Error::Conflict {
            what: self.def.record_key(id),
            attempts: MAX_ROUNDS,
        })
    }

    /// [`Resource::repair_unique_with`] without progress reports.
    pub async fn repair_unique(&self) -> Result<UniqueRepairReport> {
        self.repair_unique_with(|| {}).await
    }

    /// Reconciles the claims of `unique` fields with the records (see the module doc):
    /// reads every record (calling `on_record` after each), writes the claims of values
    /// held by one record without one, frees stale claims, and reports values several
    /// records hold — without choosing a winner. Safe to run while others write: every
    /// change is conditional, and pending claims younger than [`CLAIM_GRACE`] are left
    /// alone.
    pub async fn repair_unique_with(
        &self,
        on_record: impl Fn() + Send + Sync,
    ) -> Result<UniqueRepairReport> {
        let ids: Vec<String> = self
            .storage
            .list_keys(&format!("{}/", self.def.data_prefix()))
            .await?
            .iter()
            .filter_map(|key| super::listing::id_of_key(key).map(str::to_owned))
            .collect();
        let on_record = &on_record;
        let found: Vec<(String, Vec<UniqueValue>)> = futures::stream::iter(ids)
            .map(|id| async move {
                let values = match self.load(&id).await {
                    Ok(loaded) => self.unique_values(&loaded.record),
                    Err(Error::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                };
                on_record();
                Ok((id, values))
            })
            .buffered(DEFAULT_READ_CONCURRENCY)
            .try_collect()
            .await?;
        // Claim key → the value and the records holding it.
        let mut holders: BTreeMap<String, (UniqueValue, Vec<String>)> = BTreeMap::new();
        for (id, values) in &found {
            for value in values {
                holders
                    .entry(value.key.clone())
                    .or_insert_with(|| (value.clone(), Vec::new()))
                    .1
                    .push(id.clone());
            }
        }
        let claims = self.storage.list_keys(&self.unique_prefix()).await?;
        let mut report = UniqueRepairReport {
            records: found.len(),
            claims: claims.len(),
            ..UniqueRepairReport::default()
        };
        for (value, ids) in holders.values() {
            match ids.as_slice() {
                [id] => self.repair_held(id, value, &mut report).await?,
                _ => report.duplicates.push(UniqueDuplicate {
                    field: value.field.clone(),
                    value: value.value.clone(),
                    ids: ids.clone(),
                }),
            }
        }
        let free = self.claim_now("", State::Free);
        for key in claims.iter().filter(|k| !holders.contains_key(*k)) {
            let Some(found) = self.read_claim(key).await? else {
                continue;
            };
            if found.claim.state == State::Free {
                continue;
            }
            if found.claim.is_young_pending(self.now_millis()) {
                report.in_flight += 1;
                continue;
            }
            // A record written after the listing may hold it: check the one it names.
            if self.holds_key(&found.claim.id, key).await? {
                continue;
            }
            let mode = PutMode::IfMatch(found.etag);
            if self.put_claim(key, &free, mode).await?.is_some() {
                report.released.push(key.clone());
            }
        }
        Ok(report)
    }

    /// Whether record `id` holds the value whose claim key is `key`.
    async fn holds_key(&self, id: &str, key: &str) -> Result<bool> {
        let value = UniqueValue {
            field: String::new(),
            value: Value::Null,
            key: key.to_owned(),
        };
        self.holds(id, &value).await
    }

    /// Makes the claim of `value` name `id`, the one record found holding it, unless
    /// another record holds it now (then a duplicate) or a write is in flight on it.
    async fn repair_held(
        &self,
        id: &str,
        value: &UniqueValue,
        report: &mut UniqueRepairReport,
    ) -> Result<()> {
        let confirmed = self.claim_now(id, State::Confirmed);
        let mode = match self.read_claim(&value.key).await? {
            None => PutMode::Create,
            Some(found) if found.claim.names(id) => return Ok(()),
            Some(found) if found.claim.state == State::Free => PutMode::IfMatch(found.etag),
            Some(found) if found.claim.is_young_pending(self.now_millis()) => {
                report.in_flight += 1;
                return Ok(());
            }
            Some(found) => {
                if self.holds(&found.claim.id, value).await? {
                    let mut ids = vec![id.to_owned(), found.claim.id];
                    ids.sort();
                    report.duplicates.push(UniqueDuplicate {
                        field: value.field.clone(),
                        value: value.value.clone(),
                        ids,
                    });
                    return Ok(());
                }
                PutMode::IfMatch(found.etag)
            }
        };
        // A lost condition means someone wrote the claim meanwhile: left to the next run.
        if self
            .put_claim(&value.key, &confirmed, mode)
            .await?
            .is_some()
        {
            report.written.push(value.key.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_numbers_share_a_digest_and_types_do_not() {
        assert_eq!(digest(&json!(41)), digest(&json!(41.0)));
        assert_eq!(digest(&json!(0)), digest(&json!(-0.0)));
        assert_ne!(digest(&json!(41)), digest(&json!(41.5)));
        assert_ne!(digest(&json!(41)), digest(&json!("41")));
        assert_ne!(digest(&json!(true)), digest(&json!("true")));
        assert_eq!(
            digest(&json!({"a": 1, "b": 2})),
            digest(&json!({"b": 2, "a": 1}))
        );
        assert_eq!(digest(&json!("x")).len(), 64);
    }

    #[test]
    fn nested_paths_are_removed() {
        let mut record = json!({"p": {"e": "x", "f": 1}, "g": 2})
            .as_object()
            .cloned()
            .unwrap_or_default();
        remove_path(&mut record, "p.e");
        remove_path(&mut record, "g");
        assert_eq!(Value::Object(record), json!({"p": {"f": 1}}));
    }

    #[test]
    fn only_young_pending_claims_are_in_flight() {
        let now = 1_000_000;
        let young = Claim::new("a", State::Pending, now - 1);
        assert!(young.is_young_pending(now));
        let old = Claim { at: 0, ..young };
        assert!(!old.is_young_pending(now));
        assert!(!Claim::new("a", State::Confirmed, now).is_young_pending(now));
        assert!(Claim::new("a", State::Confirmed, now).names("a"));
        assert!(!Claim::new("", State::Free, now).names(""));
    }
}
