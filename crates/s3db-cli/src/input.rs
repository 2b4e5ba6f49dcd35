//! Record files for the commands that read them (`import`, `insert --file`, `objects
//! import`): opening them and parsing them as a stream of positioned items, through the
//! library's importer ([`s3db::plugins::importer`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use s3db::plugins::importer::{self, ImportFormat};
use tokio::sync::mpsc;

use crate::args::Format;
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, ExitKind, Result};

pub use s3db::plugins::importer::{Item, Position};

/// Opens `path` (`-` = stdin) for reading.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot open {}", path.display()),
            e,
        )
    })?;
    Ok(Box::new(BufReader::new(file)))
}

/// The format of `path` from its extension (`.json`, `.csv`, else JSON lines).
pub fn format_of(path: &Path) -> Format {
    match importer::format_of(path) {
        ImportFormat::Json => Format::Json,
        ImportFormat::Csv => Format::Csv,
        ImportFormat::Jsonl => Format::Jsonl,
    }
}

/// The importer's name for a format.
pub fn import_format(format: Format) -> ImportFormat {
    match format {
        Format::Json => ImportFormat::Json,
        Format::Csv => ImportFormat::Csv,
        Format::Jsonl => ImportFormat::Jsonl,
    }
}

/// Starts parsing `reader` on a blocking thread; items arrive in file order.
pub fn spawn_reader(
    reader: Box<dyn BufRead + Send>,
    format: Format,
    columns: ColumnKinds,
) -> mpsc::Receiver<Item> {
    importer::spawn_reader(reader, import_format(format), columns)
}

/// Reads a whole small input (e.g. a definition file) into a string.
pub fn read_to_string(path: &Path) -> Result<String> {
    let mut text = String::new();
    open(path)?.read_to_string(&mut text).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot read {}", path.display()),
            e,
        )
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(format_of(Path::new("a.JSON")), Format::Json);
        assert_eq!(format_of(Path::new("a.csv")), Format::Csv);
        assert_eq!(format_of(Path::new("a.jsonl")), Format::Jsonl);
        assert_eq!(format_of(Path::new("-")), Format::Jsonl);
    }
}
