//! Replicator → SQLite (a file) and MySQL/MariaDB (a real server): the tables equal the
//! resource after every kind of write, a batch is one transaction with one multi-row
//! statement per table and kind, and a change the database refuses is isolated.
//!
//! The MariaDB server: `S3DB_TEST_MYSQL_URL` (CI's `.ci/run` starts one and exports it), or
//! else a server these tests start with `.ci/start-mysql.sh` on `S3DB_TEST_MYSQL_PORT`
//! (default 23306; left running for the next run, stop it with `.ci/stop-mysql.sh`). Without
//! a server the tests fail, they never skip.

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;

use common::replication::{
    EVERY_KIND_CHANGES, every_kind_of_write, people, resource_rows, start_server,
};
use common::{Write, fast_retry, insert_each, install_replicator, run_writes};
use s3db_core::extend::{Plugin, PluginContext};
use s3db_plugins::replicator::{ReplicationTarget, Replicator, Route};
use serde_json::{Value, json};

/// A SQL database the tests write into through a target and read back directly.
trait Backend {
    /// A fresh target on the database.
    fn target(&self) -> Arc<dyn ReplicationTarget>;
    /// `SELECT id, data FROM table`, by id, `data` parsed.
    async fn rows(&self, table: &str) -> Vec<(String, Value)>;
    /// Creates `table` as the target would, plus a check refusing records named `bad`.
    async fn create_refusing_table(&self, table: &str);
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replica.db");
        Sqlite { _dir: dir, path }
    }

    fn connection(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).unwrap()
    }
}

impl Backend for Sqlite {
    fn target(&self) -> Arc<dyn ReplicationTarget> {
        Arc::new(s3db_plugins::replicator::SqliteTarget::new(&self.path))
    }

    async fn rows(&self, table: &str) -> Vec<(String, Value)> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(&format!("SELECT id, data FROM \"{table}\" ORDER BY id"))
            .unwrap();
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .unwrap();
        rows.map(|row| {
            let (id, data) = row.unwrap();
            (id, serde_json::from_str(&data).unwrap())
        })
        .collect()
    }

    async fn create_refusing_table(&self, table: &str) {
        self.connection()
            .execute_batch(&format!(
                "CREATE TABLE \"{table}\" (id TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL, \
                 CHECK (json_extract(data, '$.name') <> 'bad'))"
            ))
            .unwrap();
    }
}

struct Mysql {
    url: String,
}

/// The shared MariaDB server's URL.
fn mysql_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| match std::env::var("S3DB_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("S3DB_TEST_MYSQL_URL is not set: starting a server with .ci/start-mysql.sh");
            let port = std::env::var("S3DB_TEST_MYSQL_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(23306);
            start_server("start-mysql.sh", port, "S3DB_TEST_MYSQL_URL")
        }
    })
    .clone()
}

/// The MySQL tests run one at a time: the statement counts read from the server's global
/// status must be theirs alone.
static MYSQL_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Mysql {
    fn new() -> Mysql {
        Mysql { url: mysql_url() }
    }

    async fn connection(&self) -> mysql_async::Conn {
        mysql_async::Conn::from_url(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to MariaDB at {}: {e}", self.url))
    }

    /// The server's `Com_stmt_execute` and `Com_commit` counters.
    async fn statement_counts(&self) -> (u64, u64) {
        use mysql_async::prelude::Queryable;
        let mut conn = self.connection().await;
        let mut status: Vec<(String, u64)> = conn
            .query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_execute', 'Com_commit')")
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        status.sort();
        match status.as_slice() {
            [(_, commits), (_, executes)] => (*executes, *commits),
            other => panic!("unexpected status rows {other:?}"),
        }
    }
}

impl Backend for Mysql {
    fn target(&self) -> Arc<dyn ReplicationTarget> {
        Arc::new(s3db_plugins::replicator::MysqlTarget::new(format!(
            "{}?pool_min=1&pool_max=2",
            self.url
        )))
    }

    async fn rows(&self, table: &str) -> Vec<(String, Value)> {
        use mysql_async::prelude::Queryable;
        let mut conn = self.connection().await;
        let mut rows: Vec<(String, String)> = conn
            .query(format!("SELECT id, CAST(data AS CHAR) FROM `{table}`"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        rows.sort();
        rows.into_iter()
            .map(|(id, data)| (id, serde_json::from_str(&data).unwrap()))
            .collect()
    }

    async fn create_refusing_table(&self, table: &str) {
        use mysql_async::prelude::Queryable;
        let mut conn = self.connection().await;
        conn.query_drop(format!(
            "CREATE TABLE `{table}` (id VARCHAR(255) NOT NULL PRIMARY KEY, data JSON NOT NULL, \
             CHECK (JSON_VALUE(data, '$.name') <> 'bad'))"
        ))
        .await
        .unwrap();
        conn.disconnect().await.unwrap();
    }
}

/// A table name no other test uses (MySQL allows 64 characters).
fn table_name(prefix: &str) -> String {
    common::unique(prefix).replace('-', "_")
}

/// Every kind of write through `backend`'s target: the table equals the resource.
async fn table_equals_resource(backend: &impl Backend) {
    let db = common::memory_db("sql-eq").await;
    let resource_name = table_name("people");
    let table = table_name("people_copy");
    let replicator = install_replicator(
        &db,
        Replicator::builder().shared_target(
            backend.target(),
            [Route::resource(resource_name.clone()).rename(table.clone())],
        ),
    )
    .await;
    let people = people(&db, &resource_name).await;
    run_writes(&people, every_kind_of_write()).await;
    replicator.flush().await.unwrap();

    let expected = resource_rows(&db, &resource_name).await;
    let ids: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["ana", "bob", "cid", "fay"]);
    assert_eq!(backend.rows(&table).await, expected);
    let stats = replicator.stats();
    assert_eq!(stats.replicated, EVERY_KIND_CHANGES);
    assert_eq!(
        (
            stats.failures,
            stats.dead_letters,
            stats.batch_failures,
            stats.queue_len
        ),
        (0, 0, 0, 0),
        "{stats:?}"
    );
    db.disconnect().await.unwrap();
}

/// 40 inserts, 10 updates and 5 deletes queued while the workers are stopped reach the
/// target as one batch: one transaction of one 35-row upsert and one 5-row delete.
async fn a_batch_is_two_statements(backend: &impl Backend) {
    let db = common::memory_db("sql-batch").await;
    let resource_name = table_name("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder().shared_target(backend.target(), [Route::all()]),
    )
    .await;
    let people = people(&db, &resource_name).await;
    // The table exists before the batch (its CREATE is not part of what is counted).
    insert_each(&people, [json!({"id": "seed", "name": "Seed"})]).await;
    replicator.flush().await.unwrap();

    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    let ids: Vec<String> = (0..40).map(|i| format!("p{i:02}")).collect();
    insert_each(
        &people,
        ids.iter()
            .map(|id| json!({"id": id, "name": format!("name {id}")})),
    )
    .await;
    for id in &ids[..10] {
        people
            .update(id, common::rec(json!({"age": 40})))
            .await
            .unwrap();
    }
    for id in &ids[35..] {
        people.delete(id).await.unwrap();
    }
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();

    assert_eq!(
        backend.rows(&resource_name).await,
        resource_rows(&db, &resource_name).await
    );
    assert_eq!(backend.rows(&resource_name).await.len(), 36);
    let stats = replicator.stats();
    assert_eq!(stats.replicated, 56);
    assert_eq!((stats.batches, stats.batch_failures), (1, 0), "{stats:?}");
    db.disconnect().await.unwrap();
}

/// A batch the database refuses (one record breaks a CHECK) leaves nothing; each change is
/// then applied alone: the good ones land, the bad one is a dead letter.
async fn a_refused_change_is_isolated(backend: &impl Backend) {
    let db = common::memory_db("sql-refuse").await;
    let resource_name = table_name("people");
    backend.create_refusing_table(&resource_name).await;
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .shared_target(backend.target(), [Route::all()])
            .retry(fast_retry(2)),
    )
    .await;
    let people = people(&db, &resource_name).await;
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    run_writes(
        &people,
        [
            Write::Insert(json!({"id": "a", "name": "Ana"})),
            Write::Insert(json!({"id": "b", "name": "bad"})),
            Write::Insert(json!({"id": "c", "name": "Cid"})),
        ],
    )
    .await;
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();

    let ids: Vec<String> = backend
        .rows(&resource_name)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["a", "c"]);
    let stats = replicator.stats();
    assert_eq!(
        (
            stats.batch_failures,
            stats.replicated,
            stats.dead_letters,
            stats.failures
        ),
        (1, 2, 1, 2),
        "{stats:?}"
    );
    let letters = replicator.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, "b");
    assert!(
        letters[0].error.contains("upsert 1 rows into"),
        "{}",
        letters[0].error
    );
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn sqlite_table_equals_the_resource_after_every_kind_of_write() {
    table_equals_resource(&Sqlite::new()).await;
}

#[tokio::test]
async fn sqlite_batch_is_one_transaction() {
    a_batch_is_two_statements(&Sqlite::new()).await;
}

#[tokio::test]
async fn sqlite_refused_change_is_isolated() {
    a_refused_change_is_isolated(&Sqlite::new()).await;
}

#[tokio::test]
async fn mysql_table_equals_the_resource_after_every_kind_of_write() {
    let _serial = MYSQL_SERIAL.lock().await;
    table_equals_resource(&Mysql::new()).await;
}

#[tokio::test]
async fn mysql_batch_is_one_transaction_of_two_statements() {
    let _serial = MYSQL_SERIAL.lock().await;
    let mysql = Mysql::new();
    let before = mysql.statement_counts().await;
    a_batch_is_two_statements(&mysql).await;
    let after = mysql.statement_counts().await;
    // The seed insert alone (1 statement), then the batch: a 35-row upsert and a 5-row
    // delete in one transaction (1 commit).
    assert_eq!((after.0 - before.0, after.1 - before.1), (3, 1));
}

#[tokio::test]
async fn mysql_refused_change_is_isolated() {
    let _serial = MYSQL_SERIAL.lock().await;
    a_refused_change_is_isolated(&Mysql::new()).await;
}
