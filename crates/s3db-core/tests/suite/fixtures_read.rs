//! Every record s3db.js 21.6.2 wrote reads back through `get()` as s3db.js's own `get()`
//! returned it, typed or not; `list_ids` and `count` agree; our definition hashes equal the
//! stored ones.

use crate::common;

use common::{expected, fixture_bucket, fixture_database, normalize};
use s3db_core::metadata::definition_hash;
use serde_json::Value;

#[tokio::test]
async fn every_fixture_record_reads_like_s3dbjs() {
    let expected = expected();
    let store = fixture_bucket().await;
    let mut checked = 0;
    for database in expected["databases"].as_array().unwrap() {
        let prefix = database["key_prefix"].as_str().unwrap();
        let db = fixture_database(store.clone(), prefix).await;
        for (name, resource) in database["resources"].as_object().unwrap() {
            let handle = db.resource(name).unwrap();
            assert_eq!(handle.version(), resource["current_version"]);
            for (id, record) in resource["records"].as_object().unwrap() {
                let ours = Value::Object(
                    handle
                        .get(id)
                        .await
                        .unwrap_or_else(|e| panic!("{prefix}/{name}/{id}: {e}")),
                );
                let theirs = normalize(&record["document"]);
                assert_eq!(normalize(&ours), theirs, "{prefix}/{name}/{id}");
                checked += 1;
            }
            // Typed reads (straight into the type where they can) give the same records.
            let ids: Vec<&str> = resource["records"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            common::typed_reads_match_untyped(&handle, &ids).await;
            let ids = handle.list_ids().await.unwrap();
            let expected_ids: Vec<String> =
                serde_json::from_value(resource["list_ids"].clone()).unwrap();
            assert_eq!(ids, expected_ids, "{prefix}/{name} list_ids");
            assert_eq!(
                handle.count().await.unwrap() as u64,
                resource["count"].as_u64().unwrap()
            );
        }
    }
    assert_eq!(checked, 28);
}

#[tokio::test]
async fn definition_hashes_equal_the_stored_ones() {
    let store = fixture_bucket().await;
    for prefix in ["", "versioned"] {
        let db = fixture_database(store.clone(), prefix).await;
        let document = db.document();
        assert!(!document.resources.is_empty());
        for (name, resource) in &document.resources {
            for (version, entry) in &resource.versions {
                let ours = definition_hash(
                    entry.attributes.as_ref().unwrap(),
                    &entry.behavior,
                    entry.partitions.as_ref().unwrap(),
                    entry.timestamps,
                );
                assert_eq!(ours, entry.hash, "{prefix}/{name}/{version}");
            }
        }
    }
}

#[tokio::test]
async fn redefining_fixture_resources_does_not_bump_versions() {
    use s3db_core::ResourceConfig;
    let store = fixture_bucket().await;
    for prefix in ["", "versioned"] {
        let db = fixture_database(store.clone(), prefix).await;
        let before = db.document();
        for (name, resource) in &before.resources {
            let current = resource.current().unwrap();
            let mut attributes = current.attributes.clone().unwrap();
            if current.timestamps {
                attributes.shift_remove("createdAt");
                attributes.shift_remove("updatedAt");
            }
            let mut partitions = resource.partitions.clone().unwrap_or_default();
            for auto in ["byCreatedDate", "byUpdatedDate", "byVersion"] {
                partitions.shift_remove(auto);
            }
            let config = ResourceConfig::from_json(&serde_json::json!({
                "name": name,
                "attributes": attributes,
                "behavior": current.behavior,
                "timestamps": current.timestamps,
                "partitions": partitions,
            }))
            .unwrap();
            let handle = db.create_resource(config).await.unwrap();
            assert_eq!(
                handle.version(),
                resource.current_version,
                "{prefix}/{name}"
            );
        }
        assert_eq!(
            db.document().resources,
            before.resources,
            "{prefix}: s3db.json unchanged"
        );
    }
}
