//! Metrics plugin: operation counts, latencies and storage requests per resource,
//! operation and outcome, recorded through the [`metrics`] facade.
//!
//! Installing [`MetricsPlugin`] (slug `metrics`) wraps every [`Operation`] of every resource
//! (present and future, through `for_each_resource`) in a middleware that records, labelled
//! `resource`, `operation` (s3db.js's name: `insert`, `getMany`…) and `outcome` (`ok` or
//! `error`):
//!
//! - [`OPERATIONS_TOTAL`] (counter): calls completed;
//! - [`DURATION_SECONDS`] (histogram): their duration, measured with the plugin's
//!   [`crate::clock::Clock`] (so tests can move time);
//! - [`STORAGE_REQUESTS_TOTAL`] (counter): the storage requests they sent (counted by the
//!   storage's trace layer, [`s3db_storage::layers::tallied`]).
//!
//! An operation that calls another through the public API is counted as both (`upsert`
//! counts its `exists` and its `insert` or `update`; `getAll` its `list`).
//!
//! Where the numbers go is the application's choice: [`MetricsPlugin::new`] records into
//! the global recorder (`metrics::set_global_recorder`, e.g. the application's own
//! Prometheus or StatsD exporter), so ours merge with its metrics;
//! [`MetricsPlugin::with_recorder`] into a given recorder; [`MetricsPlugin::prometheus`]
//! into a Prometheus recorder of its own ([`prometheus_recorder`]), rendered by
//! [`MetricsPlugin::render`] and, with the crate feature `metrics-http`, served by
//! `MetricsServer::bind` on the address you choose.
//!
//! ```
//! use std::sync::Arc;
//! use s3db_core::{Database, ResourceConfig};
//! use s3db_plugins::metrics::MetricsPlugin;
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Database::connect("memory://metrics-doc").await?;
//! let metrics = MetricsPlugin::prometheus();
//! db.use_plugin(Arc::new(metrics.clone())).await?;
//! let notes = db
//!     .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
//!     .await?;
//! let note = json!({"id": "n1", "text": "hi"});
//! notes.insert(note.as_object().cloned().unwrap_or_default()).await?;
//! assert!(notes.get("missing").await.is_err());
//!
//! let text = metrics.render().unwrap_or_default();
//! assert!(text.contains(
//!     r#"s3db_operations_total{resource="notes",operation="insert",outcome="ok"} 1"#
//! ));
//! assert!(text.contains(
//!     r#"s3db_operations_total{resource="notes",operation="get",outcome="error"} 1"#
//! ));
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

#[cfg(feature = "metrics-http")]
mod http;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use metrics::{Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use s3db_core::extend::{Operation, Plugin, PluginContext};
use s3db_storage::layers::tallied;

use crate::clock::SharedClock;
#[cfg(feature = "metrics-http")]
pub use http::MetricsServer;

/// Name of the calls counter.
pub const OPERATIONS_TOTAL: &str = "s3db_operations_total";
/// Name of the latency histogram (seconds).
pub const DURATION_SECONDS: &str = "s3db_operation_duration_seconds";
/// Name of the storage requests counter.
pub const STORAGE_REQUESTS_TOTAL: &str = "s3db_operation_storage_requests_total";

/// The content type of the Prometheus text ([`MetricsPlugin::render`]).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the latency histogram buckets of [`prometheus_recorder`]; a
/// last `+Inf` bucket is implied.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A Prometheus recorder whose [`DURATION_SECONDS`] is a histogram with
/// [`LATENCY_BUCKETS`] (not the exporter's default summary). Install it globally
/// (`metrics::set_global_recorder`) or hand it to [`MetricsPlugin::with_recorder`]; render
/// with its [`PrometheusRecorder::handle`].
pub fn prometheus_recorder() -> PrometheusRecorder {
    let builder = PrometheusBuilder::new();
    // Only an empty bucket list is refused, and LATENCY_BUCKETS is not empty.
    match builder.set_buckets_for_metric(Matcher::Full(DURATION_SECONDS.into()), &LATENCY_BUCKETS) {
        Ok(builder) => builder.build_recorder(),
        Err(_) => PrometheusBuilder::new().build_recorder(),
    }
}

/// Where the plugin records.
#[derive(Clone)]
enum Sink {
    /// The global recorder of the `metrics` facade.
    Global,
    /// A recorder of the caller's.
    Given(Arc<dyn Recorder + Send + Sync>),
}

impl Sink {
    /// Runs `record` with this sink as the recorder of the `metrics` macros.
    fn with<T>(&self, record: impl FnOnce() -> T) -> T {
        match self {
            Sink::Global => record(),
            Sink::Given(recorder) => metrics::with_local_recorder(recorder.as_ref(), record),
        }
    }
}

/// The metrics plugin; clones share the recorder.
#[derive(Clone)]
pub struct MetricsPlugin {
    sink: Sink,
    /// The handle of a [`MetricsPlugin::prometheus`] plugin's recorder.
    prometheus: Option<PrometheusHandle>,
    /// The clock given; `None`: the database's.
    clock: Option<SharedClock>,
}

impl fmt::Debug for MetricsPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match (&self.sink, &self.prometheus) {
            (Sink::Global, _) => "global",
            (Sink::Given(_), Some(_)) => "prometheus",
            (Sink::Given(_), None) => "given",
        };
        f.debug_struct("MetricsPlugin")
            .field("sink", &sink)
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl Default for MetricsPlugin {
    fn default() -> Self {
        MetricsPlugin::new()
    }
}

impl MetricsPlugin {
    /// A plugin recording into the global recorder of the `metrics` facade (nothing is
    /// kept while none is installed), timing with the database's clock.
    pub fn new() -> MetricsPlugin {
        MetricsPlugin {
            sink: Sink::Global,
            prometheus: None,
            clock: None,
        }
    }

    /// A plugin recording into `recorder`.
    pub fn with_recorder(recorder: Arc<dyn Recorder + Send + Sync>) -> MetricsPlugin {
        MetricsPlugin {
            sink: Sink::Given(recorder),
            prometheus: None,
            clock: None,
        }
    }

    /// A plugin recording into a [`prometheus_recorder`] of its own, read with
    /// [`MetricsPlugin::render`] or [`MetricsPlugin::prometheus_handle`].
    pub fn prometheus() -> MetricsPlugin {
        let recorder = prometheus_recorder();
        let handle = recorder.handle();
        MetricsPlugin {
            prometheus: Some(handle),
            ..MetricsPlugin::with_recorder(Arc::new(recorder))
        }
    }

    /// This plugin timing calls with `clock` (a [`crate::clock::ManualClock`] in tests). A
    /// clock that goes backwards during a call records it as taking no time.
    pub fn with_clock(self, clock: SharedClock) -> MetricsPlugin {
        MetricsPlugin {
            clock: Some(clock),
            ..self
        }
    }

    /// The handle of a [`MetricsPlugin::prometheus`] plugin's recorder (what
    /// `MetricsServer::bind` serves); `None` for other plugins.
    pub fn prometheus_handle(&self) -> Option<&PrometheusHandle> {
        self.prometheus.as_ref()
    }

    /// The Prometheus text of a [`MetricsPlugin::prometheus`] plugin; `None` for other
    /// plugins (their recorder renders, if it can).
    pub fn render(&self) -> Option<String> {
        self.prometheus.as_ref().map(PrometheusHandle::render)
    }

    /// Describes the metrics (help text and unit) to the recorder.
    fn describe(&self) {
        self.sink.with(|| {
            metrics::describe_counter!(
                OPERATIONS_TOTAL,
                "Resource operations completed, by outcome."
            );
            metrics::describe_histogram!(
                DURATION_SECONDS,
                Unit::Seconds,
                "Time taken by resource operations, in seconds."
            );
            metrics::describe_counter!(
                STORAGE_REQUESTS_TOTAL,
                "Storage requests sent by resource operations."
            );
        });
    }
}

#[async_trait]
impl Plugin for MetricsPlugin {
    fn slug(&self) -> &str {
        "metrics"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        self.describe();
        let sink = self.sink.clone();
        let clock = self.clock.clone().unwrap_or_else(|| ctx.clock().clone());
        ctx.for_each_resource(move |resource| {
            for operation in Operation::ALL {
                let sink = sink.clone();
                let clock = clock.clone();
                resource
                    .middlewares()
                    .register(operation, move |call, next| {
                        let sink = sink.clone();
                        let clock = clock.clone();
                        async move {
                            let resource = call.resource.clone();
                            let started = clock.now();
                            let (result, tally) = tallied(next.run(call)).await;
                            let took =
                                Duration::try_from(clock.now() - started).unwrap_or(Duration::ZERO);
                            let outcome = if result.is_ok() { "ok" } else { "error" };
                            let labels = [
                                ("resource", resource.to_string()),
                                ("operation", operation.as_str().to_owned()),
                                ("outcome", outcome.to_owned()),
                            ];
                            sink.with(|| {
                                metrics::counter!(OPERATIONS_TOTAL, &labels).increment(1);
                                metrics::histogram!(DURATION_SECONDS, &labels)
                                    .record(took.as_secs_f64());
                                metrics::counter!(STORAGE_REQUESTS_TOTAL, &labels)
                                    .increment(tally.requests);
                            });
                            result
                        }
                    });
            }
        });
        Ok(())
    }
}
