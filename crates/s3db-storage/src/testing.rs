//! Test helpers (cargo feature `testing`): a real S3 server for integration tests.
//!
//! Tests get a fresh bucket on a local S3-compatible server so they never interfere:
//!
//! * If `S3DB_TEST_S3_ENDPOINT` is set (CI's `.ci/run` starts moto and exports it), that
//!   server is used.
//! * Otherwise the first call in a test process starts moto itself with
//!   `bash <workspace>/.ci/start-s3.sh moto <free port>` and a watchdog that stops it
//!   (via `.ci/stop-s3.sh`) once the test process has exited.
//!
//! Credentials come from `S3_ACCESS_KEY`/`S3_SECRET_KEY` (defaults `s3dbtest` /
//! `s3dbtestsecret`, the ones the start script gives s3s-fs; moto accepts any).
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
//! # Ok(()) }
//! ```

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::s3::{S3Config, S3Credentials, S3Storage};

/// Environment variable naming an already running S3 endpoint.
pub const ENDPOINT_ENV: &str = "S3DB_TEST_S3_ENDPOINT";

fn unavailable(message: String) -> Error {
    Error::new(ErrorKind::Unavailable, Operation::Connect, "").with_message(message)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Starts moto on a free port with `.ci/start-s3.sh`; returns its endpoint and port. The
/// caller stops it (`.ci/stop-s3.sh moto PORT`).
pub fn launch_moto() -> std::result::Result<(String, u16), String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let output = Command::new("bash")
        .arg(ci_script("start-s3.sh"))
        .args(["moto", &port.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run start-s3.sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let endpoint = stdout.lines().last().unwrap_or_default().trim().to_owned();
    if !output.status.success() || !endpoint.starts_with("http") {
        return Err(format!("start-s3.sh moto {port} failed: {stdout}"));
    }
    Ok((endpoint, port))
}

/// The path of one of the workspace's `.ci/` server scripts (`start-s3.sh`, `stop-s3.sh`).
pub fn ci_script(name: &str) -> PathBuf {
    workspace_root().join(".ci").join(name)
}

/// Starts moto on a free port, stopped by a watchdog when this process exits.
fn start_moto() -> std::result::Result<String, String> {
    let (endpoint, port) = launch_moto()?;
    // Stop the server once this process is gone (the server runs in its own session).
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; bash '{stop}' moto {port}",
        pid = std::process::id(),
        stop = ci_script("stop-s3.sh").display(),
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the moto watchdog: {e}"))?;
    Ok(endpoint)
}

/// The endpoint of the test S3 server, starting moto once per process if needed.
pub fn s3_endpoint() -> Result<String> {
    static ENDPOINT: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| match std::env::var(ENDPOINT_ENV) {
            Ok(endpoint) if !endpoint.is_empty() => Ok(endpoint),
            _ => start_moto(),
        })
        .clone()
        .map_err(unavailable)
}

/// A configuration for `bucket` on the test server (path-style, static test credentials).
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

/// Creates a new empty bucket on the test server; returns its configuration.
pub async fn fresh_s3_bucket() -> Result<S3Config> {
    let config = s3_config(&unique_bucket_name())?;
    create_bucket(&config).await?;
    Ok(config)
}

/// A storage on a new empty bucket of the test server.
pub async fn fresh_s3_storage() -> Result<S3Storage> {
    S3Storage::connect(&fresh_s3_bucket().await?).await
}
