//! Partitions: fixture listings read exactly, references moved by updates in O(1) requests
//! on memory, filesystem and S3 (moto), escaped values, repair after a crash between the
//! record write and the reference write, queries planned over partitions, cursor pages.

use crate::common;

use std::sync::Arc;

use common::{expected, fixture_bucket, fixture_database};
use s3db_core::{Database, Error, ListRequest, PageRequest, QueryOptions, Record, ResourceConfig};
use s3db_storage::layers::{Fault, FaultPlan, Faults, Metrics, Retry, RetryConfig};
use s3db_storage::{ErrorKind, FsStorage, MemoryStorage, Operation, Storage, StorageExt};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn fixture_partition_listings_match_values_exactly() {
    let expected = expected();
    let store = fixture_bucket().await;
    let mut checked = 0;
    for database in expected["databases"].as_array().unwrap() {
        let prefix = database["key_prefix"].as_str().unwrap();
        let db = fixture_database(store.clone(), prefix).await;
        for (name, resource) in database["resources"].as_object().unwrap() {
            let handle = db.resource(name).unwrap();
            let listings = resource["partition_listings"].as_array().unwrap();
            for listing in listings {
                let partition = listing["partition"].as_str().unwrap();
                let listed_prefix = listing["prefix"].as_str().unwrap();
                // s3db.js lists without a trailing slash, so `status=open` also returns the
                // `status=opened` ids; we match exactly: drop the ids of longer values.
                let longer: Vec<&Value> = listings
                    .iter()
                    .filter(|other| {
                        let p = other["prefix"].as_str().unwrap();
                        p != listed_prefix && p.starts_with(listed_prefix)
                    })
                    .flat_map(|other| other["ids"].as_array().unwrap())
                    .collect();
                let wanted: Vec<String> = listing["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|id| !longer.contains(id))
                    .map(|id| id.as_str().unwrap().to_owned())
                    .collect();
                let request = ListRequest::partition(partition, listing["values"].clone());
                let ids = handle.list_ids_by(&request).await.unwrap();
                assert_eq!(ids, wanted, "{prefix}/{name} {listed_prefix}");
                assert_eq!(handle.count_by(&request).await.unwrap(), wanted.len());
                let records = handle.list(&request).await.unwrap();
                let record_ids: Vec<&str> =
                    records.iter().map(|r| r["id"].as_str().unwrap()).collect();
                assert_eq!(record_ids, wanted);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 25);
    // The prefix bug itself: s3db.js returned k1, k4, k2 for `open`.
    let db = fixture_database(store, "").await;
    let tickets = db.resource("tickets").unwrap();
    let open = tickets
        .list_ids_by(&ListRequest::partition(
            "byStatus",
            json!({"status": "open"}),
        ))
        .await
        .unwrap();
    assert_eq!(open, ["k1", "k4"]);
}

#[tokio::test]
async fn fixture_records_are_reachable_through_their_references() {
    let store = fixture_bucket().await;
    let db = fixture_database(store, "").await;
    let users = db.resource("users").unwrap();
    let values = record(json!({"region": "south", "tier": "gold"}));
    let u1 = users
        .get_from_partition("u1", "byRegionTier", &values)
        .await
        .unwrap();
    assert_eq!(u1["id"], "u1");
    assert!(matches!(
        users
            .get_from_partition("u2", "byRegionTier", &values)
            .await,
        Err(Error::NotFound { .. })
    ));
    let city = record(json!({"profile": {"city": "São Paulo"}}));
    assert!(
        users
            .get_from_partition("u1", "byCity", &city)
            .await
            .is_ok()
    );
    assert!(matches!(
        users.get_from_partition("u1", "byNothing", &city).await,
        Err(Error::UnknownPartition { .. })
    ));
    // Partial values select by any value of the other fields.
    let south = users
        .list_ids_by(&ListRequest::partition(
            "byRegionTier",
            json!({"tier": "gold"}),
        ))
        .await
        .unwrap();
    assert_eq!(south, ["u4", "u1", "u3"]);
    let report = users.repair().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

async fn tasks(storage: Arc<dyn Storage>) -> s3db_core::Resource {
    let db = Database::builder(storage).open().await.unwrap();
    db.create_resource(
        ResourceConfig::from_json(&json!({
            "name": "tasks",
            "attributes": {"title": "string", "status": "string", "owner": "string|optional",
                           "profile": {"country": "string|optional"}},
            "partitions": {
                "byStatus": {"fields": {"status": "string"}},
                "byOwnerStatus": {"fields": {"status": "string", "owner": "string"}},
                "byCountry": {"fields": {"profile.country": "string|maxlength:2"}}
            }
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

/// Moves one record across partitions and checks the references left and the requests used.
async fn update_moves_references(storage: Arc<dyn Storage>) {
    let metrics = Metrics::new(storage.clone());
    let recorder = metrics.recorder();
    let tasks = tasks(Arc::new(metrics)).await;
    tasks
        .insert(record(
            json!({"id": "t1", "title": "a", "status": "open", "owner": "ana",
                              "profile": {"country": "BRA"}}),
        ))
        .await
        .unwrap();
    let before = recorder.snapshot();
    tasks
        .update("t1", record(json!({"status": "done"})))
        .await
        .unwrap();
    let used = recorder.snapshot();
    let changed = 2; // byStatus and byOwnerStatus; byCountry unchanged
    assert_eq!(used.get.requests - before.get.requests, 1);
    assert_eq!(used.list.requests, before.list.requests, "no listing");
    let puts = used.put.requests - before.put.requests;
    let deletes = (used.delete.requests + used.delete_many.requests)
        - (before.delete.requests + before.delete_many.requests);
    assert_eq!(puts, 1 + changed);
    assert!(deletes <= changed, "{deletes} deletes");
    let keys = storage
        .list_keys("resource=tasks/partition=")
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "resource=tasks/partition=byCountry/profile.country=BR/id=t1",
            "resource=tasks/partition=byOwnerStatus/owner=ana/status=done/id=t1",
            "resource=tasks/partition=byStatus/status=done/id=t1",
        ]
    );
    let open = ListRequest::partition("byStatus", json!({"status": "open"}));
    assert!(tasks.list_ids_by(&open).await.unwrap().is_empty());
    tasks.delete("t1").await.unwrap();
    assert!(
        storage
            .list_keys("resource=tasks/")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn memory_update_moves_references() {
    update_moves_references(Arc::new(MemoryStorage::new())).await;
}

#[tokio::test]
async fn fs_update_moves_references() {
    let dir = tempfile::tempdir().unwrap();
    update_moves_references(Arc::new(FsStorage::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn s3_update_moves_references() {
    let storage = s3db_storage::testing::fresh_s3_storage().await.unwrap();
    update_moves_references(Arc::new(Retry::new(storage, RetryConfig::default()))).await;
}

#[tokio::test]
async fn replace_and_upsert_keep_references_right() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let tasks = tasks(storage.clone()).await;
    tasks
        .insert(record(
            json!({"id": "t1", "title": "a", "status": "open", "owner": "ana"}),
        ))
        .await
        .unwrap();
    tasks
        .replace("t1", record(json!({"title": "b", "status": "late"})))
        .await
        .unwrap();
    tasks
        .upsert(record(json!({"id": "t1", "owner": "bia"})))
        .await
        .unwrap();
    let keys = storage
        .list_keys("resource=tasks/partition=")
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "resource=tasks/partition=byOwnerStatus/owner=bia/status=late/id=t1",
            "resource=tasks/partition=byStatus/status=late/id=t1",
        ]
    );
    assert!(tasks.repair().await.unwrap().is_clean());
}

#[tokio::test]
async fn values_that_cannot_be_segments_are_escaped_and_round_trip() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let tasks = tasks(storage.clone()).await;
    for (id, status) in [
        ("t1", "a/b"),
        ("t2", "../x"),
        ("t3", "50%"),
        ("t4", "São Paulo 東京"),
        ("t5", "a"),
    ] {
        tasks
            .insert(record(json!({"id": id, "title": "x", "status": status})))
            .await
            .unwrap();
    }
    let keys = storage
        .list_keys("resource=tasks/partition=byStatus/")
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "resource=tasks/partition=byStatus/status=%2E%2E%2Fx/id=t2",
            "resource=tasks/partition=byStatus/status=50%25/id=t3",
            "resource=tasks/partition=byStatus/status=São Paulo 東京/id=t4",
            "resource=tasks/partition=byStatus/status=a%2Fb/id=t1",
            "resource=tasks/partition=byStatus/status=a/id=t5",
        ]
    );
    for (id, status) in [
        ("t1", "a/b"),
        ("t2", "../x"),
        ("t3", "50%"),
        ("t4", "São Paulo 東京"),
        ("t5", "a"),
    ] {
        let request = ListRequest::partition("byStatus", json!({"status": status}));
        assert_eq!(tasks.list_ids_by(&request).await.unwrap(), [id], "{status}");
    }
}

#[tokio::test]
async fn a_partition_on_a_missing_field_is_a_schema_error() {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    let config = ResourceConfig::from_json(&json!({
        "name": "x",
        "attributes": {"a": "string"},
        "partitions": {"byB": {"fields": {"b": "string"}}}
    }))
    .unwrap();
    assert!(matches!(
        db.create_resource(config).await,
        Err(Error::Schema { .. })
    ));
}

#[tokio::test]
async fn repair_fixes_a_crash_between_record_and_reference() {
    let inner: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let tasks_ok = tasks(inner.clone()).await;
    tasks_ok
        .insert(record(
            json!({"id": "t0", "title": "a", "status": "open", "owner": "ana"}),
        ))
        .await
        .unwrap();
    // The record PUT passes, the first reference PUT fails: the insert reports the failure
    // and leaves the record without (some of) its references.
    let faults = Faults::new(
        inner.clone(),
        FaultPlan::script([Fault::Pass, Fault::Fail(ErrorKind::Unavailable)])
            .only(&[Operation::Put]),
    );
    // Without retries, so the injected failure reaches the insert.
    let db = Database::builder(Arc::new(faults))
        .retry(RetryConfig::disabled())
        .open()
        .await
        .unwrap();
    let crashing = db.resource("tasks").unwrap();
    let result = crashing
        .insert(record(
            json!({"id": "t1", "title": "b", "status": "open", "owner": "bia"}),
        ))
        .await;
    assert!(result.is_err());
    assert!(inner.exists("resource=tasks/data/id=t1").await.unwrap());
    // A stale reference too: a record deleted behind the resource's back.
    inner.delete("resource=tasks/data/id=t0").await.unwrap();

    let open = ListRequest::partition("byStatus", json!({"status": "open"}));
    assert!(
        tasks_ok.list(&open).await.unwrap().is_empty(),
        "stale refs are skipped"
    );

    let report = tasks_ok.repair().await.unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(
        report.stale_removed,
        [
            "resource=tasks/partition=byOwnerStatus/owner=ana/status=open/id=t0",
            "resource=tasks/partition=byStatus/status=open/id=t0",
        ]
    );
    assert!(report.missing_written.contains(
        &"resource=tasks/partition=byOwnerStatus/owner=bia/status=open/id=t1".to_owned()
    ));
    assert_eq!(tasks_ok.list_ids_by(&open).await.unwrap(), ["t1"]);
    assert!(tasks_ok.repair().await.unwrap().is_clean());
}

async fn filled(n: usize) -> s3db_core::Resource {
    let tasks = tasks(Arc::new(MemoryStorage::new())).await;
    let records = (0..n)
        .map(|i| {
            let status = ["open", "done", "late"][i % 3];
            let owner = ["ana", "bia"][i % 2];
            record(
                json!({"id": format!("t{i:03}"), "title": format!("task {i}"),
                          "status": status, "owner": owner, "profile": {"country": "BR"}}),
            )
        })
        .collect();
    for result in tasks.insert_many(records).await {
        result.unwrap();
    }
    tasks
}

#[tokio::test]
async fn queries_use_the_best_partition_and_refuse_unserved_scans() {
    let tasks = filled(30).await;
    let open_ana = tasks
        .query(
            &json!({"status": "open", "owner": "ana"}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    let ids: Vec<&str> = open_ana.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["t000", "t006", "t012", "t018", "t024"]);
    let served = tasks
        .query(
            &json!({"status": "late", "title": {"$in": ["task 2", "task 5", "task 3"]}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(served.len(), 2);
    let err = tasks
        .query(&json!({"title": "task 1"}), &QueryOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ScanRequired { .. }), "{err}");
    assert!(err.to_string().contains("no partition"));
    let err = tasks
        .query(
            &json!({"status": {"$ne": "open"}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("byStatus") || err.to_string().contains("byOwnerStatus"),
        "{err}"
    );
    let scanned = tasks
        .query(
            &json!({"title": {"$gte": "task 27", "$lt": "task 3"}}),
            &QueryOptions::scanning(),
        )
        .await
        .unwrap();
    assert_eq!(scanned.len(), 3);
    let limited = QueryOptions {
        limit: Some(2),
        offset: 1,
        ..QueryOptions::scanning()
    };
    let page = tasks
        .query(&json!({"profile.country": "BR"}), &limited)
        .await
        .unwrap();
    let ids: Vec<&str> = page.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["t001", "t002"]);
}

/// A `shops` resource (`region` and `kind` required, `tag` optional) with these partitions
/// and records, in memory.
async fn shops(partitions: Value, records: &[Value]) -> s3db_core::Resource {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    let shops = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "shops",
                "attributes": {"region": "string", "kind": "string", "tag": "string|optional"},
                "partitions": partitions
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    for shop in records {
        shops.insert(record(shop.clone())).await.unwrap();
    }
    shops
}

/// A record with no value for a partition field has no reference in that partition, so a
/// filter fixing only some of a composite partition's fields may use it only when the rest
/// are required.
#[tokio::test]
async fn a_composite_partition_serves_a_partial_filter_only_over_required_fields() {
    let shops = shops(
        json!({"byRegionTag": {"fields": {"region": "string", "tag": "string"}},
               "byKindRegion": {"fields": {"kind": "string", "region": "string"}}}),
        &[
            json!({"id": "s1", "region": "eu", "kind": "cafe", "tag": "new"}),
            json!({"id": "s2", "region": "eu", "kind": "bar"}),
            json!({"id": "s3", "region": "us", "kind": "cafe"}),
        ],
    )
    .await;
    let ids = |records: Vec<Record>| -> Vec<String> {
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // `region` alone: byKindRegion's other field is required, so it serves the filter
    // (byRegionTag would miss s2, which has no tag). Key order: kind=bar before kind=cafe.
    let eu = shops
        .query(&json!({"region": "eu"}), &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(ids(eu), ["s2", "s1"]);

    // `tag` alone: `region` is required, so byRegionTag serves it.
    let new = shops
        .query(&json!({"tag": "new"}), &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(ids(new), ["s1"]);

    // `kind` alone: byKindRegion, whose `region` is required.
    let cafes = shops
        .query(&json!({"kind": "cafe"}), &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(ids(cafes), ["s1", "s3"]);
}

/// A filter fixing only the required field of a partition whose other field is optional
/// needs a scan, which then finds the records without a reference.
#[tokio::test]
async fn a_partial_filter_over_an_optional_field_needs_a_scan() {
    let shops = shops(
        json!({"byRegionTag": {"fields": {"region": "string", "tag": "string"}}}),
        &[
            json!({"id": "s1", "region": "eu", "kind": "cafe", "tag": "new"}),
            json!({"id": "s2", "region": "eu", "kind": "bar"}),
        ],
    )
    .await;
    let err = shops
        .query(&json!({"region": "eu"}), &QueryOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ScanRequired { .. }), "{err}");
    assert!(err.to_string().contains("byRegionTag"), "{err}");
    let eu = shops
        .query(&json!({"region": "eu"}), &QueryOptions::scanning())
        .await
        .unwrap();
    assert_eq!(eu.len(), 2);
    let tagged = shops
        .query(
            &json!({"region": "eu", "tag": "new"}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
}

#[tokio::test]
async fn lists_pages_and_cursors() {
    let tasks = filled(25).await;
    let window = tasks
        .list(&ListRequest::all().offset(5).limit(3))
        .await
        .unwrap();
    let ids: Vec<&str> = window.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["t005", "t006", "t007"]);
    let mut seen = Vec::new();
    let mut request = PageRequest {
        size: 10,
        ..PageRequest::default()
    };
    loop {
        let page = tasks.page(&request).await.unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, tasks.list_ids().await.unwrap());
    let third = tasks
        .page(&PageRequest {
            size: 10,
            page: Some(3),
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(third.items.len(), 5);
    assert!(third.next_cursor.is_none());
    let bad = PageRequest {
        cursor: Some("bm90IGEgY3Vyc29y".into()),
        ..PageRequest::default()
    };
    assert!(matches!(
        tasks.page(&bad).await,
        Err(Error::InvalidCursor { .. })
    ));
}

#[tokio::test]
async fn in_queries_list_one_prefix_per_value_without_scanning() {
    let inner: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let metrics = Metrics::new(inner.clone());
    let recorder = metrics.recorder();
    let tasks = tasks(Arc::new(metrics)).await;
    let records = (0..30)
        .map(|i| {
            let status = ["open", "done", "late"][i % 3];
            let owner = ["ana", "bia"][i % 2];
            record(
                json!({"id": format!("t{i:03}"), "title": format!("task {i}"),
                          "status": status, "owner": owner}),
            )
        })
        .collect();
    for result in tasks.insert_many(records).await {
        result.unwrap();
    }
    let ids_of = |records: &[Record]| -> Vec<String> {
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected = |statuses: &[&str], owner: Option<&str>| -> Vec<String> {
        // Key order: the prefixes in order (late < open), then ids.
        let mut statuses = statuses.to_vec();
        statuses.sort();
        statuses
            .iter()
            .flat_map(|status| {
                (0..30)
                    .filter(move |i| ["open", "done", "late"][i % 3] == *status)
                    .filter(move |i| owner.is_none_or(|o| ["ana", "bia"][i % 2] == o))
                    .map(|i| format!("t{i:03}"))
            })
            .collect()
    };

    let before = recorder.snapshot();
    let found = tasks
        .query(
            &json!({"status": {"$in": ["open", "late", "open"]}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(ids_of(&found), expected(&["open", "late"], None));
    let used = recorder.snapshot();
    assert_eq!(
        used.list.requests - before.list.requests,
        2,
        "one per value"
    );

    // Two fields with $in: the composite partition, one listing per combination.
    let before = recorder.snapshot();
    let found = tasks
        .query(
            &json!({"status": {"$in": ["late", "open"]}, "owner": {"$in": ["bia"]},
                    "title": {"$ne": "task 1"}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(ids_of(&found), expected(&["late", "open"], Some("bia")));
    let used = recorder.snapshot();
    assert_eq!(used.list.requests - before.list.requests, 2);

    // Nothing is accepted: no listing, no record.
    let none = tasks
        .query(&json!({"status": {"$in": []}}), &QueryOptions::default())
        .await
        .unwrap();
    assert!(none.is_empty());

    // Records with a null status have no reference: $in with null needs a scan.
    let err = tasks
        .query(
            &json!({"status": {"$in": ["open", null]}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ScanRequired { .. }), "{err}");

    // A stale reference beside the current one (t003 is open) yields the record once.
    inner
        .put(
            "resource=tasks/partition=byStatus/status=late/id=t003",
            s3db_storage::PutPayload::default(),
            s3db_storage::PutMode::Overwrite,
        )
        .await
        .unwrap();
    let found = tasks
        .query(
            &json!({"status": {"$in": ["late", "open"]}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    let ids = ids_of(&found);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert_eq!(ids.len(), 20);
}

/// A cursor as s3db.js 21.6.2 builds it (`encodeCursorPayload`).
fn s3dbjs_cursor(prefix: &str, token: Value, size: usize) -> String {
    use base64::Engine as _;
    let body = json!({"v": 1, "prefix": prefix, "token": token, "pageSize": size});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

fn decode_cursor(cursor: &str) -> Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn standard_base64(text: &str) -> Value {
    use base64::Engine as _;
    json!(base64::engine::general_purpose::STANDARD.encode(text))
}

#[tokio::test]
async fn s3dbjs_cursors_are_read_and_ours_have_its_shape() {
    let tasks = filled(25).await;
    let page_ids = |page: &s3db_core::Page| -> Vec<String> {
        page.items
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = tasks
        .page(&PageRequest {
            size: 10,
            ..PageRequest::default()
        })
        .await
        .unwrap();
    // Ours: s3db.js's prefix, the last key in standard base64 (what s3db.js's memory and
    // filesystem clients use as continuation token), the page size.
    let ours = decode_cursor(first.next_cursor.as_deref().unwrap());
    assert_eq!(
        ours,
        json!({"v": 1, "prefix": "resource=tasks/data",
               "token": standard_base64("resource=tasks/data/id=t009"), "pageSize": 10})
    );

    // s3db.js's cursors: token = base64 of the last key, possibly behind the client's key
    // prefix; a null token starts over.
    for token in [
        standard_base64("resource=tasks/data/id=t009"),
        standard_base64("databases/one/resource=tasks/data/id=t009"),
        json!("resource=tasks/data/id=t009"),
    ] {
        let request = PageRequest {
            size: 10,
            cursor: Some(s3dbjs_cursor("resource=tasks/data", token, 10)),
            ..PageRequest::default()
        };
        let page = tasks.page(&request).await.unwrap();
        assert_eq!(page_ids(&page).first().map(String::as_str), Some("t010"));
        assert_eq!(page.items.len(), 10);
    }
    let restart = PageRequest {
        size: 10,
        cursor: Some(s3dbjs_cursor("resource=tasks/data", Value::Null, 10)),
        ..PageRequest::default()
    };
    assert_eq!(
        page_ids(&tasks.page(&restart).await.unwrap()),
        page_ids(&first)
    );

    // Partition cursors carry s3db.js's partition prefix (no trailing slash).
    let open = PageRequest {
        size: 3,
        partition: Some("byStatus".into()),
        values: record(json!({"status": "open"})),
        ..PageRequest::default()
    };
    let page = tasks.page(&open).await.unwrap();
    assert_eq!(page_ids(&page), ["t000", "t003", "t006"]);
    let cursor = decode_cursor(page.next_cursor.as_deref().unwrap());
    assert_eq!(
        cursor["prefix"],
        "resource=tasks/partition=byStatus/status=open"
    );
    let next = PageRequest {
        cursor: Some(s3dbjs_cursor(
            "resource=tasks/partition=byStatus/status=open",
            standard_base64("resource=tasks/partition=byStatus/status=open/id=t006"),
            3,
        )),
        ..open.clone()
    };
    assert_eq!(
        page_ids(&tasks.page(&next).await.unwrap()),
        ["t009", "t012", "t015"]
    );

    // An S3 server's continuation token is opaque: refused, and the error says why.
    let opaque = PageRequest {
        size: 10,
        cursor: Some(s3dbjs_cursor(
            "resource=tasks/data",
            json!("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="),
            10,
        )),
        ..PageRequest::default()
    };
    match tasks.page(&opaque).await {
        Err(Error::InvalidCursor { reason, .. }) => {
            assert!(reason.contains("continuation token"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let elsewhere = PageRequest {
        size: 10,
        cursor: Some(s3dbjs_cursor(
            "resource=other/data",
            standard_base64("resource=other/data/id=x"),
            10,
        )),
        ..PageRequest::default()
    };
    assert!(matches!(
        tasks.page(&elsewhere).await,
        Err(Error::InvalidCursor { .. })
    ));
}

#[tokio::test]
async fn removing_orphaned_partitions_persists_to_s3db_json() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let tasks = tasks(storage.clone()).await;
    tasks
        .insert(record(
            json!({"id": "t1", "title": "a", "status": "open", "owner": "ana",
                   "profile": {"country": "BR"}}),
        ))
        .await
        .unwrap();
    // The stored definition loses `owner` (as s3db.js allows): byOwnerStatus is orphaned.
    let mut document: Value =
        serde_json::from_slice(&storage.get("s3db.json").await.unwrap().body).unwrap();
    document["resources"]["tasks"]["versions"]["v1"]["attributes"]
        .as_object_mut()
        .unwrap()
        .shift_remove("owner");
    storage
        .put(
            "s3db.json",
            s3db_storage::PutPayload {
                body: document.to_string().into(),
                ..Default::default()
            },
            s3db_storage::PutMode::Overwrite,
        )
        .await
        .unwrap();

    let db = Database::builder(storage.clone()).open().await.unwrap();
    let tasks = db.resource("tasks").unwrap();
    assert_eq!(tasks.find_orphaned_partitions(), ["byOwnerStatus"]);
    let mut sub = db.events().subscribe();
    assert_eq!(
        db.remove_orphaned_partitions("tasks").await.unwrap(),
        ["byOwnerStatus"]
    );
    assert!(
        sub.try_recv()
            .is_some_and(|e| e.name() == "db:metadata-uploaded")
    );
    assert!(
        storage
            .list_keys("resource=tasks/partition=byOwnerStatus/")
            .await
            .unwrap()
            .is_empty()
    );
    let stored: Value =
        serde_json::from_slice(&storage.get("s3db.json").await.unwrap().body).unwrap();
    let entry = &stored["resources"]["tasks"];
    assert_eq!(entry["currentVersion"], "v2");
    assert!(entry["partitions"].get("byOwnerStatus").is_none());
    assert!(entry["partitions"].get("byStatus").is_some());
    let (v1, v2) = (&entry["versions"]["v1"], &entry["versions"]["v2"]);
    assert!(
        v1["partitions"].get("byOwnerStatus").is_some(),
        "v1 is kept"
    );
    assert!(v2["partitions"].get("byOwnerStatus").is_none());
    assert_ne!(v1["hash"], v2["hash"]);
    assert_eq!(v1["attributes"], v2["attributes"]);

    // The handle and a reconnecting database no longer see the partition; the record still
    // reads and keeps its other references.
    assert!(
        db.resource("tasks")
            .unwrap()
            .partition("byOwnerStatus")
            .is_err()
    );
    let again = Database::builder(storage.clone()).open().await.unwrap();
    let tasks = again.resource("tasks").unwrap();
    assert!(tasks.find_orphaned_partitions().is_empty());
    assert!(tasks.partition("byOwnerStatus").is_err());
    assert_eq!(tasks.get("t1").await.unwrap()["status"], "open");
    let open = ListRequest::partition("byStatus", json!({"status": "open"}));
    assert_eq!(tasks.list_ids_by(&open).await.unwrap(), ["t1"]);
    // Nothing left to remove: no new version.
    assert!(
        again
            .remove_orphaned_partitions("tasks")
            .await
            .unwrap()
            .is_empty()
    );
    let stored: Value =
        serde_json::from_slice(&storage.get("s3db.json").await.unwrap().body).unwrap();
    assert_eq!(stored["resources"]["tasks"]["currentVersion"], "v2");
}
