//! Replicator → PostgreSQL against a real server.
//!
//! The server: `S3DB_TEST_POSTGRES_URL` (CI's `.ci/run` starts one and exports it), or else
//! a cluster these tests start with `.ci/start-postgres.sh` (left running for the next run;
//! stop it with `.ci/stop-postgres.sh`). Without a server the tests fail, they never skip.
//! The failing-target test starts, stops and restarts a second cluster of its own on
//! `S3DB_TEST_POSTGRES_PORT2` (default: the first port + 1).

use crate::common;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use common::replication::{
    EVERY_KIND_CHANGES, ci_script, every_kind_of_write, people, resource_rows, start_server,
};
use common::{Write, fast_retry, insert_each, install_replicator, run_writes};
use s3db_core::extend::{Plugin, PluginContext};
use s3db_plugins::replicator::{ChangeOp, PostgresTarget, Replicator, Route};
use serde_json::{Value, json};

const DEFAULT_PORT: u16 = 25432;

fn base_port() -> u16 {
    std::env::var("S3DB_TEST_POSTGRES_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT)
}

/// Runs `.ci/start-postgres.sh PORT`; returns the URL it prints.
fn start_cluster(port: u16) -> String {
    start_server("start-postgres.sh", port, "S3DB_TEST_POSTGRES_URL")
}

/// Runs `.ci/stop-postgres.sh PORT [--keep]`.
fn stop_cluster(port: u16, keep: bool) {
    let mut command = Command::new("bash");
    command
        .arg(ci_script("stop-postgres.sh"))
        .arg(port.to_string());
    if keep {
        command.arg("--keep");
    }
    let status = command
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run .ci/stop-postgres.sh: {e}"));
    assert!(status.success(), ".ci/stop-postgres.sh {port} failed");
}

/// The shared test server's URL.
fn postgres_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("S3DB_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!(
                "S3DB_TEST_POSTGRES_URL is not set: starting a cluster with .ci/start-postgres.sh"
            );
            start_cluster(base_port())
        }
    })
    .clone()
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn sql_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// `SELECT id, data FROM table ORDER BY id` as (id, data) pairs.
async fn table_rows(url: &str, table: &str) -> Vec<(String, Value)> {
    let client = sql_client(url).await;
    let rows = client
        .query(
            &format!("SELECT id, data::text FROM \"{table}\" ORDER BY id"),
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let data: String = row.get(1);
            (row.get(0), serde_json::from_str(&data).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn the_table_equals_the_resource_after_every_kind_of_write() {
    let url = postgres_url();
    let db = common::memory_db("pg-eq").await;
    let resource_name = unique("people");
    let table = unique("people_copy");
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(
            PostgresTarget::new(url.clone()),
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
    assert_eq!(table_rows(&url, &table).await, expected);

    let stats = replicator.stats();
    assert_eq!(stats.replicated, EVERY_KIND_CHANGES);
    assert_eq!(
        (stats.failures, stats.dead_letters, stats.queue_len),
        (0, 0, 0)
    );
    // The script's changes were queued together: at least one transaction held several.
    assert!(stats.batches >= 1, "{stats:?}");
    assert_eq!(stats.batch_failures, 0);
    assert!(stats.lag_p50.is_some() && stats.lag_p95 >= stats.lag_p50);
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_batch_is_one_transaction_and_a_refused_change_is_isolated() {
    let url = postgres_url();
    let db = common::memory_db("pg-batch").await;
    let resource_name = unique("people");
    let table = unique("people_batch");
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .target(
                PostgresTarget::new(url.clone()),
                [Route::resource(resource_name.clone()).rename(table.clone())],
            )
            .retry(fast_retry(2)),
    )
    .await;
    let people = people(&db, &resource_name).await;
    // Queued while stopped, the three changes reach PostgreSQL as one batch. jsonb refuses
    // the NUL character, so the transaction fails whole and nothing of it is left.
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    insert_each(
        &people,
        [
            json!({"id": "a", "name": "Ana"}),
            json!({"id": "b", "name": "B\u{0}b"}),
            json!({"id": "c", "name": "Cid"}),
        ],
    )
    .await;
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();

    // Then each change was applied alone: a and c made it, b is a dead letter.
    let ids: Vec<String> = table_rows(&url, &table)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["a", "c"]);
    let stats = replicator.stats();
    assert_eq!(
        (stats.batch_failures, stats.replicated, stats.dead_letters),
        (1, 2, 1),
        "{stats:?}"
    );
    let letters = replicator.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, "b");
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_stopped_server_ends_in_dead_letters_that_replay_when_it_is_back() {
    let port = std::env::var("S3DB_TEST_POSTGRES_PORT2")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(base_port() + 1);
    stop_cluster(port, false); // leftovers of an interrupted run
    let url = start_cluster(port);
    let target_url = format!("{url}?connect_timeout=5");

    let db = common::memory_db("pg-dead").await;
    let resource_name = unique("orders");
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .target(
                PostgresTarget::new(target_url).named("pg-second"),
                [Route::all()],
            )
            .retry(fast_retry(3)),
    )
    .await;
    let orders = people(&db, &resource_name).await;
    insert_each(
        &orders,
        [
            json!({"id": "o1", "name": "first"}),
            json!({"id": "o2", "name": "second"}),
        ],
    )
    .await;
    replicator.flush().await.unwrap();
    assert_eq!(table_rows(&url, &resource_name).await.len(), 2);

    // The server goes away: every change fails and is dead-lettered.
    stop_cluster(port, true);
    run_writes(
        &orders,
        [
            Write::Insert(json!({"id": "o3", "name": "third"})),
            Write::Update("o1", json!({"name": "first, changed"})),
            Write::Delete("o2"),
        ],
    )
    .await;
    replicator.flush().await.unwrap();

    let stats = replicator.stats();
    assert_eq!(stats.dead_letters, 3);
    assert_eq!(stats.failures, 9);
    let letters = replicator.dead_letters().await.unwrap();
    let summary: Vec<(&str, &str, ChangeOp, &str, u32)> = letters
        .iter()
        .map(|l| {
            (
                l.target.as_str(),
                l.resource.as_str(),
                l.op,
                l.id.as_str(),
                l.attempts,
            )
        })
        .collect();
    let r = resource_name.as_str();
    assert_eq!(
        summary,
        [
            ("pg-second", r, ChangeOp::Upsert, "o3", 3),
            ("pg-second", r, ChangeOp::Upsert, "o1", 3),
            ("pg-second", r, ChangeOp::Delete, "o2", 3),
        ]
    );
    assert_eq!(letters[0].payload.as_ref().unwrap()["name"], "third");
    assert!(letters[2].payload.is_none());
    assert!(
        letters.iter().all(|l| l.error.contains("pg-second")),
        "{letters:?}"
    );
    // They live in the plugin's storage area.
    let keys: Vec<String> = {
        use futures::TryStreamExt;
        db.storage()
            .list(s3db_storage::ListOptions {
                prefix: "plugin=replicator/dead-letter/pg-second/".into(),
                ..Default::default()
            })
            .map_ok(|meta| meta.key)
            .try_collect()
            .await
            .unwrap()
    };
    assert_eq!(keys.len(), 3);

    // A retry while the server is still down fails again and keeps the letters.
    let report = replicator.retry_dead_letters().await.unwrap();
    assert_eq!((report.replayed, report.failed), (0, 3));
    let attempts: Vec<u32> = replicator
        .dead_letters()
        .await
        .unwrap()
        .iter()
        .map(|l| l.attempts)
        .collect();
    assert_eq!(attempts, [6, 6, 6]);

    // Back up (same data): the replay succeeds and removes them.
    start_cluster(port);
    let report = replicator.retry_dead_letters().await.unwrap();
    assert_eq!((report.replayed, report.failed), (3, 0));
    assert!(replicator.dead_letters().await.unwrap().is_empty());
    assert_eq!(
        table_rows(&url, &resource_name).await,
        resource_rows(&db, &resource_name).await
    );
    assert_eq!(replicator.stats().dead_letters_replayed, 3);

    // Later writes flow again through a fresh connection.
    insert_each(&orders, [json!({"id": "o4", "name": "fourth"})]).await;
    replicator.flush().await.unwrap();
    assert_eq!(
        table_rows(&url, &resource_name).await,
        resource_rows(&db, &resource_name).await
    );
    db.disconnect().await.unwrap();
    stop_cluster(port, false);
}
