//! What is replicated: one change of one record, as the queue holds it and as targets see it.

use std::sync::Arc;
use std::time::Instant;

use s3db_core::Record;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kind of change a target applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// The record was inserted, updated, patched, replaced or upserted: write it whole.
    Upsert,
    /// The record was deleted.
    Delete,
}

impl ChangeOp {
    /// `"upsert"` or `"delete"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Delete => "delete",
        }
    }
}

/// One change as a [`super::ReplicationTarget`] receives it: already routed (renamed) and
/// transformed.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetChange {
    /// Where it goes: the table (PostgreSQL), resource (s3db) or `resource` field (JSONL),
    /// after the route's renaming.
    pub resource: String,
    /// The resource the write was made on.
    pub source_resource: String,
    /// Upsert or delete.
    pub op: ChangeOp,
    /// The record id.
    pub id: String,
    /// The record to write (transformed, `id` included) for an upsert; `None` for a delete.
    pub record: Option<Record>,
    /// The source resource's attribute definitions (timestamps included), for targets that
    /// create their table or resource on first use; empty when unknown.
    pub attributes: Arc<Map<String, Value>>,
}

impl TargetChange {
    /// The record without its `id` field (what goes into a JSON column or document).
    pub fn data(&self) -> Option<Record> {
        self.record.as_ref().map(|record| {
            let mut data = record.clone();
            data.shift_remove("id");
            data
        })
    }
}

/// The tables (target resource names) `changes` write to, each once, in order of first use.
#[cfg(any(feature = "mysql", feature = "sqlite", feature = "bigquery"))]
pub(crate) fn tables(changes: &[TargetChange]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    changes
        .iter()
        .map(|c| c.resource.as_str())
        .filter(|t| seen.insert(*t))
        .collect()
}

/// One write captured by a hook, waiting in the queue.
#[derive(Debug, Clone)]
pub(crate) struct SourceChange {
    /// The resource written.
    pub resource: Arc<str>,
    /// Upsert or delete.
    pub op: ChangeOp,
    /// The record id.
    pub id: String,
    /// The record as stored (upserts only).
    pub record: Option<Record>,
    /// When the write completed (or the change was recovered from the journal): the start
    /// of the replication lag.
    pub written: Instant,
    /// Its journal entry, removed once the change is handled (journal on).
    pub journal_key: Option<String>,
}
