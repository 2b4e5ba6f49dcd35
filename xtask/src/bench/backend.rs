//! Fresh stores for the workload, each wrapped in the request-counting layer, and the
//! local moto server `--backend s3` starts when no endpoint is given.

use std::process::{Command, Stdio};
use std::sync::Arc;

use s3db::storage::layers::{MetricsRecorder, MetricsSnapshot, Stack};
use s3db::storage::{FsStorage, MemoryStorage, S3Storage, Storage};
use s3db_storage::testing::{self, ci_script, launch_moto};
use tempfile::TempDir;

use super::{BackendKind, Result};

/// A store under test: its layered storage, its request counter, and what keeps it alive.
#[derive(Debug)]
pub struct Backend {
    /// Which backend.
    pub kind: BackendKind,
    /// The storage with the metrics layer on top.
    pub storage: Arc<dyn Storage>,
    metrics: MetricsRecorder,
    _dir: Option<TempDir>,
}

impl Backend {
    /// A new, empty store of `kind` (a new bucket on `server` for S3).
    pub async fn fresh(kind: BackendKind, server: &Server) -> Result<Backend> {
        let (backend, dir): (Arc<dyn Storage>, Option<TempDir>) = match kind {
            BackendKind::Memory => (Arc::new(MemoryStorage::new()), None),
            BackendKind::File => {
                let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
                let store = FsStorage::open(dir.path()).map_err(|e| e.to_string())?;
                (Arc::new(store), Some(dir))
            }
            BackendKind::S3 => (Arc::new(server.fresh_bucket().await?), None),
        };
        let stack = Stack::builder(backend).metrics().build();
        let metrics = stack
            .metrics()
            .cloned()
            .ok_or("the metrics layer is missing from the stack")?;
        Ok(Backend {
            kind,
            storage: stack.storage(),
            metrics,
            _dir: dir,
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }
}

/// The S3 endpoint of a run, and the moto server this run started (stopped on drop).
#[derive(Debug)]
pub struct Server {
    endpoint: Option<String>,
    started_port: Option<u16>,
}

impl Server {
    /// For `--backend s3`: `endpoint`, or a moto server started with `.ci/start-s3.sh`.
    pub fn start(kind: BackendKind, endpoint: Option<&str>) -> Result<Server> {
        if kind != BackendKind::S3 {
            return Ok(Server {
                endpoint: None,
                started_port: None,
            });
        }
        if let Some(endpoint) = endpoint {
            return Ok(Server {
                endpoint: Some(endpoint.to_owned()),
                started_port: None,
            });
        }
        let (endpoint, port) = launch_moto()?;
        Ok(Server {
            endpoint: Some(endpoint),
            started_port: Some(port),
        })
    }

    /// A new bucket on the server.
    async fn fresh_bucket(&self) -> Result<S3Storage> {
        let endpoint = self.endpoint.clone().ok_or("no S3 endpoint")?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let config = testing::s3_config_at(endpoint, &format!("s3db-bench-{nanos:x}"));
        testing::create_bucket(&config)
            .await
            .map_err(|e| format!("{e}"))?;
        S3Storage::connect(&config)
            .await
            .map_err(|e| format!("{e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(port) = self.started_port {
            let stopped = Command::new("bash")
                .arg(ci_script("stop-s3.sh"))
                .args(["moto", &port.to_string()])
                .stdin(Stdio::null())
                .status();
            if let Err(e) = stopped {
                eprintln!("warning: cannot stop moto on port {port}: {e}");
            }
        }
    }
}
