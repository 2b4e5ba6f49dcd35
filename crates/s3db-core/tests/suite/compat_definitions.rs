//! The bucket s3db.js 21.6.2 wrote from its documented and legacy resource definitions
//! (`fixtures/s3dbjs-21.6.2-definitions`) opens here: what is not understood is reported,
//! records read back as s3db.js read them, partition listings and counts agree.

use crate::common;

use std::sync::Arc;

use common::{DEFINITIONS, PASSPHRASE, bucket_of, expected_of, normalize};
use s3db_codec::secret::Secrets;
use s3db_core::metadata::definition_hash;
use s3db_core::{Database, ListRequest, ResourceConfig};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::{Value, json};

async fn open(store: &MemoryStorage) -> Database {
    Database::builder(Arc::new(store.clone()))
        .passphrase(PASSPHRASE)
        .open()
        .await
        .unwrap()
}

/// The one database of the fixture's `expected.json`.
fn database() -> Value {
    expected_of(DEFINITIONS)["databases"][0].clone()
}

fn resources(database: &Value) -> &serde_json::Map<String, Value> {
    database["resources"].as_object().unwrap()
}

#[tokio::test]
async fn every_record_reads_back_as_s3dbjs_returned_it() {
    let database = database();
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let mut checked = 0;
    for (name, resource) in resources(&database) {
        let handle = db.resource(name).unwrap();
        assert_eq!(handle.version(), resource["current_version"], "{name}");
        for (id, record) in resource["records"].as_object().unwrap() {
            let theirs = normalize(&record["document"]);
            match name.as_str() {
                // `security.passphrase` of the resource is not in s3db.json: without it a
                // fresh s3db.js process returns the ciphertext, this crate refuses with a typed
                // error naming the field (the redefinition test gives it the passphrase).
                "tokens" => {
                    let err = handle.get(id).await.unwrap_err().to_string();
                    assert!(
                        err.contains("\"token\"") && err.contains("passphrase"),
                        "{err}"
                    );
                    let fresh = &resource["fresh_process_records"][id]["token"];
                    assert_eq!(
                        store
                            .get(&format!("resource=tokens/data/id={id}"))
                            .await
                            .unwrap()
                            .metadata["1"],
                        fresh.as_str().unwrap()
                    );
                }
                _ => {
                    let ours = handle.get(id).await.unwrap();
                    assert_eq!(normalize(&Value::Object(ours)), theirs, "{name}/{id}");
                }
            }
            checked += 1;
        }
        let expected_ids: Vec<String> =
            serde_json::from_value(resource["list_ids"].clone()).unwrap();
        assert_eq!(handle.list_ids().await.unwrap(), expected_ids, "{name}");
        assert_eq!(
            handle.count().await.unwrap() as u64,
            resource["count"].as_u64().unwrap(),
            "{name}"
        );
    }
    assert_eq!(checked, 19);

    // s3db.js stored what `unique` should have refused: kept for the uniqueness repair.
    let users = &resources(&database)["users"]["records"];
    assert_eq!(
        users["u1"]["document"]["email"],
        users["u3"]["document"]["email"]
    );
    let orders = &resources(&database)["orders"]["records"];
    assert_eq!(
        orders["o1"]["document"]["orderId"],
        orders["o4"]["document"]["orderId"]
    );
    let users = db.resource("users").unwrap();
    assert_eq!(
        users.get("u1").await.unwrap()["email"],
        users.get("u3").await.unwrap()["email"]
    );
}

#[tokio::test]
async fn definition_warnings_name_what_is_not_understood() {
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let expected: [(&str, &[&str]); 10] = [
        // `unique` is enforced: nothing to report.
        ("users", &[]),
        ("orders", &[]),
        (
            "contacts",
            &[
                "login: modifier 'email' is not known here",
                "price: modifier 'symbol' is not known here",
                "nick: modifier 'foo' is not known here",
            ],
        ),
        ("legacy_options", &[]),
        // The legacy names are read as user-managed / truncate-data (s3db.js 21.6.2 itself
        // cannot write with them: every insert fails with "Unknown behavior").
        ("legacy_user_management", &[]),
        ("legacy_data_truncate", &[]),
        ("vault", &["cache: stored in s3db.json, no effect"]),
        ("tokens", &[]),
        ("keys", &[]),
        (
            "bad_min",
            &[
                "n: modifier 'min' of type 'number' must be a number, got \"abc\": read as any value",
            ],
        ),
    ];
    for (name, wanted) in expected {
        let warnings: Vec<String> = db
            .resource(name)
            .unwrap()
            .definition_warnings()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(warnings.len(), wanted.len(), "{name}: {warnings:#?}");
        for want in wanted {
            assert!(
                warnings.iter().any(|w| w.starts_with(want)),
                "{name}: {want:?} not in {warnings:#?}"
            );
        }
    }
}

#[tokio::test]
async fn partition_listings_and_counts_equal_s3dbjs() {
    let database = database();
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let mut checked = 0;
    for (name, resource) in resources(&database) {
        let handle = db.resource(name).unwrap();
        for declared in resource["partitions"].as_object().unwrap().keys() {
            handle.partition(declared).unwrap();
        }
        for listing in resource["partition_listings"].as_array().unwrap() {
            let request = ListRequest::partition(
                listing["partition"].as_str().unwrap(),
                listing["values"].clone(),
            );
            let wanted: Vec<String> = serde_json::from_value(listing["ids"].clone()).unwrap();
            assert_eq!(
                handle.list_ids_by(&request).await.unwrap(),
                wanted,
                "{listing}"
            );
            assert_eq!(
                handle.count_by(&request).await.unwrap() as u64,
                listing["count"].as_u64().unwrap()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 13);

    // s3db.js ignored the legacy `options` nesting (no partition was stored), and refused to
    // list the partition it declared; so does this crate reading that bucket.
    assert_eq!(
        database["legacy_options_partition_listing"]["message"],
        "Partition 'byStatus' not found"
    );
    let legacy = db.resource("legacy_options").unwrap();
    assert!(legacy.partition("byStatus").is_err());
    let err = legacy
        .list_ids_by(&ListRequest::partition(
            "byStatus",
            json!({"status": "closed"}),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("byStatus"), "{err}");
}

#[tokio::test]
async fn definition_hashes_equal_the_stored_ones() {
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let document = db.document();
    assert_eq!(document.resources.len(), 10);
    for (name, resource) in &document.resources {
        let entry = resource.current().unwrap();
        let ours = definition_hash(
            entry.attributes.as_ref().unwrap(),
            &entry.behavior,
            entry.partitions.as_ref().unwrap(),
            entry.timestamps,
        );
        assert_eq!(ours, entry.hash, "{name}");
    }
}

#[tokio::test]
async fn writes_and_a_resave_keep_every_s3dbjs_definition_verbatim() {
    let database = database();
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let record = |value: Value| value.as_object().unwrap().clone();
    // A third record with the duplicated email: s3db.js wrote no claims, so the value is
    // free to claim until `repair` claims the values of s3db.js's records.
    db.resource("users")
        .unwrap()
        .insert(record(json!({"id": "u9", "name": "Ana Three", "email": "ana@example.com", "age": 50, "isActive": false})))
        .await
        .unwrap();
    db.resource("contacts")
        .unwrap()
        .insert(record(
            json!({"id": "c9", "login": "zz", "price": "JPY", "code": 9, "note": "n"}),
        ))
        .await
        .unwrap();
    db.resource("vault")
        .unwrap()
        .insert(record(json!({"id": "v9", "label": "ours", "apiKey": "sk-ours", "address": {"city": "Lisboa"}})))
        .await
        .unwrap();
    // Unlike s3db.js 21.6.2, the legacy behavior names are writable here.
    db.resource("legacy_data_truncate")
        .unwrap()
        .insert(record(json!({"id": "t9", "title": "x"})))
        .await
        .unwrap();
    db.create_resource(ResourceConfig::new("notes").attribute("text", "string"))
        .await
        .unwrap();

    let saved: Value = serde_json::from_slice(&store.get("s3db.json").await.unwrap().body).unwrap();
    let original = &database["s3db_json"]["resources"];
    for name in original.as_object().unwrap().keys() {
        assert_eq!(saved["resources"][name], original[name], "{name}");
    }
    assert!(saved["resources"]["notes"].is_object());

    let again = open(&store).await;
    assert_eq!(again.resource("users").unwrap().count().await.unwrap(), 4);
    // `autoDecrypt: false`, as in s3db.js: the stored ciphertext comes back.
    let stored = again.resource("vault").unwrap().get("v9").await.unwrap()["apiKey"].clone();
    assert_eq!(
        Secrets::new(PASSPHRASE)
            .decrypt(stored.as_str().unwrap())
            .unwrap(),
        "sk-ours"
    );
    assert_eq!(
        again.resource("contacts").unwrap().get("c9").await.unwrap()["code"],
        9
    );
}

#[tokio::test]
async fn redefining_from_the_same_createresource_json() {
    let database = database();
    let mut outcomes = Vec::new();
    for definition in database["definitions"].as_array().unwrap() {
        let name = definition["name"].as_str().unwrap();
        let store = bucket_of(DEFINITIONS).await;
        let db = open(&store).await;
        let config = ResourceConfig::from_json(&definition["config"]).unwrap();
        let outcome = match db.create_resource(config).await {
            Ok(resource) => resource.version().to_owned(),
            Err(_) => "refused".to_owned(),
        };
        let created_by_s3dbjs = definition["created"].as_bool().unwrap();
        outcomes.push((name.to_owned(), created_by_s3dbjs, outcome));
    }
    let outcomes: Vec<(&str, bool, &str)> = outcomes
        .iter()
        .map(|(n, c, o)| (n.as_str(), *c, o.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("users", true, "v1"),
            // Per-resource `versioningEnabled: true` adds `byVersion` here; s3db.js 21.6.2
            // ignores it (the database's setting wins): a new version.
            ("orders", true, "v2"),
            // s3db.js refuses `enum:a,b` in the shorthand (`schema.enum.join is not a
            // function`); this crate reads it as a comma-separated list.
            ("orders_enum", false, "v1"),
            ("contacts", true, "v1"),
            // The `options: {…}` nesting is lifted here (with a warning); s3db.js 21.6.2
            // ignores it: a new version with body-overflow, timestamps and `byStatus`.
            ("legacy_options", true, "v2"),
            // Legacy names are normalized (`user-managed`, `truncate-data`), which changes
            // the hash s3db.js computed over the name as given.
            ("legacy_user_management", true, "v2"),
            ("legacy_data_truncate", true, "v2"),
            ("vault", true, "v1"),
            ("tokens", true, "v1"),
            ("keys", true, "v1"),
            // Refused where s3db.js accepts the definition but fails every insert.
            ("bad_min", true, "refused"),
            ("no_attributes", false, "refused"),
            ("no_attributes_key", false, "refused"),
            ("unknown_type", false, "refused"),
        ]
    );

    // With the resource's `security.passphrase` given again, its secrets read.
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let tokens = definition_config(&database, "tokens");
    let tokens = db
        .create_resource(ResourceConfig::from_json(&tokens).unwrap())
        .await
        .unwrap();
    assert_eq!(tokens.get("k1").await.unwrap()["token"], "tok-ana");
    // The top-level `passphrase` key is used here; s3db.js type-checks it and encrypts with
    // the database's passphrase, so its records do not decrypt after this redefinition.
    let keys = definition_config(&database, "keys");
    let keys = db
        .create_resource(ResourceConfig::from_json(&keys).unwrap())
        .await
        .unwrap();
    let err = keys.get("k1").await.unwrap_err().to_string();
    assert!(err.contains("\"key\""), "{err}");
}

fn definition_config(database: &Value, name: &str) -> Value {
    database["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap()["config"]
        .clone()
}

/// `unique` on records s3db.js wrote (it never checks it): repair claims every value, reports
/// the duplicated email of u1/u3 without choosing a winner, and from then on the claimed
/// values are enforced.
#[tokio::test]
async fn repair_claims_s3dbjs_unique_values_and_reports_its_duplicates() {
    let database = database();
    let store = bucket_of(DEFINITIONS).await;
    let db = open(&store).await;
    let users = db.resource("users").unwrap();
    let records = resources(&database)["users"]["records"]
        .as_object()
        .unwrap();
    let email = |id: &str| records[id]["document"]["email"].clone();
    let record = |value: Value| value.as_object().unwrap().clone();

    let report = users.repair_unique().await.unwrap();
    assert_eq!(report.records, records.len());
    assert_eq!(report.duplicates.len(), 1, "{report:?}");
    assert_eq!(report.duplicates[0].field, "email");
    assert_eq!(report.duplicates[0].value, email("u1"));
    assert_eq!(report.duplicates[0].ids, ["u1", "u3"]);
    // Every other value got its claim.
    assert_eq!(report.written.len(), records.len() - 2, "{report:?}");

    let u2 = email("u2");
    let err = users
        .insert(record(
            json!({"id": "u9", "email": u2, "name": "Nine", "age": 9, "isActive": true}),
        ))
        .await
        .unwrap_err();
    match err {
        s3db_core::Error::UniqueViolation {
            field, existing_id, ..
        } => assert_eq!((field.as_str(), existing_id.as_str()), ("email", "u2")),
        other => panic!("{other}"),
    }
    // The duplicate stays reported until one of the two records lets the value go.
    users.delete("u3").await.unwrap();
    let again = users.repair_unique().await.unwrap();
    assert!(again.duplicates.is_empty(), "{again:?}");
    assert!(users.repair_unique().await.unwrap().is_clean());
}
