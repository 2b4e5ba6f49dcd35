//! Writes conditional on the version a caller read: `get_with_meta` returns s3db.js's
//! internal fields (`_etag`…); `update_if`, `patch_if`, `replace_if` and `delete_if` write
//! only at that version, else `VersionMismatch` and nothing written.

use std::sync::Arc;

use s3db_core::{Database, Error, Record, ResourceConfig};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

async fn notes(storage: Arc<dyn Storage>) -> s3db_core::Resource {
    let db = Database::builder(storage).open().await.unwrap();
    let notes = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "notes",
                "attributes": {"title": "string", "n": "number|integer:true"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    notes
        .insert(record(json!({"id": "a", "title": "first", "n": 1})))
        .await
        .unwrap();
    notes
}

#[tokio::test]
async fn get_with_meta_returns_the_internals_of_s3dbjs() {
    let storage = Arc::new(MemoryStorage::new());
    let notes = notes(storage.clone()).await;
    let read = notes.get_with_meta("a").await.unwrap();
    let head = storage.head("resource=notes/data/id=a").await.unwrap();
    assert_eq!(read["_etag"], json!(head.meta.etag));
    assert_eq!(read["_contentLength"], json!(0));
    assert_eq!(read["_hasContent"], json!(false));
    assert_eq!(read["_mimeType"], json!("application/octet-stream"));
    assert_eq!(read["_v"], json!("v1"));
    assert_eq!(read["_originalVersion"], json!("1"));
    assert_eq!(read["_versionMapped"], json!(true));
    assert_eq!(read["_lastModified"].as_str().unwrap().len(), 24);
    assert_eq!(
        (read["title"].clone(), read["id"].clone()),
        (json!("first"), json!("a"))
    );
    // `get` keeps returning the fields only.
    assert!(
        notes
            .get("a")
            .await
            .unwrap()
            .keys()
            .all(|k| !k.starts_with('_'))
    );
}

#[tokio::test]
async fn a_stale_version_writes_nothing_and_names_both_versions() {
    let storage = Arc::new(MemoryStorage::new());
    let notes = notes(storage.clone()).await;
    let stale = notes.get_with_meta("a").await.unwrap()["_etag"]
        .as_str()
        .unwrap()
        .to_owned();
    notes
        .update("a", record(json!({"title": "someone else"})))
        .await
        .unwrap();
    let current = notes.get_with_meta("a").await.unwrap()["_etag"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(stale, current);

    let change = record(json!({"title": "mine"}));
    let outcomes = [
        notes.update_if("a", change.clone(), &stale).await,
        notes.patch_if("a", change.clone(), &stale).await,
        notes
            .replace_if("a", record(json!({"title": "mine", "n": 2})), &stale)
            .await,
    ];
    for outcome in outcomes {
        match outcome {
            Err(Error::VersionMismatch {
                resource,
                id,
                expected,
                found,
            }) => {
                assert_eq!((resource.as_str(), id.as_str()), ("notes", "a"));
                assert_eq!((expected, found), (stale.clone(), Some(current.clone())));
            }
            other => panic!("expected a version mismatch, got {other:?}"),
        }
    }
    assert!(matches!(
        notes.delete_if("a", &stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    // Nothing was written: same version, same title, still there.
    let after = notes.get_with_meta("a").await.unwrap();
    assert_eq!(after["_etag"], json!(current));
    assert_eq!(after["title"], json!("someone else"));
}

#[tokio::test]
async fn the_current_version_writes() {
    let notes = notes(Arc::new(MemoryStorage::new())).await;
    let version = |r: &Record| r["_etag"].as_str().unwrap().to_owned();

    let read = notes.get_with_meta("a").await.unwrap();
    let updated = notes
        .update_if("a", record(json!({"n": 2})), &version(&read))
        .await
        .unwrap();
    assert_eq!(updated["n"], json!(2));

    let read = notes.get_with_meta("a").await.unwrap();
    notes
        .patch_if("a", record(json!({"n": 3})), &version(&read))
        .await
        .unwrap();

    let mut read = notes.get_with_meta("a").await.unwrap();
    let v = version(&read);
    read.insert("title".into(), json!("replaced"));
    notes.replace_if("a", read, &v).await.unwrap();
    let replaced = notes.get("a").await.unwrap();
    assert_eq!(
        (replaced["title"].clone(), replaced["n"].clone()),
        (json!("replaced"), json!(3))
    );

    // A version of a record that is gone is a mismatch with nothing found.
    let read = notes.get_with_meta("a").await.unwrap();
    notes.delete_if("a", &version(&read)).await.unwrap();
    assert!(!notes.exists("a").await.unwrap());
    match notes
        .replace_if("a", record(json!({"title": "x", "n": 0})), &version(&read))
        .await
    {
        Err(Error::VersionMismatch { found: None, .. }) => {}
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_record_deleted_at_its_version_cannot_be_updated_at_it() {
    let notes = notes(Arc::new(MemoryStorage::new())).await;
    let read = notes.get_with_meta("a").await.unwrap();
    let version = read["_etag"].as_str().unwrap().to_owned();
    notes.delete_if("a", &version).await.unwrap();
    assert!(matches!(
        notes
            .update_if("a", record(json!({"n": 5})), &version)
            .await,
        Err(Error::NotFound { .. })
    ));
}
