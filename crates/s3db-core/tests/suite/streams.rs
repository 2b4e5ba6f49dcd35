//! Streams: 100 000 records written from a lazy source and read back through the record
//! stream with bounded concurrency, without collecting them; per-record write failures.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use s3db_core::{Database, ListRequest, Record, ResourceConfig};
use s3db_storage::MemoryStorage;
use serde_json::json;

use crate::common::numbered_items;

fn item(i: usize) -> Record {
    json!({"id": format!("r{i:06}"), "n": i, "kind": if i.is_multiple_of(2) { "even" } else { "odd" }})
        .as_object()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_records_stream_through() {
    const N: usize = 100_000;
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    let items = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "items",
                "attributes": {"n": "number", "kind": "string"},
                "partitions": {"byKind": {"fields": {"kind": "string"}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let report = items.write(futures::stream::iter(0..N).map(item), 64).await;
    assert_eq!(report.written, N);
    assert!(report.failures.is_empty());

    // Read back lazily: only a running sum is kept.
    let (count, sum) = items
        .stream(&ListRequest::all().concurrency(64))
        .unwrap()
        .try_fold((0usize, 0u64), |(count, sum), record| async move {
            Ok((count + 1, sum + record["n"].as_u64().unwrap()))
        })
        .await
        .unwrap();
    assert_eq!(count, N);
    assert_eq!(sum, (N as u64 - 1) * N as u64 / 2);
    let odd = items
        .id_stream(&ListRequest::partition("byKind", json!({"kind": "odd"})))
        .unwrap()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    assert_eq!(odd, N / 2);
}

#[tokio::test]
async fn failures_are_reported_per_record() {
    let items = numbered_items(Arc::new(MemoryStorage::new())).await;
    let records = vec![
        json!({"id": "a", "n": 1}),
        json!({"id": "a", "n": 2}),
        json!({"id": "b", "n": "not a number"}),
        json!({"id": "bad/id", "n": 3}),
        json!({"id": "c", "n": 4}),
    ];
    let records = records.into_iter().map(|r| r.as_object().unwrap().clone());
    let report = items.write(futures::stream::iter(records), 1).await;
    assert_eq!(report.written, 2);
    let mut failed: Vec<(usize, Option<String>)> = report
        .failures
        .iter()
        .map(|f| (f.index, f.id.clone()))
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            (1, Some("a".into())),
            (2, Some("b".into())),
            (3, Some("bad/id".into()))
        ]
    );
}
