//! Diagnostics on stderr through `tracing`, filtered by `--log-level` / `S3DB_LOG_LEVEL`.

use tracing_subscriber::EnvFilter;

use crate::error::{CliError, Result};

/// Installs the stderr subscriber; `filter` is a level (`warn`) or tracing directives
/// (`s3db_core=debug,info`).
pub fn init(filter: &str) -> Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| CliError::usage(format!("invalid --log-level {filter:?}: {e}")))?;
    // A second initialisation in the same process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
    Ok(())
}
