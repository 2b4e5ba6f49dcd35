//! `idGenerator: "incremental"`: ids from the resource's stored sequence, in s3db.js's shape.

use s3db_core::{Database, ResourceConfig};
use s3db_storage::{PutMode, PutPayload, StorageExt};
use serde_json::{Value, json};

async fn orders(db: &Database, generator: Value) -> s3db_core::Resource {
    db.create_resource(
        ResourceConfig::from_json(&json!({
            "name": "orders",
            "attributes": {"item": "string"},
            "idGenerator": generator,
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

async fn insert_id(resource: &s3db_core::Resource) -> String {
    let record = json!({"item": "tea"}).as_object().unwrap().clone();
    let inserted = resource.insert(record).await.unwrap();
    inserted["id"].as_str().unwrap().to_owned()
}

async fn stored(db: &Database, key: &str) -> Value {
    let object = db.storage().get(key).await.unwrap();
    serde_json::from_slice(&object.body).unwrap()
}

#[tokio::test]
async fn standard_ids_count_up_in_the_s3dbjs_sequence_object() {
    let url = format!("memory://incremental-{}", std::process::id());
    let db = Database::connect(&url).await.unwrap();
    let orders = orders(&db, json!("incremental:1000")).await;
    let ids = [insert_id(&orders).await, insert_id(&orders).await];
    assert_eq!(ids, ["1000", "1001"]);
    // s3db.js's key and body: the next value to hand out, the field name, dates.
    let value = stored(&db, "resource=orders/sequence=id/value").await;
    assert_eq!(value["value"], 1002);
    assert_eq!(value["name"], "id");
    assert!(value["createdAt"].is_string() && value["updatedAt"].is_string());
    // s3db.json records the label as s3db.js does.
    let meta = stored(&db, "s3db.json").await;
    let current = meta["resources"]["orders"]["currentVersion"]
        .as_str()
        .unwrap();
    assert_eq!(
        meta["resources"]["orders"]["versions"][current]["idGenerator"],
        "incremental"
    );
    // An id given explicitly does not touch the sequence; a write by s3db.js moves it.
    let given = json!({"id": "manual", "item": "x"})
        .as_object()
        .unwrap()
        .clone();
    orders.insert(given).await.unwrap();
    let js = json!({"value": 5000, "name": "id", "createdAt": "2024-01-01T00:00:00.000Z"});
    let payload = PutPayload {
        body: js.to_string().into(),
        ..PutPayload::default()
    };
    db.storage()
        .put(
            "resource=orders/sequence=id/value",
            payload,
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    assert_eq!(insert_id(&orders).await, "5000");
}

#[tokio::test]
async fn a_reconnected_database_keeps_counting() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let db = Database::connect(&url).await.unwrap();
    let orders = orders(&db, json!("incremental")).await;
    assert_eq!(insert_id(&orders).await, "1");
    drop(db);
    // Only the label is stored (as in s3db.js): the defaults apply and the count goes on.
    let db = Database::connect(&url).await.unwrap();
    let orders = db.resource("orders").unwrap();
    assert_eq!(insert_id(&orders).await, "2");
    assert_eq!(
        db.storage()
            .list_keys("resource=orders/data/")
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn fast_mode_reserves_batches_and_formats_prefixes() {
    let db = Database::connect("memory://incremental-fast")
        .await
        .unwrap();
    let generator = json!({"type": "incremental", "mode": "fast", "batchSize": 3,
        "prefix": "INV-", "padding": 4, "start": 7});
    let orders = orders(&db, generator).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(insert_id(&orders).await);
    }
    assert_eq!(ids, ["INV-0007", "INV-0008", "INV-0009", "INV-0010"]);
    // Two batches of three were reserved: 7..10 and 10..13.
    let value = stored(&db, "resource=orders/sequence=id/value").await;
    assert_eq!(value["value"], 13);
}

#[tokio::test]
async fn bad_incremental_settings_name_the_field() {
    let config = json!({"name": "orders", "idGenerator": {"type": "incremental", "padding": 99}});
    let err = ResourceConfig::from_json(&config).unwrap_err().to_string();
    assert!(err.contains("idGenerator.padding"), "{err}");
    assert!(err.contains("between 0 and 20"), "{err}");
}
