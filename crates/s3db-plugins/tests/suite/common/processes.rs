//! Several processes on one bucket: the test binary runs copies of itself, each running one
//! `#[ignore]`d worker test.
//!
//! A worker test starts with `let Some(worker) = Worker::from_env() else { return };`, so it
//! does nothing when run by hand or with `--ignored`, and reports its results with
//! [`Worker::report`]; the parent reads them back with [`Workers::wait`].

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

const ROLE: &str = "S3DB_TEST_WORKER";
const INDEX: &str = "S3DB_TEST_WORKER_INDEX";
const MARK: &str = "S3DB-WORKER-REPORT ";

/// Milliseconds since the Unix epoch by the wall clock (for a start time workers share).
pub fn wall_millis() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    u64::try_from(since.unwrap().as_millis()).unwrap()
}

/// The running worker's view: its index and the parent's parameters.
pub struct Worker {
    /// 0-based index among its siblings.
    pub index: usize,
    params: HashMap<String, String>,
}

impl Worker {
    /// The worker's parameters when this process was started by [`spawn`], else `None`.
    pub fn from_env() -> Option<Worker> {
        std::env::var(ROLE).ok()?;
        let index = std::env::var(INDEX).ok()?.parse().ok()?;
        let params = std::env::vars()
            .filter_map(|(k, v)| Some((k.strip_prefix("S3DB_TEST_PARAM_")?.to_owned(), v)))
            .collect();
        Some(Worker { index, params })
    }

    /// The parameter `name` the parent passed (panics, failing the worker, if missing).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .unwrap_or_else(|| panic!("worker parameter {name} missing"))
    }

    /// Sends one line of results (JSON) to the parent.
    pub fn report(&self, value: &serde_json::Value) {
        println!("{MARK}{value}");
    }
}

/// Child processes running one worker test.
pub struct Workers {
    children: Vec<Child>,
}

/// Starts `n` processes running the worker test `test` (its full path, e.g.
/// `queue::worker`) with `params` (readable with [`Worker::param`]).
pub fn spawn(test: &str, n: usize, params: &[(&str, String)]) -> Workers {
    let exe = std::env::current_exe().unwrap();
    let children = (0..n)
        .map(|index| {
            let mut command = Command::new(&exe);
            command
                .args([
                    test,
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ROLE, "1")
                .env(INDEX, index.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            for (name, value) in params {
                command.env(format!("S3DB_TEST_PARAM_{name}"), value);
            }
            command.spawn().unwrap()
        })
        .collect();
    Workers { children }
}

impl Workers {
    /// The child processes (to kill one mid-run).
    pub fn children(&mut self) -> &mut [Child] {
        &mut self.children
    }

    /// Waits for every process; returns each one's reports (in spawn order) and whether it
    /// exited successfully (a killed one did not).
    pub fn wait(self) -> Vec<(bool, Vec<serde_json::Value>)> {
        self.children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().unwrap();
                let reports = String::from_utf8_lossy(&output.stdout)
                    .lines()
                    // libtest may print the test's name on the same line first.
                    .filter_map(|line| line.split_once(MARK))
                    .map(|(_, json)| serde_json::from_str(json).unwrap())
                    .collect();
                (output.status.success(), reports)
            })
            .collect()
    }
}

#[test]
#[ignore = "a worker process of workers_report_back"]
fn echo_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    worker.report(&serde_json::json!({"index": worker.index, "word": worker.param("WORD")}));
}

#[test]
fn workers_report_back() {
    let mut workers = spawn(
        "common::processes::echo_worker",
        3,
        &[("WORD", "hello".into())],
    );
    assert_eq!(workers.children().len(), 3);
    let results = workers.wait();
    let expected: Vec<_> = (0..3)
        .map(|i| (true, vec![serde_json::json!({"index": i, "word": "hello"})]))
        .collect();
    assert_eq!(results, expected);
}
