//! One module per command group; [`dispatch`] routes a parsed command line.

pub mod objects;

use crate::args::{Cli, Command};
use crate::error::Result;
use crate::session::Session;

/// Runs the command of `cli`.
pub async fn dispatch(cli: Cli) -> Result<()> {
    let session = Session::open(&cli.global).await?;
    match cli.command {
        Command::Objects(command) => objects::run(&session, command).await,
        _ => Err(crate::error::CliError::usage("not yet")),
    }
}
