//! Audit plugin: a trail of every write — who, what, when, before and after.
//!
//! [`AuditPlugin`] (slug `audit`) creates the audit resource (`plugin_audits` by default,
//! partitioned by day and by audited resource) when installed and wraps the writes of every
//! other resource, present and future, in a middleware: `insert`, `update`, `patch`,
//! `replace`, `delete`, `deleteMany` and `deleteAll`. `upsert` and `insertMany` are recorded as the
//! inserts and updates they make. Each write that succeeds adds one [`AuditEntry`] per record
//! **before the call returns**:
//!
//! - **who**: [`OperationContext::current`](s3db_core::extend::OperationContext::current)
//!   (user and metadata), so run writes inside `OperationContext::user("ana").scope(...)`;
//! - **when**: the database's [`Clock`](crate::clock::Clock) or the plugin's own (inject a
//!   `ManualClock` in tests);
//! - **before / after**, stored as JSON text: `after` is the record as stored (the call's
//!   result); `before` of an update, patch or replace is the `before` of the `Updated` event
//!   that very write emitted (the plugin subscribes for the duration of the call, so no extra
//!   request is made and the value is exactly what was overwritten, also under concurrent
//!   writers); `before` of a delete comes from its `Deleted` event; `deleteMany` reads the
//!   records before deleting them (one GET per id) and records those that existed;
//!   `deleteAll` reads every record first (`get_all`, one GET each; only the ids with
//!   [`AuditConfig::without_data`]).
//!
//! Values at configured paths ([`AuditConfig::mask`], [`AuditConfig::mask_in`]) and every
//! `secret` and `password` field of the resource's schema are replaced by
//! [`MASK`] (`"***"`): a secret is never stored in clear. If the schema cannot be read, the
//! entry is not written rather than risk it.
//!
//! A failed audit write is logged, counted ([`AuditPlugin::failures`]) and, unless
//! [`AuditConfig::strict`], does not fail the write it audits (the write has happened).
//! Writes to the audit resource itself are never audited.
//!
//! ```
//! use std::sync::Arc;
//! use s3db_core::extend::OperationContext;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::audit::{AuditConfig, AuditPlugin};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://audit-doc").await?;
//! let audit = AuditPlugin::new(AuditConfig::default());
//! db.use_plugin(Arc::new(audit.clone())).await?;
//! let users = db
//!     .create_resource(
//!         ResourceConfig::new("users")
//!             .attribute("name", "string")
//!             .attribute("token", "secret"),
//!     )
//!     .await?;
//! let ana = json!({"id": "u1", "name": "Ana", "token": "s3cr3t"});
//! OperationContext::user("admin")
//!     .scope(users.insert(ana.as_object().cloned().unwrap_or_default()))
//!     .await?;
//!
//! let trail = audit.by_record("users", "u1").await?;
//! assert_eq!(trail.len(), 1);
//! assert_eq!(trail[0].operation, "insert");
//! assert_eq!(trail[0].user.as_deref(), Some("admin"));
//! let after = trail[0].after.clone().unwrap_or_default();
//! assert_eq!(after["name"], "Ana");
//! assert_eq!(after["token"], "***");
//! # Ok::<(), s3db_plugins::Error>(())
//! # }).unwrap();
//! ```

mod entry;
mod mask;
mod recorder;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};
use time::OffsetDateTime;

use crate::clock::{SharedClock, iso};
use crate::error::{Error, Result};
pub use entry::AuditEntry;
use entry::{BY_DATE, BY_RESOURCE};
pub use mask::MASK;
use recorder::Recorder;

/// The default name of the audit resource.
pub const DEFAULT_RESOURCE: &str = "plugin_audits";

/// How the audit plugin records.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The audit resource's name ([`DEFAULT_RESOURCE`] by default).
    pub resource: String,
    /// Dotted paths masked in the records of every resource.
    pub mask: Vec<String>,
    /// Dotted paths masked in the records of one resource, by resource name.
    pub mask_by_resource: BTreeMap<String, Vec<String>>,
    /// Record `before` and `after` (default); without, entries say only who did what when.
    pub include_data: bool,
    /// Fail an audited write whose audit entry could not be written (the write itself
    /// stays). Off by default: the failure is logged and counted.
    pub strict: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            resource: DEFAULT_RESOURCE.to_owned(),
            mask: Vec::new(),
            mask_by_resource: BTreeMap::new(),
            include_data: true,
            strict: false,
        }
    }
}

impl AuditConfig {
    /// Names the audit resource.
    pub fn resource(mut self, name: impl Into<String>) -> Self {
        self.resource = name.into();
        self
    }

    /// Masks `paths` (dotted) in the records of every resource.
    pub fn mask<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.mask.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Masks `paths` (dotted) in the records of `resource`.
    pub fn mask_in<I, P>(mut self, resource: impl Into<String>, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.mask_by_resource
            .entry(resource.into())
            .or_default()
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Records who did what and when, without `before`/`after`.
    pub fn without_data(mut self) -> Self {
        self.include_data = false;
        self
    }

    /// Fails an audited write whose audit entry could not be written.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }
}

/// The audit plugin; clones share their state. Install it once, on one database.
#[derive(Debug, Clone)]
pub struct AuditPlugin {
    recorder: Arc<Recorder>,
}

impl AuditPlugin {
    /// A plugin with `config`, stamping entries with the database's clock
    /// ([`PluginContext::clock`]).
    pub fn new(config: AuditConfig) -> AuditPlugin {
        AuditPlugin {
            recorder: Arc::new(Recorder::new(config, None)),
        }
    }

    /// A plugin with `config`, stamping entries with `clock`.
    pub fn with_clock(config: AuditConfig, clock: SharedClock) -> AuditPlugin {
        AuditPlugin {
            recorder: Arc::new(Recorder::new(config, Some(clock))),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuditConfig {
        &self.recorder.config
    }

    /// Audit entries that could not be written since the plugin was created.
    pub fn failures(&self) -> u64 {
        self.recorder.failures()
    }

    /// Every entry about `resource`, oldest first.
    pub async fn by_resource(&self, resource: &str) -> Result<Vec<AuditEntry>> {
        let values = serde_json::json!({ "resourceName": resource });
        self.entries(BY_RESOURCE, values, |_| true).await
    }

    /// Every entry about the record `id` of `resource`, oldest first.
    pub async fn by_record(&self, resource: &str, id: &str) -> Result<Vec<AuditEntry>> {
        let mut entries = self.by_resource(resource).await?;
        entries.retain(|entry| entry.record_id == id);
        Ok(entries)
    }

    /// Every entry stamped in `[from, to]`, oldest first (one partition listing per UTC day
    /// of the range).
    pub async fn between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<AuditEntry>> {
        let (first, last) = (iso(from), iso(to));
        let mut entries = Vec::new();
        let mut day = from.to_offset(time::UtcOffset::UTC).date();
        let end = to.to_offset(time::UtcOffset::UTC).date();
        while day <= end {
            let values = serde_json::json!({ "createdAt": day.to_string() });
            let in_range = |entry: &AuditEntry| entry.timestamp >= first && entry.timestamp <= last;
            entries.extend(self.entries(BY_DATE, values, in_range).await?);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// Every entry, oldest first.
    pub async fn all(&self) -> Result<Vec<AuditEntry>> {
        let audits = self.audits()?;
        let records = audits.list(&s3db_core::ListRequest::all()).await?;
        self.parse(records, |_| true)
    }

    /// The entries of one partition of the audit resource that `keep` accepts, sorted.
    async fn entries(
        &self,
        partition: &str,
        values: serde_json::Value,
        keep: impl Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>> {
        let records = self.audits()?.list_partition(partition, values).await?;
        self.parse(records, keep)
    }

    fn parse(
        &self,
        records: Vec<s3db_core::Record>,
        keep: impl Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>> {
        let name = &self.recorder.config.resource;
        let mut entries = Vec::with_capacity(records.len());
        for record in &records {
            let entry = AuditEntry::from_record(name, record)?;
            if keep(&entry) {
                entries.push(entry);
            }
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    fn audits(&self) -> Result<s3db_core::Resource> {
        Ok(self
            .recorder
            .database()?
            .resource(&self.recorder.config.resource)?)
    }
}

#[async_trait]
impl Plugin for AuditPlugin {
    fn slug(&self) -> &str {
        "audit"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        if self.recorder.ctx.set(ctx.clone()).is_err() {
            return Err(Error::Config {
                plugin: "audit",
                reason: "this plugin is already installed on a database".into(),
            }
            .into());
        }
        let name = self.recorder.config.resource.clone();
        ctx.database()?
            .create_resource_if_not_exists(entry::resource_config(&name))
            .await?;
        let recorder = self.recorder.clone();
        ctx.for_each_resource(move |resource| {
            if resource.name() != name {
                recorder.watch(&resource);
            }
        });
        Ok(())
    }
}
