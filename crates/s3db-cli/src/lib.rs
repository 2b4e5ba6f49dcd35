//! The `s3db` command-line tool as a library: argument parsing ([`args`]), the commands
//! ([`commands`]) and the error/exit-code policy ([`error`]). The binary only calls
//! [`main_entry`].
//!
//! Commands (all take `--connection`, `--passphrase`, `--json`, `--log-level`):
//!
//! | command | what it does |
//! | --- | --- |
//! | `objects export FILE` / `objects import FILE` / `objects list` | raw objects as JSON lines (the s3db.js fixture dump format), no schema |
//! | `resources [show R]`, `create-resource --file def.json` | definitions (s3db.js `createResource` JSON) |
//! | `insert`, `get`, `update`, `delete`, `list`, `count` | records |
//! | `export R --format jsonl\|json\|csv`, `import R FILE` | whole resources, streaming, per-line errors |
//! | `stats [R]` | record counts, partitions, requests and estimated cost of the command |
//! | `backup DIR [--compress]`, `restore DIR` | the s3db.js BackupPlugin directory format |
//! | `demo` | a small sample database (idempotent) |
//!
//! Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 invalid input, 5 already exists or
//! conflict ([`ExitKind`]).
//!
//! ```
//! use std::process::ExitCode;
//! // `--version` prints the version and succeeds; an unknown command is a usage error.
//! assert_eq!(s3db_cli::main_entry(["s3db", "--version"]), ExitCode::SUCCESS);
//! assert_eq!(s3db_cli::main_entry(["s3db", "no-such-command"]), ExitCode::from(2));
//! ```

pub mod apply;
pub mod args;
pub mod commands;
pub mod csv_columns;
pub mod error;
pub mod input;
pub mod logging;
pub mod output;
pub mod output_file;
pub mod progress;
pub mod session;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
pub use error::{CliError, ExitKind, Result};

/// Parses `args` (program name first), runs the command, prints errors as
/// `error: ...` / `  caused by: ...` on stderr, and returns the exit code.
pub fn main_entry<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.report());
            e.exit_code()
        }
    }
}

/// Runs a parsed command line on a fresh tokio runtime.
pub fn run(cli: Cli) -> Result<()> {
    logging::init(&cli.global.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::context(ExitKind::Failure, "cannot start the async runtime", e))?;
    runtime.block_on(commands::dispatch(cli))
}
