//! Listings and bulk operations.

use futures::{StreamExt, TryStreamExt};
use s3db_storage::{ErrorKind, ListOptions};

use super::{ListRequest, Record, Resource};
use crate::error::{Error, Result};
use crate::extend::{Event, HookPoint, Operation, Payload};

/// Requests in flight for bulk operations unless the resource's parallelism is lower
/// (s3db.js uses 10).
const BULK_CONCURRENCY: usize = 10;

impl Resource {
    /// Every record id, in key order (`resource=<name>/data` listing); the `listIds`
    /// middleware sees empty options.
    pub async fn list_ids(&self) -> Result<Vec<String>> {
        self.list_ids_by(&ListRequest::all()).await
    }

    /// Number of records (a full listing, as in s3db.js without a cache plugin); the
    /// `count` hooks and middleware see empty options.
    pub async fn count(&self) -> Result<usize> {
        self.count_by(&ListRequest::all()).await
    }

    /// Reads the records of `ids` that exist, in the order given (missing ids are skipped,
    /// as s3db.js does; any other failure is returned).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Record>> {
        self.observed("getMany", None, self.get_many_op(ids)).await
    }

    async fn get_many_op(&self, ids: &[String]) -> Result<Vec<Record>> {
        if !self.ext.middlewares.has(Operation::GetMany) {
            return Ok(self.delivered_all(self.get_many_inner(ids).await?));
        }
        let out = self
            .wrapped(
                Operation::GetMany,
                Payload::Ids(ids.to_vec()),
                |this, args| async move {
                    Ok(Payload::Records(
                        this.get_many_inner(&args.into_ids()?).await?,
                    ))
                },
            )
            .await?;
        Ok(self.delivered_all(out.into_records()?))
    }

    async fn get_many_inner(&self, ids: &[String]) -> Result<Vec<Record>> {
        let rewritten = self.before(HookPoint::BeforeGetMany, || Payload::Ids(ids.to_vec()));
        let rewritten = match rewritten.await? {
            Some(payload) => Some(payload.into_ids()?),
            None => None,
        };
        let ids = rewritten.as_deref().unwrap_or(ids);
        // Indices, not `&String` items: a closure over borrowed items is higher-ranked and
        // defeats the `Send` proof middleware needs.
        let reads =
            (0..ids.len()).map(|i| async move { Ok(self.presented(self.load(&ids[i]).await?)) });
        let results: Vec<Result<Record>> = futures::stream::iter(reads)
            .buffered(self.in_flight(BULK_CONCURRENCY))
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
        let records = self
            .ext
            .hooks
            .run(HookPoint::AfterGetMany, Payload::Records(records))
            .await?
            .into_records()?;
        self.ext.events.emit_with(|| Event::FetchedMany {
            resource: self.def.name.clone(),
            count: records.len(),
        });
        Ok(records)
    }

    /// Every record, in id order (records vanishing meanwhile are skipped). Runs the
    /// `getAll` middleware with the options of [`ListRequest::all`] (a middleware may
    /// rewrite them, e.g. to a partition), not the `list` or `getMany` hooks.
    pub async fn get_all(&self) -> Result<Vec<Record>> {
        self.observed("getAll", None, self.get_all_op()).await
    }

    async fn get_all_op(&self) -> Result<Vec<Record>> {
        let all = ListRequest::all();
        if !self.ext.middlewares.has(Operation::GetAll) {
            let records = self
                .collect_all(self.ids_of(&all)?, all.concurrency)
                .await?;
            return Ok(self.delivered_all(records));
        }
        let out = self
            .wrapped_listing(Operation::GetAll, &all, |this, request| async move {
                let ids = this.ids_of(&request)?;
                Ok(Payload::Records(
                    this.collect_all(ids, request.concurrency).await?,
                ))
            })
            .await?;
        Ok(self.delivered_all(out.into_records()?))
    }

    /// Inserts every record (each through `insert`'s hooks and middleware); one result per
    /// record, in order. Emits `InsertedMany` with the number inserted.
    pub async fn insert_many(&self, records: Vec<Record>) -> Vec<Result<Record>> {
        self.observed(
            "insertMany",
            None,
            self.insert_made(records.into_iter().map(Ok).collect()),
        )
        .await
    }

    /// [`Resource::insert_many`] of records whose making may have failed (a typed value
    /// that did not serialize): such an item keeps its error in its place, not inserted.
    pub(crate) async fn insert_made(&self, records: Vec<Result<Record>>) -> Vec<Result<Record>> {
        let results: Vec<Result<Record>> = futures::stream::iter(records)
            .map(|record| async move { self.insert(record?).await })
            .buffered(self.in_flight(BULK_CONCURRENCY))
            .collect()
            .await;
        self.ext.events.emit_with(|| Event::InsertedMany {
            resource: self.def.name.clone(),
            count: results.iter().filter(|r| r.is_ok()).count(),
        });
        results
    }

    /// Deletes the records of `ids` that exist; returns how many were deleted (the
    /// `deleteMany` hooks run once, not `delete`'s per record).
    pub async fn delete_many(&self, ids: &[String]) -> Result<usize> {
        self.observed("deleteMany", None, self.delete_many_op(ids))
            .await
    }

    async fn delete_many_op(&self, ids: &[String]) -> Result<usize> {
        if !self.ext.middlewares.has(Operation::DeleteMany) {
            return self.delete_many_inner(ids).await;
        }
        let out = self
            .wrapped(
                Operation::DeleteMany,
                Payload::Ids(ids.to_vec()),
                |this, args| async move {
                    Ok(Payload::Count(
                        this.delete_many_inner(&args.into_ids()?).await?,
                    ))
                },
            )
            .await?;
        Ok(out.into_count()?)
    }

    async fn delete_many_inner(&self, ids: &[String]) -> Result<usize> {
        let rewritten = self.before(HookPoint::BeforeDeleteMany, || Payload::Ids(ids.to_vec()));
        let rewritten = match rewritten.await? {
            Some(payload) => Some(payload.into_ids()?),
            None => None,
        };
        let ids = rewritten.as_deref().unwrap_or(ids);
        let deletes = (0..ids.len()).map(|i| self.delete_record(&ids[i], None));
        let results: Vec<Result<Record>> = futures::stream::iter(deletes)
            .buffered(self.in_flight(BULK_CONCURRENCY))
            .collect()
            .await;
        let mut deleted = 0;
        for result in results {
            match result {
                Ok(_) => deleted += 1,
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let deleted = self
            .ext
            .hooks
            .run(HookPoint::AfterDeleteMany, Payload::Count(deleted))
            .await?
            .into_count()?;
        self.ext.events.emit_with(|| Event::DeletedMany {
            resource: self.def.name.clone(),
            count: deleted,
        });
        Ok(deleted)
    }

    /// Deletes every record object and partition reference of the resource (everything
    /// under `resource=<name>/`); returns how many record objects there were. Runs the
    /// `deleteAll` middleware and emits `DeletedAll` (with every object deleted, references
    /// included). The keys are split evenly into as many batches as go in flight (10 unless
    /// the resource's parallelism is lower), each at most the backend's batch size (1 000
    /// on S3), so a server that deletes a batch's keys one by one works on all of them at
    /// once. A failure part-way leaves records and references that `delete_all` (or
    /// `repair`) removes when run again.
    ///
    /// A [paranoid](Resource::paranoid) resource (the default, as in s3db.js) refuses with
    /// [`Error::Paranoid`] before any middleware or request: define the resource with
    /// `paranoid: false` to allow it.
    pub async fn delete_all(&self) -> Result<usize> {
        self.observed("deleteAll", None, self.delete_all_op()).await
    }

    async fn delete_all_op(&self) -> Result<usize> {
        if self.def.paranoid {
            return Err(Error::Paranoid {
                resource: self.def.name.clone(),
                operation: Operation::DeleteAll,
            });
        }
        if !self.ext.middlewares.has(Operation::DeleteAll) {
            return self.delete_all_inner().await;
        }
        let out = self
            .wrapped(
                Operation::DeleteAll,
                Payload::None,
                |this, args| async move {
                    args.into_none()?;
                    Ok(Payload::Count(this.delete_all_inner().await?))
                },
            )
            .await?;
        Ok(out.into_count()?)
    }

    async fn delete_all_inner(&self) -> Result<usize> {
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
        // Even batches, one per request in flight, none above what the backend takes (S3:
        // 1 000 keys): the listing is complete first, so no backend lists a directory it is
        // deleting from.
        // Start indices, not `&[String]` chunks: a closure over borrowed items is
        // higher-ranked and defeats the `Send` proof middleware needs.
        let in_flight = self.in_flight(BULK_CONCURRENCY);
        let batch = keys
            .len()
            .div_ceil(in_flight)
            .clamp(1, self.storage.capabilities().max_delete_batch.max(1));
        let all = keys.as_slice();
        futures::stream::iter((0..all.len()).step_by(batch))
            .map(|start| async move {
                let end = all.len().min(start + batch);
                match self.storage.delete_many(&all[start..end]).await {
                    Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::from(e)),
                    _ => Ok(()),
                }
            })
            .buffer_unordered(in_flight)
            .try_collect::<()>()
            .await?;
        self.ext.events.emit_with(|| Event::DeletedAll {
            resource: self.def.name.clone(),
            count: keys.len(),
        });
        Ok(records)
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
