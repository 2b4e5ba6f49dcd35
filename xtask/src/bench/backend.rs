//! Fresh stores for the workload, each wrapped in the request-counting layer, and the
//! local S3 server (moto or SeaweedFS) a run starts when no endpoint is given.

use std::sync::Arc;

use s3db::storage::layers::{MetricsRecorder, MetricsSnapshot, Stack};
use s3db::storage::{FsStorage, MemoryStorage, S3Storage, Storage};
use s3db_storage::testing::{self, LocalServer};
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
    /// A new, empty store of `kind` (a new bucket on `server` for the S3 servers).
    pub async fn fresh(kind: BackendKind, server: &Server) -> Result<Backend> {
        let (backend, dir): (Arc<dyn Storage>, Option<TempDir>) = match kind {
            BackendKind::Memory => (Arc::new(MemoryStorage::new()), None),
            BackendKind::File => {
                let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
                let store = FsStorage::open(dir.path()).map_err(|e| e.to_string())?;
                (Arc::new(store), Some(dir))
            }
            BackendKind::S3 | BackendKind::Seaweedfs => {
                (Arc::new(server.fresh_bucket().await?), None)
            }
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

/// The S3 endpoint of a run, and the server this run started (stopped on drop).
#[derive(Debug)]
pub struct Server {
    endpoint: Option<String>,
    _started: Option<LocalServer>,
}

impl Server {
    /// For the S3 backends: `endpoint`, or a server of the backend's kind started on a free
    /// port with `.ci/start-s3.sh` (moto for `s3`, SeaweedFS for `seaweedfs`). No server
    /// for memory and file.
    pub fn start(kind: BackendKind, endpoint: Option<&str>) -> Result<Server> {
        let server = match kind {
            BackendKind::Memory | BackendKind::File => None,
            BackendKind::S3 => Some(testing::Server::Moto),
            BackendKind::Seaweedfs => Some(testing::Server::SeaweedFs),
        };
        let Some(server) = server else {
            return Ok(Server {
                endpoint: None,
                _started: None,
            });
        };
        if let Some(endpoint) = endpoint {
            return Ok(Server {
                endpoint: Some(endpoint.to_owned()),
                _started: None,
            });
        }
        let started = LocalServer::start(server, None)
            .map_err(|e| format!("cannot start {}: {e}", server.name()))?;
        Ok(Server {
            endpoint: Some(started.endpoint().to_owned()),
            _started: Some(started),
        })
    }

    /// The endpoint (`None` for memory and file).
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
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
