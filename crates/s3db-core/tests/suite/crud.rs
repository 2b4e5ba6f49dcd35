//! CRUD round trips through every behavior: partitions, timestamps, content, bulk and typed.

use std::sync::Arc;

use s3db_core::clock::ManualClock;
use s3db_core::{BehaviorKind, Database, Error, Record, ResourceConfig};
use s3db_storage::{MemoryStorage, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

async fn resource(
    store: &MemoryStorage,
    behavior: BehaviorKind,
    timestamps: bool,
) -> s3db_core::Resource {
    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    db.create_resource(items_config(behavior, timestamps))
        .await
        .unwrap()
}

fn items_config(behavior: BehaviorKind, timestamps: bool) -> ResourceConfig {
    ResourceConfig::new("items")
        .attribute("name", "string")
        .attribute("size", "number|optional")
        .attribute("notes", "string|optional")
        .attribute("tags", "array|items:string|optional")
        .attribute("place", json!({"city": "string|optional"}))
        .attribute("token", "secret|optional")
        .behavior(behavior)
        .timestamps(timestamps)
        .partition("byCity", [("place.city", "string")])
}

#[tokio::test]
async fn every_behavior_round_trips_small_and_large_records() {
    for behavior in BehaviorKind::ALL {
        let store = MemoryStorage::new();
        let items = resource(&store, behavior, false).await;
        let small = json!({"id": "s", "name": "small", "size": 1.5, "tags": ["a|b", "c"], "place": {"city": "Lisboa"}, "token": "t0p"});
        items.insert(record(small.clone())).await.unwrap();
        assert_eq!(
            Value::Object(items.get("s").await.unwrap()),
            small,
            "{behavior}"
        );

        let large = json!({"id": "l", "name": "large", "notes": "ü".repeat(1500), "place": {"city": "Porto"}});
        match (behavior, items.insert(record(large.clone())).await) {
            (BehaviorKind::EnforceLimits, Err(Error::MetadataTooLarge { .. })) => {}
            (BehaviorKind::TruncateData, Ok(_)) => {
                let read = items.get("l").await.unwrap();
                assert!(read["notes"].as_str().unwrap().len() < 3000, "{behavior}");
            }
            (_, Ok(_)) => assert_eq!(
                Value::Object(items.get("l").await.unwrap()),
                large,
                "{behavior}"
            ),
            (_, Err(e)) => panic!("{behavior}: {e}"),
        }

        // Update moves the partition reference.
        items
            .update("s", record(json!({"place": {"city": "Faro"}})))
            .await
            .unwrap();
        assert!(
            store
                .exists("resource=items/partition=byCity/place.city=Faro/id=s")
                .await
                .unwrap()
        );
        assert!(
            !store
                .exists("resource=items/partition=byCity/place.city=Lisboa/id=s")
                .await
                .unwrap()
        );
        let read = items.get("s").await.unwrap();
        assert_eq!(read["place"]["city"], "Faro");
        assert_eq!(read["token"], "t0p", "{behavior}: secret kept");

        items.delete("s").await.unwrap();
        assert!(
            !store
                .exists("resource=items/partition=byCity/place.city=Faro/id=s")
                .await
                .unwrap()
        );
        assert!(matches!(items.get("s").await, Err(Error::NotFound { .. })));
    }
}

#[tokio::test]
async fn timestamps_are_set_on_insert_and_refreshed_on_update() {
    let store = MemoryStorage::new();
    let clock = ManualClock::at_millis(1_700_000_000_000);
    let db = Database::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .unwrap();
    let items = db
        .create_resource(items_config(BehaviorKind::UserManaged, true))
        .await
        .unwrap();
    let inserted = items
        .insert(record(json!({"id": "t", "name": "n"})))
        .await
        .unwrap();
    let created = inserted["createdAt"].as_str().unwrap().to_owned();
    assert_eq!(created, "2023-11-14T22:13:20.000Z");
    assert_eq!(inserted["updatedAt"], inserted["createdAt"]);
    clock.advance(std::time::Duration::from_millis(5));
    let updated = items
        .update("t", record(json!({"name": "m"})))
        .await
        .unwrap();
    assert_eq!(updated["createdAt"], created.as_str());
    assert_eq!(updated["updatedAt"], "2023-11-14T22:13:20.005Z");
    let read = items.get("t").await.unwrap();
    assert_eq!(read["createdAt"], created.as_str());
    assert!(
        !read.contains_key("metadata"),
        "no phantom metadata.updatedAt"
    );
    assert!(
        store
            .exists(&format!(
                "resource=items/partition=byCreatedDate/createdAt={}/id=t",
                &created[..10]
            ))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn upsert_replace_bulk_and_content() {
    let store = MemoryStorage::new();
    let items = resource(&store, BehaviorKind::UserManaged, false).await;
    items
        .upsert(record(json!({"id": "u", "name": "one", "size": 1})))
        .await
        .unwrap();
    items
        .upsert(record(json!({"id": "u", "size": 2})))
        .await
        .unwrap();
    let read = items.get("u").await.unwrap();
    assert_eq!(
        (read["name"].clone(), read["size"].clone()),
        (json!("one"), json!(2))
    );

    items
        .replace("u", record(json!({"name": "two"})))
        .await
        .unwrap();
    assert!(!items.get("u").await.unwrap().contains_key("size"));

    let results = items
        .insert_many(
            (0..20)
                .map(|i| record(json!({"id": format!("b{i:02}"), "name": "bulk"})))
                .collect(),
        )
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(items.count().await.unwrap(), 21);
    let some = items
        .get_many(&["b01".into(), "missing".into(), "b02".into()])
        .await
        .unwrap();
    assert_eq!(some.len(), 2);
    assert_eq!(
        items
            .delete_many(&["b00".into(), "b01".into(), "nope".into()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(items.get_all().await.unwrap().len(), 19);

    items
        .set_content("u", bytes::Bytes::from_static(b"\x89PNG"), "image/png")
        .await
        .unwrap();
    assert!(items.has_content("u").await.unwrap());
    let content = items.content("u").await.unwrap().unwrap();
    assert_eq!(
        (content.body.as_ref(), content.content_type.as_deref()),
        (&b"\x89PNG"[..], Some("image/png"))
    );
    items.update("u", record(json!({"size": 9}))).await.unwrap();
    assert_eq!(items.get("u").await.unwrap()["size"], 9);
    assert!(
        items.has_content("u").await.unwrap(),
        "content survives updates"
    );
    items.delete_content("u").await.unwrap();
    assert!(!items.has_content("u").await.unwrap());
    assert_eq!(items.get("u").await.unwrap()["name"], "two");

    // Paranoid by default: `delete_all` refuses, naming the flag, and deletes nothing.
    assert!(items.paranoid());
    let before = store.stats().objects;
    let refused = items.delete_all().await.unwrap_err();
    assert!(matches!(refused, Error::Paranoid { .. }), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "resource \"items\" is paranoid: deleteAll refused; set paranoid: false on resource \"items\" to allow deleteAll"
    );
    assert_eq!(store.stats().objects, before);
    assert_eq!(items.count().await.unwrap(), 19);

    let db = Database::builder(Arc::new(store.clone()))
        .open()
        .await
        .unwrap();
    let items = db
        .create_resource(items_config(BehaviorKind::UserManaged, false).paranoid(false))
        .await
        .unwrap();
    // Not part of the definition hash: recorded on the current version, no new one.
    assert!(!items.paranoid());
    assert_eq!(items.version(), "v1");
    assert!(!db.document().resources["items"].current().unwrap().paranoid);
    assert_eq!(items.delete_all().await.unwrap(), 19);
    assert_eq!(items.count().await.unwrap(), 0);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    #[serde(default)]
    id: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<f64>,
}

#[tokio::test]
async fn the_typed_facade_round_trips_structs() {
    let store = MemoryStorage::new();
    let items = resource(&store, BehaviorKind::BodyOverflow, false)
        .await
        .typed::<Item>();
    let item = Item {
        id: "x".into(),
        name: "typed".into(),
        size: Some(2.5),
    };
    assert_eq!(items.insert(&item).await.unwrap(), item);
    assert_eq!(items.get("x").await.unwrap(), item);
    let changed = items
        .update(
            "x",
            &Item {
                id: String::new(),
                name: "renamed".into(),
                size: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "renamed");
    assert_eq!(changed.size, Some(2.5));
    assert_eq!(items.get_all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn any_fields_keep_every_json_value() {
    let db = Database::connect("memory://crud-any").await.unwrap();
    let things = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "things", "attributes": {"v": "any|optional"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let values = [
        json!(5),
        json!(-1.5),
        json!("5"),
        json!("plain"),
        json!(true),
        json!({"a": [1, "x"]}),
        json!([1, 2]),
    ];
    for (i, value) in values.iter().enumerate() {
        let id = format!("t{i}");
        things
            .insert(record(json!({"id": id, "v": value})))
            .await
            .unwrap();
        assert_eq!(&things.get(&id).await.unwrap()["v"], value, "{value}");
    }
}
