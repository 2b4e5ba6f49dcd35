//! The target interface: anything that can apply a change.

use async_trait::async_trait;

use super::change::TargetChange;
use crate::Result;

/// Where changes are replicated to. Implement it to add a target of your own; the
/// replicator calls [`ReplicationTarget::apply`] from the target's worker, one change at a time and
/// in write order, retrying failures with backoff. A target that can apply several changes
/// at once (one transaction, one request) says so with [`ReplicationTarget::max_batch`]
/// and gets the changes queued together through [`ReplicationTarget::apply_batch`].
///
/// `apply` must be idempotent: a change may be applied again after a failure (an upsert
/// writes the whole record, deleting a missing record succeeds).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use async_trait::async_trait;
/// use s3db_plugins::replicator::{ReplicationTarget, TargetChange};
///
/// /// Keeps the ids it was given.
/// #[derive(Default)]
/// struct Ids(Mutex<Vec<String>>);
///
/// #[async_trait]
/// impl ReplicationTarget for Ids {
///     fn name(&self) -> &str {
///         "ids"
///     }
///     async fn apply(&self, change: &TargetChange) -> s3db_plugins::Result<()> {
///         self.0.lock().unwrap().push(change.id.clone());
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait ReplicationTarget: Send + Sync + 'static {
    /// The target's name (`[A-Za-z0-9_-]+`): it names the target in stats, errors and dead
    /// letters, so it must be unique among a replicator's targets and stable across runs.
    fn name(&self) -> &str;

    /// Applies one change; an error is retried, then dead-lettered.
    async fn apply(&self, change: &TargetChange) -> Result<()>;

    /// The most changes [`ReplicationTarget::apply_batch`] takes at once. 1 (the default):
    /// the target gets every change alone through `apply`.
    fn max_batch(&self) -> usize {
        1
    }

    /// Applies up to [`ReplicationTarget::max_batch`] changes, in write order, all or
    /// nothing. Called with the changes that were queued together. On an error none of them
    /// counts as applied: the worker then applies each alone through `apply`, with retries
    /// and dead letters. The default applies them one by one through `apply`.
    async fn apply_batch(&self, changes: &[TargetChange]) -> Result<()> {
        for change in changes {
            self.apply(change).await?;
        }
        Ok(())
    }

    /// Makes everything applied so far durable (flushes buffers). Does nothing by default.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// A target that applies any number of changes in one transaction (the SQL databases): it
/// gets [`ReplicationTarget`] with `apply` and `apply_batch` both going through
/// [`TransactionalTarget::transact`], batches of up to [`TransactionalTarget::batch_size`].
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
#[async_trait]
pub(crate) trait TransactionalTarget: Send + Sync + 'static {
    /// The target's name ([`ReplicationTarget::name`]).
    fn target_name(&self) -> &str;

    /// The most changes in one transaction ([`ReplicationTarget::max_batch`]).
    fn batch_size(&self) -> usize;

    /// Applies `changes`, in write order, all or nothing.
    async fn transact(&self, changes: &[TargetChange]) -> Result<()>;
}

#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
#[async_trait]
impl<T: TransactionalTarget> ReplicationTarget for T {
    fn name(&self) -> &str {
        self.target_name()
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        self.transact(std::slice::from_ref(change)).await
    }

    fn max_batch(&self) -> usize {
        self.batch_size()
    }

    async fn apply_batch(&self, changes: &[TargetChange]) -> Result<()> {
        self.transact(changes).await
    }
}
