//! What commands print on stdout: one JSON document with `--json`, readable text otherwise.

use std::io::{self, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::error::{CliError, ExitKind, Result};

/// Widest a table cell gets before it is cut (with `…`).
const MAX_CELL_CHARS: usize = 40;

/// The output mode of a run.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    interactive: bool,
}

impl Output {
    /// `json`: machine output. Progress bars are shown only when stderr is a terminal and
    /// the output is not JSON.
    pub fn new(json: bool) -> Self {
        Output {
            json,
            interactive: !json && io::stderr().is_terminal(),
        }
    }

    /// Whether machine (JSON) output was asked for.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether progress may be drawn on stderr.
    pub fn shows_progress(&self) -> bool {
        self.interactive
    }

    /// Prints one record: compact JSON, or pretty JSON for people.
    pub fn record(&self, record: &Value) -> Result<()> {
        let text = if self.json {
            serde_json::to_string(record)
        } else {
            serde_json::to_string_pretty(record)
        };
        let text =
            text.map_err(|e| CliError::context(ExitKind::Failure, "cannot print a record", e))?;
        print_line(&text)
    }

    /// Prints records: a JSON array, or a table with the `id` column first.
    pub fn records(&self, records: &[Value]) -> Result<()> {
        if self.json {
            return self.record(&Value::Array(records.to_vec()));
        }
        let mut columns: Vec<String> = vec!["id".into()];
        for record in records {
            if let Value::Object(map) = record {
                for key in map.keys() {
                    if !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
            }
        }
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|record| {
                columns
                    .iter()
                    .map(|c| record.get(c).map(cell).unwrap_or_default())
                    .collect()
            })
            .collect();
        print_line(&table(&columns, &rows))?;
        print_line(&format!("({} records)", records.len()))
    }

    /// Prints a summary object: compact JSON, or `key: value` lines.
    pub fn summary(&self, summary: &Map<String, Value>) -> Result<()> {
        if self.json {
            return self.record(&Value::Object(summary.clone()));
        }
        let width = summary.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        let mut text = String::new();
        for (key, value) in summary {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            text.push_str(&format!("{key:<width$}  {shown}\n"));
        }
        print_text(&text)
    }

    /// Prints a table of rows (already strings) under `columns`, or their JSON objects.
    pub fn rows(&self, columns: &[&str], rows: &[Vec<Value>]) -> Result<()> {
        if self.json {
            let objects: Vec<Value> = rows
                .iter()
                .map(|row| {
                    Value::Object(
                        columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| ((*c).to_owned(), v.clone()))
                            .collect(),
                    )
                })
                .collect();
            return self.record(&Value::Array(objects));
        }
        let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
        print_line(&table(&columns, &cells))
    }

    /// Prints a line for people (nothing in JSON mode).
    pub fn note(&self, line: &str) -> Result<()> {
        if self.json { Ok(()) } else { print_line(line) }
    }
}

/// A table cell: strings as they are, other values as compact JSON, cut to a readable width.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    let text = text.replace(['\n', '\r', '\t'], " ");
    if text.chars().count() > MAX_CELL_CHARS {
        let cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Left-aligned columns separated by two spaces, with a header and a rule.
fn table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = vec![line(columns), line(&rule)];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

fn print_line(text: &str) -> Result<()> {
    print_text(&format!("{text}\n"))
}

fn print_text(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`s3db list r | head`) is not a failure of the command.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::context(
            ExitKind::Failure,
            "cannot write to stdout",
            e,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_and_cut_long_cells() {
        let columns = vec!["id".to_owned(), "name".to_owned()];
        let rows = vec![
            vec!["a".to_owned(), "Ana".to_owned()],
            vec!["bbb".to_owned(), cell(&json!("x".repeat(50)))],
        ];
        let text = table(&columns, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id   name");
        assert_eq!(lines[1], "---  ----------------------------------------");
        assert_eq!(lines[2], "a    Ana");
        assert!(lines[3].ends_with('…'));
        assert_eq!(lines[3].chars().count(), 5 + MAX_CELL_CHARS);
    }

    #[test]
    fn cells_show_strings_plainly_and_values_as_json() {
        assert_eq!(cell(&json!("a\nb")), "a b");
        assert_eq!(cell(&json!({"x": [1, 2]})), r#"{"x":[1,2]}"#);
        assert_eq!(cell(&Value::Null), "");
    }
}
