//! `codegen rust [RESOURCE...] [--output FILE]`: Rust structs of the stored definitions.

use s3db::core::metadata::document::ResourceEntry;

use crate::args::CodegenCommand;
use crate::error::{CliError, ExitKind, Result};
use crate::output_file::OutputFile;
use crate::session::Session;

/// `codegen rust`: one struct deriving `s3db::Document` per resource (every resource, or
/// the named ones in the given order), written to `--output` or stdout.
pub async fn run(session: &Session, command: CodegenCommand) -> Result<()> {
    let CodegenCommand::Rust { resources, output } = command;
    let db = session.database().await?;
    let document = db.document();
    let selected: Vec<(&str, &ResourceEntry)> = if resources.is_empty() {
        document
            .resources
            .iter()
            .map(|(name, entry)| (name.as_str(), entry))
            .collect()
    } else {
        resources
            .iter()
            .map(|name| {
                document
                    .resources
                    .get(name)
                    .map(|entry| (name.as_str(), entry))
                    .ok_or_else(|| {
                        CliError::new(ExitKind::NotFound, format!("unknown resource {name:?}"))
                    })
            })
            .collect::<Result<_>>()?
    };
    let code = s3db::core::codegen::rust(selected)?;
    let mut out = match &output {
        Some(path) => OutputFile::create(path)?,
        None => OutputFile::stdout(),
    };
    out.write_bytes(code.as_bytes())?;
    out.finish()
}
