//! Versions: a definition change bumps `vN` and keeps the old entries and short keys; a
//! record decodes with the attributes and types of the version that wrote it (unlike
//! s3db.js), optionally migrated; `byVersion` references follow updates; historical copies.

use crate::common;

use std::sync::Arc;

use common::{fixture_bucket, fixture_database};
use s3db_core::{Database, ListRequest, Record, ResourceConfig};
use s3db_storage::{MemoryStorage, Storage, StorageExt};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn config(attributes: Value) -> ResourceConfig {
    ResourceConfig::from_json(&json!({"name": "items", "attributes": attributes})).unwrap()
}

#[tokio::test]
async fn fixture_records_read_under_both_versions() {
    let store = fixture_bucket().await;
    let db = fixture_database(store, "versioned").await;
    let articles = db.resource("articles").unwrap();
    assert_eq!(articles.version(), "v2");
    let a2 = articles.get("a2").await.unwrap();
    assert_eq!(
        Value::Object(a2),
        json!({"title": "Another v1 article", "views": 0, "id": "a2"})
    );
    let a3 = articles.get("a3").await.unwrap();
    assert_eq!(a3["tags"], json!(["new", "v2"]));
    assert_eq!(a3["published"], json!(true));
    for (version, ids) in [("v1", vec!["a2"]), ("v2", vec!["a3"])] {
        let request = ListRequest::partition("byVersion", json!({"_v": version}));
        assert_eq!(articles.list_ids_by(&request).await.unwrap(), ids);
    }
}

#[tokio::test]
async fn old_records_decode_with_their_own_types_and_migrate_on_request() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let open = || Database::builder(storage.clone()).versioning(true).open();
    let db = open().await.unwrap();
    let v1 = db
        .create_resource(config(json!({"name": "string", "size": "number"})))
        .await
        .unwrap();
    v1.insert(record(json!({"id": "old", "name": "a", "size": 11})))
        .await
        .unwrap();
    let registry_v1 = db.document().resources["items"].schema_registry.clone();

    // v2 turns `size` into a string and adds `label`.
    let db = open().await.unwrap();
    let v2 = db
        .create_resource(config(
            json!({"name": "string", "size": "string", "label": "string|optional"}),
        ))
        .await
        .unwrap();
    assert_eq!(v2.version(), "v2");
    let document = db.document();
    let entry = &document.resources["items"];
    assert!(entry.versions.contains_key("v1") && entry.versions.contains_key("v2"));
    let registry_v2 = entry.schema_registry.clone().unwrap();
    for (path, index) in &registry_v1.unwrap().mapping {
        assert_eq!(
            registry_v2.mapping.get(path),
            Some(index),
            "{path} keeps its key"
        );
    }
    v2.insert(record(json!({"id": "new", "name": "b", "size": "XL"})))
        .await
        .unwrap();

    // Read with v1's types: 11 stays a number (s3db.js would return "b", base62 of 11).
    assert_eq!(v2.get("old").await.unwrap()["size"], json!(11));
    assert_eq!(v2.get("new").await.unwrap()["size"], json!("XL"));

    let migrating = v2.with_migration(|from, mut record| {
        assert_eq!(from, "v1");
        let size = record.get("size").cloned().unwrap_or(Value::Null);
        record.insert("size".into(), json!(format!("{size}cm")));
        Ok(record)
    });
    assert_eq!(migrating.get("old").await.unwrap()["size"], json!("11cm"));

    // An update through the migration rewrites the record as v2, moves its byVersion
    // reference and keeps a historical copy of the v1 object.
    migrating
        .update("old", record(json!({"label": "moved"})))
        .await
        .unwrap();
    let stored = v2.get("old").await.unwrap();
    assert_eq!(stored["size"], json!("11cm"));
    assert_eq!(stored["label"], json!("moved"));
    let refs = storage
        .list_keys("resource=items/partition=byVersion/")
        .await
        .unwrap();
    assert_eq!(
        refs,
        [
            "resource=items/partition=byVersion/_v=v2/id=new",
            "resource=items/partition=byVersion/_v=v2/id=old",
        ]
    );
    let history = storage
        .get("resource=items/historical/id=old")
        .await
        .unwrap();
    assert!(
        history
            .metadata
            .keys()
            .any(|k| k.eq_ignore_ascii_case("_historicalTimestamp"))
    );
    assert!(v2.repair().await.unwrap().is_clean());
}
