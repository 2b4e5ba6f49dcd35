//! Opening and reading never write: no `s3db.json` is created on an empty location, and
//! reads of a populated database send no PUT, COPY or DELETE (counted by the metrics layer).

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use s3db_core::{Database, Error, ListRequest, PageRequest, QueryOptions, Record, ResourceConfig};
use s3db_storage::layers::{MetricsSnapshot, Stack};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::json;

/// `storage` behind a request-counting layer.
fn counted(storage: &MemoryStorage) -> Stack {
    Stack::builder(Arc::new(storage.clone())).metrics().build()
}

fn writes(snapshot: &MetricsSnapshot) -> u64 {
    snapshot.put.requests
        + snapshot.copy.requests
        + snapshot.delete.requests
        + snapshot.delete_many.requests
}

fn snapshot(stack: &Stack) -> MetricsSnapshot {
    stack.metrics().unwrap().snapshot()
}

#[tokio::test]
async fn opening_an_empty_location_writes_nothing_and_reads_say_no_database() {
    let store = MemoryStorage::new();
    let stack = counted(&store);
    let db = Database::builder(stack.storage()).open().await.unwrap();
    assert!(!db.exists());
    assert!(db.list_resources().is_empty());
    assert!(!db.resource_exists("users"));
    let err = db.resource("users").unwrap_err();
    assert!(matches!(err, Error::NoDatabase { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no database at the storage root; create a resource or run `s3db init`"
    );
    assert!(matches!(db.ensure_exists(), Err(Error::NoDatabase { .. })));
    db.reload().await.unwrap();
    assert_eq!(writes(&snapshot(&stack)), 0);
    assert_eq!(store.stats().objects, 0, "nothing was created");

    // Through a connection string the error names the location.
    let db = Database::connect("memory://read-only-empty/some/prefix")
        .await
        .unwrap();
    let err = db.resource("users").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no database at memory://read-only-empty/some/prefix; create a resource or run `s3db init`"
    );
}

#[tokio::test]
async fn the_first_definition_or_init_creates_the_document() {
    // The quick start: connect to an empty location, then define a resource.
    let store = MemoryStorage::new();
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    let users = db
        .create_resource(ResourceConfig::new("users").attribute("name", "string"))
        .await
        .unwrap();
    assert!(db.exists());
    assert!(store.get("s3db.json").await.is_ok());
    users
        .insert(
            json!({"id": "a", "name": "Ana"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .await
        .unwrap();
    let again = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    assert_eq!(again.list_resources(), ["users"]);

    // `init` creates a blank document once; later calls and other handles find it.
    let store = MemoryStorage::new();
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    let other = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    assert!(db.init().await.unwrap());
    assert!(db.exists());
    let etag = store.head("s3db.json").await.unwrap().meta.etag;
    assert!(!db.init().await.unwrap());
    // `other` still believes there is none: its conditional create loses and reads it.
    assert!(!other.init().await.unwrap());
    assert!(other.exists());
    assert_eq!(store.head("s3db.json").await.unwrap().meta.etag, etag);
    assert!(other.list_resources().is_empty());
    // A database defined elsewhere is seen after a reload; one removed elsewhere is gone.
    store.delete("s3db.json").await.unwrap();
    db.reload().await.unwrap();
    assert!(!db.exists());
}

#[tokio::test]
async fn reads_of_a_populated_database_send_no_write() {
    let store = MemoryStorage::new();
    {
        let db = Database::builder(Arc::new(store.clone()))
            .open()
            .await
            .unwrap();
        let users = db
            .create_resource(
                ResourceConfig::new("users")
                    .attribute("name", "string")
                    .attribute("city", "string")
                    .partition("byCity", [("city", "string")]),
            )
            .await
            .unwrap();
        for (id, city) in [("a", "Porto"), ("b", "Faro"), ("c", "Porto")] {
            let record = json!({"id": id, "name": id, "city": city});
            users
                .insert(record.as_object().cloned().unwrap())
                .await
                .unwrap();
        }
        users
            .set_content("a", Bytes::from_static(b"png"), "image/png")
            .await
            .unwrap();
    }
    let stack = counted(&store);
    let db = Database::builder(stack.storage()).open().await.unwrap();
    assert_eq!(db.list_resources(), ["users"]);
    let users = db.resource("users").unwrap();
    assert_eq!(users.get("a").await.unwrap()["name"], "a");
    assert!(users.exists("b").await.unwrap());
    assert_eq!(users.count().await.unwrap(), 3);
    assert_eq!(users.list_ids().await.unwrap(), ["a", "b", "c"]);
    assert_eq!(users.list(&ListRequest::all()).await.unwrap().len(), 3);
    let porto = ListRequest::partition("byCity", json!({"city": "Porto"}));
    assert_eq!(users.list(&porto).await.unwrap().len(), 2);
    assert_eq!(users.count_by(&porto).await.unwrap(), 2);
    let filter = json!({"city": "Faro"});
    let options = QueryOptions {
        allow_scan: true,
        ..QueryOptions::default()
    };
    assert_eq!(users.query(&filter, &options).await.unwrap().len(), 1);
    let page = users
        .page(&PageRequest {
            size: 2,
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let many = users.get_many(&["a".into(), "c".into()]).await.unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(users.get_all().await.unwrap().len(), 3);
    let streamed: Vec<Record> = users
        .stream(&ListRequest::all())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 3);
    assert!(users.has_content("a").await.unwrap());
    assert!(users.content("a").await.unwrap().is_some());
    db.reload().await.unwrap();

    let seen = snapshot(&stack);
    assert_eq!(writes(&seen), 0, "{seen:?}");
    assert!(seen.get.requests > 0 && seen.list.requests > 0);
}
