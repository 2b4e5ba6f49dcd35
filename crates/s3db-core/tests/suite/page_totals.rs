//! `page()` totals as s3db.js reports them (`totalItems`, `totalPages`, `page`, `pageSize`,
//! `offset`, `skipCount`), counted from LIST requests only: the only GETs are the page's own
//! records, and no HEAD is sent.

use std::sync::Arc;

use s3db_core::{Database, PageRequest, Record, ResourceConfig};
use s3db_storage::MemoryStorage;
use s3db_storage::layers::{Metrics, MetricsRecorder};
use serde_json::json;

async fn seven_items() -> (s3db_core::Resource, MetricsRecorder) {
    let storage = Metrics::new(MemoryStorage::new());
    let recorder = storage.recorder();
    let db = Database::builder(Arc::new(storage)).open().await.unwrap();
    let items = db
        .create_resource(ResourceConfig::new("items").attribute("n", "number"))
        .await
        .unwrap();
    for n in 0..7 {
        let record: Record =
            serde_json::from_value(json!({"id": format!("i{n}"), "n": n})).unwrap();
        items.insert(record).await.unwrap();
    }
    (items, recorder)
}

fn ids(page: &s3db_core::Page) -> Vec<&str> {
    page.items
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn totals_come_from_listings_only() {
    let (items, recorder) = seven_items().await;
    let before = recorder.snapshot();
    let page = items
        .page(&PageRequest {
            size: 3,
            page: Some(2),
            ..PageRequest::default()
        })
        .await
        .unwrap();
    let after = recorder.snapshot();
    assert_eq!(ids(&page), ["i3", "i4", "i5"]);
    assert_eq!(
        (
            page.page,
            page.page_size,
            page.total_items,
            page.total_pages
        ),
        (Some(2), 3, Some(7), Some(3))
    );
    assert_eq!(
        after.get.requests - before.get.requests,
        3,
        "one GET per item only"
    );
    assert_eq!(after.head.requests, before.head.requests, "no HEAD");
    assert!(after.list.requests > before.list.requests);
}

#[tokio::test]
async fn offset_wins_over_page_and_skip_count_skips_the_totals() {
    let (items, _) = seven_items().await;
    let last = items
        .page(&PageRequest {
            size: 3,
            page: Some(1),
            offset: Some(6),
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&last), ["i6"]);
    assert_eq!(
        (last.page, last.total_items, last.total_pages),
        (Some(3), Some(7), Some(3))
    );
    assert!(last.next_cursor.is_none());

    let uncounted = items
        .page(&PageRequest {
            size: 5,
            skip_count: true,
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&uncounted).len(), 5);
    assert_eq!(
        (uncounted.page, uncounted.total_items, uncounted.total_pages),
        (Some(1), None, None)
    );

    // A cursor page has no page number but still its totals.
    let next = items
        .page(&PageRequest {
            size: 5,
            cursor: uncounted.next_cursor.clone(),
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&next), ["i5", "i6"]);
    assert_eq!(
        (next.page, next.total_items, next.total_pages),
        (None, Some(7), Some(2))
    );
}
