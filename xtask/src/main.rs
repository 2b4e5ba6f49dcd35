//! Project automation for s3db.
//!
//! `cargo xtask bench [--backend memory|file|s3] [--n N] [--c C[,C...]] [--endpoint URL]`
//! runs the standard workload (`bench/workload.md` of the shared notes: insert, get, update,
//! list, listIds, count, listPartition, delete, insertMany, deleteAll) through the public
//! `s3db` API and prints one JSON line per phase:
//! `{"impl":"s3db","backend","phase","n","concurrency","seconds","ops_per_s","requests"}`,
//! `requests` counted by the storage metrics layer. `--c` bounds the single-record phases
//! and the record reads of `list`/`listPartition`; `insertMany` and `deleteAll` are single
//! calls whose concurrency is the core's own. The `cargo xtask` alias builds in release.
//!
//! `cargo xtask serve-load [--backend file|s3|memory] [--n N] [--c C] [--endpoint URL]`
//! measures the REST API (`s3db serve`): insert and get-by-id throughput and p50/p99
//! latency over HTTP, one JSON line per phase.

mod bench;
mod serve_load;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project automation.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run the standard workload and print one JSON line per phase.
    Bench(bench::BenchArgs),
    /// Load-test the REST API: insert and get-by-id throughput and latency.
    ServeLoad(serve_load::ServeLoadArgs),
}

fn main() -> ExitCode {
    let args = Xtask::parse();
    let outcome = match args.task {
        Task::Bench(bench_args) => bench::run(bench_args),
        Task::ServeLoad(load_args) => serve_load::run(load_args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
