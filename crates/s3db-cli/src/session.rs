//! What every command works on: the storage named by the connection string and, for the
//! database commands, the database at its root.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use s3db::core::schema::Schema;
use s3db::core::{Database, DatabaseOptions, Resource, SecretString};
use s3db::storage::Storage;
use s3db::storage::connection::StorageConfig;
use s3db::storage::layers::{MetricsRecorder, MetricsSnapshot, RetryConfig};

use crate::args::GlobalOptions;
use crate::error::{CliError, ExitKind, Result};
use crate::output::Output;

/// The storage, options and output mode of one run.
#[derive(Debug)]
pub struct Session {
    storage: Arc<dyn Storage>,
    metrics: MetricsRecorder,
    retry: RetryConfig,
    location: String,
    /// The passphrase given (`None`: s3db.js's default `secret`).
    passphrase: Option<SecretString>,
    /// Whether the default-passphrase warning was printed (once per run).
    warned: AtomicBool,
    /// How results are printed.
    pub output: Output,
}

/// Environment variable read for the passphrase when no option gives one.
pub const PASSPHRASE_ENV: &str = "S3DB_PASSPHRASE";

/// The passphrase of `secret` fields: `--passphrase`, else the file of `--passphrase-file`
/// (one trailing line break removed), else `env` (the value of `S3DB_PASSPHRASE`, ignored
/// when empty). `None` means s3db.js's default, `secret`. An empty passphrase from an
/// option, or an unreadable file, is a usage error.
pub fn resolve_passphrase(
    global: &GlobalOptions,
    env: Option<String>,
) -> Result<Option<SecretString>> {
    if let Some(passphrase) = &global.passphrase {
        if passphrase.is_empty() {
            return Err(CliError::usage("--passphrase is empty"));
        }
        return Ok(Some(passphrase.as_str().into()));
    }
    if let Some(path) = &global.passphrase_file {
        return read_passphrase_file(path).map(Some);
    }
    Ok(env
        .filter(|value| !value.is_empty())
        .map(SecretString::from))
}

fn read_passphrase_file(path: &Path) -> Result<SecretString> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::context(
            ExitKind::Usage,
            format!("cannot read --passphrase-file {}", path.display()),
            e,
        )
    })?;
    let passphrase = text
        .strip_suffix('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .unwrap_or(&text);
    if passphrase.is_empty() {
        return Err(CliError::usage(format!(
            "--passphrase-file {} is empty",
            path.display()
        )));
    }
    Ok(passphrase.into())
}

/// Whether a resource's attributes declare a `secret` field.
fn has_secret_fields(resource: &Resource) -> bool {
    Schema::parse(resource.attributes())
        .is_ok_and(|schema| schema.fields().iter().any(|field| field.secret))
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
        let passphrase = resolve_passphrase(global, env_passphrase()?)?;
        let location = config.to_string();
        let stack = config
            .stack()
            .await
            .map_err(|e| {
                // One line: the storage error's text follows the location (report() then skips it).
                let message = format!("cannot open {location}: {e}");
                CliError::context(ExitKind::of(e.kind().into()), message, e)
            })?
            .metrics()
            .build();
        Ok(Session {
            storage: stack.storage(),
            // Always present: the stack was built with `.metrics()`.
            metrics: stack.metrics().cloned().unwrap_or_default(),
            retry: config.retry_config(),
            location,
            passphrase,
            warned: AtomicBool::new(false),
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

    /// The counters of the storage's metrics layer (what [`Session::requests`] reads).
    pub fn metrics(&self) -> &MetricsRecorder {
        &self.metrics
    }

    /// The storage requests sent so far by this run.
    pub fn requests(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Connects to the database at the storage root: "no database at …" (exit code 3) when
    /// there is no `s3db.json`. Connecting only reads.
    pub async fn database(&self) -> Result<Database> {
        let db = self.database_to_define().await?;
        db.ensure_exists()?;
        Ok(db)
    }

    /// Connects to the database at the storage root whether or not it exists yet (for the
    /// commands that define resources, which create `s3db.json`). The storage already has
    /// its retry layer (or was opted out of one), so the database adds none.
    pub async fn database_to_define(&self) -> Result<Database> {
        let mut options = DatabaseOptions {
            location: Some(self.location.clone()),
            retry: self.retry.clone(),
            ..DatabaseOptions::default()
        };
        if let Some(passphrase) = &self.passphrase {
            options.passphrase = passphrase.clone();
        }
        Database::builder(self.storage.clone())
            .options(options)
            .open()
            .await
            .map_err(CliError::from)
    }

    /// The resource `name` of `db`, for a command that reads or writes its records (see
    /// [`Session::check_passphrase`]).
    pub fn resource(&self, db: &Database, name: &str) -> Result<Resource> {
        let resource = db.resource(name)?;
        self.check_passphrase(&resource);
        Ok(resource)
    }

    /// Warns once per run when `resource` has `secret` fields and no passphrase was given:
    /// they are then encrypted and decrypted with s3db.js's well-known default, `secret`.
    pub fn check_passphrase(&self, resource: &Resource) {
        if self.passphrase.is_none()
            && has_secret_fields(resource)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "resource {:?} has secret fields and no passphrase was given, so they use the \
                 default passphrase `secret`; give --passphrase, --passphrase-file or {PASSPHRASE_ENV}",
                resource.name()
            );
        }
    }
}

/// `S3DB_PASSPHRASE` of the process (a usage error when it is not UTF-8).
fn env_passphrase() -> Result<Option<String>> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage(format!(
            "{PASSPHRASE_ENV} is not valid UTF-8"
        ))),
    }
}
