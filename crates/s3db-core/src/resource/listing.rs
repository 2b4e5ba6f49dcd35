//! Listings and bulk operations.

use futures::{StreamExt, TryStreamExt};
use s3db_storage::{ErrorKind, ListOptions};

use super::{Record, Resource};
use crate::error::{Error, Result};

/// Requests in flight for bulk operations (s3db.js uses 10).
const BULK_CONCURRENCY: usize = 10;

impl Resource {
    /// Every record id, in key order (`resource=<name>/data` listing).
    pub async fn list_ids(&self) -> Result<Vec<String>> {
        let prefix = self.def.data_prefix();
        let options = ListOptions {
            prefix: prefix.clone(),
            ..ListOptions::default()
        };
        self.storage
            .list(options)
            .map_err(Error::from)
            .try_filter_map(|meta| async move { Ok(id_of_key(&meta.key).map(str::to_owned)) })
            .try_collect()
            .await
    }

    /// Number of records (a full listing, as in s3db.js without a cache plugin).
    pub async fn count(&self) -> Result<usize> {
        Ok(self.list_ids().await?.len())
    }

    /// Reads the records of `ids` that exist, in the order given (missing ids are skipped,
    /// as s3db.js does; any other failure is returned).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Record>> {
        let results: Vec<Result<Record>> = futures::stream::iter(ids)
            .map(|id| self.get(id))
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await;
        let mut records = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(record) => records.push(record),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(records)
    }

    /// Every record, in id order.
    pub async fn get_all(&self) -> Result<Vec<Record>> {
        let ids = self.list_ids().await?;
        self.get_many(&ids).await
    }

    /// Inserts every record; one result per record, in order.
    pub async fn insert_many(&self, records: Vec<Record>) -> Vec<Result<Record>> {
        futures::stream::iter(records)
            .map(|record| self.insert(record))
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Deletes the records of `ids` that exist; returns how many were deleted.
    pub async fn delete_many(&self, ids: &[String]) -> Result<usize> {
        let results: Vec<Result<()>> = futures::stream::iter(ids)
            .map(|id| self.delete(id))
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await;
        let mut deleted = 0;
        for result in results {
            match result {
                Ok(()) => deleted += 1,
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// Deletes every record object and partition reference of the resource (everything
    /// under `resource=<name>/`); returns how many record objects there were.
    pub async fn delete_all(&self) -> Result<usize> {
        let options = ListOptions {
            prefix: format!("resource={}/", self.def.name),
            ..ListOptions::default()
        };
        let keys: Vec<String> = self
            .storage
            .list(options)
            .map_ok(|meta| meta.key)
            .try_collect()
            .await?;
        let data_prefix = format!("{}/", self.def.data_prefix());
        let records = keys.iter().filter(|k| k.starts_with(&data_prefix)).count();
        match self.storage.delete_many(&keys).await {
            Ok(()) => Ok(records),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(records),
            Err(e) => Err(e.into()),
        }
    }
}

/// The id of a record or reference key: the first segment starting with `id=`.
pub(crate) fn id_of_key(key: &str) -> Option<&str> {
    key.split('/')
        .find_map(|segment| segment.strip_prefix("id="))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_come_from_the_first_id_segment() {
        assert_eq!(super::id_of_key("resource=a/data/id=x y"), Some("x y"));
        assert_eq!(
            super::id_of_key("resource=a/partition=p/k=v/id=u1"),
            Some("u1")
        );
        assert_eq!(super::id_of_key("resource=a/data"), None);
    }
}
