//! `s3db.json`: creation, evolution (versions, burned indices) and concurrent definers.

use std::sync::Arc;

use s3db_core::{Creation, Database, ResourceConfig};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::json;

fn config(value: serde_json::Value) -> ResourceConfig {
    ResourceConfig::from_json(&value).unwrap()
}

#[tokio::test]
async fn the_first_definition_writes_the_document_and_reconnect_reads_it() {
    let store = MemoryStorage::new();
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    assert!(db.list_resources().is_empty());
    assert_eq!(store.stats().objects, 0, "opening writes nothing");
    db.init().await.unwrap();
    let stored = store.get("s3db.json").await.unwrap();
    assert_eq!(stored.content_type.as_deref(), Some("application/json"));
    let text: serde_json::Value = serde_json::from_slice(&stored.body).unwrap();
    assert_eq!(text["version"], "1");
    assert_eq!(text["s3dbVersion"], "21.6.2");

    db.create_resource(config(json!({"name": "a", "attributes": {"x": "string"}})))
        .await
        .unwrap();
    let again = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    assert_eq!(again.list_resources(), vec!["a".to_string()]);
    assert!(again.resource_exists("a"));
}

#[tokio::test]
async fn evolving_a_resource_adds_a_version_and_burns_removed_indices() {
    let store = MemoryStorage::new();
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    let v1 = config(
        json!({"name": "articles", "attributes": {"title": "string", "views": "number", "legacyCode": "string|optional"}}),
    );
    let first = db.create_resource(v1.clone()).await.unwrap();
    assert_eq!(first.version(), "v1");
    // Same definition again: no new version, no write.
    let etag = store.head("s3db.json").await.unwrap().meta.etag;
    assert_eq!(db.create_resource(v1).await.unwrap().version(), "v1");
    assert_eq!(store.head("s3db.json").await.unwrap().meta.etag, etag);

    let v2 = config(
        json!({"name": "articles", "attributes": {"title": "string", "views": "number", "tags": "array|items:string|optional"}}),
    );
    let second = db.create_resource(v2).await.unwrap();
    assert_eq!(second.version(), "v2");
    assert_eq!(second.short_key("tags"), Some("3"));
    let doc = db.document();
    let entry = &doc.resources["articles"];
    assert_eq!(entry.versions.len(), 2);
    let registry = entry.schema_registry.as_ref().unwrap();
    assert_eq!(registry.next_index, 4);
    assert_eq!(registry.burned[0].attribute, "legacyCode");
    assert_eq!(registry.burned[0].index, 2);
    // Re-adding the removed attribute never reuses its index.
    let v3 = config(
        json!({"name": "articles", "attributes": {"title": "string", "legacyCode": "string|optional"}}),
    );
    let third = db.create_resource(v3).await.unwrap();
    assert_eq!(third.version(), "v3");
    assert_eq!(third.short_key("legacyCode"), Some("4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_definers_in_separate_databases_all_land() {
    let store = MemoryStorage::new();
    let storage: Arc<dyn Storage> = Arc::new(store.clone());
    let mut handles = Vec::new();
    for i in 0..8 {
        let storage = storage.clone();
        handles.push(tokio::spawn(async move {
            // Each task is its own "process": its own Database over the same bucket.
            let db = Database::builder(storage).open().await.unwrap();
            db.create_resource(config(
                json!({"name": format!("r{i}"), "attributes": {"x": "string"}}),
            ))
            .await
            .unwrap();
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let db = Database::builder(storage).open().await.unwrap();
    let mut names = db.list_resources();
    names.sort();
    assert_eq!(names, (0..8).map(|i| format!("r{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn create_if_not_exists_keeps_the_existing_definition() {
    let db = Database::connect("memory://create-if-not-exists")
        .await
        .unwrap();
    db.create_resource(config(json!({"name": "a", "attributes": {"x": "string"}})))
        .await
        .unwrap();
    let (kept, creation) = db
        .create_resource_if_not_exists(config(json!({"name": "a", "attributes": {"y": "number"}})))
        .await
        .unwrap();
    assert_eq!(kept.version(), "v1");
    assert!(kept.attributes().contains_key("x"));
    assert_eq!(
        creation,
        Creation::AlreadyExists {
            same_definition: false
        }
    );
    let (_, creation) = db
        .create_resource_if_not_exists(config(json!({"name": "a", "attributes": {"x": "string"}})))
        .await
        .unwrap();
    assert_eq!(
        creation,
        Creation::AlreadyExists {
            same_definition: true
        }
    );
    let (created, creation) = db
        .create_resource_if_not_exists(config(json!({"name": "b", "attributes": {"x": "string"}})))
        .await
        .unwrap();
    assert_eq!((created.name(), creation), ("b", Creation::Created));
}
