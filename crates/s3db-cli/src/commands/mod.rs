//! One module per command group; [`dispatch`] routes a parsed command line.

pub mod backup;
pub mod codegen;
pub mod demo;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(any(feature = "serve", feature = "mcp"))]
pub mod metrics;
pub mod objects;
pub mod records;
pub mod resources;
#[cfg(feature = "serve")]
pub mod serve;
pub mod stats;
pub mod transfer;

use crate::args::{Cli, Command};
use crate::error::Result;
use crate::session::Session;

/// Runs the command of `cli`.
pub async fn dispatch(cli: Cli) -> Result<()> {
    let session = Session::open(&cli.global).await?;
    let s = &session;
    match cli.command {
        Command::Objects(command) => objects::run(s, command).await,
        Command::Init => resources::init(s).await,
        Command::Resources(args) => resources::run(s, args).await,
        Command::CreateResource { file } => resources::create(s, &file).await,
        Command::Insert(args) => records::insert(s, args).await,
        Command::Get { resource, id, meta } => records::get(s, &resource, &id, meta).await,
        Command::Update { resource, id, data } => records::update(s, &resource, &id, &data).await,
        Command::Delete { resource, id } => records::delete(s, &resource, &id).await,
        Command::List(args) => records::list(s, args).await,
        Command::Query(args) => records::query(s, args).await,
        Command::Repair { resource } => records::repair(s, &resource).await,
        Command::Count { resource } => records::count(s, &resource).await,
        Command::Export(args) => transfer::export(s, args).await,
        Command::Import(args) => transfer::import(s, args).await,
        Command::Stats { resource } => stats::run(s, resource).await,
        Command::Backup(args) => backup::backup(s, args).await,
        Command::Restore(args) => backup::restore(s, args).await,
        Command::Demo => demo::run(s).await,
        Command::Codegen(command) => codegen::run(s, command).await,
        #[cfg(feature = "mcp")]
        Command::Mcp(args) => mcp::run(s, args).await,
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(s, args).await,
    }
}
