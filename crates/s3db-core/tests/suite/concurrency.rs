//! Conditional writes under contention, on the memory, filesystem and S3 (moto and
//! SeaweedFS) backends: 16 tasks × 50 updates of one counter lose no increment; 32
//! concurrent inserts of one id give exactly one success and 31 `AlreadyExists`; 16 tasks ×
//! 50 "read with version, edit, `update_if`, retry on `VersionMismatch`" end at 800.

use std::sync::Arc;

use s3db_core::{Database, Error, Record, ResourceConfig};
use s3db_storage::testing::{Server, fresh_storage_on};
use s3db_storage::{FsStorage, MemoryStorage, Storage};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

/// The resource every test contends on. What the tests check is that no write is lost or
/// duplicated, not how many rounds a writer needs: moto serves one request at a time to the
/// whole suite, so a round there can outlast the others' many wins, and a writer could lose
/// more than the default 64 rounds in a row (a bounded `Error::Conflict`, never a lost write).
async fn counters(storage: Arc<dyn Storage>) -> s3db_core::Resource {
    let db = Database::builder(storage)
        .max_write_attempts(1_000)
        .open()
        .await
        .unwrap();
    db.create_resource(
        ResourceConfig::from_json(&json!({
            "name": "counters",
            "attributes": {"n": "number|integer:true", "label": "string|optional"},
            "partitions": {"byLabel": {"fields": {"label": "string"}}}
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

async fn updates_lose_nothing(storage: Arc<dyn Storage>, tasks: usize, rounds: usize) {
    let counters = counters(storage).await;
    counters
        .insert(record(json!({"id": "c", "n": 0, "label": "x"})))
        .await
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let counters = counters.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..rounds {
                // Read-modify-write through a closure over the fresh record.
                counters
                    .update_with("c", |current| {
                        let n = current["n"].as_i64().unwrap_or(0);
                        let mut next = current.clone();
                        next.insert("n".into(), json!(n + 1));
                        Ok(next)
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let stored = counters.get("c").await.unwrap();
    assert_eq!(stored["n"], json!((tasks * rounds) as i64));
}

async fn one_insert_wins(storage: Arc<dyn Storage>) {
    let counters = counters(storage).await;
    let mut handles = Vec::new();
    for i in 0..32 {
        let counters = counters.clone();
        handles.push(tokio::spawn(async move {
            counters
                .insert(record(json!({"id": "same", "n": i, "label": "y"})))
                .await
        }));
    }
    let mut ok = 0;
    let mut duplicates = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::AlreadyExists { id, .. }) => {
                assert_eq!(id, "same");
                duplicates += 1;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, duplicates), (1, 31));
    assert_eq!(counters.list_ids().await.unwrap(), vec!["same".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_updates_lose_nothing() {
    updates_lose_nothing(Arc::new(MemoryStorage::new()), 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_one_insert_wins() {
    one_insert_wins(Arc::new(MemoryStorage::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    updates_lose_nothing(Arc::new(FsStorage::open(dir.path()).unwrap()), 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_one_insert_wins() {
    let dir = tempfile::tempdir().unwrap();
    one_insert_wins(Arc::new(FsStorage::open(dir.path()).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_updates_lose_nothing() {
    updates_lose_nothing(bare_bucket(Server::Moto).await, 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_one_insert_wins() {
    one_insert_wins(bare_bucket(Server::Moto).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seaweedfs_updates_lose_nothing() {
    updates_lose_nothing(bare_bucket(Server::SeaweedFs).await, 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seaweedfs_one_insert_wins() {
    one_insert_wins(bare_bucket(Server::SeaweedFs).await).await;
}

/// A fresh bucket on a test S3 server, the bare backend: `Database::builder(..).open()` adds the default
/// retry layer (moto answers some requests with HTTP 500 under load, as real S3
/// occasionally does).
async fn bare_bucket(server: Server) -> Arc<dyn Storage> {
    Arc::new(fresh_storage_on(server).await.unwrap())
}

/// What a web client does: read the record with its version, edit it, write it back only if
/// nobody wrote in between (`update_if`), re-read and retry on `VersionMismatch`. Returns the
/// final counter and how many conflicts were retried.
async fn read_edit_write_loses_nothing(
    storage: Arc<dyn Storage>,
    tasks: usize,
    rounds: usize,
) -> (i64, usize) {
    let counters = counters(storage).await;
    counters
        .insert(record(json!({"id": "c", "n": 0, "label": "x"})))
        .await
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let counters = counters.clone();
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..rounds {
                loop {
                    // The whole read record, internals included, goes back as the change.
                    let mut read = counters.get_with_meta("c").await.unwrap();
                    let version = read["_etag"].as_str().unwrap().to_owned();
                    let n = read["n"].as_i64().unwrap();
                    read.insert("n".into(), json!(n + 1));
                    match counters.update_if("c", read, &version).await {
                        Ok(_) => break,
                        Err(Error::VersionMismatch { expected, .. }) => {
                            assert_eq!(expected, version);
                            conflicts += 1;
                        }
                        Err(other) => panic!("unexpected {other}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for handle in handles {
        conflicts += handle.await.unwrap();
    }
    let stored = counters.get_with_meta("c").await.unwrap();
    let n = stored["n"].as_i64().unwrap();
    eprintln!(
        "read-edit-write: {tasks} tasks x {rounds}: counter {n}/{}, {conflicts} conflicts retried",
        tasks * rounds
    );
    assert_eq!(n, (tasks * rounds) as i64);
    // The internals written back were dropped: the record still holds exactly its fields.
    let fields = counters.get("c").await.unwrap();
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        vec!["n", "label", "id"],
        "internal fields must not be stored"
    );
    (n, conflicts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_read_edit_write_loses_nothing() {
    read_edit_write_loses_nothing(Arc::new(MemoryStorage::new()), 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_read_edit_write_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    read_edit_write_loses_nothing(Arc::new(FsStorage::open(dir.path()).unwrap()), 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_read_edit_write_loses_nothing() {
    read_edit_write_loses_nothing(bare_bucket(Server::Moto).await, 16, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seaweedfs_read_edit_write_loses_nothing() {
    read_edit_write_loses_nothing(bare_bucket(Server::SeaweedFs).await, 16, 50).await;
}
