//! SQLite target: one table per resource in a database file, `id TEXT PRIMARY KEY, data TEXT`
//! (the record as JSON).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;

use super::change::{TargetChange, tables};
use super::sql::{self, Dialect};
use super::target::TransactionalTarget;
use crate::{Error, Result};

/// Replicates into a SQLite database file through rusqlite (SQLite compiled in).
///
/// Each target resource name is a table `(id TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL)`,
/// created on first use: `data` is the record minus its `id` as JSON text (query it with
/// `json_extract(data, '$.name')`). Changes queued together (up to
/// [`SqliteTarget::batch`], 256 by default) are applied in one transaction: only the last
/// change of each record counts, and each table gets one multi-row
/// `INSERT .. ON CONFLICT (id) DO UPDATE` and one `DELETE .. WHERE id IN (..)`.
///
/// The file is opened (and created) on first use, in WAL mode with a 5 s busy timeout so
/// readers in other processes do not make writes fail; it is reopened after any error.
/// SQLite calls run on tokio's blocking threads.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use s3db_plugins::replicator::{ChangeOp, ReplicationTarget, SqliteTarget, TargetChange};
///
/// let dir = tempfile::tempdir().unwrap();
/// let target = SqliteTarget::new(dir.path().join("copy.db"));
/// let change = TargetChange {
///     resource: "users".into(),
///     source_resource: "users".into(),
///     op: ChangeOp::Upsert,
///     id: "u1".into(),
///     record: serde_json::json!({"id": "u1", "name": "Ana"}).as_object().cloned(),
///     attributes: Default::default(),
/// };
/// target.apply(&change).await?;
/// let db = rusqlite::Connection::open(dir.path().join("copy.db")).unwrap();
/// let name: String = db
///     .query_row("SELECT json_extract(data, '$.name') FROM users WHERE id = 'u1'", [], |row| row.get(0))
///     .unwrap();
/// assert_eq!(name, "Ana");
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub struct SqliteTarget {
    name: String,
    batch: usize,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTarget")
            .field("name", &self.name)
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// What the blocking calls share.
struct Inner {
    path: PathBuf,
    session: Mutex<Option<Session>>,
}

/// An open connection and the tables known to exist on it.
struct Session {
    connection: Connection,
    tables: HashSet<String>,
}

impl SqliteTarget {
    /// A target named `sqlite` writing into the database file at `path` (created if missing).
    pub fn new(path: impl Into<PathBuf>) -> SqliteTarget {
        SqliteTarget {
            name: "sqlite".into(),
            batch: 256,
            inner: Arc::new(Inner {
                path: path.into(),
                session: Mutex::new(None),
            }),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> SqliteTarget {
        self.name = name.into();
        self
    }

    /// The most changes applied in one transaction (at least 1; 1 applies each alone).
    pub fn batch(mut self, changes: usize) -> SqliteTarget {
        self.batch = changes.max(1);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

impl Inner {
    /// Runs the statements in one transaction on the open connection (opening it first).
    fn execute(
        &self,
        tables: &[String],
        statements: &[sql::Statement],
    ) -> std::result::Result<(), (String, rusqlite::Error)> {
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let mut session = match guard.take() {
            Some(session) => session,
            None => self
                .open()
                .map_err(|e| (format!("open {}", self.path.display()), e))?,
        };
        let outcome = session.execute(tables, statements);
        // After an error the connection may be unusable (file replaced, disk full): the next
        // attempt opens the file again and re-creates missing tables.
        if outcome.is_ok() {
            *guard = Some(session);
        }
        outcome
    }

    fn open(&self) -> rusqlite::Result<Session> {
        let connection = Connection::open(&self.path)?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        Ok(Session {
            connection,
            tables: HashSet::new(),
        })
    }
}

impl Session {
    fn execute(
        &mut self,
        tables: &[String],
        statements: &[sql::Statement],
    ) -> std::result::Result<(), (String, rusqlite::Error)> {
        for table in tables {
            if !self.tables.contains(table) {
                self.connection
                    .execute_batch(&Dialect::Sqlite.create_table(table))
                    .map_err(|e| (format!("create table {table}"), e))?;
                self.tables.insert(table.clone());
            }
        }
        let transaction = self
            .connection
            .transaction()
            .map_err(|e| ("begin".to_owned(), e))?;
        for statement in statements {
            transaction
                .prepare_cached(&statement.sql)
                .and_then(|mut prepared| {
                    prepared.execute(rusqlite::params_from_iter(&statement.params))
                })
                .map_err(|e| (statement.what.clone(), e))?;
        }
        transaction.commit().map_err(|e| ("commit".to_owned(), e))
    }
}

#[async_trait]
impl TransactionalTarget for SqliteTarget {
    fn target_name(&self) -> &str {
        &self.name
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    async fn transact(&self, changes: &[TargetChange]) -> Result<()> {
        let inner = self.inner.clone();
        let tables: Vec<String> = tables(changes).into_iter().map(str::to_owned).collect();
        let statements = sql::statements(Dialect::Sqlite, changes);
        let outcome = tokio::task::spawn_blocking(move || inner.execute(&tables, &statements))
            .await
            .map_err(|e| Error::target(&self.name, "the SQLite task ended", e))?;
        outcome.map_err(|(what, e)| Error::target(&self.name, format!("{what}: {e}"), e))
    }
}
