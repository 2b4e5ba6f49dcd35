//! The expiry index of one resource, kept in its plugin area
//! (`resource=<R>/plugin=ttl/`):
//!
//! - `expires=<ms, 15 digits>/id=<id>`: one empty object per indexed record. Keys sort by
//!   expiry, so a sweep lists from the start and stops at the first entry still in the
//!   future: it never reads entries (or records) that are not due.
//! - `pointers/id=<id>`: the key of the record's current entry (body), so an update that
//!   moves the expiry, or a delete, finds the entry to remove without a listing.

use std::sync::Arc;

use futures::StreamExt;
use s3db_storage::{ErrorKind, ListOptions, PutMode, PutPayload, Storage, StorageExt};

use crate::error::{Error, Result};

const ENTRY_PREFIX: &str = "expires=";
const POINTER_PREFIX: &str = "pointers/id=";
/// Largest expiry the 15-digit keys hold (year 33658).
const MAX_MILLIS: i64 = 999_999_999_999_999;

/// One index entry: a record due at `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's key in the plugin area.
    pub key: String,
    /// The expiry, epoch milliseconds.
    pub at_ms: i64,
    /// The record id.
    pub id: String,
}

impl Entry {
    /// The entry of record `id` expiring at `at_ms` (clamped to the keys' range).
    pub fn new(at_ms: i64, id: &str) -> Entry {
        let at_ms = at_ms.clamp(0, MAX_MILLIS);
        Entry {
            key: format!("{ENTRY_PREFIX}{at_ms:015}/id={id}"),
            at_ms,
            id: id.to_owned(),
        }
    }

    /// Reads an entry key back; [`Error::Corrupt`] names a key that is not one.
    pub fn parse(key: &str) -> Result<Entry> {
        let corrupt = |reason: &str| Error::Corrupt {
            key: key.to_owned(),
            reason: format!("not a TTL index entry: {reason}"),
        };
        let rest = key
            .strip_prefix(ENTRY_PREFIX)
            .ok_or_else(|| corrupt("no expires= prefix"))?;
        let (millis, id) = rest
            .split_once("/id=")
            .ok_or_else(|| corrupt("no /id= part"))?;
        let at_ms = millis
            .parse()
            .map_err(|_| corrupt("the expiry is not a number"))?;
        if id.is_empty() {
            return Err(corrupt("the id is empty"));
        }
        Ok(Entry {
            key: key.to_owned(),
            at_ms,
            id: id.to_owned(),
        })
    }
}

/// The index of one resource over its plugin storage area.
#[derive(Debug, Clone)]
pub struct ExpiryIndex {
    storage: Arc<dyn Storage>,
}

impl ExpiryIndex {
    /// The index stored in `storage` (the resource's TTL area).
    pub fn new(storage: Arc<dyn Storage>) -> ExpiryIndex {
        ExpiryIndex { storage }
    }

    /// The area the index lives in (claims live there too).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The key of record `id`'s current entry, if it has one.
    pub async fn pointer(&self, id: &str) -> Result<Option<String>> {
        let key = format!("{POINTER_PREFIX}{id}");
        match self.storage.get(&key).await {
            Ok(object) => String::from_utf8(object.body.to_vec())
                .map(Some)
                .map_err(|_| Error::Corrupt {
                    key,
                    reason: "a TTL pointer is not UTF-8".into(),
                }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Indexes a new record (no read: an insert has no previous entry).
    pub async fn insert(&self, entry: &Entry) -> Result<()> {
        self.storage
            .put(&entry.key, PutPayload::default(), PutMode::Overwrite)
            .await?;
        self.storage
            .put_bytes(&format!("{POINTER_PREFIX}{}", entry.id), entry.key.clone())
            .await?;
        Ok(())
    }

    /// Makes `wanted` the record's entry (`None`: not indexed), moving or removing the
    /// previous one. Does nothing when the pointer already names `wanted`.
    pub async fn set(&self, id: &str, wanted: Option<&Entry>) -> Result<()> {
        let current = self.pointer(id).await?;
        if current.as_deref() == wanted.map(|e| e.key.as_str()) {
            return Ok(());
        }
        match wanted {
            Some(entry) => self.insert(entry).await?,
            None => {
                self.storage
                    .delete(&format!("{POINTER_PREFIX}{id}"))
                    .await?
            }
        }
        if let Some(old) = current {
            self.storage.delete(&old).await?;
        }
        Ok(())
    }

    /// Removes the record's entry and pointer (the record was deleted).
    pub async fn remove(&self, id: &str) -> Result<()> {
        self.set(id, None).await
    }

    /// Removes one entry after it was handled or found stale (the pointer stays, so an
    /// update that keeps the same expiry does not index the record again).
    pub async fn drop_entry(&self, entry: &Entry) -> Result<()> {
        Ok(self.storage.delete(&entry.key).await?)
    }

    /// Whether the entry is still there.
    pub async fn contains(&self, entry: &Entry) -> Result<bool> {
        Ok(self.storage.exists(&entry.key).await?)
    }

    /// The entries due at `now_ms` (expiry `<=` now), in expiry order. Lists only those:
    /// the listing stops at the first entry in the future.
    pub async fn due(&self, now_ms: i64) -> Result<Vec<Entry>> {
        let mut listing = self.storage.list(ListOptions {
            prefix: ENTRY_PREFIX.to_owned(),
            ..ListOptions::default()
        });
        let mut due = Vec::new();
        while let Some(meta) = listing.next().await {
            let entry = Entry::parse(&meta?.key)?;
            if entry.at_ms > now_ms {
                break;
            }
            due.push(entry);
        }
        Ok(due)
    }

    /// Every entry, in expiry order (for tests and inspection).
    pub async fn entries(&self) -> Result<Vec<Entry>> {
        self.storage
            .list_keys(ENTRY_PREFIX)
            .await?
            .iter()
            .map(|key| Entry::parse(key))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_storage::MemoryStorage;

    use super::*;

    #[test]
    fn keys_sort_by_expiry_and_parse_back() {
        let early = Entry::new(999, "b");
        let late = Entry::new(1_700_000_000_000, "a");
        assert!(early.key < late.key);
        assert_eq!(late.key, "expires=001700000000000/id=a");
        assert_eq!(Entry::parse(&late.key).unwrap(), late);
        assert_eq!(Entry::new(-5, "x").at_ms, 0);
        for bad in [
            "expires=12",
            "expires=x/id=a",
            "other/id=a",
            "expires=1/id=",
        ] {
            assert!(
                matches!(Entry::parse(bad), Err(Error::Corrupt { .. })),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn set_moves_and_removes_entries() {
        let index = ExpiryIndex::new(Arc::new(MemoryStorage::new()));
        index.insert(&Entry::new(10, "a")).await.unwrap();
        index.set("a", Some(&Entry::new(20, "a"))).await.unwrap();
        assert_eq!(index.entries().await.unwrap(), vec![Entry::new(20, "a")]);
        assert_eq!(
            index.pointer("a").await.unwrap(),
            Some(Entry::new(20, "a").key)
        );
        index.insert(&Entry::new(30, "b")).await.unwrap();
        assert_eq!(index.due(25).await.unwrap(), vec![Entry::new(20, "a")]);
        index.remove("a").await.unwrap();
        assert_eq!(index.entries().await.unwrap(), vec![Entry::new(30, "b")]);
        assert_eq!(index.pointer("a").await.unwrap(), None);
    }
}
