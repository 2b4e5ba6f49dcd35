//! `--metrics-addr` of the long-running commands (`serve`, `mcp`): the Prometheus text of
//! the operations they run, on an address of the user's choosing.

use std::net::SocketAddr;
use std::sync::Arc;

use s3db::Database;
use s3db::plugins::metrics::{MetricsPlugin, MetricsServer};

use crate::error::{CliError, ExitKind, Result};

/// Installs a Prometheus metrics plugin on `db` and serves its text at
/// `http://ADDR/metrics`.
pub async fn serve_metrics(db: &Database, addr: SocketAddr) -> Result<MetricsServer> {
    let metrics = MetricsPlugin::prometheus();
    db.use_plugin(Arc::new(metrics.clone()))
        .await
        .map_err(|e| {
            CliError::context(ExitKind::Failure, "cannot install the metrics plugin", e)
        })?;
    let handle = metrics
        .prometheus_handle()
        .cloned()
        .ok_or_else(|| CliError::usage("the metrics plugin has no Prometheus recorder"))?;
    MetricsServer::bind(handle, addr).await.map_err(|e| {
        CliError::context(
            ExitKind::Usage,
            format!("cannot serve metrics on --metrics-addr {addr}"),
            e,
        )
    })
}
