#![doc = include_str!("../README.md")]

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
    logging::init(&cli.global.log_level, cli.global.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::context(ExitKind::Failure, "cannot start the async runtime", e))?;
    runtime.block_on(commands::dispatch(cli))
}
