//! What every command works on: the storage named by the connection string and, for the
//! database commands, the database at its root.

use std::sync::Arc;

use s3db::core::{Database, DatabaseOptions};
use s3db::storage::Storage;

use crate::args::GlobalOptions;
use crate::error::{CliError, ExitKind, Result};
use crate::output::Output;

/// The storage, options and output mode of one run.
#[derive(Debug)]
pub struct Session {
    storage: Arc<dyn Storage>,
    passphrase: Option<String>,
    /// How results are printed.
    pub output: Output,
}

impl Session {
    /// Opens the storage of `--connection`.
    pub async fn open(global: &GlobalOptions) -> Result<Session> {
        let storage = open_storage(&global.connection).await?;
        Ok(Session {
            storage,
            passphrase: global.passphrase.clone(),
            output: Output::new(global.json),
        })
    }

    /// The raw storage (object-level commands).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
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
