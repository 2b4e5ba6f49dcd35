//! Dead letters: changes a target refused after every retry, kept in the plugin's storage
//! area (`plugin=replicator/dead-letter/<target>/<time>-<pid>-<seq>.json`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use s3db_core::Record;
use s3db_storage::{Storage, StorageExt};
use serde::{Deserialize, Serialize};

use super::change::ChangeOp;
use crate::Result;
use crate::json_object::{get_json, put_json};

/// Prefix of the dead letters inside the plugin's storage area.
pub const DEAD_LETTER_PREFIX: &str = "dead-letter/";

/// A change a target did not acknowledge after every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Its key in the plugin's storage area (not stored in the object).
    #[serde(skip)]
    pub key: String,
    /// The target's name.
    pub target: String,
    /// The resource the write was made on.
    pub resource: String,
    /// The table or resource name in the target (after the route's renaming).
    pub target_resource: String,
    /// Upsert or delete.
    pub op: ChangeOp,
    /// The record id.
    pub id: String,
    /// The record that was to be written (upserts), as the target would have received it.
    pub payload: Option<Record>,
    /// The last error.
    pub error: String,
    /// Attempts made so far (replays included).
    pub attempts: u32,
    /// When it was last given up on (ISO 8601).
    pub failed_at: String,
}

/// Reads and writes dead letters in a storage area.
#[derive(Clone)]
pub(crate) struct DeadLetterStore {
    storage: Arc<dyn Storage>,
    seq: Arc<AtomicU64>,
}

impl DeadLetterStore {
    /// Dead letters under `storage` (the plugin's area).
    pub fn new(storage: Arc<dyn Storage>) -> DeadLetterStore {
        DeadLetterStore {
            storage,
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Stores a new dead letter; its key orders it after the earlier ones of its target.
    pub async fn add(&self, letter: &DeadLetter, now_millis: i64) -> Result<String> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let key = format!(
            "{DEAD_LETTER_PREFIX}{}/{:013}-{}-{seq:08}.json",
            letter.target,
            now_millis.max(0),
            std::process::id()
        );
        self.put(&key, letter).await?;
        Ok(key)
    }

    /// Overwrites the dead letter at `letter.key`.
    pub async fn update(&self, letter: &DeadLetter) -> Result<()> {
        self.put(&letter.key, letter).await
    }

    async fn put(&self, key: &str, letter: &DeadLetter) -> Result<()> {
        put_json(self.storage.as_ref(), key, letter).await
    }

    /// The keys of every dead letter, oldest first per target.
    pub async fn keys(&self) -> Result<Vec<String>> {
        Ok(self.storage.list_keys(DEAD_LETTER_PREFIX).await?)
    }

    /// Reads one dead letter; [`crate::Error::Corrupt`] names the key when it cannot be parsed.
    pub async fn read(&self, key: &str) -> Result<DeadLetter> {
        let mut letter: DeadLetter = get_json(self.storage.as_ref(), key).await?;
        letter.key = key.to_owned();
        Ok(letter)
    }

    /// Removes a dead letter.
    pub async fn remove(&self, key: &str) -> Result<()> {
        Ok(self.storage.delete(key).await?)
    }
}
