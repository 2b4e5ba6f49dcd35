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

/// Reads of the first few records are slow; the read of one record (if any) fails; reads of
/// the records from `stuck_from` on (if any) never end.
#[derive(Debug, Default)]
struct SlowFirstReads {
    failing: Option<&'static str>,
    stuck_from: Option<&'static str>,
}

/// The record id of a record key.
fn id_in(key: &str) -> &str {
    key.rsplit_once("id=").map_or("", |(_, id)| id)
}

#[async_trait]
impl StoreHooks for SlowFirstReads {
    async fn get(&self, store: &MemoryStorage, key: &str) -> s3db_storage::Result<GetResult> {
        let id = id_in(key);
        // The first chunk of a listing reads ids `r0000`–`r0007`.
        if ("r0000".."r0008").contains(&id) {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        if self.failing == Some(id) {
            return Err(Error::new(ErrorKind::Unavailable, Operation::Get, key));
        }
        if self.stuck_from.is_some_and(|from| id >= from) {
            std::future::pending::<()>().await;
        }
        store.get(key).await
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Item {
    id: String,
    n: u64,
}

/// `RECORDS` items `r0000`… with `n` = their number, on a store read through `hooks`.
async fn items(hooks: SlowFirstReads) -> Resource {
    let store = Hooked {
        store: MemoryStorage::new(),
        hooks,
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
    let items = items(SlowFirstReads::default()).await;
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
    let items = items(SlowFirstReads {
        failing: Some("r0250"),
        ..SlowFirstReads::default()
    })
    .await;
    let request = ListRequest::all().concurrency(32);
    let untyped = items.list(&request).await.unwrap_err();
    assert!(untyped.to_string().contains("r0250"), "{untyped}");
    let typed = items.typed::<Item>().list(&request).await.unwrap_err();
    assert!(typed.to_string().contains("r0250"), "{typed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_ends_the_listing_without_waiting_for_the_rest() {
    let items = items(SlowFirstReads {
        failing: Some("r0020"),
        stuck_from: Some("r0100"),
    })
    .await;
    let request = ListRequest::all().concurrency(32);
    // The reads from r0100 on never end: only a listing that stops at the failure returns.
    let listed = tokio::time::timeout(Duration::from_secs(30), items.list(&request)).await;
    let failed = listed.expect("the listing waited for reads after the failure");
    assert!(failed.unwrap_err().to_string().contains("r0020"));
    let typed = items.typed::<Item>();
    let typed = tokio::time::timeout(Duration::from_secs(30), typed.list(&request)).await;
    let failed = typed.expect("the typed listing waited for reads after the failure");
    assert!(failed.unwrap_err().to_string().contains("r0020"));
}
