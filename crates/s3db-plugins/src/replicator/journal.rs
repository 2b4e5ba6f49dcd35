//! The journal ([`super::ReplicatorBuilder::journal`]): one small object per captured
//! change, `plugin=replicator/pending/<time>-<instance>-<seq>.json`, written by the capturing
//! hook before the write call returns and removed once the change was handled (delivered or
//! dead-lettered). Entries a process left behind when it died are found by the next
//! replicator that starts on the database and replayed from the record's current state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use s3db_storage::{Storage, StorageExt};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::json_object::{get_json, put_json};

/// Prefix of the journal entries inside the plugin's storage area.
pub const PENDING_PREFIX: &str = "pending/";

/// What an entry names: the record whose change is not handled yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingEntry {
    /// The resource written.
    pub resource: String,
    /// The record id.
    pub id: String,
}

/// Writes, lists and removes journal entries; entries of this instance carry its token.
pub(crate) struct Journal {
    storage: Arc<dyn Storage>,
    instance: String,
    seq: AtomicU64,
}

impl Journal {
    /// The journal in `storage` (the plugin's area), for the instance named `instance`.
    pub fn new(storage: Arc<dyn Storage>, instance: String) -> Journal {
        Journal {
            storage,
            instance,
            seq: AtomicU64::new(0),
        }
    }

    /// Stores an entry for a change of `resource`/`id`; returns its key.
    pub async fn add(&self, entry: &PendingEntry, now_millis: i64) -> Result<String> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let key = format!(
            "{PENDING_PREFIX}{:013}-{}-{seq:010}.json",
            now_millis.max(0),
            self.instance
        );
        put_json(self.storage.as_ref(), &key, entry).await?;
        Ok(key)
    }

    /// The keys of the entries other instances left, oldest first.
    pub async fn foreign_keys(&self) -> Result<Vec<String>> {
        let keys = self.storage.list_keys(PENDING_PREFIX).await?;
        Ok(keys
            .into_iter()
            .filter(|k| instance_of(k) != Some(self.instance.as_str()))
            .collect())
    }

    /// Reads one entry; [`crate::Error::Corrupt`] names the key when it cannot be parsed.
    pub async fn read(&self, key: &str) -> Result<PendingEntry> {
        get_json(self.storage.as_ref(), key).await
    }

    /// Removes an entry (a missing one is not an error).
    pub async fn remove(&self, key: &str) -> Result<()> {
        Ok(self.storage.delete(key).await?)
    }
}

/// The instance token of `pending/<time>-<instance>-<seq>.json` (the token may hold `-`).
fn instance_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PENDING_PREFIX)?.strip_suffix(".json")?;
    let (_time, tail) = rest.split_once('-')?;
    let (instance, _seq) = tail.rsplit_once('-')?;
    Some(instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_is_read_back_from_the_key() {
        assert_eq!(
            instance_of("pending/0001700000000-a-b_c-0000000007.json"),
            Some("a-b_c")
        );
        assert_eq!(instance_of("pending/garbage"), None);
        assert_eq!(instance_of("dead-letter/x/1-2-3.json"), None);
    }
}
