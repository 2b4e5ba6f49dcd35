//! Listings that collect every record take the read tasks' chunks as they finish: records
//! still come back complete and in key order when the first chunk is the slowest, and a
//! failed read in a later chunk fails the listing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s3db_core::{ListRequest, Record, Resource};
use s3db_storage::{Error, ErrorKind, GetResult, MemoryStorage, Operation, Storage};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::{Hooked, StoreHooks, numbered_items};

const RECORDS: usize = 300;

/// Reads of the first few records are slow; the read of one record (if any) fails.
#[derive(Debug, Default)]
struct SlowFirstReads {
    failing: Option<String>,
}

impl SlowFirstReads {
    /// Whether `key` is a record the first chunk of a listing reads (ids `r0000`–`r0007`).
    fn is_early(key: &str) -> bool {
        key.rsplit_once("id=")
            .is_some_and(|(_, id)| ("r0000".."r0008").contains(&id))
    }
}

#[async_trait]
impl StoreHooks for SlowFirstReads {
    async fn get(&self, store: &MemoryStorage, key: &str) -> s3db_storage::Result<GetResult> {
        if Self::is_early(key) {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        if self.failing.as_deref().is_some_and(|id| key.ends_with(id)) {
            return Err(Error::new(ErrorKind::Unavailable, Operation::Get, key));
        }
        store.get(key).await
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Item {
    id: String,
    n: u64,
}

/// `RECORDS` items `r0000`… with `n` = their number, on a store that fails reading `failing`.
async fn items(failing: Option<&str>) -> Resource {
    let store = Hooked {
        store: MemoryStorage::new(),
        hooks: SlowFirstReads {
            failing: failing.map(str::to_owned),
        },
    };
    let items = numbered_items(Arc::new(store)).await;
    let records: Vec<Record> = (0..RECORDS)
        .map(|i| {
            json!({"id": format!("r{i:04}"), "n": i})
                .as_object()
                .unwrap()
                .clone()
        })
        .collect();
    assert!(items.insert_many(records).await.iter().all(Result::is_ok));
    items
}

fn expected_ids() -> Vec<String> {
    (0..RECORDS).map(|i| format!("r{i:04}")).collect()
}

fn ids_of(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_chunk_still_comes_back_first() {
    let items = items(None).await;
    let request = ListRequest::all().concurrency(32);

    let listed = items.list(&request).await.unwrap();
    assert_eq!(ids_of(&listed), expected_ids());
    assert!(listed.iter().enumerate().all(|(i, r)| r["n"] == json!(i)));

    let typed: Vec<Item> = items.typed::<Item>().list(&request).await.unwrap();
    let expected: Vec<Item> = (0..RECORDS)
        .map(|i| Item {
            id: format!("r{i:04}"),
            n: i as u64,
        })
        .collect();
    assert_eq!(typed, expected);

    assert_eq!(ids_of(&items.get_all().await.unwrap()), expected_ids());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_in_a_later_chunk_fails_the_listing() {
    let items = items(Some("r0250")).await;
    let request = ListRequest::all().concurrency(32);
    let untyped = items.list(&request).await.unwrap_err();
    assert!(untyped.to_string().contains("r0250"), "{untyped}");
    let typed = items.typed::<Item>().list(&request).await.unwrap_err();
    assert!(typed.to_string().contains("r0250"), "{typed}");
}
