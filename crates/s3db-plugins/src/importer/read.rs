//! Streaming readers of record files (JSON lines, a JSON array, CSV): a blocking thread
//! parses the input item by item into a bounded channel, so memory stays constant whatever
//! the file size, and every item carries its position for error messages.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;

use super::columns::ColumnKinds;

/// Items parsed ahead of the writers.
const CHANNEL_CAPACITY: usize = 256;

/// The format of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// One JSON record per line (blank lines skipped).
    Jsonl,
    /// One JSON array of records (or a single record object).
    Json,
    /// Comma-separated values with a header row; dotted columns become nested fields.
    Csv,
}

/// Where an item was in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    /// 1-based line number (JSON lines, CSV).
    Line(u64),
    /// 1-based element number of a JSON array.
    Element(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Element(n) => write!(f, "element {n}"),
        }
    }
}

impl Position {
    /// The number alone (line or element).
    pub fn number(self) -> u64 {
        match self {
            Position::Line(n) | Position::Element(n) => n,
        }
    }
}

/// One parsed item, or why it could not be parsed.
#[derive(Debug)]
pub struct Item {
    /// Where it was.
    pub position: Position,
    /// The JSON value, or the parse failure.
    pub value: std::result::Result<Value, String>,
}

/// The format of `path` from its extension (`.json`, `.csv`, else JSON lines).
pub fn format_of(path: &Path) -> ImportFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => ImportFormat::Json,
        Some(ext) if ext.eq_ignore_ascii_case("csv") => ImportFormat::Csv,
        _ => ImportFormat::Jsonl,
    }
}

/// Starts parsing `reader` on a blocking thread; items arrive in file order. A read error
/// or a JSON-array syntax error ends the stream with a final failed item.
pub fn spawn_reader(
    reader: Box<dyn BufRead + Send>,
    format: ImportFormat,
    columns: ColumnKinds,
) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::task::spawn_blocking(move || match format {
        ImportFormat::Jsonl => read_lines(reader, &tx),
        ImportFormat::Json => read_json(reader, &tx),
        ImportFormat::Csv => read_csv(reader, &columns, &tx),
    });
    rx
}

/// Parses JSON lines; blank lines are skipped.
fn read_lines(mut reader: Box<dyn BufRead + Send>, tx: &mpsc::Sender<Item>) {
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        number += 1;
        let position = Position::Line(number);
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => {
                let value = serde_json::from_str(&line).map_err(|e| e.to_string());
                if tx.blocking_send(Item { position, value }).is_err() {
                    return;
                }
            }
            Err(e) => {
                let value = Err(format!("cannot read: {e}"));
                let _ = tx.blocking_send(Item { position, value });
                return;
            }
        }
    }
}

/// Parses a JSON array element by element (or a single object as one element).
fn read_json(reader: Box<dyn BufRead + Send>, tx: &mpsc::Sender<Item>) {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut count = 0u64;
    let parsed = (&mut de).deserialize_any(ElementVisitor {
        tx,
        count: &mut count,
    });
    let failure = match parsed {
        Ok(()) => de
            .end()
            .err()
            .map(|e| format!("trailing data after the JSON value: {e}")),
        // Elements before the failure were sent; serde's message names line and column.
        Err(e) => Some(e.to_string()),
    };
    if let Some(reason) = failure {
        let _ = tx.blocking_send(Item {
            position: Position::Element(count + 1),
            value: Err(reason),
        });
    }
}

/// Sends each array element as soon as it is parsed.
struct ElementVisitor<'a> {
    tx: &'a mpsc::Sender<Item>,
    count: &'a mut u64,
}

impl ElementVisitor<'_> {
    /// Sends one element; false when the receiver is gone.
    fn send(&mut self, value: Value) -> bool {
        *self.count += 1;
        let item = Item {
            position: Position::Element(*self.count),
            value: Ok(value),
        };
        self.tx.blocking_send(item).is_ok()
    }
}

impl<'de> Visitor<'de> for ElementVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records or one record object")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            if !self.send(value) {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        mut self,
        map: A,
    ) -> std::result::Result<(), A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.send(value);
        Ok(())
    }
}

/// Parses CSV with a header row; each row becomes a record built by `columns`.
fn read_csv(reader: Box<dyn BufRead + Send>, columns: &ColumnKinds, tx: &mpsc::Sender<Item>) {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = match csv.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let value = Err(format!("cannot read the header row: {e}"));
            let _ = tx.blocking_send(Item {
                position: Position::Line(1),
                value,
            });
            return;
        }
    };
    let mut row = csv::StringRecord::new();
    loop {
        let next_line = csv.position().line() + 1;
        let (line, value, last) = match csv.read_record(&mut row) {
            Ok(false) => return,
            Ok(true) => {
                let line = row.position().map_or(next_line, |p| p.line());
                (
                    line,
                    columns.record(&headers, &row).map(Value::Object),
                    false,
                )
            }
            Err(e) => {
                let line = e.position().map_or(next_line, |p| p.line());
                // A read failure ends the input; a bad row (e.g. a wrong field count) does not.
                let last = matches!(e.kind(), csv::ErrorKind::Io(_));
                (line, Err(e.to_string()), last)
            }
        };
        let item = Item {
            position: Position::Line(line),
            value,
        };
        if tx.blocking_send(item).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io;

    async fn collect(text: &str, format: ImportFormat) -> Vec<Item> {
        let reader: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(text.as_bytes().to_vec()));
        let mut rx = spawn_reader(reader, format, ColumnKinds::default());
        let mut items = Vec::new();
        while let Some(item) = rx.recv().await {
            items.push(item);
        }
        items
    }

    #[tokio::test]
    async fn json_lines_carry_line_numbers_and_skip_blank_lines() {
        let items = collect("{\"a\":1}\n\n{oops\n{\"a\":3}\n", ImportFormat::Jsonl).await;
        let positions: Vec<Position> = items.iter().map(|i| i.position).collect();
        assert_eq!(
            positions,
            [Position::Line(1), Position::Line(3), Position::Line(4)]
        );
        assert!(
            items[1]
                .value
                .as_ref()
                .is_err_and(|e| e.contains("line 1 column 2"))
        );
        assert_eq!(
            items[2].value.as_ref().ok(),
            Some(&serde_json::json!({"a": 3}))
        );
    }

    #[tokio::test]
    async fn json_arrays_stream_their_elements() {
        let items = collect("[{\"a\":1}, {\"a\":2}]", ImportFormat::Json).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].position, Position::Element(2));
        let single = collect("{\"a\":1}", ImportFormat::Json).await;
        assert_eq!(single.len(), 1);
        let broken = collect("[{\"a\":1}, {\"a\" 2}]", ImportFormat::Json).await;
        assert_eq!(broken.len(), 2);
        assert!(broken[1].value.is_err());
    }

    #[tokio::test]
    async fn csv_rows_carry_their_line_and_bad_rows_do_not_stop_the_rest() {
        let attributes = serde_json::json!({"name": "string", "age": "number"});
        let columns = ColumnKinds::from_attributes(attributes.as_object().unwrap());
        let reader: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(
            b"id,name,age\na,Ana,3\nb,Bo\nc,\"C, c\",x\nd,D,4\n".to_vec(),
        ));
        let mut rx = spawn_reader(reader, ImportFormat::Csv, columns);
        let mut items = Vec::new();
        while let Some(item) = rx.recv().await {
            items.push(item);
        }
        let lines: Vec<Position> = items.iter().map(|i| i.position).collect();
        assert_eq!(lines, [2, 3, 4, 5].map(Position::Line));
        assert_eq!(
            items[0].value.as_ref().unwrap(),
            &serde_json::json!({"id": "a", "name": "Ana", "age": 3})
        );
        assert!(items[1].value.is_err());
        assert!(
            items[2]
                .value
                .as_ref()
                .is_err_and(|e| e.contains("\"age\""))
        );
        assert!(items[3].value.is_ok());
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(format_of(Path::new("a.JSON")), ImportFormat::Json);
        assert_eq!(format_of(Path::new("a.csv")), ImportFormat::Csv);
        assert_eq!(format_of(Path::new("a.jsonl")), ImportFormat::Jsonl);
        assert_eq!(format_of(Path::new("-")), ImportFormat::Jsonl);
    }
}
