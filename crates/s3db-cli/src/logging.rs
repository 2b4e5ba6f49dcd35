//! Diagnostics on stderr through `tracing`, filtered by `--log-level` / `S3DB_LOG_LEVEL`,
//! coloured only when stderr is a terminal and `NO_COLOR` is not set.

use std::ffi::OsString;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::args::LogFormat;
use crate::error::{CliError, Result};

/// AWS SDK targets whose warnings repeat, once per failed probe, what the storage error
/// already says in one line (no credentials, no instance metadata service).
const QUIET_AWS_TARGETS: [&str; 2] = ["aws_config::imds", "aws_config::meta::credentials::chain"];

/// Installs the stderr subscriber; `filter` is a level (`warn`) or tracing directives
/// (`s3db_core=debug,info`). At `debug`, each resource operation logs one line (its span:
/// resource, operation, id; its outcome, count, duration, storage requests and bytes); at
/// `trace`, each storage request too (docs/observability.md).
pub fn init(filter: &str, format: LogFormat) -> Result<()> {
    let directives = quiet_aws(filter);
    let env_filter = EnvFilter::try_new(&directives)
        .map_err(|e| CliError::usage(format!("invalid --log-level {filter:?}: {e}")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    // A second initialisation in the same process (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
    Ok(())
}

/// `filter` with the [`QUIET_AWS_TARGETS`] limited to errors, unless it names `aws_config`
/// itself (`--log-level warn,aws_config=debug` shows everything the SDK says).
fn quiet_aws(filter: &str) -> String {
    if filter.contains("aws_config") {
        return filter.to_owned();
    }
    let quiet = QUIET_AWS_TARGETS.map(|target| format!("{target}=error"));
    std::iter::once(filter)
        .chain(quiet.iter().map(String::as_str))
        .filter(|directive| !directive.trim().is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
fn colour(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(OsString::new())),
            "empty NO_COLOR is unset"
        );
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }

    #[test]
    fn aws_probe_warnings_are_quiet_unless_asked_for() {
        assert_eq!(
            quiet_aws("warn"),
            "warn,aws_config::imds=error,aws_config::meta::credentials::chain=error"
        );
        assert_eq!(
            quiet_aws(""),
            "aws_config::imds=error,aws_config::meta::credentials::chain=error"
        );
        assert_eq!(
            quiet_aws("debug,aws_config=trace"),
            "debug,aws_config=trace"
        );
        assert!(EnvFilter::try_new(quiet_aws("s3db_core=debug,info")).is_ok());
    }
}
