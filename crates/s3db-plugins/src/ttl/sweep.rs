//! One sweep of one resource: list the due index entries, claim each, check it against
//! the record, act (renewing the claim meanwhile), drop the entry, release the claim.

use futures::StreamExt;
use s3db_core::{Database, Record, Resource};
use serde_json::Value;
use time::OffsetDateTime;

use super::claim::{Claim, Claimer};
use super::config::{Action, Expired, Expiry, FlagValue, ResourceTtl};
use super::expiry::{expiry_millis, is_flagged};
use super::index::{Entry, ExpiryIndex};
use crate::clock::{SharedClock, iso};
use crate::error::{Error, Result};

/// What one sweep did: how many records each action handled, and what it skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Records flagged by a soft delete.
    pub soft_deleted: usize,
    /// Records deleted.
    pub hard_deleted: usize,
    /// Records copied to their archive resource and deleted.
    pub archived: usize,
    /// Callbacks that returned `Ok`.
    pub callbacks: usize,
    /// Due entries another sweeper held or had already handled.
    pub contended: usize,
    /// Due entries dropped or moved without action: the record was gone, already flagged,
    /// or its expiry had moved.
    pub stale: usize,
    /// Entries that failed; they stay in the index and are retried by the next sweep.
    pub failures: Vec<SweepFailure>,
}

impl SweepReport {
    /// Records handled by an action (all four kinds).
    pub fn handled(&self) -> usize {
        self.soft_deleted + self.hard_deleted + self.archived + self.callbacks
    }

    /// Adds the counts of `other` to these.
    pub fn absorb(&mut self, other: SweepReport) {
        self.soft_deleted += other.soft_deleted;
        self.hard_deleted += other.hard_deleted;
        self.archived += other.archived;
        self.callbacks += other.callbacks;
        self.contended += other.contended;
        self.stale += other.stale;
        self.failures.extend(other.failures);
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::SoftDeleted => self.soft_deleted += 1,
            Outcome::HardDeleted => self.hard_deleted += 1,
            Outcome::Archived => self.archived += 1,
            Outcome::Called => self.callbacks += 1,
            Outcome::Contended => self.contended += 1,
            Outcome::Stale => self.stale += 1,
        }
    }
}

/// An entry (or a whole resource) a sweep could not handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepFailure {
    /// The resource.
    pub resource: String,
    /// The record id; `None` when the resource's index could not be listed.
    pub id: Option<String>,
    /// The error's message.
    pub error: String,
}

/// What happened to one due entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    SoftDeleted,
    HardDeleted,
    Archived,
    Called,
    Contended,
    Stale,
}

/// Sweeps one resource.
#[derive(Debug)]
pub struct ResourceSweep<'a> {
    /// The database.
    pub db: &'a Database,
    /// The resource.
    pub resource: Resource,
    /// Its rule.
    pub rule: &'a ResourceTtl,
    /// Its index.
    pub index: ExpiryIndex,
    /// The sweeper's claims.
    pub claimer: &'a Claimer,
    /// The clock dating claim renewals.
    pub clock: &'a SharedClock,
    /// Now, epoch milliseconds.
    pub now_ms: i64,
    /// Entries handled at once.
    pub concurrency: usize,
}

impl ResourceSweep<'_> {
    /// Handles every due entry; failures of single entries land in the report.
    pub async fn run(&self) -> SweepReport {
        let mut report = SweepReport::default();
        let due = match self.index.due(self.now_ms).await {
            Ok(due) => due,
            Err(error) => {
                report.failures.push(self.failure(None, &error));
                return report;
            }
        };
        let mut outcomes = futures::stream::iter(due)
            .map(|entry| async move {
                let outcome = self.handle(&entry).await;
                (entry, outcome)
            })
            .buffer_unordered(self.concurrency.max(1));
        while let Some((entry, outcome)) = outcomes.next().await {
            match outcome {
                Ok(outcome) => report.count(outcome),
                Err(error) => {
                    tracing::warn!(resource = %self.resource.name(), id = %entry.id, %error, "TTL sweep failed on a record");
                    report.failures.push(self.failure(Some(entry.id), &error));
                }
            }
        }
        report
    }

    fn failure(&self, id: Option<String>, error: &Error) -> SweepFailure {
        SweepFailure {
            resource: self.resource.name().to_owned(),
            id,
            error: error.to_string(),
        }
    }

    /// Claims the entry, handles it (renewing the claim meanwhile, so a slow action keeps
    /// it and only a sweeper that stopped for a whole timeout loses it), removes the claim.
    async fn handle(&self, entry: &Entry) -> Result<Outcome> {
        let storage = self.index.storage();
        let mut claim = match self.claimer.claim(storage, entry, self.clock).await? {
            Claim::Won(held) => held,
            Claim::Taken => return Ok(Outcome::Contended),
        };
        let outcome = claim.renewing(self.handle_claimed(entry)).await;
        let released = claim.remove().await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    async fn handle_claimed(&self, entry: &Entry) -> Result<Outcome> {
        // Another sweeper handled it between our listing and our claim.
        if !self.index.contains(entry).await? {
            return Ok(Outcome::Contended);
        }
        // Not the record's current entry (its expiry moved): a leftover.
        if self.index.pointer(&entry.id).await?.as_deref() != Some(entry.key.as_str()) {
            self.index.drop_entry(entry).await?;
            return Ok(Outcome::Stale);
        }
        let record = match self.resource.get(&entry.id).await {
            Ok(record) => record,
            Err(s3db_core::Error::NotFound { .. }) => {
                self.index.remove(&entry.id).await?;
                return Ok(Outcome::Stale);
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(stale) = self.recheck(entry, &record).await? {
            return Ok(stale);
        }
        let outcome = self.act(entry, record).await?;
        self.index.drop_entry(entry).await?;
        Ok(outcome)
    }

    /// `Some(Stale)` when the record itself says it is not due (flagged already, expiry
    /// moved or cleared by a writer without this plugin); fixes the index then.
    async fn recheck(&self, entry: &Entry, record: &Record) -> Result<Option<Outcome>> {
        if let Some(field) = self.rule.action.flag_field()
            && is_flagged(record, field)
        {
            self.index.drop_entry(entry).await?;
            return Ok(Some(Outcome::Stale));
        }
        let Expiry::Field(field) = &self.rule.expiry else {
            return Ok(None);
        };
        let at = expiry_millis(record, field).map_err(|error| Error::Corrupt {
            key: entry.key.clone(),
            reason: format!("record {:?}: {error}", entry.id),
        })?;
        match at {
            Some(at) if at <= self.now_ms => Ok(None),
            other => {
                let wanted = other.map(|at| Entry::new(at, &entry.id));
                self.index.set(&entry.id, wanted.as_ref()).await?;
                Ok(Some(Outcome::Stale))
            }
        }
    }

    async fn act(&self, entry: &Entry, record: Record) -> Result<Outcome> {
        let id = entry.id.as_str();
        match &self.rule.action {
            Action::SoftDelete { field, value } => {
                let flag = match value {
                    FlagValue::Timestamp => Value::String(iso(at(self.now_ms))),
                    FlagValue::True => Value::Bool(true),
                };
                let mut changes = Record::new();
                changes.insert(field.clone(), flag);
                match self.resource.update(id, changes).await {
                    Ok(_) | Err(s3db_core::Error::NotFound { .. }) => Ok(Outcome::SoftDeleted),
                    Err(error) => Err(error.into()),
                }
            }
            Action::HardDelete => {
                self.delete(id).await?;
                Ok(Outcome::HardDeleted)
            }
            Action::Archive { to } => {
                // Same id in the archive: a second attempt (after a crash) finds it there.
                match self.db.resource(to)?.insert(record).await {
                    Ok(_) | Err(s3db_core::Error::AlreadyExists { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
                self.delete(id).await?;
                Ok(Outcome::Archived)
            }
            Action::Callback(callback) => {
                callback(Expired {
                    resource: self.resource.name().to_owned(),
                    id: id.to_owned(),
                    record,
                    expired_at: at(entry.at_ms),
                })
                .await?;
                Ok(Outcome::Called)
            }
        }
    }

    /// Deletes the record; already gone counts as done.
    async fn delete(&self, id: &str) -> Result<()> {
        match self.resource.delete(id).await {
            Ok(()) | Err(s3db_core::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// Epoch milliseconds as a time (the epoch if out of range).
fn at(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
