//! Lock, sequence and incremental ids across several processes on real S3 servers (moto
//! and SeaweedFS): invariants checked from what the processes wrote, not from timing.

use crate::common::processes::{Worker, spawn};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use s3db_core::Database;
use s3db_plugins::coord::{Lock, Sequence};
use s3db_storage::layers::Metrics;
use s3db_storage::s3::S3Storage;
use s3db_storage::testing::{Server, fresh_bucket_on, s3_config_at};
use s3db_storage::{PutMode, PutPayload, Storage};
use serde_json::{Value, json};

const PROCESSES: usize = 4;
const LOCK_ROUNDS: usize = 12;
const SEQUENCE_ROUNDS: usize = 20;
const ID_ROUNDS: usize = 8;

/// A fresh bucket on `server`: the parameters a worker needs to reach it.
async fn bucket_params(server: Server) -> Vec<(&'static str, String)> {
    let config = fresh_bucket_on(server).await.unwrap();
    vec![
        ("ENDPOINT", config.endpoint.clone().unwrap()),
        ("BUCKET", config.bucket.clone()),
    ]
}

async fn worker_storage(worker: &Worker) -> Arc<dyn Storage> {
    let config = s3_config_at(worker.param("ENDPOINT").to_owned(), worker.param("BUCKET"));
    Arc::new(S3Storage::connect(&config).await.unwrap())
}

async fn read_json(storage: &dyn Storage, key: &str) -> Value {
    match storage.get(key).await {
        Ok(found) => serde_json::from_slice(&found.body).unwrap(),
        Err(_) => json!({"count": 0, "inside": null}),
    }
}

async fn write_json(storage: &dyn Storage, key: &str, value: &Value) {
    let payload = PutPayload {
        body: value.to_string().into(),
        ..PutPayload::default()
    };
    storage.put(key, payload, PutMode::Overwrite).await.unwrap();
}

/// Each round: acquire, then — with plain unconditional reads and writes, so only the lock
/// keeps them apart — check that nobody is inside, mark itself inside, count, leave.
#[tokio::test]
#[ignore = "a worker process of lock_never_overlaps_*"]
async fn lock_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let storage = worker_storage(&worker).await;
    let me = format!("p{}", worker.index);
    let lock = Lock::new(
        Arc::clone(&storage),
        "locks/shared",
        Duration::from_secs(30),
    )
    .holder(me.clone());
    let (mut tokens, mut overlaps) = (Vec::new(), 0);
    for _ in 0..LOCK_ROUNDS {
        let held = lock
            .acquire(Duration::from_secs(300), Duration::from_millis(15))
            .await
            .unwrap()
            .expect("acquired within the wait");
        tokens.push(held.token());
        let state = read_json(storage.as_ref(), "guarded/state").await;
        if !state["inside"].is_null() {
            overlaps += 1;
        }
        let count = state["count"].as_u64().unwrap();
        write_json(
            storage.as_ref(),
            "guarded/state",
            &json!({"count": count, "inside": me}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let state = read_json(storage.as_ref(), "guarded/state").await;
        if state["inside"] != json!(me) {
            overlaps += 1;
        }
        write_json(
            storage.as_ref(),
            "guarded/state",
            &json!({"count": count + 1, "inside": null}),
        )
        .await;
        lock.check(held.token()).await.unwrap();
        assert!(held.release().await.unwrap());
    }
    worker.report(&json!({"tokens": tokens, "overlaps": overlaps}));
}

async fn lock_never_overlaps(server: Server) {
    let params = bucket_params(server).await;
    let results = spawn("coord_lock::lock_worker", PROCESSES, &params).wait();
    let mut tokens = BTreeSet::new();
    let mut overlaps = 0;
    for (ok, reports) in &results {
        assert!(ok, "a worker failed: {results:?}");
        overlaps += reports[0]["overlaps"].as_u64().unwrap();
        let mine: Vec<u64> = serde_json::from_value(reports[0]["tokens"].clone()).unwrap();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "tokens grow: {mine:?}"
        );
        tokens.extend(mine);
    }
    let total = PROCESSES * LOCK_ROUNDS;
    let config = s3_config_at(params[0].1.clone(), &params[1].1);
    let storage = S3Storage::connect(&config).await.unwrap();
    let state = read_json(&storage, "guarded/state").await;
    let lost_counts = total as u64 - state["count"].as_u64().unwrap();
    // Every acquisition has its own token, and they are exactly 1..=total.
    assert_eq!(tokens, (1..=total as u64).collect(), "{}", server.name());
    assert_eq!((overlaps, lost_counts), (0, 0), "{}", server.name());
    println!(
        "lock on {}: {PROCESSES} processes x {LOCK_ROUNDS} acquisitions, overlaps {overlaps}, lost counts {lost_counts}",
        server.name()
    );
}

#[tokio::test]
async fn lock_never_overlaps_on_moto() {
    lock_never_overlaps(Server::Moto).await;
}

#[tokio::test]
async fn lock_never_overlaps_on_seaweedfs() {
    lock_never_overlaps(Server::SeaweedFs).await;
}

#[tokio::test]
#[ignore = "a worker process of sequence_and_ids_*"]
async fn sequence_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let storage = worker_storage(&worker).await;
    let sequence = Sequence::new(Arc::clone(&storage), "sequences/tickets", "tickets");
    let mut values = Vec::new();
    for _ in 0..SEQUENCE_ROUNDS {
        values.push(sequence.next().await.unwrap());
    }
    let db = Database::builder(storage).open().await.unwrap();
    let orders = db.resource("orders").unwrap();
    let mut ids = Vec::new();
    for _ in 0..ID_ROUNDS {
        let record = json!({"item": "tea"}).as_object().unwrap().clone();
        ids.push(orders.insert(record).await.unwrap()["id"].clone());
    }
    worker.report(&json!({"values": values, "ids": ids}));
}

async fn sequence_and_ids(server: Server) {
    let params = bucket_params(server).await;
    let config = s3_config_at(params[0].1.clone(), &params[1].1);
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
    let db = Database::builder(Arc::clone(&storage))
        .open()
        .await
        .unwrap();
    crate::common::define(
        &db,
        json!({"name": "orders", "attributes": {"item": "string"}, "idGenerator": "incremental"}),
    )
    .await;
    let results = spawn("coord_lock::sequence_worker", PROCESSES, &params).wait();
    let (mut values, mut ids) = (Vec::new(), Vec::new());
    for (ok, reports) in &results {
        assert!(ok, "a worker failed: {results:?}");
        values.extend(serde_json::from_value::<Vec<i64>>(reports[0]["values"].clone()).unwrap());
        let mine: Vec<String> = serde_json::from_value(reports[0]["ids"].clone()).unwrap();
        ids.extend(mine.iter().map(|id| id.parse::<i64>().unwrap()));
    }
    values.sort_unstable();
    ids.sort_unstable();
    // Unique and gap-free: exactly 1..=n, for the sequence and for the ids.
    let n = (PROCESSES * SEQUENCE_ROUNDS) as i64;
    assert_eq!(values, (1..=n).collect::<Vec<_>>(), "{}", server.name());
    let n = (PROCESSES * ID_ROUNDS) as i64;
    assert_eq!(ids, (1..=n).collect::<Vec<_>>(), "{}", server.name());
    assert_eq!(
        db.resource("orders").unwrap().count().await.unwrap(),
        n as usize
    );
    println!(
        "sequence on {}: {PROCESSES} processes x {SEQUENCE_ROUNDS} next(), ids {PROCESSES} x {ID_ROUNDS} inserts: unique and gap-free",
        server.name()
    );
}

#[tokio::test]
async fn sequence_and_ids_on_moto() {
    sequence_and_ids(Server::Moto).await;
}

#[tokio::test]
async fn sequence_and_ids_on_seaweedfs() {
    sequence_and_ids(Server::SeaweedFs).await;
}

/// Requests per operation, uncontended, counted by the metrics layer on moto.
#[tokio::test]
async fn requests_per_operation() {
    let config = fresh_bucket_on(Server::Moto).await.unwrap();
    let metrics = Metrics::new(S3Storage::connect(&config).await.unwrap());
    let recorder = metrics.recorder();
    let storage: Arc<dyn Storage> = Arc::new(metrics);
    let cost = |before: u64| recorder.snapshot().requests() - before;
    let lock = Lock::new(Arc::clone(&storage), "locks/x", Duration::from_secs(30));
    let other = Lock::new(Arc::clone(&storage), "locks/x", Duration::from_secs(30));
    let before = recorder.snapshot().requests();
    let mut held = lock.try_acquire().await.unwrap().unwrap();
    assert_eq!(cost(before), 2, "acquire: GET + conditional PUT");
    let before = recorder.snapshot().requests();
    assert!(other.try_acquire().await.unwrap().is_none());
    assert_eq!(cost(before), 1, "acquire of a held lock: GET");
    let before = recorder.snapshot().requests();
    held.renew().await.unwrap();
    assert_eq!(cost(before), 1, "renew: conditional PUT");
    let before = recorder.snapshot().requests();
    held.release().await.unwrap();
    assert_eq!(cost(before), 1, "release: conditional PUT");
    let sequence = Sequence::new(Arc::clone(&storage), "sequences/s", "s");
    sequence.next().await.unwrap();
    let before = recorder.snapshot().requests();
    sequence.next().await.unwrap();
    assert_eq!(cost(before), 2, "next: GET + conditional PUT");
    let before = recorder.snapshot().requests();
    assert_eq!(sequence.reserve(100).await.unwrap(), 3..103);
    assert_eq!(cost(before), 2, "reserve(100): GET + conditional PUT");
}
