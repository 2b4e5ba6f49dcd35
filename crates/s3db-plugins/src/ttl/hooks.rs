//! The hooks that keep a resource's expiry index in step with its writes.
//!
//! - before insert/update/patch/replace (field expiry): refuse an expiry field that cannot
//!   be read, before anything is written;
//! - after insert: index the record (fixed lifetime: from now by the plugin's clock);
//! - after update/patch/replace (field expiry): move the entry when the expiry changed,
//!   remove it when the field was cleared or the record was soft-deleted; (fixed lifetime)
//!   index a record a replace created;
//! - after delete: remove the entry and the pointer;
//! - around `delete_many` (which runs no per-record hooks), a middleware: remove the
//!   entries of the ids once the records are deleted.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use s3db_core::Resource;
use s3db_core::extend::{HookContext, HookPoint, Operation, Payload, Veto};
use serde_json::Value;

use super::config::{Expiry, ResourceTtl};
use super::expiry::{expiry_millis, is_flagged};
use super::index::{Entry, ExpiryIndex};
use crate::clock::SharedClock;
use crate::error::Result;

/// Index removals in flight after a `delete_many`.
const REMOVALS_IN_FLIGHT: usize = 8;

/// What the hooks of one resource need.
#[derive(Debug, Clone)]
pub struct IndexHooks {
    /// The resource's name (for messages).
    pub resource: String,
    /// Its rule.
    pub rule: ResourceTtl,
    /// Its index.
    pub index: ExpiryIndex,
    /// The plugin's clock.
    pub clock: SharedClock,
}

impl IndexHooks {
    /// Registers the hooks on `resource`.
    pub fn register(self, resource: &Resource) {
        let this = Arc::new(self);
        this.register_delete_many(resource);
        let hooks = resource.hooks();
        if let Expiry::Field(_) = this.rule.expiry {
            for point in [
                HookPoint::BeforeInsert,
                HookPoint::BeforeUpdate,
                HookPoint::BeforePatch,
                HookPoint::BeforeReplace,
            ] {
                let this = this.clone();
                hooks.register(point, move |_ctx, data| {
                    let checked = this.check(&data).map(|()| data);
                    async move { checked }
                });
            }
        }
        for point in [
            HookPoint::AfterInsert,
            HookPoint::AfterUpdate,
            HookPoint::AfterPatch,
            HookPoint::AfterReplace,
            HookPoint::AfterDelete,
        ] {
            let this = this.clone();
            hooks.register(point, move |ctx: HookContext, data: Payload| {
                let this = this.clone();
                async move {
                    match this.after(ctx.point, &data).await {
                        Ok(()) => Ok(data),
                        Err(error) => Err(Veto::new(format!(
                            "ttl: resource {:?}: the expiry index was not updated: {error}",
                            this.resource
                        ))),
                    }
                }
            });
        }
    }

    /// Removes the entries of the ids `delete_many` deleted.
    fn register_delete_many(self: &Arc<Self>, resource: &Resource) {
        let this = self.clone();
        resource
            .middlewares()
            .register(Operation::DeleteMany, move |ctx, next| {
                let this = this.clone();
                async move {
                    let ids = match &ctx.args {
                        Payload::Ids(ids) => ids.clone(),
                        _ => Vec::new(),
                    };
                    let out = next.run(ctx).await?;
                    futures::stream::iter(ids)
                        .map(|id| {
                            let index = this.index.clone();
                            async move { index.remove(&id).await }
                        })
                        .buffer_unordered(REMOVALS_IN_FLIGHT)
                        .try_collect::<()>()
                        .await?;
                    Ok(out)
                }
            });
    }

    /// Refuses an unreadable expiry field (field expiry only).
    fn check(&self, data: &Payload) -> Result<(), Veto> {
        let (Expiry::Field(field), Payload::Record(record) | Payload::Change { record, .. }) =
            (&self.rule.expiry, data)
        else {
            return Ok(());
        };
        match expiry_millis(record, field) {
            Ok(_) => Ok(()),
            Err(error) => Err(Veto::new(format!(
                "ttl: resource {:?}: {error}",
                self.resource
            ))),
        }
    }

    /// Index maintenance after a write.
    async fn after(&self, point: HookPoint, data: &Payload) -> Result<()> {
        let (id, record) = match data {
            Payload::Record(record) => match record.get("id") {
                Some(Value::String(id)) => (id.as_str(), Some(record)),
                _ => return Ok(()),
            },
            Payload::Id(id) => (id.as_str(), None),
            _ => return Ok(()),
        };
        if point == HookPoint::AfterDelete {
            return self.index.remove(id).await;
        }
        let Some(record) = record else {
            return Ok(());
        };
        let flagged = self
            .rule
            .action
            .flag_field()
            .is_some_and(|field| is_flagged(record, field));
        match &self.rule.expiry {
            Expiry::Field(field) => {
                let at = if flagged {
                    None
                } else {
                    // Checked by the before hook; a value that still cannot be read (written
                    // around the hooks) leaves the record unindexed.
                    expiry_millis(record, field).ok().flatten()
                };
                let wanted = at.map(|ms| Entry::new(ms, id));
                self.index.set(id, wanted.as_ref()).await
            }
            Expiry::After(ttl) if !flagged => {
                let at = self.clock.now_millis().saturating_add(millis(*ttl));
                match point {
                    HookPoint::AfterInsert => self.index.insert(&Entry::new(at, id)).await,
                    // A replace that created the record starts its lifetime.
                    HookPoint::AfterReplace if self.index.pointer(id).await?.is_none() => {
                        self.index.insert(&Entry::new(at, id)).await
                    }
                    _ => Ok(()),
                }
            }
            Expiry::After(_) => Ok(()),
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
