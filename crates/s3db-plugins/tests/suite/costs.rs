//! Costs plugin: the counts equal the requests the storage saw, per resource and in total.

use crate::common;

use std::sync::Arc;

use common::{create, rec};
use s3db_core::{Database, ResourceConfig};
use s3db_plugins::costs::CostsPlugin;
use s3db_storage::layers::{Metrics, MetricsRecorder, MetricsSnapshot, Prices};
use s3db_storage::{MemoryStorage, Storage, StorageExt};
use serde_json::json;

/// A database on `costs ∘ metrics ∘ memory`: the plain metrics layer is the reference.
async fn setup() -> (Database, CostsPlugin, MetricsRecorder) {
    let reference = Metrics::new(Arc::new(MemoryStorage::new()) as Arc<dyn Storage>);
    let recorder = reference.recorder();
    let (storage, costs) = CostsPlugin::wrap(Arc::new(reference));
    let db = Database::builder(storage).open().await.unwrap();
    db.use_plugin(Arc::new(costs.clone())).await.unwrap();
    (db, costs, recorder)
}

fn by_kind(s: &MetricsSnapshot) -> [u64; 7] {
    [
        s.put.requests,
        s.get.requests,
        s.head.requests,
        s.copy.requests,
        s.delete.requests,
        s.delete_many.requests,
        s.list.requests,
    ]
}

#[tokio::test]
async fn counts_equal_the_requests_the_storage_saw() {
    let (db, costs, reference) = setup().await;
    let users = create(
        &db,
        ResourceConfig::new("users")
            .attribute("name", "string")
            .attribute("city", "string")
            .partition("byCity", [("city", "string")]),
    )
    .await;
    let notes = create(
        &db,
        ResourceConfig::new("notes").attribute("text", "string"),
    )
    .await;
    let after_setup = costs.report();

    // users: 3 inserts (record + partition reference each), 2 gets (one missing), an
    // exists, an update that moves the partition, a delete, a count.
    for (id, city) in [("u1", "Lx"), ("u2", "Porto"), ("u3", "Lx")] {
        users
            .insert(rec(json!({"id": id, "name": id, "city": city})))
            .await
            .unwrap();
    }
    users.get("u1").await.unwrap();
    assert!(users.get("nope").await.is_err());
    assert!(users.exists("u2").await.unwrap());
    users
        .update("u2", rec(json!({"city": "Lx"})))
        .await
        .unwrap();
    users.delete("u3").await.unwrap();
    assert_eq!(users.count().await.unwrap(), 2);
    // notes: one insert, one get.
    notes
        .insert(rec(json!({"id": "n1", "text": "hi"})))
        .await
        .unwrap();
    notes.get("n1").await.unwrap();

    let report = costs.report();
    let u = report.resources["users"];
    let before = after_setup.resources["users"];
    assert_eq!(
        u.put - before.put,
        3 * 2 + 2,
        "3 inserts x (record + ref), update (record + ref)"
    );
    assert_eq!(
        u.get - before.get,
        2 + 1 + 1,
        "2 gets, the update's read, the delete's read"
    );
    assert_eq!(u.errors - before.errors, 1, "the missing get");
    assert_eq!(u.head - before.head, 1);
    assert_eq!(
        u.delete + u.delete_many - before.delete - before.delete_many,
        1 + 1,
        "the record with its reference (one batch), the update's stale reference"
    );
    assert!(u.list > before.list);
    let n = report.resources["notes"];
    assert_eq!((n.put, n.get, n.head, n.delete, n.list), (1, 1, 0, 0, 0));

    // The total is exactly what the reference layer below saw, kind by kind.
    let seen = reference.snapshot();
    assert_eq!(by_kind(&costs.snapshot()), by_kind(&seen));
    assert_eq!(report.total.requests, seen.requests());
    assert_eq!(report.total.bytes_written, seen.bytes_written);
    // Every request is in exactly one part (no delete_many spans two parts here).
    let parts: u64 = report.resources.values().map(|u| u.requests).sum::<u64>()
        + report.plugins.values().map(|u| u.requests).sum::<u64>()
        + report.database.requests
        + report.other.requests;
    assert_eq!(parts, report.total.requests);
    // s3db.json was read at open and written by each create_resource.
    assert!(report.database.get >= 1 && report.database.put >= 2);
    // Dollars follow the S3 Standard prices.
    let expected = seen.estimated_cost_usd(Prices::S3_STANDARD);
    assert!((report.total.estimated_usd - expected).abs() < 1e-12);
}

#[tokio::test]
async fn prices_are_configurable_and_the_report_is_json() {
    let (storage, costs) = CostsPlugin::wrap(Arc::new(MemoryStorage::new()));
    let costs = costs.with_prices(Prices {
        write_list_per_1000: 10.0,
        read_per_1000: 1.0,
    });
    let db = Database::builder(storage.clone()).open().await.unwrap();
    db.use_plugin(Arc::new(costs.clone())).await.unwrap();
    let idle = create(&db, ResourceConfig::new("idle").attribute("x", "string")).await;
    let before = costs.report();
    // Plugin areas are billed to the plugin (database-wide) or to the resource.
    storage.put_bytes("plugin=cache/a", "x").await.unwrap();
    storage
        .put_bytes(&format!("resource={}/plugin=ttl/b", idle.name()), "x")
        .await
        .unwrap();
    storage.get_bytes("plugin=cache/a").await.unwrap();

    let report = costs.report();
    assert_eq!(report.plugins["cache"].put, 1);
    assert_eq!(report.plugins["cache"].get, 1);
    assert_eq!(
        report.resources["idle"].put,
        before.resources["idle"].put + 1
    );
    // 1 PUT at $10/1000 + 1 GET at $1/1000.
    assert!((report.plugins["cache"].estimated_usd - 0.011).abs() < 1e-12);

    let json = report.to_json();
    assert_eq!(json["prices"]["writeListPer1000"], 10.0);
    assert_eq!(json["plugins"]["cache"]["put"], 1);
    assert_eq!(json["resources"]["idle"]["deleteMany"], 0);
    assert_eq!(json["total"]["requests"], report.total.requests);
}

#[tokio::test]
async fn installed_plugin_lists_unused_resources_with_zero_usage() {
    let (storage, costs) = CostsPlugin::wrap(Arc::new(MemoryStorage::new()));
    let db = Database::builder(storage).open().await.unwrap();
    db.use_plugin(Arc::new(costs.clone())).await.unwrap();
    let report = costs.report();
    assert!(report.resources.is_empty());
    create(&db, ResourceConfig::new("later").attribute("x", "string")).await;
    // Defining it wrote s3db.json only: the resource is listed, unused.
    assert_eq!(costs.report().resources["later"].requests, 0);
}
