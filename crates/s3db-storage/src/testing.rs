//! Test helpers (cargo feature `testing`): real S3 servers for integration tests.
//!
//! Tests get a fresh bucket on a local S3-compatible server so they never interfere. Two
//! servers are supported ([`Server`]): moto (a mock that follows AWS closely) and SeaweedFS
//! (a real distributed object store):
//!
//! * If `S3DB_TEST_S3_ENDPOINT` (moto) or `S3DB_TEST_SEAWEEDFS_ENDPOINT` is set (CI's
//!   `.ci/run` starts both and exports them), that server is used.
//! * Otherwise the first call in a test process starts the server itself with
//!   `bash <workspace>/.ci/start-s3.sh moto|seaweedfs <free port>` and a watchdog that stops
//!   it (via `.ci/stop-s3.sh`) once the test process has exited.
//!
//! [`LocalServer`] is a server of a test's own, which the test can kill and restart (crash
//! tests).
//!
//! Credentials come from `S3_ACCESS_KEY`/`S3_SECRET_KEY` (defaults `s3dbtest` /
//! `s3dbtestsecret`, the ones the start script gives the servers that check them; moto
//! accepts any).
//!
//! Downstream crates enable it in their dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! s3db-storage = { workspace = true, features = ["testing"] }
//! ```
//!
//! ```no_run
//! # async fn example() -> s3db_storage::Result<()> {
//! use s3db_storage::{Storage, testing};
//! let store = testing::fresh_s3_storage().await?;
//! assert!(store.capabilities().conditional_create);
//! let on_seaweedfs = testing::fresh_storage_on(testing::Server::SeaweedFs).await?;
//! assert!(on_seaweedfs.capabilities().transient_failures);
//! # Ok(()) }
//! ```

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::s3::{S3Config, S3Credentials, S3Storage};

/// Environment variable naming an already running moto endpoint.
pub const ENDPOINT_ENV: &str = "S3DB_TEST_S3_ENDPOINT";
/// Environment variable naming an already running SeaweedFS S3 endpoint.
pub const SEAWEEDFS_ENDPOINT_ENV: &str = "S3DB_TEST_SEAWEEDFS_ENDPOINT";

/// A local S3-compatible server the start script knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// moto, served one request at a time (`.ci/moto-serial.py`); in memory.
    Moto,
    /// SeaweedFS (master, volume, filer and S3 gateway in one process); keeps its data in a
    /// directory, so it survives a restart. Uses ports `PORT..=PORT+3` and
    /// `PORT+11..=PORT+14`.
    SeaweedFs,
}

impl Server {
    /// The start script's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Server::Moto => "moto",
            Server::SeaweedFs => "seaweedfs",
        }
    }

    /// The environment variable naming an already running instance.
    pub fn endpoint_env(self) -> &'static str {
        match self {
            Server::Moto => ENDPOINT_ENV,
            Server::SeaweedFs => SEAWEEDFS_ENDPOINT_ENV,
        }
    }

    /// Port offsets (from the S3 port) the server listens on.
    fn port_offsets(self) -> &'static [u16] {
        match self {
            Server::Moto => &[0],
            Server::SeaweedFs => &[0, 1, 2, 3, 11, 12, 13, 14],
        }
    }
}

fn unavailable(message: String) -> Error {
    Error::new(ErrorKind::Unavailable, Operation::Connect, "").with_message(message)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of one of the workspace's `.ci/` server scripts (`start-s3.sh`, `stop-s3.sh`).
pub fn ci_script(name: &str) -> PathBuf {
    workspace_root().join(".ci").join(name)
}

/// A port where every port `server` needs is free right now, below the ephemeral range
/// (32768+) the kernel hands to client sockets, so a server restarted on the same ports
/// cannot find one of them taken by an outgoing connection meanwhile.
fn free_port(server: Server) -> std::result::Result<u16, String> {
    let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id() as usize * 7919 + nanos as usize / 1000;
    for _ in 0..200 {
        let step = NEXT.fetch_add(1, Ordering::Relaxed) as usize;
        // Spread over 20000..32000 by process and call, in steps of 20 (a server's span).
        let port = u16::try_from(20_000 + (seed + step * 20) % 12_000)
            .map_err(|e| format!("no free port: {e}"))?;
        let offsets = server.port_offsets();
        if offsets
            .iter()
            .all(|offset| port.checked_add(*offset).is_some_and(free))
        {
            return Ok(port);
        }
    }
    Err(format!("no free port range for {}", server.name()))
}

/// Runs `.ci/start-s3.sh` for `server` on `port` (data in `data_dir`, if the server keeps
/// any); returns the endpoint.
fn run_start_script(
    server: Server,
    port: u16,
    data_dir: Option<&Path>,
) -> std::result::Result<String, String> {
    let mut command = Command::new("bash");
    command
        .arg(ci_script("start-s3.sh"))
        .args([server.name(), &port.to_string()]);
    if let Some(dir) = data_dir {
        command.arg(dir);
    }
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run start-s3.sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let endpoint = stdout.lines().last().unwrap_or_default().trim().to_owned();
    if !output.status.success() || !endpoint.starts_with("http") {
        return Err(format!(
            "start-s3.sh {} {port} failed: {stdout}",
            server.name()
        ));
    }
    Ok(endpoint)
}

/// Runs `.ci/stop-s3.sh` for `server` on `port` with `flags` (`--kill`, `--wipe`).
fn run_stop_script(server: Server, port: u16, flags: &[&str]) -> std::result::Result<(), String> {
    let status = Command::new("bash")
        .arg(ci_script("stop-s3.sh"))
        .args([server.name(), &port.to_string()])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run stop-s3.sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("stop-s3.sh {} {port} failed", server.name()))
    }
}

/// Starts `server` on a free port with `.ci/start-s3.sh`; returns its endpoint and port. The
/// caller stops it (`.ci/stop-s3.sh KIND PORT`).
pub fn launch(server: Server) -> std::result::Result<(String, u16), String> {
    let port = free_port(server)?;
    Ok((run_start_script(server, port, None)?, port))
}

/// Starts moto on a free port (see [`launch`]).
pub fn launch_moto() -> std::result::Result<(String, u16), String> {
    launch(Server::Moto)
}

/// Stops `server` on `port` (and wipes its data) once this process is gone; the server runs
/// in its own session, so nothing else would.
fn watchdog(server: Server, port: u16) -> std::result::Result<(), String> {
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; bash '{stop}' {kind} {port} --wipe",
        pid = std::process::id(),
        stop = ci_script("stop-s3.sh").display(),
        kind = server.name(),
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the {} watchdog: {e}", server.name()))?;
    Ok(())
}

/// The endpoint of the shared test server of this kind, starting it once per process if its
/// environment variable is not set.
pub fn endpoint(server: Server) -> Result<String> {
    static MOTO: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    static SEAWEEDFS: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let cell = match server {
        Server::Moto => &MOTO,
        Server::SeaweedFs => &SEAWEEDFS,
    };
    cell.get_or_init(|| match std::env::var(server.endpoint_env()) {
        Ok(endpoint) if !endpoint.is_empty() => Ok(endpoint),
        _ => {
            let (endpoint, port) = launch(server)?;
            watchdog(server, port)?;
            Ok(endpoint)
        }
    })
    .clone()
    .map_err(unavailable)
}

/// The endpoint of the test S3 server (moto), starting it once per process if needed.
pub fn s3_endpoint() -> Result<String> {
    endpoint(Server::Moto)
}

/// A configuration for `bucket` on the test server (moto; path-style, static test
/// credentials).
pub fn s3_config(bucket: &str) -> Result<S3Config> {
    Ok(s3_config_at(s3_endpoint()?, bucket))
}
/// The configuration of `bucket` on the test server at `endpoint` (path-style, credentials
/// from `S3_ACCESS_KEY` / `S3_SECRET_KEY` or the test defaults).
pub fn s3_config_at(endpoint: String, bucket: &str) -> S3Config {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    S3Config {
        endpoint: Some(endpoint),
        force_path_style: true,
        credentials: Some(S3Credentials {
            access_key_id: env("S3_ACCESS_KEY", "s3dbtest"),
            secret_access_key: env("S3_SECRET_KEY", "s3dbtestsecret").into(),
        }),
        ..S3Config::new(bucket)
    }
}

/// Creates the bucket `config` names.
pub async fn create_bucket(config: &S3Config) -> Result<()> {
    config
        .client()
        .await?
        .create_bucket()
        .bucket(&config.bucket)
        .send()
        .await
        .map_err(|e| {
            unavailable(format!("cannot create bucket {}", config.bucket)).with_source(e)
        })?;
    Ok(())
}

/// A unique bucket name (`s3db-test-<pid>-<time>-<n>`).
pub fn unique_bucket_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("s3db-test-{}-{nanos:x}-{n}", std::process::id())
}

/// Creates a new empty bucket on the test server (moto); returns its configuration.
pub async fn fresh_s3_bucket() -> Result<S3Config> {
    fresh_bucket_on(Server::Moto).await
}

/// A storage on a new empty bucket of the test server (moto).
pub async fn fresh_s3_storage() -> Result<S3Storage> {
    fresh_storage_on(Server::Moto).await
}

/// Creates a new empty bucket on the shared test server of kind `server`; returns its
/// configuration.
pub async fn fresh_bucket_on(server: Server) -> Result<S3Config> {
    let config = s3_config_at(endpoint(server)?, &unique_bucket_name());
    create_bucket(&config).await?;
    Ok(config)
}

/// A storage (the bare backend) on a new empty bucket of the shared test server of kind
/// `server`.
pub async fn fresh_storage_on(server: Server) -> Result<S3Storage> {
    S3Storage::connect(&fresh_bucket_on(server).await?).await
}

/// A server of one test's own on a free port, which the test can [kill](Self::kill) and
/// [restart](Self::restart); stopped when dropped (and, should the test process die, by a
/// watchdog).
#[derive(Debug)]
pub struct LocalServer {
    server: Server,
    port: u16,
    data_dir: Option<PathBuf>,
    endpoint: String,
}

impl LocalServer {
    /// Starts `server` on a free port, keeping its data in `data_dir` if given (SeaweedFS;
    /// otherwise the start script's default directory for the port).
    pub fn start(server: Server, data_dir: Option<&Path>) -> Result<LocalServer> {
        let port = free_port(server).map_err(unavailable)?;
        let endpoint = run_start_script(server, port, data_dir).map_err(unavailable)?;
        watchdog(server, port).map_err(unavailable)?;
        Ok(LocalServer {
            server,
            port,
            data_dir: data_dir.map(Path::to_path_buf),
            endpoint,
        })
    }

    /// The S3 endpoint (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Kills the server with SIGKILL at once, as a crash would (its data stays).
    pub fn kill(&self) -> Result<()> {
        run_stop_script(self.server, self.port, &["--kill"]).map_err(unavailable)
    }

    /// Starts the server again on the same port and data directory; returns once it answers.
    pub fn restart(&self) -> Result<()> {
        run_start_script(self.server, self.port, self.data_dir.as_deref())
            .map(drop)
            .map_err(unavailable)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let wipe: &[&str] = if self.data_dir.is_none() {
            &["--wipe"]
        } else {
            &[]
        };
        // Nothing to do about a failure here: the watchdog tries again at exit.
        let _ = run_stop_script(self.server, self.port, wipe);
    }
}
