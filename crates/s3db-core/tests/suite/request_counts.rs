//! Exact storage requests per operation, counted by the request-counting metrics layer of
//! s3db-storage: the figures `docs/performance.md` states and `cargo xtask bench` reports
//! per phase. A change that adds a request to a hot path fails here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use s3db_core::workload::{people_config, person};
use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_storage::layers::{Metrics, MetricsRecorder, MetricsSnapshot};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::json;

use crate::common::{Hooked, StoreHooks};

/// Requests of one operation, by kind (only the kinds it used), and in total.
#[derive(Debug, PartialEq, Eq)]
struct Sent {
    total: u64,
    by_kind: Vec<(&'static str, u64)>,
}

fn sent(before: MetricsSnapshot, after: MetricsSnapshot) -> Sent {
    let kinds = [
        ("put", after.put.requests - before.put.requests),
        ("get", after.get.requests - before.get.requests),
        ("head", after.head.requests - before.head.requests),
        ("copy", after.copy.requests - before.copy.requests),
        ("delete", after.delete.requests - before.delete.requests),
        (
            "delete_many",
            after.delete_many.requests - before.delete_many.requests,
        ),
        ("list", after.list.requests - before.list.requests),
    ];
    Sent {
        total: after.requests() - before.requests(),
        by_kind: kinds.into_iter().filter(|(_, n)| *n > 0).collect(),
    }
}

fn expect(total: u64, by_kind: &[(&'static str, u64)]) -> Sent {
    Sent {
        total,
        by_kind: by_kind.to_vec(),
    }
}

/// Runs `op` and returns the requests it sent.
async fn count<T>(recorder: &MetricsRecorder, op: impl Future<Output = T>) -> (T, Sent) {
    let before = recorder.snapshot();
    let out = op.await;
    (out, sent(before, recorder.snapshot()))
}

async fn counted_db(storage: impl Storage + 'static) -> (Database, MetricsRecorder) {
    let storage = Metrics::new(storage);
    let recorder = storage.recorder();
    let db = Database::builder(Arc::new(storage)).open().await.unwrap();
    (db, recorder)
}

/// The workload's `people` (partition `byCity`) and a copy without the partition.
async fn people(db: &Database, partitioned: bool) -> Resource {
    let mut config = people_config();
    config.paranoid = false;
    if !partitioned {
        config.name = "flat".into();
        config.partitions.clear();
    }
    db.create_resource(config).await.unwrap()
}

fn changes(value: serde_json::Value) -> Record {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn single_record_operations_send_the_documented_requests() {
    let (db, recorder) = counted_db(MemoryStorage::new()).await;
    for partitioned in [true, false] {
        let people = people(&db, partitioned).await;
        let refs = u64::from(partitioned);
        let (inserted, sent) = count(&recorder, people.insert(person(1, "u"))).await;
        inserted.unwrap();
        assert_eq!(
            sent,
            expect(1 + refs, &[("put", 1 + refs)]),
            "insert, partitioned: {partitioned}"
        );

        let (got, sent) = count(&recorder, people.get("u0000001")).await;
        assert_eq!(got.unwrap()["email"], "person1@example.com");
        assert_eq!(sent, expect(1, &[("get", 1)]), "get");

        // The partition value does not change: no reference is touched.
        let (updated, sent) = count(
            &recorder,
            people.update("u0000001", changes(json!({"age": 99}))),
        )
        .await;
        assert_eq!(updated.unwrap()["age"], 99);
        assert_eq!(
            sent,
            expect(2, &[("put", 1), ("get", 1)]),
            "update, partitioned: {partitioned}"
        );

        // The record and its reference go in one batch.
        let (deleted, sent) = count(&recorder, people.delete("u0000001")).await;
        deleted.unwrap();
        let delete_request = if partitioned { "delete_many" } else { "delete" };
        assert_eq!(
            sent,
            expect(2, &[("get", 1), (delete_request, 1)]),
            "delete, partitioned: {partitioned}"
        );
        assert!(!people.exists("u0000001").await.unwrap());
    }
}

#[tokio::test]
async fn upsert_of_an_existing_record_is_an_update_and_of_a_new_one_an_insert() {
    let (db, recorder) = counted_db(MemoryStorage::new()).await;
    let people = people(&db, true).await;
    let (created, sent) = count(&recorder, people.upsert(person(2, "u"))).await;
    created.unwrap();
    // The GET that finds no record, then the insert's record and reference.
    assert_eq!(sent, expect(3, &[("put", 2), ("get", 1)]));
    let existing = changes(json!({"id": "u0000002", "age": 7}));
    let (updated, sent) = count(&recorder, people.upsert(existing)).await;
    assert_eq!(updated.unwrap()["age"], 7);
    assert_eq!(sent, expect(2, &[("put", 1), ("get", 1)]));
    assert_eq!(
        people.get("u0000002").await.unwrap()["email"],
        "person2@example.com"
    );
}

#[tokio::test]
async fn moving_a_record_between_partitions_costs_one_delete_and_one_put_more() {
    let (db, recorder) = counted_db(MemoryStorage::new()).await;
    let people = people(&db, true).await;
    people.insert(person(0, "u")).await.unwrap();
    let (moved, sent) = count(
        &recorder,
        people.update("u0000000", changes(json!({"address": {"city": "porto"}}))),
    )
    .await;
    moved.unwrap();
    assert_eq!(
        sent,
        expect(4, &[("put", 2), ("get", 1), ("delete_many", 1)])
    );
    let report = people.repair().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn unique_values_cost_their_claims_on_insert_and_delete() {
    let (db, recorder) = counted_db(MemoryStorage::new()).await;
    let users = db
        .create_resource(
            ResourceConfig::new("users")
                .attribute("email", "string|unique")
                .partition("byEmail", [("email", "string")]),
        )
        .await
        .unwrap();
    let record = changes(json!({"id": "a", "email": "a@x.org"}));
    let (inserted, sent) = count(&recorder, users.insert(record)).await;
    inserted.unwrap();
    // Claim (pending), record, confirm, reference.
    assert_eq!(sent, expect(4, &[("put", 4)]));
    // Read the record, delete it with its reference in one batch, then release the claim:
    // read it for its ETag and write it `free` with If-Match (no conditional DELETE exists).
    let (deleted, sent) = count(&recorder, users.delete("a")).await;
    deleted.unwrap();
    assert_eq!(
        sent,
        expect(4, &[("put", 1), ("get", 2), ("delete_many", 1)])
    );
    // The value is free again.
    let again = changes(json!({"id": "b", "email": "a@x.org"}));
    users.insert(again).await.unwrap();
}

#[tokio::test]
async fn delete_all_sends_one_listing_page_per_thousand_keys_and_a_batch_per_request_in_flight() {
    let (db, recorder) = counted_db(MemoryStorage::new()).await;
    let people = people(&db, true).await;
    let n = 1_500;
    let inserted = people
        .insert_many((0..n).map(|i| person(i, "u")).collect())
        .await;
    assert!(inserted.iter().all(Result::is_ok));
    // 1 500 records + 1 500 references = 3 000 keys: 3 pages, then 10 batches of 300 (one
    // per request in flight).
    let (deleted, sent) = count(&recorder, people.delete_all()).await;
    assert_eq!(deleted.unwrap(), n as usize);
    assert_eq!(sent, expect(13, &[("delete_many", 10), ("list", 3)]));
    assert_eq!(people.count().await.unwrap(), 0);
    assert!(people.repair().await.unwrap().is_clean());
}

/// Batch deletes that wait (up to a generous bound) until a second batch is in flight, and
/// record the most batches seen in flight at once.
#[derive(Debug, Default)]
struct OverlappingBatches {
    in_flight: AtomicUsize,
    most: Arc<AtomicUsize>,
}

#[async_trait]
impl StoreHooks for OverlappingBatches {
    async fn delete_many(
        &self,
        store: &MemoryStorage,
        keys: &[String],
    ) -> s3db_storage::Result<()> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        // Not a timing assertion: sequential batches never overlap however long this waits.
        for _ in 0..500 {
            if self.most.load(Ordering::SeqCst) > 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let result = store.delete_many(keys).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[tokio::test]
async fn delete_all_sends_its_batches_in_parallel() {
    let store = Hooked::<OverlappingBatches>::default();
    let most = store.hooks.most.clone();
    let (db, _) = counted_db(store).await;
    let people = people(&db, true).await;
    let inserted = people
        .insert_many((0..1_200).map(|i| person(i, "u")).collect())
        .await;
    assert!(inserted.iter().all(Result::is_ok));
    assert_eq!(people.delete_all().await.unwrap(), 1_200);
    assert!(
        most.load(Ordering::SeqCst) >= 2,
        "batches ran one after another"
    );
    assert_eq!(people.count().await.unwrap(), 0);
}
