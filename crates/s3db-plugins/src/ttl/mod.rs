//! TTL plugin: expires records of chosen resources — soft delete, hard delete, archive or
//! a callback — without ever scanning a resource.
//!
//! Each configured resource gets an expiry index in its plugin area
//! (`resource=<R>/plugin=ttl/expires=<ms>/id=<id>`, keys sorted by expiry), kept up to
//! date by hooks on insert, update, patch, replace and delete. A sweep lists the index from
//! the start and stops at the first entry still in the future, so it reads only what is
//! due. Sweeps run every [`TtlConfig::interval`] in a background task (started by
//! [`Plugin::start`], stopped by [`Plugin::stop`]) and on demand with
//! [`TtlPlugin::sweep_now`]; "now" always comes from the injected [`Clock`](crate::clock::Clock).
//!
//! Several processes may sweep at once: a sweeper claims each due entry with a conditional
//! create before acting, and the archive insert keeps the record's id, so every expired
//! record is handled exactly once. Records written before the plugin was installed are
//! indexed by an explicit [`TtlPlugin::backfill`] (one scan), never by sweeps.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::clock::ManualClock;
//! use s3db_plugins::ttl::{Action, Expiry, TtlConfig, TtlPlugin};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The plugin reads "now" from the database's clock.
//! let clock = ManualClock::at_millis(1_700_000_000_000);
//! let ttl = Arc::new(TtlPlugin::new(
//!     TtlConfig::new().resource("sessions", Expiry::after_secs(60), Action::HardDelete),
//! )?);
//! let db = Database::builder("memory://ttl-doc")
//!     .clock(Arc::new(clock.clone()))
//!     .plugin(ttl.clone())
//!     .open()
//!     .await?;
//! let sessions = db
//!     .create_resource(ResourceConfig::from_json(&json!({
//!         "name": "sessions", "attributes": {"user": "string"}
//!     }))?)
//!     .await?;
//!
//! let session = json!({"id": "s1", "user": "ana"}).as_object().cloned().unwrap_or_default();
//! sessions.insert(session).await?;
//! assert_eq!(ttl.sweep_now().await?.hard_deleted, 0); // not expired yet
//! clock.advance(Duration::from_secs(61));
//! assert_eq!(ttl.sweep_now().await?.hard_deleted, 1);
//! assert!(!sessions.exists("s1").await?);
//! db.disconnect().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod backfill;
mod claim;
mod config;
mod expiry;
mod hooks;
mod index;
mod sweep;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use s3db_core::Database;
use s3db_core::extend::{Plugin, PluginContext};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use backfill::BackfillReport;
pub use config::{
    Action, Expired, Expiry, ExpiryCallback, FlagValue, ResourceTtl, SLUG, TtlConfig,
};
pub use expiry::InvalidExpiry;
pub use sweep::{SweepFailure, SweepReport};

use crate::clock::SharedClock;
use crate::error::{Error, Result};
use claim::Claimer;
use hooks::IndexHooks;
use index::ExpiryIndex;
use sweep::ResourceSweep;

/// What the background sweeps have done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepLog {
    /// Background sweeps completed.
    pub sweeps: u64,
    /// Their reports added up.
    pub totals: SweepReport,
}

/// The TTL plugin. Install it with `db.use_plugin(Arc::new(plugin))`, keeping a clone of
/// the `Arc` to call [`TtlPlugin::sweep_now`] or [`TtlPlugin::backfill`].
#[derive(Debug)]
pub struct TtlPlugin {
    shared: Arc<Shared>,
    background: Mutex<Option<Background>>,
}

#[derive(Debug)]
struct Shared {
    config: TtlConfig,
    /// The clock given; `None`: the database's.
    clock: Option<SharedClock>,
    claimer: Claimer,
    ctx: OnceLock<PluginContext>,
    log: watch::Sender<SweepLog>,
}

#[derive(Debug)]
struct Background {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl TtlPlugin {
    /// A plugin applying `config` with "now" taken from the database's clock
    /// ([`PluginContext::clock`]); [`Error::Config`] if the configuration cannot work
    /// ([`TtlConfig::validate`]).
    pub fn new(config: TtlConfig) -> Result<TtlPlugin> {
        TtlPlugin::build(config, None)
    }

    /// Like [`TtlPlugin::new`], with "now" taken from `clock` instead.
    pub fn with_clock(config: TtlConfig, clock: SharedClock) -> Result<TtlPlugin> {
        TtlPlugin::build(config, Some(clock))
    }

    fn build(config: TtlConfig, clock: Option<SharedClock>) -> Result<TtlPlugin> {
        config.validate()?;
        Ok(TtlPlugin {
            shared: Arc::new(Shared {
                claimer: Claimer::new(config.claim_timeout),
                config,
                clock,
                ctx: OnceLock::new(),
                log: watch::Sender::new(SweepLog::default()),
            }),
            background: Mutex::new(None),
        })
    }

    /// Sweeps every configured resource now (resources not defined yet are skipped) and
    /// reports what each action did. Failures of single records are in the report; the
    /// error is for a plugin that is not installed or a database that is gone.
    pub async fn sweep_now(&self) -> Result<SweepReport> {
        self.shared.sweep().await
    }

    /// Indexes the records of `resource` written before the plugin was installed: one full
    /// scan. Records already indexed are left as they are; with a fixed lifetime the
    /// expiry counts from the record's `createdAt` (records without one are not indexed).
    pub async fn backfill(&self, resource: &str) -> Result<BackfillReport> {
        let ctx = self.shared.ctx()?;
        let rule = self.shared.rule(resource)?;
        let handle = ctx.database()?.resource(resource)?;
        backfill::backfill(&handle, rule, &index_of(ctx, resource)).await
    }

    /// The index of `resource`: `(expiry in epoch milliseconds, record id)` in expiry order.
    pub async fn index_entries(&self, resource: &str) -> Result<Vec<(i64, String)>> {
        self.shared.rule(resource)?;
        let entries = index_of(self.shared.ctx()?, resource).entries().await?;
        Ok(entries.into_iter().map(|e| (e.at_ms, e.id)).collect())
    }

    /// Watches the background sweeps (count and added-up reports).
    pub fn background_log(&self) -> watch::Receiver<SweepLog> {
        self.shared.log.subscribe()
    }

    fn background(&self) -> std::sync::MutexGuard<'_, Option<Background>> {
        self.background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn index_of(ctx: &PluginContext, resource: &str) -> ExpiryIndex {
    ExpiryIndex::new(ctx.resource_storage(resource))
}

impl Shared {
    fn ctx(&self) -> Result<&PluginContext> {
        self.ctx.get().ok_or_else(|| Error::Config {
            plugin: SLUG,
            reason: "the plugin is not installed on a database".into(),
        })
    }

    /// The clock given, else the database's.
    fn clock(&self, ctx: &PluginContext) -> SharedClock {
        self.clock.clone().unwrap_or_else(|| ctx.clock().clone())
    }

    fn rule(&self, resource: &str) -> Result<&ResourceTtl> {
        self.config
            .resources
            .get(resource)
            .ok_or_else(|| Error::Config {
                plugin: SLUG,
                reason: format!("resource {resource:?} has no TTL rule"),
            })
    }

    async fn sweep(&self) -> Result<SweepReport> {
        let ctx = self.ctx()?;
        let db: Database = ctx.database()?;
        let clock = self.clock(ctx);
        let mut report = SweepReport::default();
        for (name, rule) in &self.config.resources {
            if !db.resource_exists(name) {
                continue;
            }
            let sweep = ResourceSweep {
                db: &db,
                resource: db.resource(name)?,
                rule,
                index: index_of(ctx, name),
                claimer: &self.claimer,
                clock: &clock,
                now_ms: clock.now_millis(),
                concurrency: self.config.concurrency,
            };
            report.absorb(sweep.run().await);
        }
        Ok(report)
    }

    /// The background loop: a sweep every interval until told to stop (a sweep under way
    /// finishes first, so no claim is left behind) or the database is gone.
    async fn run(self: Arc<Self>, mut stop: oneshot::Receiver<()>) {
        let interval = self.config.interval;
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = ticker.tick() => {}
            }
            match self.sweep().await {
                Ok(report) => self.log.send_modify(|log| {
                    log.sweeps += 1;
                    log.totals.absorb(report);
                }),
                Err(Error::Core(s3db_core::Error::Disconnected)) => break,
                Err(error) => tracing::warn!(%error, "TTL background sweep failed"),
            }
        }
    }
}

#[async_trait]
impl Plugin for TtlPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    /// Registers the index hooks on every configured resource, now or when it is defined.
    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        if self.shared.ctx.set(ctx.clone()).is_err() {
            return Err(Error::Config {
                plugin: SLUG,
                reason: "a TtlPlugin is installed on one database only".into(),
            }
            .into());
        }
        let (config, clock, area) = (
            self.shared.config.clone(),
            self.shared.clock(ctx),
            ctx.clone(),
        );
        ctx.for_each_resource(move |resource| {
            if let Some(rule) = config.resources.get(resource.name()) {
                IndexHooks {
                    resource: resource.name().to_owned(),
                    rule: rule.clone(),
                    index: index_of(&area, resource.name()),
                    clock: clock.clone(),
                }
                .register(&resource);
            }
        });
        Ok(())
    }

    /// Starts the background sweeps.
    async fn start(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let mut background = self.background();
        if background.is_none() {
            let (stop, stopped) = oneshot::channel();
            let task = tokio::spawn(self.shared.clone().run(stopped));
            *background = Some(Background { stop, task });
        }
        Ok(())
    }

    /// Stops the background sweeps, letting a sweep under way finish.
    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let background = self.background().take();
        if let Some(Background { stop, task }) = background {
            // The task may have ended on its own (database gone): nothing to tell it.
            let _ = stop.send(());
            if let Err(error) = task.await {
                tracing::warn!(%error, "TTL background task ended abnormally");
            }
        }
        Ok(())
    }
}
