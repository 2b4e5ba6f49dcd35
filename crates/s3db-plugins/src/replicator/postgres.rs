//! PostgreSQL target: one table per resource, `id TEXT PRIMARY KEY, data JSONB NOT NULL`.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_postgres::{Client, GenericClient, NoTls, Statement};

use super::change::{ChangeOp, TargetChange};
use super::target::TransactionalTarget;
use crate::{Error, Result};

/// Replicates into PostgreSQL through tokio-postgres.
///
/// Each target resource name is a table `(id TEXT PRIMARY KEY, data JSONB NOT NULL)`,
/// created on first use (`CREATE TABLE IF NOT EXISTS`): the record minus its `id` is stored
/// whole in `data`, so new attributes need no `ALTER TABLE` and nested objects keep their
/// shape (query them with `data->>'name'`, or add generated columns and indexes yourself).
/// An upsert is `INSERT .. ON CONFLICT (id) DO UPDATE`, a delete is `DELETE .. WHERE id`.
/// Changes queued together (up to [`PostgresTarget::batch`], 128 by default) are applied
/// in one transaction, their statements pipelined on the connection.
///
/// The connection is opened on first use and reopened after any error, so a server that
/// went away and came back is picked up by the next retry.
///
/// ```
/// use s3db_plugins::replicator::PostgresTarget;
/// use s3db_plugins::replicator::ReplicationTarget;
///
/// let target = PostgresTarget::new("postgres://app@127.0.0.1:5432/app").named("warehouse");
/// assert_eq!(target.name(), "warehouse");
/// ```
pub struct PostgresTarget {
    name: String,
    url: String,
    batch: usize,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the name is shown.
        f.debug_struct("PostgresTarget")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An open connection and the statements prepared on it, per table.
struct Session {
    client: Client,
    tables: HashMap<String, TableStatements>,
}

struct TableStatements {
    upsert: Statement,
    delete: Statement,
}

impl PostgresTarget {
    /// A target named `postgres` connecting to `url` (a libpq URL or key=value string, as
    /// [`tokio_postgres::connect`] takes; add `connect_timeout=N` to bound connecting).
    pub fn new(url: impl Into<String>) -> PostgresTarget {
        PostgresTarget {
            name: "postgres".into(),
            url: url.into(),
            batch: 128,
            session: Mutex::new(None),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> PostgresTarget {
        self.name = name.into();
        self
    }

    /// The most changes applied in one transaction (at least 1; 1 applies each alone).
    pub fn batch(mut self, changes: usize) -> PostgresTarget {
        self.batch = changes.max(1);
        self
    }

    fn fail(&self, what: &str, error: tokio_postgres::Error) -> Error {
        Error::target(&self.name, format!("{what}: {error}"), error)
    }

    async fn connect(&self) -> Result<Session> {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .map_err(|e| self.fail("connect", e))?;
        let name = self.name.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(target = %name, %error, "PostgreSQL connection ended");
            }
        });
        Ok(Session {
            client,
            tables: HashMap::new(),
        })
    }

    /// Creates `table` if missing and prepares its statements on the session.
    async fn prepare(&self, session: &mut Session, table: &str) -> Result<()> {
        if session.tables.contains_key(table) {
            return Ok(());
        }
        let quoted = quote_ident(table);
        session
            .client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {quoted} (id TEXT PRIMARY KEY, data JSONB NOT NULL)"
            ))
            .await
            .map_err(|e| self.fail(&format!("create table {table}"), e))?;
        let upsert = session
            .client
            .prepare(&format!(
                "INSERT INTO {quoted} (id, data) VALUES ($1, $2::text::jsonb) \
                 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
            ))
            .await
            .map_err(|e| self.fail(&format!("prepare upsert into {table}"), e))?;
        let delete = session
            .client
            .prepare(&format!("DELETE FROM {quoted} WHERE id = $1"))
            .await
            .map_err(|e| self.fail(&format!("prepare delete from {table}"), e))?;
        session
            .tables
            .insert(table.to_owned(), TableStatements { upsert, delete });
        Ok(())
    }

    /// Applies `changes` on the session: one alone, several in one transaction.
    async fn execute(&self, session: &mut Session, changes: &[TargetChange]) -> Result<()> {
        for change in changes {
            self.prepare(session, &change.resource).await?;
        }
        let Session { client, tables } = session;
        if let [change] = changes {
            return self.execute_one(&*client, tables, change).await;
        }
        let transaction = client
            .transaction()
            .await
            .map_err(|e| self.fail("begin", e))?;
        // Issued together, the statements are pipelined: one round trip, not one each.
        let statements = changes
            .iter()
            .map(|change| self.execute_one(&transaction, tables, change));
        futures::future::try_join_all(statements).await?;
        transaction
            .commit()
            .await
            .map_err(|e| self.fail("commit", e))
    }

    async fn execute_one(
        &self,
        client: &impl GenericClient,
        tables: &HashMap<String, TableStatements>,
        change: &TargetChange,
    ) -> Result<()> {
        let Some(statements) = tables.get(&change.resource) else {
            return Err(Error::Target {
                target: self.name.clone(),
                reason: format!("{}: statements missing after prepare", change.resource),
                source: None,
            });
        };
        let outcome = match change.op {
            ChangeOp::Upsert => {
                let data = change.data().unwrap_or_default();
                let json = serde_json::Value::Object(data).to_string();
                client
                    .execute(&statements.upsert, &[&change.id, &json])
                    .await
            }
            ChangeOp::Delete => client.execute(&statements.delete, &[&change.id]).await,
        };
        outcome.map(drop).map_err(|e| {
            let op = change.op.as_str();
            self.fail(&format!("{op} {}/{}", change.resource, change.id), e)
        })
    }
}

#[async_trait]
impl TransactionalTarget for PostgresTarget {
    fn target_name(&self) -> &str {
        &self.name
    }

    fn batch_size(&self) -> usize {
        self.batch
    }

    async fn transact(&self, changes: &[TargetChange]) -> Result<()> {
        let mut guard = self.session.lock().await;
        let mut session = match guard.take() {
            Some(session) if !session.client.is_closed() => session,
            _ => self.connect().await?,
        };
        let outcome = self.execute(&mut session, changes).await;
        // After an error the session may be broken (server gone, table dropped): the next
        // attempt starts from a fresh connection and re-creates the table if needed.
        if outcome.is_ok() {
            *guard = Some(session);
        }
        outcome
    }
}

/// `"name"`, with embedded quotes doubled: any resource name is a valid table name.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(super::quote_ident("users"), "\"users\"");
        assert_eq!(super::quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
