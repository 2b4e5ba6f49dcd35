//! Project automation for s3db.
//!
//! `cargo xtask bench [--backend memory|file|s3|seaweedfs] [--n N] [--c C[,C...]] [--endpoint URL]`
//! runs the standard workload (`bench/workload.md` of the shared notes: insert, get, update,
//! list, listIds, count, listPartition, delete, insertMany, deleteAll) through the public
//! `s3db` API and prints one JSON line per phase:
//! `{"impl":"s3db","backend","phase","n","concurrency","seconds","ops_per_s","requests"}`,
//! `requests` counted by the storage metrics layer. `--c` bounds the single-record phases
//! and the record reads of `list`/`listPartition`; `insertMany` and `deleteAll` are single
//! calls whose concurrency is the core's own. `--backend s3` and `seaweedfs` start their own
//! server (moto, SeaweedFS) on a free port unless `--endpoint` is given. The `cargo xtask`
//! alias builds in release.
//!
//! `cargo xtask compare [--backend memory|seaweedfs|both] [--n N] [--c C] [--rounds K]
//! [--out FILE]` runs the same workload through s3db and through s3db.js (the shared notes'
//! harness) on the same backend and prints per phase both rates (each side's median of K
//! rounds), the ratio and the requests per record; the comparison also goes to FILE as JSON
//! lines (default `target/compare.jsonl`).
//!
//! `cargo xtask serve-load [--backend file|s3|memory] [--n N] [--c C] [--endpoint URL]`
//! measures the REST API (`s3db serve`): insert and get-by-id throughput and p50/p99
//! latency over HTTP, one JSON line per phase.
//!
//! `cargo xtask profile [--n N] [--c C] [--out DIR]` runs the memory workload under
//! callgrind (valgrind must be installed) and prints the instructions per operation of each
//! phase, one JSON line per phase; the dumps stay in `DIR` for `callgrind_annotate`.
//!
//! `cargo xtask msrv` fails when a locked dependency declares a higher `rust-version` than
//! the workspace; `cargo xtask deps` fails when `s3db` without default features depends on
//! the AWS SDK or a replicator target client (tokio-postgres, mysql_async, rusqlite,
//! reqwest), when any feature set compiles aws-lc, or when the CLI built without `s3` does
//! not refuse an `s3://` string by naming the feature. Neither needs the
//! s3db crates: CI runs them as `cargo run -p xtask --no-default-features -- msrv` (`deps`).

#[cfg(feature = "bench")]
mod bench;

// The workload measures s3db as the CLI ships it: with mimalloc in place of malloc (see
// crates/s3db-cli).
#[cfg(feature = "bench")]
use mimalloc as _;
mod checks;
#[cfg(feature = "bench")]
mod compare;
#[cfg(feature = "bench")]
mod profile;
#[cfg(feature = "bench")]
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
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
    /// Run the standard workload through s3db and s3db.js and print them side by side.
    #[cfg(feature = "bench")]
    Compare(compare::CompareArgs),
    /// Fail if a locked dependency needs a newer Rust than the workspace's `rust-version`.
    Msrv,
    /// Fail if `s3db` without default features pulls in the AWS SDK or a replicator target
    /// client, if aws-lc is compiled, or if the CLI without `s3` accepts `s3://`.
    Deps,
    /// Count the instructions per operation of each workload phase under callgrind.
    #[cfg(feature = "bench")]
    Profile(profile::ProfileArgs),
    /// Load-test the REST API: insert and get-by-id throughput and latency.
    #[cfg(feature = "bench")]
    ServeLoad(serve_load::ServeLoadArgs),
}

fn main() -> ExitCode {
    let args = Xtask::parse();
    let outcome = match args.task {
        #[cfg(feature = "bench")]
        Task::Bench(bench_args) => bench::run(bench_args),
        #[cfg(feature = "bench")]
        Task::Compare(compare_args) => compare::run(compare_args),
        #[cfg(feature = "bench")]
        Task::ServeLoad(load_args) => serve_load::run(load_args),
        #[cfg(feature = "bench")]
        Task::Profile(profile_args) => profile::run(profile_args),
        Task::Msrv => checks::msrv(),
        Task::Deps => checks::deps(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
