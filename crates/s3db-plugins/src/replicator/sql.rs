//! What the SQL targets (MySQL/MariaDB, SQLite) share: a batch of changes reduced to the
//! statements that leave the same rows, one multi-row upsert and one multi-row delete per
//! table.

use std::collections::HashSet;

use super::change::{ChangeOp, TargetChange, tables};

/// Rows in one statement at most: 2 placeholders a row stays far below MySQL's 65,535 and
/// SQLite's 32,766 placeholders.
const ROWS_PER_STATEMENT: usize = 1000;

/// The SQL flavour of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// With one of the two features, the other's variant is never built.
#[cfg_attr(not(all(feature = "mysql", feature = "sqlite")), allow(dead_code))]
pub(crate) enum Dialect {
    /// MySQL and MariaDB: `` `name` ``, `ON DUPLICATE KEY UPDATE`.
    Mysql,
    /// SQLite: `"name"`, `ON CONFLICT (id) DO UPDATE`.
    Sqlite,
}

impl Dialect {
    /// The identifier quoted, embedded quotes doubled: any resource name is a table name.
    pub(crate) fn quote(self, name: &str) -> String {
        let quote = match self {
            Dialect::Mysql => '`',
            Dialect::Sqlite => '"',
        };
        let doubled = name.replace(quote, &format!("{quote}{quote}"));
        format!("{quote}{doubled}{quote}")
    }

    /// `CREATE TABLE IF NOT EXISTS` of a target table: the record minus its `id` is stored
    /// whole as JSON in `data`.
    pub(crate) fn create_table(self, table: &str) -> String {
        let quoted = self.quote(table);
        match self {
            Dialect::Mysql => format!(
                "CREATE TABLE IF NOT EXISTS {quoted} \
                 (id VARCHAR(255) NOT NULL PRIMARY KEY, data JSON NOT NULL)"
            ),
            Dialect::Sqlite => format!(
                "CREATE TABLE IF NOT EXISTS {quoted} (id TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL)"
            ),
        }
    }

    fn upsert(self, table: &str, rows: usize) -> String {
        let values = vec!["(?, ?)"; rows].join(", ");
        let quoted = self.quote(table);
        match self {
            // `VALUES(data)` is what MariaDB understands (MySQL 8 still accepts it).
            Dialect::Mysql => format!(
                "INSERT INTO {quoted} (id, data) VALUES {values} \
                 ON DUPLICATE KEY UPDATE data = VALUES(data)"
            ),
            Dialect::Sqlite => format!(
                "INSERT INTO {quoted} (id, data) VALUES {values} \
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data"
            ),
        }
    }

    fn delete(self, table: &str, rows: usize) -> String {
        let ids = vec!["?"; rows].join(", ");
        format!("DELETE FROM {} WHERE id IN ({ids})", self.quote(table))
    }
}

/// One SQL statement and its parameters, all text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// What it does, for errors: `upsert 3 rows into users`.
    pub what: String,
    pub sql: String,
    pub params: Vec<String>,
}

/// The statements that apply `changes` (in write order) when run in one transaction: only
/// the last change of each record counts, so each table gets at most one multi-row upsert
/// and one multi-row delete (split every [`ROWS_PER_STATEMENT`] rows).
pub(crate) fn statements(dialect: Dialect, changes: &[TargetChange]) -> Vec<Statement> {
    let mut seen = HashSet::new();
    // Newest first, keeping each record's last change.
    let latest: Vec<&TargetChange> = changes
        .iter()
        .rev()
        .filter(|c| seen.insert((c.resource.as_str(), c.id.as_str())))
        .collect();
    let mut out = Vec::new();
    for table in tables(changes) {
        let of_table = || latest.iter().rev().filter(move |c| c.resource == table);
        let upserts: Vec<[String; 2]> = of_table()
            .filter(|c| c.op == ChangeOp::Upsert)
            .map(|c| {
                let data = serde_json::Value::Object(c.data().unwrap_or_default());
                [c.id.clone(), data.to_string()]
            })
            .collect();
        for rows in upserts.chunks(ROWS_PER_STATEMENT) {
            out.push(Statement {
                what: format!("upsert {} rows into {table}", rows.len()),
                sql: dialect.upsert(table, rows.len()),
                params: rows.iter().flatten().cloned().collect(),
            });
        }
        let deletes: Vec<String> = of_table()
            .filter(|c| c.op == ChangeOp::Delete)
            .map(|c| c.id.clone())
            .collect();
        for ids in deletes.chunks(ROWS_PER_STATEMENT) {
            out.push(Statement {
                what: format!("delete {} rows from {table}", ids.len()),
                sql: dialect.delete(table, ids.len()),
                params: ids.to_vec(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn change(table: &str, op: ChangeOp, id: &str, name: &str) -> TargetChange {
        TargetChange {
            resource: table.into(),
            source_resource: table.into(),
            op,
            id: id.into(),
            record: (op == ChangeOp::Upsert).then(|| {
                json!({"id": id, "name": name})
                    .as_object()
                    .cloned()
                    .unwrap()
            }),
            attributes: Default::default(),
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Sqlite.quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_batch_becomes_one_upsert_and_one_delete_per_table_with_the_last_change_of_each_id() {
        use ChangeOp::{Delete, Upsert};
        let changes = [
            change("t", Upsert, "a", "A1"),
            change("t", Upsert, "b", "B1"),
            change("u", Upsert, "x", "X"),
            change("t", Delete, "a", ""),
            change("t", Upsert, "c", "C"),
            change("t", Upsert, "b", "B2"),
            change("t", Delete, "d", ""),
        ];
        let statements = statements(Dialect::Sqlite, &changes);
        let summary: Vec<(&str, Vec<&str>)> = statements
            .iter()
            .map(|s| {
                (
                    s.sql.as_str(),
                    s.params.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "INSERT INTO \"t\" (id, data) VALUES (?, ?), (?, ?) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    vec!["c", "{\"name\":\"C\"}", "b", "{\"name\":\"B2\"}"]
                ),
                ("DELETE FROM \"t\" WHERE id IN (?, ?)", vec!["a", "d"]),
                (
                    "INSERT INTO \"u\" (id, data) VALUES (?, ?) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    vec!["x", "{\"name\":\"X\"}"]
                ),
            ]
        );
        let mysql = statements_sql(Dialect::Mysql, &changes[..1]);
        assert_eq!(
            mysql,
            [
                "INSERT INTO `t` (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)"
            ]
        );
    }

    fn statements_sql(dialect: Dialect, changes: &[TargetChange]) -> Vec<String> {
        statements(dialect, changes)
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    #[test]
    fn large_batches_are_split() {
        let changes: Vec<TargetChange> = (0..2500)
            .map(|i| change("t", ChangeOp::Upsert, &format!("id{i}"), "n"))
            .collect();
        let rows: Vec<usize> = statements(Dialect::Mysql, &changes)
            .iter()
            .map(|s| s.params.len() / 2)
            .collect();
        assert_eq!(rows, [1000, 1000, 500]);
    }
}
