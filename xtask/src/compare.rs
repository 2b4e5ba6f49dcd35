//! `cargo xtask compare`: the standard workload through s3db and through s3db.js 21.6.2 on
//! the same backend in one run, side by side.
//!
//! s3db runs in-process (the `bench` code); s3db.js through its harness
//! (`bench-s3dbjs.mjs` of the shared notes' `bench/s3dbjs/`, Node and s3db.js installed by its
//! `setup.sh`). s3db.js is run twice: every phase but `update` (its `update()` lists the whole
//! partition on every call and slows the phases after it 3–5×), then `insert,update` for the
//! update figure. On `seaweedfs` one server, started here on a free port, serves both.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::bench::{self, Backend, BackendKind, PhaseLine, Result, Server};

/// The phases of s3db.js's first run: the workload without `update`.
const WITHOUT_UPDATE: &str =
    "insert,get,list,listIds,count,listPartition,delete,insertMany,deleteAll";
/// The phases of s3db.js's second run, for its `update` figure.
const UPDATE_ONLY: &str = "insert,update";

/// Options of `cargo xtask compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Records (default: 10000 on memory, 1000 on SeaweedFS).
    #[arg(long)]
    pub n: Option<u32>,
    /// Requests in flight in the single-record phases.
    #[arg(long, default_value_t = 32)]
    pub c: u16,
    /// Where the records go.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    pub backend: Backends,
    /// The comparison as JSON lines, one per backend and phase (appended).
    #[arg(long, default_value = "target/compare.jsonl")]
    pub out: PathBuf,
    /// Directory of the s3db.js harness (`bench-s3dbjs.mjs`, `setup.sh`); default
    /// `../shared/bench/s3dbjs` beside the workspace.
    #[arg(long)]
    pub harness: Option<PathBuf>,
    /// Rounds of s3db then s3db.js (without `update`), one after the other; each phase
    /// reports each side's median round (an odd number gives a round's own figures). The
    /// `update` run of s3db.js (minutes at N = 10 000) runs once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub rounds: u16,
}

/// Backends `compare` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backends {
    /// The in-process memory store (s3db.js: its `memory://` client).
    Memory,
    /// A SeaweedFS server started for the run.
    Seaweedfs,
    /// Memory, then SeaweedFS.
    Both,
}

impl Backends {
    fn kinds(self) -> &'static [BackendKind] {
        match self {
            Backends::Memory => &[BackendKind::Memory],
            Backends::Seaweedfs => &[BackendKind::Seaweedfs],
            Backends::Both => &[BackendKind::Memory, BackendKind::Seaweedfs],
        }
    }
}

/// One phase side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The s3db line.
    pub s3db: PhaseLine,
    /// The s3db.js line of the same phase, if its run had it.
    pub s3dbjs: Option<PhaseLine>,
    /// Phases of the s3db.js run the line comes from.
    pub s3dbjs_phases: &'static str,
}

impl Row {
    /// s3db's rate over s3db.js's.
    pub fn ratio(&self) -> Option<f64> {
        let theirs = self.s3dbjs.as_ref()?.ops_per_s;
        (theirs > 0.0).then(|| self.s3db.ops_per_s / theirs)
    }

    /// The comparison's JSON line.
    pub fn to_json(&self) -> Value {
        let js = self.s3dbjs.as_ref();
        json!({
            "backend": self.s3db.backend,
            "phase": self.s3db.phase,
            "n": self.s3db.n,
            "concurrency": self.s3db.concurrency,
            "s3db_ops_per_s": self.s3db.ops_per_s,
            "s3dbjs_ops_per_s": js.map(|l| l.ops_per_s),
            "ratio": self.ratio(),
            "s3db_requests_per_record": requests_per_record(&self.s3db),
            "s3dbjs_requests_per_record": js.and_then(requests_per_record),
            "s3dbjs_phases": self.s3dbjs_phases,
            "s3db": self.s3db,
            "s3dbjs": js,
        })
    }
}

/// Requests of a phase per record it handled.
fn requests_per_record(line: &PhaseLine) -> Option<f64> {
    let requests = line.requests?;
    (line.n > 0).then(|| requests as f64 / line.n as f64)
}

/// Runs the comparison on every backend asked for.
pub fn run(args: CompareArgs) -> Result<()> {
    let harness = args.harness.clone().unwrap_or_else(default_harness);
    let node = NodeEnv::find(&harness)?;
    let c = args.c.max(1);
    let mut all = Vec::new();
    for &kind in args.backend.kinds() {
        let n = args.n.unwrap_or(match kind {
            BackendKind::Memory => 10_000,
            _ => 1_000,
        });
        let server = Server::start(kind, None)?;
        let cs = s3dbjs_connection(kind, server.endpoint())?;
        let (mut ours, mut main) = (Vec::new(), Vec::new());
        for round in 1..=args.rounds {
            let label = format!("{} N = {n} C = {c}", kind.label());
            eprintln!("== {label}: s3db (round {round} of {})", args.rounds);
            ours.push(bench::runtime()?.block_on(async {
                let backend = Backend::fresh(kind, &server).await?;
                bench::run_workload(&backend, n, usize::from(c), &|line| {
                    eprintln!("{}", serde_json::to_string(line).unwrap_or_default());
                })
                .await
            })?);
            eprintln!("== {label}: s3db.js without update (round {round})");
            main.push(node.run(&harness, &cs, kind, n, c, WITHOUT_UPDATE)?);
        }
        let (ours, main) = (median_rounds(&ours), median_rounds(&main));
        eprintln!(
            "== {} N = {n} C = {c}: s3db.js insert, update",
            kind.label()
        );
        let update = node.run(&harness, &cs, kind, n, c, UPDATE_ONLY)?;
        let rows = compare(ours, &main, &update);
        write_lines(&args.out, &rows)?;
        all.extend(rows);
    }
    print!("{}", table(&all));
    eprintln!("JSON lines appended to {}", args.out.display());
    Ok(())
}

/// For each phase of the first round, in its order, the line of the round with the median
/// rate (the upper one of an even number of rounds).
pub fn median_rounds(rounds: &[Vec<PhaseLine>]) -> Vec<PhaseLine> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|line| {
            let mut same: Vec<&PhaseLine> = rounds
                .iter()
                .filter_map(|round| round.iter().find(|l| l.phase == line.phase))
                .collect();
            same.sort_by(|a, b| a.ops_per_s.total_cmp(&b.ops_per_s));
            same.get(same.len() / 2).map(|median| (*median).clone())
        })
        .collect()
}

/// Pairs each s3db phase with s3db.js's: `update` from the `insert,update` run, every other
/// phase from the run without `update`.
pub fn compare(ours: Vec<PhaseLine>, main: &[PhaseLine], update: &[PhaseLine]) -> Vec<Row> {
    ours.into_iter()
        .map(|s3db| {
            let (lines, phases) = match s3db.phase.as_str() {
                "update" => (update, UPDATE_ONLY),
                _ => (main, WITHOUT_UPDATE),
            };
            let s3dbjs = lines.iter().find(|l| l.phase == s3db.phase).cloned();
            Row {
                s3db,
                s3dbjs,
                s3dbjs_phases: phases,
            }
        })
        .collect()
}

/// The phase lines of a harness's standard output (other lines are skipped).
pub fn parse_lines(stdout: &str) -> Vec<PhaseLine> {
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The side-by-side table: rates, ratio and requests per record of each phase.
pub fn table(rows: &[Row]) -> String {
    let dash = || "—".to_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<14} {:>6} {:>3} {:>12} {:>12} {:>8} {:>10} {:>10}",
        "backend", "phase", "n", "c", "s3db/s", "s3db.js/s", "ratio", "req/rec", "js req/rec"
    );
    for row in rows {
        let js = row.s3dbjs.as_ref();
        let _ = writeln!(
            out,
            "{:<10} {:<14} {:>6} {:>3} {:>12.0} {:>12} {:>8} {:>10} {:>10}",
            row.s3db.backend,
            row.s3db.phase,
            row.s3db.n,
            row.s3db.concurrency,
            row.s3db.ops_per_s,
            js.map_or_else(dash, |l| format!("{:.0}", l.ops_per_s)),
            row.ratio().map_or_else(dash, |r| format!("{r:.1}×")),
            requests_per_record(&row.s3db).map_or_else(dash, |r| format!("{r:.3}")),
            js.and_then(requests_per_record)
                .map_or_else(dash, |r| format!("{r:.3}")),
        );
    }
    out
}

fn write_lines(path: &Path, rows: &[Row]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    for row in rows {
        writeln!(file, "{}", row.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `../shared/bench/s3dbjs` beside the workspace.
fn default_harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/s3dbjs")
}

/// The s3db.js connection string of a backend: its memory client, or a bucket of the server.
fn s3dbjs_connection(kind: BackendKind, endpoint: Option<&str>) -> Result<String> {
    if kind == BackendKind::Memory {
        return Ok("memory://bench/p".into());
    }
    let endpoint = endpoint.ok_or("no S3 endpoint")?;
    let (scheme, host) = endpoint
        .split_once("://")
        .ok_or_else(|| format!("endpoint {endpoint:?} has no scheme"))?;
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let (key, secret) = (
        env("S3_ACCESS_KEY", "s3dbtest"),
        env("S3_SECRET_KEY", "s3dbtestsecret"),
    );
    Ok(format!(
        "{scheme}://{key}:{secret}@{}/s3dbjs-bench/p",
        host.trim_end_matches('/')
    ))
}

/// Node and the s3db.js install the harness runs with.
#[derive(Debug)]
struct NodeEnv {
    vars: Vec<(String, String)>,
}

impl NodeEnv {
    /// `$NODE` and `$S3DB_BENCH_DIR` when both are set, else what `setup.sh --env` prints
    /// (it installs Node 24 and s3db.js on first use).
    fn find(harness: &Path) -> Result<NodeEnv> {
        if let (Ok(node), Ok(dir)) = (std::env::var("NODE"), std::env::var("S3DB_BENCH_DIR")) {
            return Ok(NodeEnv {
                vars: vec![("NODE".into(), node), ("S3DB_BENCH_DIR".into(), dir)],
            });
        }
        let setup = harness.join("setup.sh");
        let output = Command::new("bash")
            .arg(&setup)
            .arg("--env")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", setup.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let vars = parse_env(&stdout);
        if !output.status.success() || !vars.iter().any(|(k, _)| k == "NODE") {
            return Err(format!("{} --env failed: {stdout}", setup.display()));
        }
        Ok(NodeEnv { vars })
    }

    fn node(&self) -> Result<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == "NODE")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| "no NODE".to_owned())
    }

    /// Runs the harness for `phases`; its phase lines.
    fn run(
        &self,
        harness: &Path,
        cs: &str,
        kind: BackendKind,
        n: u32,
        c: u16,
        phases: &str,
    ) -> Result<Vec<PhaseLine>> {
        let script = harness.join("bench-s3dbjs.mjs");
        let output = Command::new(self.node()?)
            .arg(&script)
            .args(["--cs", cs, "--backend", kind.label(), "--phases", phases])
            .args(["--n", &n.to_string(), "--c", &c.to_string()])
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines = parse_lines(&stdout);
        if !output.status.success() || lines.is_empty() {
            return Err(format!(
                "s3db.js harness failed ({}): {stdout}",
                output.status
            ));
        }
        for line in &lines {
            eprintln!("{}", serde_json::to_string(line).unwrap_or_default());
        }
        Ok(lines)
    }
}

/// The variables of an `export A=1 B=2` line (the last such line wins).
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("export "))
        .map(|vars| {
            vars.split_whitespace()
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(implementation: &str, phase: &str, ops_per_s: f64, requests: Option<u64>) -> PhaseLine {
        PhaseLine {
            implementation: implementation.into(),
            backend: "memory".into(),
            phase: phase.into(),
            n: 100,
            concurrency: 32,
            seconds: 100.0 / ops_per_s,
            ops_per_s,
            requests,
        }
    }

    #[test]
    fn harness_lines_are_parsed_and_noise_skipped() {
        let stdout = "warming up\n\
            {\"impl\":\"s3db.js\",\"backend\":\"memory\",\"phase\":\"insert\",\"n\":100,\
            \"concurrency\":32,\"seconds\":0.5,\"ops_per_s\":200.0,\"requests\":300,\
            \"requests_source\":\"client_ops\",\"rep\":1}\n\
            {\"impl\":\"s3db.js\",\"backend\":\"memory\",\"phase\":\"count\",\"n\":100,\
            \"concurrency\":32,\"seconds\":0.1,\"ops_per_s\":1000.0,\"requests\":null}\n\
            {\"summary\":true}\n";
        let lines = parse_lines(stdout);
        assert_eq!(
            lines,
            [
                PhaseLine {
                    seconds: 0.5,
                    ..line("s3db.js", "insert", 200.0, Some(300))
                },
                PhaseLine {
                    seconds: 0.1,
                    ..line("s3db.js", "count", 1000.0, None)
                },
            ]
        );
    }

    #[test]
    fn update_comes_from_its_own_run_and_the_rest_from_the_run_without_it() {
        let ours = vec![
            line("s3db", "insert", 1000.0, Some(200)),
            line("s3db", "update", 800.0, Some(200)),
            line("s3db", "deleteAll", 500.0, Some(2)),
        ];
        let main = [line("s3db.js", "insert", 100.0, Some(300))];
        let update = [
            line("s3db.js", "insert", 90.0, Some(300)),
            line("s3db.js", "update", 2.0, Some(500)),
        ];
        let rows = compare(ours, &main, &update);
        assert_eq!(rows[0].ratio(), Some(10.0));
        assert_eq!(rows[0].s3dbjs_phases, WITHOUT_UPDATE);
        assert_eq!(rows[1].ratio(), Some(400.0));
        assert_eq!(rows[1].s3dbjs_phases, UPDATE_ONLY);
        assert_eq!(rows[2].s3dbjs, None);
        let json = rows[1].to_json();
        assert_eq!(json["s3db_requests_per_record"], 2.0);
        assert_eq!(json["s3dbjs_requests_per_record"], 5.0);

        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(
            lines[1].contains("insert") && lines[1].contains("10.0×"),
            "{table}"
        );
        assert!(
            lines[2].contains("400.0×") && lines[2].contains("5.000"),
            "{table}"
        );
        assert!(
            lines[3].contains("deleteAll") && lines[3].contains('—'),
            "{table}"
        );
    }

    #[test]
    fn each_phase_takes_its_median_round() {
        let rounds = vec![
            vec![
                line("s3db", "insert", 300.0, None),
                line("s3db", "list", 5.0, None),
            ],
            vec![
                line("s3db", "insert", 100.0, None),
                line("s3db", "list", 9.0, None),
            ],
            vec![
                line("s3db", "insert", 200.0, None),
                line("s3db", "list", 7.0, None),
            ],
        ];
        let median = median_rounds(&rounds);
        let rates: Vec<(&str, f64)> = median
            .iter()
            .map(|l| (l.phase.as_str(), l.ops_per_s))
            .collect();
        assert_eq!(rates, [("insert", 200.0), ("list", 7.0)]);
        assert_eq!(median_rounds(&rounds[..1]), rounds[0]);
        assert_eq!(
            median_rounds(&rounds[..2])[0].ops_per_s,
            300.0,
            "the upper of two"
        );
        assert!(median_rounds(&[]).is_empty());
    }

    #[test]
    fn setup_env_line_gives_node_and_the_install() {
        let vars = parse_env("installing...\nexport NODE=/x/node S3DB_BENCH_DIR=/x/bench\n");
        assert_eq!(
            vars,
            [
                ("NODE".to_owned(), "/x/node".to_owned()),
                ("S3DB_BENCH_DIR".to_owned(), "/x/bench".to_owned()),
            ]
        );
        assert!(parse_env("nothing here").is_empty());
    }

    #[test]
    fn server_connection_strings_carry_the_test_credentials() {
        assert_eq!(
            s3dbjs_connection(BackendKind::Memory, None).unwrap(),
            "memory://bench/p"
        );
        let cs = s3dbjs_connection(BackendKind::Seaweedfs, Some("http://127.0.0.1:8333")).unwrap();
        assert!(cs.starts_with("http://") && cs.ends_with("@127.0.0.1:8333/s3dbjs-bench/p"));
        assert!(s3dbjs_connection(BackendKind::Seaweedfs, None).is_err());
    }
}
