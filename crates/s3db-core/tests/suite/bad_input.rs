//! Bad input gives typed errors, never panics, and never leaves half-written objects.

use crate::common;

use std::sync::Arc;

use futures::TryStreamExt;
use rand::{Rng, SeedableRng};
use s3db_core::{Database, Error, Record, ResourceConfig};
use s3db_storage::{ListOptions, MemoryStorage, PutMode, PutPayload, Storage, StorageExt};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

async fn keys(store: &MemoryStorage) -> Vec<String> {
    store
        .list(ListOptions::default())
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap()
}

async fn people(store: &MemoryStorage, behavior: &str) -> s3db_core::Resource {
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    db.create_resource(
        ResourceConfig::from_json(&json!({
            "name": "people",
            "behavior": behavior,
            "attributes": {"name": "string|min:2", "age": "number|min:0", "email": "email|optional", "bio": "string|optional"},
            "partitions": {"byName": {"fields": {"name": "string"}}}
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn invalid_records_report_every_field_and_write_nothing() {
    let store = MemoryStorage::new();
    let people = people(&store, "user-managed").await;
    let before = keys(&store).await;
    let err = people
        .insert(record(
            json!({"id": "p1", "name": "x", "age": -3, "email": "nope"}),
        ))
        .await
        .unwrap_err();
    match err {
        Error::Validation { source, .. } => {
            let paths: Vec<&str> = source.failures.iter().map(|f| f.path.as_str()).collect();
            assert!(
                paths.contains(&"name") && paths.contains(&"age") && paths.contains(&"email"),
                "{paths:?}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(keys(&store).await, before);
    // An update that would make the record invalid leaves the stored one untouched.
    people
        .insert(record(json!({"id": "p2", "name": "Ana", "age": 3})))
        .await
        .unwrap();
    let stored = store.get("resource=people/data/id=p2").await.unwrap();
    let err = people
        .update("p2", record(json!({"age": "old"})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    assert_eq!(
        store.get("resource=people/data/id=p2").await.unwrap(),
        stored
    );
}

#[tokio::test]
async fn hostile_ids_are_rejected_before_any_request() {
    let store = MemoryStorage::new();
    let people = people(&store, "user-managed").await;
    let before = keys(&store).await;
    let long = "a".repeat(5000);
    for id in [
        "",
        "../s3db.json",
        "a/b",
        "a\\b",
        "x=y",
        "%2e%2e",
        "..",
        "line\nbreak",
        "nul\0",
        long.as_str(),
    ] {
        let err = people
            .insert(record(json!({"id": id, "name": "Ana", "age": 1})))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidId(_)), "{id:?}: {err}");
        assert!(
            matches!(people.get(id).await, Err(Error::InvalidId(_))),
            "{id:?}"
        );
        assert!(
            matches!(people.delete(id).await, Err(Error::InvalidId(_))),
            "{id:?}"
        );
        assert!(
            matches!(people.exists(id).await, Err(Error::InvalidId(_))),
            "{id:?}"
        );
    }
    assert_eq!(keys(&store).await, before);
}

#[tokio::test]
async fn oversize_records_under_enforce_limits_are_typed_errors() {
    let store = MemoryStorage::new();
    let people = people(&store, "enforce-limits").await;
    let before = keys(&store).await;
    let err = people
        .insert(record(
            json!({"id": "big", "name": "Ana", "age": 1, "bio": "x".repeat(3000)}),
        ))
        .await
        .unwrap_err();
    match err {
        Error::MetadataTooLarge {
            total,
            limit,
            excess,
            ..
        } => {
            assert!(total > limit);
            assert_eq!(excess, total - limit);
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(keys(&store).await, before);
}

#[tokio::test]
async fn missing_things_are_typed_errors() {
    let store = MemoryStorage::new();
    let people = people(&store, "user-managed").await;
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    assert!(matches!(
        db.resource("ghosts"),
        Err(Error::UnknownResource { .. })
    ));
    assert!(matches!(
        people.get("nobody").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        people.update("nobody", Record::new()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        people.delete("nobody").await,
        Err(Error::NotFound { .. })
    ));
    assert!(!people.exists("nobody").await.unwrap());
}

#[tokio::test]
async fn corrupted_objects_never_panic() {
    let store = common::fixture_bucket().await;
    let db = common::fixture_database(store.clone(), "").await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let prefixes = ["", "b:", "u:", "d:", "z:", "z85:", "^[", "~", "$", "{", "["];
    for (resource, id) in [
        ("catalog", "c1"),
        ("catalog", "c2"),
        ("users", "u1"),
        ("documents", "d1"),
        ("events", "ev2"),
    ] {
        let key = format!("resource={resource}/data/id={id}");
        let original = store.get(&key).await.unwrap();
        for round in 0..60 {
            let mut metadata = original.metadata.clone();
            for value in metadata.values_mut() {
                if rng.gen_bool(0.5) {
                    let len = rng.gen_range(0..40);
                    let junk: String = (0..len)
                        .map(|_| char::from(rng.gen_range(0x20u8..0x7f)))
                        .collect();
                    *value = format!("{}{junk}", prefixes[rng.gen_range(0..prefixes.len())]);
                }
            }
            let body = if round % 3 == 0 {
                bytes::Bytes::from_static(b"{\"0\": [1, {\"x\": null}], \"_map\": 3")
            } else {
                original.body.clone()
            };
            let payload = PutPayload {
                metadata: metadata.into(),
                body,
                content_type: original.content_type.clone(),
            };
            store.put(&key, payload, PutMode::Overwrite).await.unwrap();
            match db.resource(resource).unwrap().get(id).await {
                Ok(_) | Err(Error::Corrupt { .. }) | Err(Error::Decryption { .. }) => {}
                Err(other) => panic!("{key}: unexpected {other}"),
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_passphrase_is_a_typed_error() {
    let store = common::fixture_bucket().await;
    let db = Database::builder(Arc::new(store))
        .passphrase("not-the-passphrase")
        .open()
        .await
        .unwrap();
    match db.resource("catalog").unwrap().get("c1").await {
        Err(Error::Decryption { field, .. }) => assert_eq!(field, "apiKey"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_corrupted_s3db_json_is_reported_and_left_alone() {
    for garbage in [
        &b"{\"resources\": {\"a\": "[..],
        b"not json",
        b"{\"resources\": []}",
        b"\xff\xfe",
    ] {
        let store = MemoryStorage::new();
        store
            .put_bytes("s3db.json", garbage.to_vec())
            .await
            .unwrap();
        let err = Database::builder(Arc::new(store.clone()))
            .open()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { key, .. } if key == "s3db.json"),
            "{err}"
        );
        assert_eq!(store.get("s3db.json").await.unwrap().body.as_ref(), garbage);
        assert_eq!(keys(&store).await, vec!["s3db.json".to_string()]);
    }
}

#[tokio::test]
async fn debug_output_never_shows_a_passphrase() {
    let builder =
        Database::builder(Arc::new(MemoryStorage::new())).passphrase("database-passphrase-1");
    // A builder on a connection string with a secret key (never opened).
    let on_s3 =
        Database::builder("s3://KEY:url-secret-4@bucket/db").passphrase("database-passphrase-1");
    let built = [format!("{builder:?}"), format!("{on_s3:#?}")];
    let db = builder.open().await.unwrap();
    let own = ResourceConfig::new("vault")
        .attribute("token", "secret")
        .passphrase("resource-passphrase-2");
    let json = ResourceConfig::from_json(&json!({
        "name": "keys",
        "attributes": {"key": "secret"},
        "security": {"passphrase": "json-passphrase-3"}
    }))
    .unwrap();
    for config in [own.clone(), json.clone()] {
        let resource = db.create_resource(config).await.unwrap();
        let inserted = resource
            .insert(record(json!({"id": "a", "token": "t", "key": "k"})))
            .await
            .unwrap();
        resource
            .get(inserted["id"].as_str().unwrap())
            .await
            .unwrap();
    }
    let shown = [
        format!("{db:?}"),
        format!("{db:#?}"),
        format!("{:?}", db.options()),
        format!("{:#?}", db.options()),
        format!("{own:?}"),
        format!("{own:#?}"),
        format!("{json:?}"),
        format!("{json:#?}"),
        format!("{:#?}", db.resource("vault").unwrap()),
    ];
    for text in shown.into_iter().chain(built) {
        for secret in [
            "database-passphrase-1",
            "resource-passphrase-2",
            "json-passphrase-3",
            "url-secret-4",
        ] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
}
