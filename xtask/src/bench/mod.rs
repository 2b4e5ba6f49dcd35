//! `cargo xtask bench`: the standard workload against one backend, at one or more
//! concurrencies, each on a fresh store.

mod backend;
mod phases;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

pub use backend::{Backend, Server};
pub use phases::run_workload;

/// A failure, as text (this is a tool, not a library).
pub type Result<T> = std::result::Result<T, String>;

/// Options of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Where the records go.
    #[arg(long, value_enum, default_value_t = BackendKind::Memory)]
    pub backend: BackendKind,
    /// Records (default: the standard run's 10000 for memory, 2000 otherwise).
    #[arg(long)]
    pub n: Option<u32>,
    /// Requests in flight; a comma-separated list runs each in turn.
    #[arg(long, value_delimiter = ',', default_values_t = [1u16, 32])]
    pub c: Vec<u16>,
    /// S3 endpoint (`--backend s3` or `seaweedfs`); without it the run starts its own
    /// server (moto or SeaweedFS) on a free port and stops it at the end.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The `tracing` subscriber during the run, to measure what the operation spans cost
    /// (docs/observability.md).
    #[arg(long, value_enum, default_value_t = TracingMode::None)]
    pub tracing: TracingMode,
}

/// Which `tracing` subscriber a run installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TracingMode {
    /// None: every span and event is off at its call site.
    None,
    /// A subscriber filtering at `info`: the `DEBUG` operation spans are disabled.
    Info,
    /// A subscriber at `debug` for the operations (`s3db_core::operation=debug`), each
    /// line formatted and written to a sink.
    Debug,
}

impl TracingMode {
    /// Installs the subscriber of this mode for the whole process.
    fn install(self) -> Result<()> {
        let filter = match self {
            TracingMode::None => return Ok(()),
            TracingMode::Info => "info",
            TracingMode::Debug => "info,s3db_core::operation=debug",
        };
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::sink)
            .try_init()
            .map_err(|e| format!("cannot install the tracing subscriber: {e}"))
    }
}

/// Backends of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The in-process memory store.
    Memory,
    /// The filesystem store in a temporary directory (durable writes).
    File,
    /// An S3-compatible server over HTTP (moto unless `--endpoint` is given).
    S3,
    /// SeaweedFS's S3 gateway over HTTP (started by the run unless `--endpoint` is given).
    Seaweedfs,
}

impl BackendKind {
    /// The `backend` field of the output lines.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::File => "file",
            BackendKind::S3 => "s3-http",
            BackendKind::Seaweedfs => "seaweedfs",
        }
    }
}

/// One phase of one run: the JSON line of the workload's output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseLine {
    /// `s3db` or `s3db.js`.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// Backend label (`memory`, `seaweedfs`, ...).
    pub backend: String,
    /// Phase name (`insert`, `listPartition`, ...).
    pub phase: String,
    /// Records the phase handled.
    pub n: u64,
    /// Requests in flight (single-record phases).
    pub concurrency: u64,
    /// Wall time of the phase.
    pub seconds: f64,
    /// `n / seconds`.
    pub ops_per_s: f64,
    /// Storage requests of the phase (`None` where not counted).
    pub requests: Option<u64>,
}

/// Runs the workload for every requested concurrency.
pub fn run(args: BenchArgs) -> Result<()> {
    let n = args.n.unwrap_or(match args.backend {
        BackendKind::Memory => 10_000,
        _ => 2_000,
    });
    args.tracing.install()?;
    runtime()?.block_on(async {
        let server = backend::Server::start(args.backend, args.endpoint.as_deref())?;
        for &c in &args.c {
            let backend = Backend::fresh(args.backend, &server).await?;
            run_workload(&backend, n, usize::from(c.max(1)), &|line| {
                println!("{}", serde_json::to_string(line).unwrap_or_default());
            })
            .await?;
        }
        Ok(())
    })
}

/// The multi-threaded runtime the workloads run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))
}
