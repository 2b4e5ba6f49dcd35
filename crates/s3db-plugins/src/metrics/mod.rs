//! Metrics plugin: operation counts, errors and latency histograms per resource and
//! operation, in the Prometheus text format.
//!
//! Installing [`MetricsPlugin`] (slug `metrics`) wraps every [`Operation`] of every resource
//! (present and future, through `for_each_resource`) in a middleware that counts the call,
//! whether it failed, and how long it took (measured with the plugin's [`crate::clock::Clock`], so tests
//! can move time). An operation that calls another through the public API is counted as
//! both (`upsert` counts its `exists` and its `insert` or `update`; `getAll` its `list`).
//!
//! [`MetricsPlugin::render`] returns the Prometheus text (version 0.0.4):
//! `s3db_operations_total` and `s3db_operation_errors_total` counters and the
//! `s3db_operation_duration_seconds` histogram (buckets [`LATENCY_BUCKETS`]), labelled
//! `resource` and `operation`. With the crate feature `metrics-http`,
//! `MetricsServer::bind` serves it on `http://127.0.0.1:<port>/metrics`.
//!
//! ```
//! use std::sync::Arc;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::metrics::MetricsPlugin;
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://metrics-doc").await?;
//! let metrics = MetricsPlugin::new();
//! db.use_plugin(Arc::new(metrics.clone())).await?;
//! let notes = db
//!     .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
//!     .await?;
//! let note = json!({"id": "n1", "text": "hi"});
//! notes.insert(note.as_object().cloned().unwrap_or_default()).await?;
//! assert!(notes.get("missing").await.is_err());
//!
//! let text = metrics.render();
//! assert!(text.contains(r#"s3db_operations_total{resource="notes",operation="insert"} 1"#));
//! assert!(text.contains(r#"s3db_operation_errors_total{resource="notes",operation="get"} 1"#));
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

#[cfg(feature = "metrics-http")]
mod http;
mod prometheus;
mod registry;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s3db_core::extend::{Operation, Plugin, PluginContext};

use crate::clock::SharedClock;
#[cfg(feature = "metrics-http")]
pub use http::MetricsServer;
pub use prometheus::{CONTENT_TYPE, DURATION_SECONDS, ERRORS_TOTAL, OPERATIONS_TOTAL};
use registry::Registry;
pub use registry::{LATENCY_BUCKETS, OperationStats};

/// The metrics plugin; clones share the counters.
#[derive(Debug, Clone)]
pub struct MetricsPlugin {
    registry: Arc<Registry>,
    /// The clock given; `None`: the database's.
    clock: Option<SharedClock>,
}

impl Default for MetricsPlugin {
    fn default() -> Self {
        MetricsPlugin::new()
    }
}

impl MetricsPlugin {
    /// A plugin timing calls with the database's clock
    /// ([`PluginContext::clock`]).
    pub fn new() -> MetricsPlugin {
        MetricsPlugin {
            registry: Arc::default(),
            clock: None,
        }
    }

    /// A plugin timing calls with `clock` (a [`crate::clock::ManualClock`] in tests). A clock
    /// that goes backwards during a call records it as taking no time.
    pub fn with_clock(clock: SharedClock) -> MetricsPlugin {
        MetricsPlugin {
            registry: Arc::default(),
            clock: Some(clock),
        }
    }

    /// Every (resource, operation) observed so far, sorted by resource then operation.
    pub fn stats(&self) -> Vec<OperationStats> {
        self.registry.stats()
    }

    /// The stats of one operation of one resource, if it was called.
    pub fn stats_of(&self, resource: &str, operation: Operation) -> Option<OperationStats> {
        self.stats()
            .into_iter()
            .find(|s| s.resource == resource && s.operation == operation.as_str())
    }

    /// The metrics in the Prometheus text exposition format (see the [module docs](self)).
    pub fn render(&self) -> String {
        prometheus::render(&self.registry.stats())
    }
}

#[async_trait]
impl Plugin for MetricsPlugin {
    fn slug(&self) -> &str {
        "metrics"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let registry = self.registry.clone();
        let clock = self.clock.clone().unwrap_or_else(|| ctx.clock().clone());
        ctx.for_each_resource(move |resource| {
            for operation in Operation::ALL {
                let registry = registry.clone();
                let clock = clock.clone();
                resource
                    .middlewares()
                    .register(operation, move |call, next| {
                        let registry = registry.clone();
                        let clock = clock.clone();
                        async move {
                            let resource = call.resource.clone();
                            let started = clock.now();
                            let result = next.run(call).await;
                            let took =
                                Duration::try_from(clock.now() - started).unwrap_or(Duration::ZERO);
                            registry.observe(&resource, operation, took, result.is_ok());
                            result
                        }
                    });
            }
        });
        Ok(())
    }
}
