//! MySQL/MariaDB target: one table per resource, `id VARCHAR(255) PRIMARY KEY, data JSON`.

use std::collections::HashSet;
use std::sync::OnceLock;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Pool, TxOpts};
use tokio::sync::Mutex;

use super::change::{TargetChange, tables};
use super::sql::{self, Dialect};
use super::target::TransactionalTarget;
use crate::{Error, Result};

/// Replicates into MySQL or MariaDB through mysql_async (no TLS).
///
/// Each target resource name is a table `(id VARCHAR(255) NOT NULL PRIMARY KEY, data JSON
/// NOT NULL)`, created on first use: `data` is the record minus its `id` (query it with
/// `data->>'$.name'` on MySQL, `JSON_VALUE(data, '$.name')` on MariaDB). Table names are
/// limited to 64 characters and ids to 255. Changes queued together (up to
/// [`MysqlTarget::batch`], 256 by default) are applied in one transaction: only the last
/// change of each record counts, and each table gets one multi-row
/// `INSERT .. ON DUPLICATE KEY UPDATE` and one `DELETE .. WHERE id IN (..)`.
///
/// Connections come from a pool opened on first use (options in the URL, e.g.
/// `?pool_min=1&pool_max=4`); a broken connection is dropped, and missing tables are
/// created again after an error.
///
/// ```
/// use s3db_plugins::replicator::{MysqlTarget, ReplicationTarget};
///
/// let target = MysqlTarget::new("mysql://app:secret@127.0.0.1:3306/app").named("mariadb");
/// assert_eq!(target.name(), "mariadb");
/// assert!(!format!("{target:?}").contains("secret"));
/// ```
pub struct MysqlTarget {
    name: String,
    url: String,
    batch: usize,
    pool: OnceLock<Pool>,
    /// Tables known to exist.
    tables: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for MysqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the name is shown.
        f.debug_struct("MysqlTarget")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl MysqlTarget {
    /// A target named `mysql` connecting to `url`
    /// (`mysql://user:password@host:port/database`, as [`mysql_async::Opts`] takes).
    pub fn new(url: impl Into<String>) -> MysqlTarget {
        MysqlTarget {
            name: "mysql".into(),
            url: url.into(),
            batch: 256,
            pool: OnceLock::new(),
            tables: Mutex::new(HashSet::new()),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> MysqlTarget {
        self.name = name.into();
        self
    }

    /// The most changes applied in one transaction (at least 1; 1 applies each alone).
    pub fn batch(mut self, changes: usize) -> MysqlTarget {
        self.batch = changes.max(1);
        self
    }

    fn fail(&self, what: &str, error: mysql_async::Error) -> Error {
        Error::target(&self.name, format!("{what}: {error}"), error)
    }

    async fn connection(&self) -> Result<Conn> {
        let pool = match self.pool.get() {
            Some(pool) => pool,
            None => {
                let opts = Opts::from_url(&self.url).map_err(|e| {
                    let reason = format!("the URL is not a MySQL URL: {e}");
                    Error::target(&self.name, reason, e)
                })?;
                self.pool.get_or_init(|| Pool::new(opts))
            }
        };
        pool.get_conn().await.map_err(|e| self.fail("connect", e))
    }

    async fn execute(&self, conn: &mut Conn, changes: &[TargetChange]) -> Result<()> {
        {
            let mut known = self.tables.lock().await;
            for table in tables(changes) {
                if !known.contains(table) {
                    // DDL commits implicitly in MySQL: done before the transaction.
                    conn.query_drop(Dialect::Mysql.create_table(table))
                        .await
                        .map_err(|e| self.fail(&format!("create table {table}"), e))?;
                    known.insert(table.to_owned());
                }
            }
        }
        let statements = sql::statements(Dialect::Mysql, changes);
        if let [statement] = statements.as_slice() {
            return conn
                .exec_drop(&statement.sql, statement.params.clone())
                .await
                .map_err(|e| self.fail(&statement.what, e));
        }
        let mut transaction = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(|e| self.fail("begin", e))?;
        for statement in statements {
            transaction
                .exec_drop(&statement.sql, statement.params)
                .await
                .map_err(|e| self.fail(&statement.what, e))?;
        }
        transaction
            .commit()
            .await
            .map_err(|e| self.fail("commit", e))
    }
}

#[async_trait]
impl TransactionalTarget for MysqlTarget {
    fn target_name(&self) -> &str {
        &self.name
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    async fn transact(&self, changes: &[TargetChange]) -> Result<()> {
        let mut conn = self.connection().await?;
        let outcome = self.execute(&mut conn, changes).await;
        if outcome.is_err() {
            // A table may have been dropped: create it again on the next attempt.
            self.tables.lock().await.clear();
        }
        outcome
    }
}
