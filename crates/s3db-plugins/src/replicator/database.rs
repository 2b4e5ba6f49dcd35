//! s3db target: another database (any backend).

use async_trait::async_trait;
use s3db_core::{Database, ResourceConfig};

use super::change::{ChangeOp, TargetChange};
use super::target::ReplicationTarget;
use crate::{Error, Result};

/// Replicates into another s3db [`Database`] (memory, file, S3…).
///
/// A missing target resource is created with the source resource's attributes (timestamps
/// included, as plain attributes, so `createdAt`/`updatedAt` are copied rather than
/// re-stamped). An upsert is a `replace` (the whole record, created if absent); a delete of
/// a record the target does not have succeeds. Create the target resource yourself when a
/// route's transform changes the record's shape.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use s3db_plugins::replicator::{DatabaseTarget, ReplicationTarget};
///
/// let backup = s3db_core::Database::connect("memory://database-target-doc").await?;
/// let target = DatabaseTarget::new(backup).named("backup");
/// assert_eq!(target.name(), "backup");
/// # Ok::<(), s3db_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct DatabaseTarget {
    name: String,
    db: Database,
}

impl DatabaseTarget {
    /// A target named `s3db` writing into `db`.
    pub fn new(db: Database) -> DatabaseTarget {
        DatabaseTarget {
            name: "s3db".into(),
            db,
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> DatabaseTarget {
        self.name = name.into();
        self
    }

    fn fail(&self, change: &TargetChange, error: s3db_core::Error) -> Error {
        let reason = format!(
            "{} {}/{}: {error}",
            change.op.as_str(),
            change.resource,
            change.id
        );
        Error::target(&self.name, reason, error)
    }
}

#[async_trait]
impl ReplicationTarget for DatabaseTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        let resource = if self.db.resource_exists(&change.resource) {
            self.db.resource(&change.resource)
        } else {
            let config = ResourceConfig::new(change.resource.clone())
                .attributes((*change.attributes).clone())
                .timestamps(false);
            self.db
                .create_resource_if_not_exists(config)
                .await
                .map(|(resource, _)| resource)
        }
        .map_err(|e| self.fail(change, e))?;
        match (change.op, &change.record) {
            (ChangeOp::Upsert, Some(record)) => {
                resource
                    .replace(&change.id, record.clone())
                    .await
                    .map_err(|e| self.fail(change, e))?;
            }
            (ChangeOp::Upsert, None) => {
                return Err(Error::Target {
                    target: self.name.clone(),
                    reason: format!("upsert {}/{} without a record", change.resource, change.id),
                    source: None,
                });
            }
            (ChangeOp::Delete, _) => match resource.delete(&change.id).await {
                Ok(()) | Err(s3db_core::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail(change, e)),
            },
        }
        Ok(())
    }
}
