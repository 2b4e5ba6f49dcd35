//! What every command works on: the storage named by the connection string and, for the
//! database commands, the database at its root.

use std::sync::Arc;

use s3db::core::{Database, DatabaseOptions};
use s3db::storage::Storage;
use s3db::storage::layers::{MetricsRecorder, MetricsSnapshot, RetryConfig, Stack};

use crate::args::GlobalOptions;
use crate::error::{CliError, ExitKind, Result};
use crate::output::Output;

/// The storage, options and output mode of one run.
#[derive(Debug)]
pub struct Session {
    storage: Arc<dyn Storage>,
    metrics: MetricsRecorder,
    location: String,
    passphrase: Option<String>,
    /// How results are printed.
    pub output: Output,
}

impl Session {
    /// Opens the storage of `--connection`, with retries of transient failures and request
    /// counting (`stats` reports the requests of the command).
    pub async fn open(global: &GlobalOptions) -> Result<Session> {
        let backend = open_storage(&global.connection).await?;
        let stack = Stack::builder(backend)
            .retry(RetryConfig::default())
            .metrics()
            .build();
        Ok(Session {
            storage: stack.storage(),
            // Always present: the stack was built with `.metrics()`.
            metrics: stack.metrics().cloned().unwrap_or_default(),
            location: redacted(&global.connection),
            passphrase: global.passphrase.clone(),
            output: Output::new(global.json),
        })
    }

    /// The raw storage (object-level commands).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The connection string without credentials (for reports and backups).
    pub fn location(&self) -> String {
        self.location.clone()
    }

    /// The storage requests sent so far by this run.
    pub fn requests(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Connects to the database at the storage root (creating a blank `s3db.json` if none).
    pub async fn database(&self) -> Result<Database> {
        let mut options = DatabaseOptions::default();
        if let Some(passphrase) = &self.passphrase {
            options.passphrase = passphrase.clone();
        }
        Database::open_with(self.storage.clone(), options)
            .await
            .map_err(CliError::from)
    }
}

/// Opens the storage of a connection string.
///
/// Interim: `file://` and `memory://` only, until the storage crate's connection strings
/// (`s3db_storage::connection::open`, with s3:// and http(s)://) land.
async fn open_storage(connection: &str) -> Result<Arc<dyn Storage>> {
    let bad = |reason: &str| {
        CliError::usage(format!(
            "invalid connection string: {reason} (see `s3db --help`)"
        ))
    };
    if let Some(path) = connection.strip_prefix("file://") {
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(bad("file:// needs a directory"));
        }
        let store = s3db::storage::FsStorage::open(path).map_err(|e| {
            CliError::context(ExitKind::Failure, format!("cannot open {connection}"), e)
        })?;
        return Ok(Arc::new(store));
    }
    if let Some(rest) = connection.strip_prefix("memory://") {
        let rest = rest.split('?').next().unwrap_or_default();
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket = s3db::storage::MemoryStorage::shared(bucket);
        return Ok(if prefix.trim_matches('/').is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(s3db::storage::Prefixed::new(bucket, prefix))
        });
    }
    Err(bad("this build understands file:// and memory://"))
}

/// A connection string with any `user:password@` removed.
fn redacted(connection: &str) -> String {
    let Some((scheme, rest)) = connection.split_once("://") else {
        return connection.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => connection.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn credentials_never_leave_the_connection_string() {
        assert_eq!(
            redacted("s3://AK:SK@bucket/p?region=x"),
            "s3://bucket/p?region=x"
        );
        assert_eq!(
            redacted("http://a:b@host:9000/bucket"),
            "http://host:9000/bucket"
        );
        assert_eq!(redacted("file://./s3db-data"), "file://./s3db-data");
        assert_eq!(redacted("memory://b/x@y"), "memory://b/x@y");
    }
}
