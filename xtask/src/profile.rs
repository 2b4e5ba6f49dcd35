//! `cargo xtask profile`: instructions per operation of each workload phase, counted by
//! callgrind. Wall time on a shared machine is noise; instruction counts repeat to a fraction
//! of a percent, so before/after comparisons of the hot paths use them.
//!
//! The workload runs as `cargo xtask bench` in a child process under
//! `valgrind --tool=callgrind --dump-before=*phase_boundary*`: the bench calls
//! `phase_boundary` right before and right after each timed phase, so callgrind writes one
//! dump per phase (and one per gap between phases). The dumps stay in `--out` for
//! `callgrind_annotate`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::bench::{Result, TracingMode};

/// Options of `cargo xtask profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Records of the workload (memory backend).
    #[arg(long, default_value_t = 2000)]
    pub n: u32,
    /// Requests in flight.
    #[arg(long, default_value_t = 1)]
    pub c: u16,
    /// Where the callgrind dumps go (`callgrind.out.K`, dump K).
    #[arg(long, default_value = "target/callgrind")]
    pub out: PathBuf,
    /// The `tracing` subscriber of the run (`cargo xtask bench --tracing`).
    #[arg(long, value_enum, default_value_t = TracingMode::None)]
    pub tracing: TracingMode,
}

/// Runs the workload under callgrind and prints one JSON line per phase:
/// `{"phase","n","concurrency","instructions","instructions_per_op","dump"}`.
pub fn run(args: ProfileArgs) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let base = args.out.join("callgrind.out");
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--dump-before=*phase_boundary*")
        // Each dump names its functions itself, so `callgrind_annotate` reads it alone.
        .arg("--compress-strings=no")
        .arg(format!("--callgrind-out-file={}", base.display()))
        .arg(&exe)
        .args(["bench", "--backend", "memory"])
        .args(["--n", &args.n.to_string(), "--c", &args.c.to_string()])
        .args(["--tracing", &tracing_arg(args.tracing)])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the workload under callgrind failed: {}",
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let phases: Vec<String> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| line.get("phase")?.as_str().map(str::to_owned))
        .collect();
    // Dump 1 is the start-up; phase k (from 0) is dump 2k + 2, the gap after it 2k + 3.
    for (k, phase) in phases.iter().enumerate() {
        let dump = dump_path(&base, 2 * k + 2);
        let instructions = instructions_in(&dump)?;
        let line = json!({
            "phase": phase,
            "n": args.n,
            "concurrency": args.c,
            "tracing": tracing_arg(args.tracing),
            "instructions": instructions,
            "instructions_per_op": instructions / u64::from(args.n.max(1)),
            "dump": dump.display().to_string(),
        });
        println!("{line}");
    }
    Ok(())
}

/// The `--tracing` argument naming `mode`.
fn tracing_arg(mode: TracingMode) -> String {
    mode.to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

/// The file of callgrind dump `k` for `--callgrind-out-file=base`.
fn dump_path(base: &Path, k: usize) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{k}"));
    PathBuf::from(name)
}

/// The instruction total (`summary:`/`totals:` line) of a callgrind dump.
fn instructions_in(dump: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(dump)
        .map_err(|e| format!("cannot read {}: {e}", dump.display()))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{} has no instruction total", dump.display()))
}
