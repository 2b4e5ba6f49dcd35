//! Costs plugin: request counts and estimated dollars per database and per resource.
//!
//! The counts come from the storage: [`CostsPlugin::wrap`] puts a request-counting layer
//! ([`s3db_storage::layers::Metrics::grouped`]) around the storage the database is opened on,
//! attributing every request to the resource its key belongs to (`resource=<name>/…`, partition
//! references and the resource's plugin areas included), to a database-wide plugin area
//! (`plugin=<slug>/…`), or to the database file `s3db.json`. Retries and write-resolution
//! requests are counted when the layer sits below the retry layer (wrap the backend, then
//! add retries around it). Dollars use S3 Standard request prices unless configured
//! ([`CostsPlugin::with_prices`]); storage and transfer are not included.
//!
//! ```
//! use std::sync::Arc;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::costs::CostsPlugin;
//! use s3db_storage::MemoryStorage;
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (storage, costs) = CostsPlugin::wrap(Arc::new(MemoryStorage::new()));
//! let db = Database::builder(storage).open().await?;
//! db.use_plugin(Arc::new(costs.clone())).await?;
//! let notes = db
//!     .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
//!     .await?;
//! let note = notes
//!     .insert(json!({"id": "n1", "text": "hi"}).as_object().cloned().unwrap_or_default())
//!     .await?;
//! notes.get("n1").await?;
//!
//! let report = costs.report();
//! assert_eq!(report.resources["notes"].put, 1);
//! assert_eq!(report.resources["notes"].get, 1);
//! assert!(report.total.estimated_usd > 0.0);
//! assert_eq!(report.to_json()["resources"]["notes"]["put"], 1);
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

mod group;
mod report;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};
use s3db_storage::Storage;
use s3db_storage::layers::{Metrics, MetricsRecorder, MetricsSnapshot, Prices};

pub use report::{CostsReport, PriceList, Usage};

/// The costs plugin: a handle on the counters of the layer made by [`CostsPlugin::wrap`].
///
/// Clones share the counters. Installing it (slug `costs`) lists every resource of the
/// database in the report, with zero usage until it is used.
#[derive(Debug, Clone)]
pub struct CostsPlugin {
    recorder: MetricsRecorder,
    prices: Prices,
    known: Arc<Mutex<BTreeSet<String>>>,
}

impl CostsPlugin {
    /// Wraps `storage` with a request-counting layer: open the database on the returned
    /// storage and install the returned plugin.
    pub fn wrap(storage: Arc<dyn Storage>) -> (Arc<dyn Storage>, CostsPlugin) {
        let layer = Metrics::grouped(storage, group::group_of);
        let plugin = CostsPlugin {
            recorder: layer.recorder(),
            prices: Prices::S3_STANDARD,
            known: Arc::default(),
        };
        (Arc::new(layer), plugin)
    }

    /// Uses `prices` for the dollar estimates (S3 Standard by default).
    pub fn with_prices(mut self, prices: Prices) -> CostsPlugin {
        self.prices = prices;
        self
    }

    /// The prices in use.
    pub fn prices(&self) -> Prices {
        self.prices
    }

    /// Every request counted so far, of every kind.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.recorder.snapshot()
    }

    /// The counts and estimated dollars so far, in total and per part of the database.
    pub fn report(&self) -> CostsReport {
        let usage = |snapshot: &MetricsSnapshot| Usage::from_snapshot(snapshot, self.prices);
        let mut report = CostsReport {
            prices: self.prices.into(),
            total: usage(&self.recorder.snapshot()),
            database: Usage::default(),
            resources: self
                .known
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|name| (name.clone(), Usage::default()))
                .collect(),
            plugins: Default::default(),
            other: Usage::default(),
        };
        for (group, snapshot) in self.recorder.groups() {
            let counted = usage(&snapshot);
            if let Some(resource) = group.strip_prefix(group::RESOURCE) {
                report.resources.insert(resource.to_owned(), counted);
            } else if let Some(slug) = group.strip_prefix(group::PLUGIN) {
                report.plugins.insert(slug.to_owned(), counted);
            } else if group == group::DATABASE {
                report.database = counted;
            } else {
                report.other = counted;
            }
        }
        report
    }
}

#[async_trait]
impl Plugin for CostsPlugin {
    fn slug(&self) -> &str {
        "costs"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let known = self.known.clone();
        ctx.for_each_resource(move |resource| {
            known
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(resource.name().to_owned());
        });
        Ok(())
    }
}
