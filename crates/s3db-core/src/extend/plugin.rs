//! Plugins: packaged extensions installed on a database through its public doors.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use s3db_storage::{Prefixed, Storage};

use crate::clock::SharedClock;
use crate::database::{Database, WeakDatabase};
use crate::error::{Error, Result};
use crate::extend::{HookPoint, Payload};
use crate::random::SharedRandom;
use crate::resource::Resource;

/// A plugin: installed once on a [`Database`] with [`Database::use_plugin`], which calls
/// [`Plugin::install`] then [`Plugin::start`]; [`Database::disconnect`] calls
/// [`Plugin::stop`] (plugins in reverse order of installation).
///
/// A plugin reaches the database only through public extension points — hooks, events,
/// middleware, [`crate::extend::OperationContext`] and its own storage area
/// ([`PluginContext::storage`]) — so the plugins of `s3db-plugins` could be written outside
/// the workspace the same way.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use async_trait::async_trait;
/// use s3db_core::extend::{HookPoint, Plugin, PluginContext};
/// use s3db_core::{Database, ResourceConfig};
/// use serde_json::json;
///
/// /// Counts inserts into every resource.
/// #[derive(Default)]
/// struct InsertCounter(Arc<AtomicUsize>);
///
/// #[async_trait]
/// impl Plugin for InsertCounter {
///     fn slug(&self) -> &str {
///         "insert-counter"
///     }
///     async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
///         let count = self.0.clone();
///         ctx.for_each_resource(move |resource| {
///             let count = count.clone();
///             resource.hooks().register(HookPoint::AfterInsert, move |_ctx, data| {
///                 count.fetch_add(1, Ordering::Relaxed);
///                 async move { Ok(data) }
///             });
///         });
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = Database::connect("memory://plugin-doc").await?;
/// let counter = Arc::new(InsertCounter::default());
/// db.use_plugin(counter.clone()).await?;
/// // Resources created after the plugin was installed are covered too.
/// let notes = db
///     .create_resource(ResourceConfig::from_json(&json!({
///         "name": "notes", "attributes": {"text": "string"}
///     }))?)
///     .await?;
/// notes.insert(json!({"text": "hi"}).as_object().cloned().unwrap_or_default()).await?;
/// assert_eq!(counter.0.load(Ordering::Relaxed), 1);
/// db.disconnect().await?;
/// # Ok::<(), s3db_core::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Short name (`[a-z0-9-]+`) naming the plugin's storage areas (`plugin=<slug>/`).
    fn slug(&self) -> &str;

    /// Registers the plugin's hooks, middleware and subscriptions.
    async fn install(&self, ctx: &PluginContext) -> Result<()>;

    /// Starts background work (sweepers, workers). Does nothing by default.
    async fn start(&self, _ctx: &PluginContext) -> Result<()> {
        Ok(())
    }

    /// Stops background work and flushes what is pending. Does nothing by default.
    async fn stop(&self, _ctx: &PluginContext) -> Result<()> {
        Ok(())
    }
}

/// What a plugin is given: the database, its own storage areas, and the database's clock
/// and random source (so time-dependent plugins follow the clock a test injects with
/// [`crate::DatabaseBuilder::clock`]).
///
/// It holds the database weakly, so hooks and background tasks that keep a
/// `PluginContext` do not keep the database alive.
#[derive(Clone)]
pub struct PluginContext {
    db: WeakDatabase,
    storage: Arc<dyn Storage>,
    slug: Arc<str>,
    clock: SharedClock,
    random: SharedRandom,
}

impl fmt::Debug for PluginContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginContext")
            .field("slug", &self.slug)
            .finish_non_exhaustive()
    }
}

impl PluginContext {
    /// A context for the plugin `slug` on `db`; [`Error::InvalidPlugin`] if the slug is not
    /// `[a-z0-9-]+`.
    pub fn new(db: &Database, slug: &str) -> Result<PluginContext> {
        let valid = !slug.is_empty()
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(Error::InvalidPlugin {
                slug: slug.to_owned(),
                reason: "a plugin slug is made of a-z, 0-9 and '-'".into(),
            });
        }
        Ok(PluginContext {
            db: db.downgrade(),
            storage: db.storage().clone(),
            slug: slug.into(),
            clock: db.clock().clone(),
            random: db.random().clone(),
        })
    }

    /// The database's clock ([`Database::clock`]).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The database's random source ([`Database::random`]; not for key material).
    pub fn random(&self) -> &SharedRandom {
        &self.random
    }

    /// The plugin's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The database, or [`Error::Disconnected`] once every handle on it was dropped.
    pub fn database(&self) -> Result<Database> {
        self.db.upgrade().ok_or(Error::Disconnected)
    }

    /// The plugin's database-wide storage area: keys live under `plugin=<slug>/`.
    pub fn storage(&self) -> Arc<dyn Storage> {
        Arc::new(Prefixed::new(
            self.storage.clone(),
            &format!("plugin={}", self.slug),
        ))
    }

    /// The plugin's area inside one resource: keys live under
    /// `resource=<resource>/plugin=<slug>/`.
    pub fn resource_storage(&self, resource: &str) -> Arc<dyn Storage> {
        Arc::new(Prefixed::new(
            self.storage.clone(),
            &format!("resource={resource}/plugin={}", self.slug),
        ))
    }

    /// Calls `apply` once for every resource: those defined now, and each one defined later
    /// (through this database's `create_resource`). Redefining a resource does not call it
    /// again: hooks and middleware survive new versions.
    pub fn for_each_resource<F>(&self, apply: F)
    where
        F: Fn(Resource) + Send + Sync + 'static,
    {
        let Some(db) = self.db.upgrade() else {
            return;
        };
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let apply = Arc::new(apply);
        let visit = {
            let seen = seen.clone();
            let apply = apply.clone();
            move |resource: Resource| {
                let first = seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(resource.name().to_owned());
                if first {
                    apply(resource);
                }
            }
        };
        for name in db.list_resources() {
            match db.resource(&name) {
                Ok(resource) => visit(resource),
                Err(error) => tracing::warn!(%name, %error, "plugin skips an unusable resource"),
            }
        }
        let weak = self.db.clone();
        db.hooks().register(
            HookPoint::AfterCreateResource,
            move |_ctx, data: Payload| {
                if let (Payload::Name(name), Some(db)) = (&data, weak.upgrade())
                    && let Ok(resource) = db.resource(name)
                {
                    visit(resource);
                }
                async move { Ok(data) }
            },
        );
    }
}
