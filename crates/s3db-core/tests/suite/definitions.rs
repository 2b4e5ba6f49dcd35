//! Definitions s3db.js accepts open and work here: unknown modifiers, types and keys in a
//! stored `s3db.json` are kept verbatim and reported; `unique` (enforced), multi-type rules
//! and the legacy names are accepted. The hand-written document here isolates each case; the
//! bucket s3db.js itself wrote from such definitions is read in `compat_definitions.rs`.

use std::sync::Arc;

use s3db_core::extend::Event;
use s3db_core::{BehaviorKind, Database, Error, ResourceConfig};
use s3db_storage::{MemoryStorage, Storage, StorageExt};
use serde_json::{Value, json};

/// An `s3db.json` in s3db.js 21.6.2's exact shape (spec §2) with what this crate does not
/// know: `email|unique` (every s3db.js quick start), an unknown modifier, an unknown type, an
/// unknown key on the version and on the resource.
fn stored_document() -> Value {
    json!({
      "version": "1",
      "s3dbVersion": "21.6.2",
      "lastUpdated": "2026-01-01T00:00:00.000Z",
      "resources": {
        "users": {
          "currentVersion": "v1",
          "partitions": {},
          "createdBy": "user",
          "versions": {
            "v1": {
              "hash": "sha256:0000",
              "attributes": {
                "email": "email|unique",
                "nick": "string|foo:bar",
                "shape": "hexagon|sides:6",
                "price": "currency|symbol:$"
              },
              "behavior": "user-managed",
              "timestamps": false,
              "partitions": {},
              "paranoid": true,
              "allNestedObjectsOptional": true,
              "autoDecrypt": true,
              "cache": false,
              "hooks": {},
              "idSize": 22,
              "idGenerator": "default",
              "createdAt": "2026-01-01T00:00:00.000Z",
              "tenantPolicy": {"isolation": "strict"}
            }
          },
          "schemaRegistry": {"nextIndex": 4, "mapping": {"email": 0, "nick": 1, "shape": 2, "price": 3}, "burned": []},
          "pluginSchemaRegistry": {},
          "futureFeature": [1, 2, 3]
        }
      }
    })
}

async fn bucket_with(document: &Value) -> Arc<MemoryStorage> {
    let store = Arc::new(MemoryStorage::new());
    store
        .put_bytes("s3db.json", serde_json::to_vec_pretty(document).unwrap())
        .await
        .unwrap();
    store
}

async fn stored(store: &MemoryStorage) -> Value {
    serde_json::from_slice(&store.get("s3db.json").await.unwrap().body).unwrap()
}

#[tokio::test]
async fn unknown_parts_of_a_stored_definition_open_work_and_survive_a_save() {
    let document = stored_document();
    let store = bucket_with(&document).await;
    let db = Database::builder(store.clone()).open().await.unwrap();
    let users = db.resource("users").unwrap();

    let warnings: Vec<String> = users
        .definition_warnings()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        !warnings.iter().any(|w| w.starts_with("email:")),
        "'unique' is enforced, not a warning: {warnings:#?}"
    );
    for expected in [
        "nick: modifier 'foo' is not known here",
        "shape: unknown type 'hexagon'",
        "price: modifier 'symbol'",
        "tenantPolicy: not known here",
        "futureFeature: not known here",
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(expected)),
            "{expected:?} not in {warnings:#?}"
        );
    }

    // The resource works on what is understood: email is still checked.
    let bad = users
        .insert(
            json!({"email": "nope", "nick": "a"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Validation { .. }), "{bad}");
    let record = json!({"id": "u1", "email": "ana@example.com", "nick": "ana", "shape": "hex", "price": "EUR"});
    users
        .insert(record.as_object().unwrap().clone())
        .await
        .unwrap();
    let back = users.get("u1").await.unwrap();
    assert_eq!(Value::Object(back), record);

    // A save of the document (another resource defined) keeps "users" verbatim.
    db.create_resource(ResourceConfig::new("notes").attribute("text", "string"))
        .await
        .unwrap();
    let saved = stored(&store).await;
    assert_eq!(saved["resources"]["users"], document["resources"]["users"]);

    // A second process opens it too and reads the record.
    let again = Database::builder(store.clone()).open().await.unwrap();
    assert_eq!(
        again.resource("users").unwrap().get("u1").await.unwrap()["nick"],
        "ana"
    );
}

#[tokio::test]
async fn a_broken_resource_does_not_take_the_database_down() {
    let mut document = stored_document();
    document["resources"]["broken"] = json!({"currentVersion": "v3", "versions": {}});
    document["resources"]["users"]["versions"]["v1"]["behavior"] = json!("teleport");
    let store = bucket_with(&document).await;
    let db = Database::builder(store).open().await.unwrap();
    let users = db.resource("users").unwrap();
    assert_eq!(users.behavior(), BehaviorKind::UserManaged);
    assert!(
        users
            .definition_warnings()
            .iter()
            .any(|w| w.key == "behavior" && w.message.contains("teleport"))
    );
    let err = db.resource("broken").unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
}

#[tokio::test]
async fn create_resource_accepts_what_s3dbjs_accepts_and_reports_it() {
    let db = Database::connect("memory://defs-create/").await.unwrap();
    let mut events = db.events().subscribe();
    let config = ResourceConfig::from_json(&json!({
        "name": "users",
        "attributes": {
            "email": "email|unique",
            "login": "string|min:2|email",
            "price": "currency|symbol:$",
            "code": ["string", "number"],
        },
        "behavior": "data-truncate",
    }))
    .unwrap();
    let users = db.create_resource(config).await.unwrap();
    assert_eq!(users.behavior(), BehaviorKind::TruncateData);
    let mut seen = Vec::new();
    while let Some(event) = events.try_recv() {
        if let Event::DefinitionWarning { resource, key, .. } = &*event {
            seen.push(format!("{resource}.{key}"));
        }
    }
    assert!(!seen.iter().any(|k| k == "users.email"), "{seen:?}");
    for key in ["users.login", "users.price"] {
        assert!(seen.iter().any(|k| k == key), "{key} not in {seen:?}");
    }

    // Multi-type: a string or a number; nothing else.
    for (id, code) in [("a", json!("X1")), ("b", json!(7))] {
        let email = format!("{id}@b.co");
        let record = json!({"id": id, "email": email, "login": "ab", "price": "EUR", "code": code});
        users
            .insert(record.as_object().unwrap().clone())
            .await
            .unwrap();
    }
    let err = users
        .insert(
            json!({"id": "c", "email": "a@b.co", "login": "ab", "price": "EUR", "code": [1]})
                .as_object()
                .unwrap()
                .clone(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    assert_eq!(users.get("a").await.unwrap()["code"], "X1");
}

#[tokio::test]
async fn create_resource_refuses_what_s3dbjs_refuses_naming_resource_and_field() {
    let db = Database::connect("memory://defs-refuse/").await.unwrap();
    let err = db
        .create_resource(ResourceConfig::new("things").attribute("shape", "hexagon"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("things") && text.contains("shape") && text.contains("hexagon"),
        "{text}"
    );
    let err = db
        .create_resource(ResourceConfig::new("empty"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Schema { .. }), "{err}");
    assert!(err.to_string().contains("attributes"), "{err}");
}

#[tokio::test]
async fn options_nesting_and_per_resource_settings_take_effect() {
    let store = Arc::new(MemoryStorage::new());
    let db = Database::builder(store.clone()).open().await.unwrap();
    let mut events = db.events().subscribe();
    let config = ResourceConfig::from_json(&json!({
        "name": "orders",
        "attributes": {"status": "string", "address": {"city": "string"}},
        "versioningEnabled": true,
        "allNestedObjectsOptional": false,
        "options": {
            "behavior": "body-overflow",
            "timestamps": true,
            "partitions": {"byStatus": {"fields": {"status": "string"}}},
            "paranoid": false
        }
    }))
    .unwrap();
    let orders = db.create_resource(config).await.unwrap();
    assert_eq!(orders.behavior(), BehaviorKind::BodyOverflow);
    assert!(!orders.paranoid());
    let saved = stored(&store).await;
    let partitions = saved["resources"]["orders"]["partitions"]
        .as_object()
        .unwrap();
    for name in ["byStatus", "byCreatedDate", "byUpdatedDate", "byVersion"] {
        assert!(
            partitions.contains_key(name),
            "{name} missing: {partitions:?}"
        );
    }
    let deprecated = std::iter::from_fn(|| events.try_recv())
        .any(|e| matches!(&*e, Event::DefinitionWarning { key, .. } if key == "options"));
    assert!(deprecated, "the options nesting is reported");
    // allNestedObjectsOptional: false makes the nested object required.
    let err = orders
        .insert(json!({"status": "new"}).as_object().unwrap().clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("address"), "{err}");
    let again = Database::builder(store).open().await.unwrap();
    let err = again
        .resource("orders")
        .unwrap()
        .insert(json!({"status": "new"}).as_object().unwrap().clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("address"), "{err}");
}
