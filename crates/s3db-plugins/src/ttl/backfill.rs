//! Backfill: one full scan that indexes records written before the plugin was installed
//! (or by writers without it). Sweeps never scan; run this once per resource.

use futures::StreamExt;
use s3db_core::{ListRequest, Record, Resource};
use serde_json::Value;

use super::config::{Expiry, ResourceTtl};
use super::expiry::{InvalidExpiry, expiry_millis, is_flagged};
use super::hooks::millis;
use super::index::{Entry, ExpiryIndex};
use crate::clock::parse_iso;
use crate::error::Result;

/// What a backfill found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Records read.
    pub scanned: usize,
    /// Records whose index entry was written or moved.
    pub indexed: usize,
    /// Records already indexed at the right expiry.
    pub unchanged: usize,
    /// Records without an expiry (no field, no `createdAt`) or already soft-deleted.
    pub without_expiry: usize,
    /// Ids of records whose expiry field cannot be read (left unindexed).
    pub invalid: Vec<String>,
}

/// Scans `resource` and indexes every record with an expiry.
pub async fn backfill(
    resource: &Resource,
    rule: &ResourceTtl,
    index: &ExpiryIndex,
) -> Result<BackfillReport> {
    let mut report = BackfillReport::default();
    let mut records = resource.stream(&ListRequest::all())?;
    while let Some(record) = records.next().await {
        let record = record?;
        report.scanned += 1;
        let Some(Value::String(id)) = record.get("id") else {
            continue;
        };
        let at = match expiry_of(&record, rule) {
            Ok(Some(at)) => at,
            Ok(None) => {
                report.without_expiry += 1;
                continue;
            }
            Err(_) => {
                report.invalid.push(id.clone());
                continue;
            }
        };
        let entry = Entry::new(at, id);
        if index.pointer(id).await?.as_deref() == Some(entry.key.as_str()) {
            report.unchanged += 1;
        } else {
            index.set(id, Some(&entry)).await?;
            report.indexed += 1;
        }
    }
    Ok(report)
}

/// The record's expiry under `rule`: the field, or `createdAt` plus the lifetime.
fn expiry_of(record: &Record, rule: &ResourceTtl) -> Result<Option<i64>, InvalidExpiry> {
    let flagged = rule
        .action
        .flag_field()
        .is_some_and(|field| is_flagged(record, field));
    if flagged {
        return Ok(None);
    }
    match &rule.expiry {
        Expiry::Field(field) => expiry_millis(record, field),
        Expiry::After(ttl) => Ok(record
            .get("createdAt")
            .and_then(Value::as_str)
            .and_then(parse_iso)
            .and_then(|created| i64::try_from(created.unix_timestamp_nanos() / 1_000_000).ok())
            .map(|created| created.saturating_add(millis(*ttl)))),
    }
}
