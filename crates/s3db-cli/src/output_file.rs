//! Files that exports write to: a plain file, a gzip file, or stdout (`-` or no path).

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::error::{CliError, ExitKind, Result};

enum Sink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
    Stdout(BufWriter<Stdout>),
}

/// A buffered output; call [`OutputFile::finish`] to flush (errors are reported then).
pub struct OutputFile {
    sink: Sink,
    name: PathBuf,
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputFile")
            .field("name", &self.name)
            .finish()
    }
}

impl OutputFile {
    /// Creates (truncating) `path`; `-` means stdout.
    pub fn create(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(OutputFile::stdout());
        }
        Ok(OutputFile {
            sink: Sink::Plain(BufWriter::new(create_file(path)?)),
            name: path.to_owned(),
        })
    }

    /// Creates (truncating) a gzip-compressed `path`.
    pub fn create_gzip(path: &Path) -> Result<Self> {
        let file = BufWriter::new(create_file(path)?);
        Ok(OutputFile {
            sink: Sink::Gzip(GzEncoder::new(file, Compression::default())),
            name: path.to_owned(),
        })
    }

    /// Standard output.
    pub fn stdout() -> Self {
        OutputFile {
            sink: Sink::Stdout(BufWriter::new(io::stdout())),
            name: PathBuf::from("-"),
        }
    }

    /// Whether this writes to stdout.
    pub fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_))
    }

    /// Writes raw bytes.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.write_all(bytes).map_err(|e| self.failed(e))
    }

    /// Writes `value` as one line of compact JSON.
    pub fn write_json_line(&mut self, value: &impl Serialize) -> Result<()> {
        let mut line = serde_json::to_vec(value)
            .map_err(|e| CliError::context(ExitKind::Failure, "cannot serialize a line", e))?;
        line.push(b'\n');
        self.write_bytes(&line)
    }

    /// Flushes (and ends the gzip stream).
    pub fn finish(self) -> Result<()> {
        let name = self.name;
        let done = match self.sink {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish().and_then(|mut inner| inner.flush()),
            Sink::Stdout(mut w) => match w.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
        };
        done.map_err(|e| write_error(&name, e))
    }

    fn failed(&self, e: io::Error) -> CliError {
        write_error(&self.name, e)
    }
}

/// Lets writers such as `csv::Writer` write into the file; errors surface as `io::Error`s.
impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}

fn create_file(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| {
        CliError::context(
            ExitKind::Failure,
            format!("cannot create {}", path.display()),
            e,
        )
    })
}

fn write_error(name: &Path, e: io::Error) -> CliError {
    CliError::context(
        ExitKind::Failure,
        format!("cannot write {}", name.display()),
        e,
    )
}
