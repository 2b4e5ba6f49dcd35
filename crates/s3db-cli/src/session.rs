//! What every command works on: the storage named by the connection string and, for the
//! database commands, the database at its root.

use std::sync::Arc;

use s3db::core::{Database, DatabaseOptions};
use s3db::storage::Storage;
use s3db::storage::connection::StorageConfig;
use s3db::storage::layers::{MetricsRecorder, MetricsSnapshot, RetryConfig};

use crate::args::GlobalOptions;
use crate::error::{CliError, ExitKind, Result, storage_kind};
use crate::output::Output;

/// The storage, options and output mode of one run.
#[derive(Debug)]
pub struct Session {
    storage: Arc<dyn Storage>,
    metrics: MetricsRecorder,
    retry: RetryConfig,
    location: String,
    passphrase: Option<String>,
    /// How results are printed.
    pub output: Output,
}

impl Session {
    /// Opens the storage of `--connection` as the default stack (retries of transient
    /// failures, configured by the connection string), with request counting below the
    /// retries (`stats` reports every request the command sent).
    pub async fn open(global: &GlobalOptions) -> Result<Session> {
        let config = StorageConfig::parse(&global.connection).map_err(|e| {
            CliError::context(
                ExitKind::Usage,
                "invalid connection string (see `s3db --help`)",
                e,
            )
        })?;
        let location = config.to_string();
        let stack = config
            .stack()
            .await
            .map_err(|e| {
                CliError::context(storage_kind(e.kind()), format!("cannot open {location}"), e)
            })?
            .metrics()
            .build();
        Ok(Session {
            storage: stack.storage(),
            // Always present: the stack was built with `.metrics()`.
            metrics: stack.metrics().cloned().unwrap_or_default(),
            retry: config.retry_config(),
            location,
            passphrase: global.passphrase.clone(),
            output: Output::new(global.json),
        })
    }

    /// The raw storage (object-level commands).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The connection string with its secret masked (for reports and backups).
    pub fn location(&self) -> String {
        self.location.clone()
    }

    /// The storage requests sent so far by this run.
    pub fn requests(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Connects to the database at the storage root (creating a blank `s3db.json` if none).
    /// The storage already has its retry layer (or was opted out of one), so the database
    /// adds none.
    pub async fn database(&self) -> Result<Database> {
        let mut options = DatabaseOptions {
            retry: self.retry.clone(),
            ..DatabaseOptions::default()
        };
        if let Some(passphrase) = &self.passphrase {
            options.passphrase = passphrase.clone();
        }
        Database::open_with(self.storage.clone(), options)
            .await
            .map_err(CliError::from)
    }
}
