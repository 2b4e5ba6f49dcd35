//! Files that exports write to: a plain file, or stdout (`-` or no path).

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{CliError, ExitKind, Result};

enum Sink {
    Plain(BufWriter<File>),
    Stdout(BufWriter<Stdout>),
}

/// A buffered output; call [`OutputFile::finish`] to flush (errors are reported then).
pub struct OutputFile {
    sink: Sink,
    name: PathBuf,
    /// Stdout whose reader went away (`s3db list r --json | head`).
    closed: bool,
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
            closed: false,
        })
    }

    /// Standard output.
    pub fn stdout() -> Self {
        OutputFile {
            sink: Sink::Stdout(BufWriter::new(io::stdout())),
            name: PathBuf::from("-"),
            closed: false,
        }
    }

    /// Whether this writes to stdout.
    pub fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_))
    }

    /// Whether this is stdout and its reader has gone: later writes are dropped, and
    /// a writer may stop producing.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes raw bytes. A closed pipe on stdout is not an error (see [`Self::is_closed`]).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        match self.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe && self.is_stdout() => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Writes `value` as one line of compact JSON.
    pub fn write_json_line(&mut self, value: &impl Serialize) -> Result<()> {
        let mut line = serde_json::to_vec(value)
            .map_err(|e| CliError::context(ExitKind::Failure, "cannot serialize a line", e))?;
        line.push(b'\n');
        self.write_bytes(&line)
    }

    /// Flushes.
    pub fn finish(self) -> Result<()> {
        let name = self.name;
        let done = match self.sink {
            Sink::Plain(mut w) => w.flush(),
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

/// A JSON array written element by element (`[`, one compact element per line, `]`), so
/// long listings print as they are read, in constant memory.
#[derive(Debug)]
pub struct JsonArrayWriter<'a> {
    out: &'a mut OutputFile,
    count: u64,
}

impl<'a> JsonArrayWriter<'a> {
    /// Writes the opening `[` to `out`.
    pub fn start(out: &'a mut OutputFile) -> Result<Self> {
        out.write_bytes(b"[")?;
        Ok(JsonArrayWriter { out, count: 0 })
    }

    /// Writes one element.
    pub fn push(&mut self, value: &impl Serialize) -> Result<()> {
        let text = serde_json::to_vec(value)
            .map_err(|e| CliError::context(ExitKind::Failure, "cannot serialize an element", e))?;
        self.out
            .write_bytes(if self.count == 0 { b"\n" } else { b",\n" })?;
        self.out.write_bytes(&text)?;
        self.count += 1;
        Ok(())
    }

    /// Whether the output has gone (see [`OutputFile::is_closed`]).
    pub fn is_closed(&self) -> bool {
        self.out.is_closed()
    }

    /// Writes the closing `]` (and a newline); returns how many elements were written.
    pub fn end(self) -> Result<u64> {
        self.out
            .write_bytes(if self.count == 0 { b"]\n" } else { b"\n]\n" })?;
        Ok(self.count)
    }
}

/// Lets writers such as `csv::Writer` write into the file; errors surface as `io::Error`s.
impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn written(elements: &[Value]) -> (String, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let mut out = OutputFile::create(&path).unwrap();
        let mut array = JsonArrayWriter::start(&mut out).unwrap();
        for element in elements {
            array.push(element).unwrap();
        }
        let count = array.end().unwrap();
        out.finish().unwrap();
        (std::fs::read_to_string(&path).unwrap(), count)
    }

    #[test]
    fn json_arrays_are_written_one_element_per_line() {
        let elements = [json!({"id": "a"}), json!({"id": "b", "n": [1, 2]})];
        let (text, count) = written(&elements);
        assert_eq!(count, 2);
        assert_eq!(text, "[\n{\"id\":\"a\"},\n{\"id\":\"b\",\"n\":[1,2]}\n]\n");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!(elements)
        );
        assert_eq!(written(&[]), ("[]\n".to_owned(), 0));
    }
}
