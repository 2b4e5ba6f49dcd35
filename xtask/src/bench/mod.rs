//! `cargo xtask bench`: the standard workload against one backend, at one or more
//! concurrencies, each on a fresh store.

mod backend;
mod phases;

use clap::{Args, ValueEnum};

pub use backend::{Backend, Server};

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
    /// S3 endpoint (`--backend s3`); without it a local moto server is started and stopped.
    #[arg(long)]
    pub endpoint: Option<String>,
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
}

impl BackendKind {
    /// The `backend` field of the output lines.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::File => "file",
            BackendKind::S3 => "s3-http",
        }
    }
}

/// Runs the workload for every requested concurrency.
pub fn run(args: BenchArgs) -> Result<()> {
    let n = args.n.unwrap_or(match args.backend {
        BackendKind::Memory => 10_000,
        _ => 2_000,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async {
        let server = backend::Server::start(args.backend, args.endpoint.as_deref())?;
        for &c in &args.c {
            let backend = Backend::fresh(args.backend, &server).await?;
            phases::run_workload(&backend, n, usize::from(c.max(1))).await?;
        }
        Ok(())
    })
}
