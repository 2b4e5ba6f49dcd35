//! `unique` fields are enforced by claim objects (`resource=<r>/unique/<field>/<sha256>`):
//! concurrent writers of one value on every backend (memory, filesystem, moto, SeaweedFS)
//! give exactly one winner; updates, replaces, upserts and bulk writes onto a taken value are
//! refused; values are freed by delete and change; crash leftovers are taken over; repair
//! writes missing claims, frees stale ones and reports duplicates.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use s3db_core::{Database, Error, Record, Resource, ResourceConfig};
use s3db_storage::layers::Metrics;
use s3db_storage::testing::{Server, fresh_storage_on};
use s3db_storage::{FsStorage, MemoryStorage, PutMode, PutPayload, Storage, StorageExt};
use serde_json::{Value, json};

const CLAIMS: &str = "resource=users/unique/";

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn users_config(email: &str) -> ResourceConfig {
    ResourceConfig::from_json(&json!({
        "name": "users",
        "attributes": {
            "email": email,
            "name": "string|optional",
            "profile": {"handle": "string|unique|optional"}
        },
        "partitions": {"byName": {"fields": {"name": "string"}}},
        "paranoid": false
    }))
    .unwrap()
}

async fn users(storage: Arc<dyn Storage>) -> Resource {
    let db = Database::builder(storage).open().await.unwrap();
    db.create_resource(users_config("email|unique|optional"))
        .await
        .unwrap()
}

/// The claim objects stored: key → body.
async fn claims(storage: &dyn Storage) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for key in storage.list_keys(CLAIMS).await.unwrap() {
        let body = storage.get(&key).await.unwrap().body;
        out.push((key, serde_json::from_slice(&body).unwrap()));
    }
    out
}

/// The claims that name a record (not free).
async fn held(storage: &dyn Storage) -> Vec<Value> {
    claims(storage)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .filter(|body| body["state"] != "free")
        .collect()
}

fn violation_on(result: Result<Record, Error>, field: &str, holder: &str) {
    match result {
        Err(Error::UniqueViolation {
            field: f,
            existing_id,
            ..
        }) => {
            assert_eq!((f.as_str(), existing_id.as_str()), (field, holder));
        }
        other => panic!("expected a violation on {field} held by {holder}, got {other:?}"),
    }
}

/// 32 concurrent inserts of one email under different ids: one wins, 31 violations naming
/// the winner; one record and one claim stored.
async fn one_value_one_winner(storage: Arc<dyn Storage>, backend: &str) {
    let metrics = Arc::new(Metrics::new(storage.clone()));
    let recorder = metrics.recorder();
    let users = users(metrics.clone()).await;
    let before = recorder.snapshot().requests();
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..32 {
        let users = users.clone();
        handles.push(tokio::spawn(async move {
            users
                .insert(record(
                    json!({"id": format!("u{i}"), "email": "same@example.com", "name": "n"}),
                ))
                .await
        }));
    }
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for handle in handles {
        match handle.await.unwrap() {
            Ok(stored) => winners.push(stored["id"].as_str().unwrap().to_owned()),
            Err(Error::UniqueViolation {
                field,
                value,
                existing_id,
                ..
            }) => {
                assert_eq!(
                    (field.as_str(), *value),
                    ("email", json!("same@example.com"))
                );
                holders.push(existing_id);
            }
            Err(other) => panic!("{backend}: unexpected {other}"),
        }
    }
    let elapsed = started.elapsed();
    let requests = recorder.snapshot().requests() - before;
    eprintln!(
        "unique {backend}: 32 concurrent inserts of one value in {:.3} s, {requests} requests",
        elapsed.as_secs_f64()
    );
    assert_eq!((winners.len(), holders.len()), (1, 31), "{backend}");
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
    assert_eq!(users.list_ids().await.unwrap(), winners);
    let stored = claims(&*storage).await;
    assert_eq!(stored.len(), 1, "{backend}: {stored:?}");
    assert_eq!(stored[0].1["id"], json!(winners[0]));
    assert_eq!(stored[0].1["state"], "confirmed");
    // Claim keys carry a digest, never the value.
    assert!(!stored[0].0.contains("same@"), "{}", stored[0].0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_one_value_one_winner() {
    one_value_one_winner(Arc::new(MemoryStorage::new()), "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_one_value_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    one_value_one_winner(Arc::new(FsStorage::open(dir.path()).unwrap()), "fs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_one_value_one_winner() {
    one_value_one_winner(bare_bucket(Server::Moto).await, "moto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seaweedfs_one_value_one_winner() {
    one_value_one_winner(bare_bucket(Server::SeaweedFs).await, "seaweedfs").await;
}

async fn bare_bucket(server: Server) -> Arc<dyn Storage> {
    Arc::new(fresh_storage_on(server).await.unwrap())
}

/// Rounds of two records updated concurrently onto one new value: exactly one wins each
/// round, and every value ends held by one record with one claim.
async fn concurrent_updates_one_winner(storage: Arc<dyn Storage>, backend: &str) {
    let users = users(storage.clone()).await;
    for id in ["a", "b"] {
        users
            .insert(record(
                json!({"id": id, "email": format!("{id}@example.com")}),
            ))
            .await
            .unwrap();
    }
    let started = Instant::now();
    for round in 0..10 {
        let value = format!("round{round}@example.com");
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|id| {
                let (users, value) = (users.clone(), value.clone());
                tokio::spawn(async move {
                    users
                        .update(id, record(json!({"email": value})))
                        .await
                        .map(|_| id)
                })
            })
            .collect();
        let mut won = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(id) => won.push(id),
                Err(Error::UniqueViolation { .. }) => {}
                Err(other) => panic!("{backend}: unexpected {other}"),
            }
        }
        assert_eq!(won.len(), 1, "{backend} round {round}");
        let holding: Vec<Record> = users
            .get_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r["email"] == json!(value))
            .collect();
        assert_eq!(holding.len(), 1, "{backend} round {round}");
        assert_eq!(holding[0]["id"], json!(won[0]));
    }
    eprintln!(
        "unique {backend}: 10 rounds of 2 concurrent updates onto one value in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    // Each record's current value is claimed by it; every other claim is free.
    let mut named: Vec<(String, String)> = held(&*storage)
        .await
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["state"].to_string()))
        .collect();
    named.sort();
    assert_eq!(
        named,
        vec![
            ("a".to_owned(), "\"confirmed\"".to_owned()),
            ("b".to_owned(), "\"confirmed\"".to_owned())
        ]
    );
    assert!(users.repair_unique().await.unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_concurrent_updates_onto_one_value() {
    concurrent_updates_one_winner(Arc::new(MemoryStorage::new()), "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_concurrent_updates_onto_one_value() {
    concurrent_updates_one_winner(bare_bucket(Server::Moto).await, "moto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seaweedfs_concurrent_updates_onto_one_value() {
    concurrent_updates_one_winner(bare_bucket(Server::SeaweedFs).await, "seaweedfs").await;
}

#[tokio::test]
async fn writes_onto_a_taken_value_are_refused_and_values_are_freed() {
    let store = Arc::new(MemoryStorage::new());
    let users = users(store.clone()).await;
    let a =
        json!({"id": "a", "email": "a@example.com", "name": "ana", "profile": {"handle": "ana"}});
    users.insert(record(a.clone())).await.unwrap();
    users
        .insert(record(
            json!({"id": "b", "email": "b@example.com", "name": "bo"}),
        ))
        .await
        .unwrap();
    // Many records may lack a value (absent or null).
    users
        .insert(record(json!({"id": "c", "name": "cy", "email": null})))
        .await
        .unwrap();
    let b_before = users.get("b").await.unwrap();

    let taken = || record(json!({"email": "a@example.com"}));
    violation_on(users.update("b", taken()).await, "email", "a");
    violation_on(users.patch("b", taken()).await, "email", "a");
    violation_on(
        users
            .replace("b", record(json!({"email": "a@example.com", "name": "bo"})))
            .await,
        "email",
        "a",
    );
    violation_on(
        users
            .upsert(record(json!({"id": "b", "email": "a@example.com"})))
            .await,
        "email",
        "a",
    );
    violation_on(
        users
            .update_with("b", |current| {
                let mut next = current.clone();
                next.insert("email".into(), json!("a@example.com"));
                Ok(next)
            })
            .await,
        "email",
        "a",
    );
    let version = users.get_with_meta("b").await.unwrap()["_etag"]
        .as_str()
        .unwrap()
        .to_owned();
    violation_on(users.update_if("b", taken(), &version).await, "email", "a");
    violation_on(
        users
            .insert(record(
                json!({"id": "d", "email": "x@example.com", "profile": {"handle": "ana"}}),
            ))
            .await,
        "profile.handle",
        "a",
    );
    let many = users
        .insert_many(vec![
            record(json!({"id": "e", "email": "a@example.com"})),
            record(json!({"id": "f", "email": "f@example.com"})),
        ])
        .await;
    violation_on(many.into_iter().next().unwrap(), "email", "a");
    // Nothing of the refused writes was stored, and their claims were freed.
    assert_eq!(users.get("b").await.unwrap(), b_before);
    assert!(matches!(users.get("d").await, Err(Error::NotFound { .. })));
    assert!(matches!(users.get("e").await, Err(Error::NotFound { .. })));
    assert_eq!(held(&*store).await.len(), 4, "a: email+handle, b, f");
    // An update that keeps the value, and one of the same record, pass.
    users
        .update("a", record(json!({"name": "ana2"})))
        .await
        .unwrap();
    users
        .update("a", record(json!({"email": "a@example.com"})))
        .await
        .unwrap();

    // Deleting the holder frees the value.
    users.delete("a").await.unwrap();
    users.update("b", taken()).await.unwrap();
    // Changing to another value frees the old one.
    users
        .insert(record(
            json!({"id": "g", "email": "b@example.com", "profile": {"handle": "ana"}}),
        ))
        .await
        .unwrap();
    users
        .update("g", record(json!({"email": "g@example.com"})))
        .await
        .unwrap();
    violation_on(
        users
            .insert(record(json!({"id": "h", "email": "g@example.com"})))
            .await,
        "email",
        "g",
    );
    // delete_many frees too; delete_all removes every claim.
    users.delete_many(&["g".to_owned()]).await.unwrap();
    users
        .insert(record(
            json!({"id": "h", "email": "g@example.com", "profile": {"handle": "ana"}}),
        ))
        .await
        .unwrap();
    let freed = held(&*store).await;
    assert_eq!(
        freed.len(),
        4,
        "b: email; f: email; h: email+handle: {freed:?}"
    );
    users.delete_all().await.unwrap();
    assert!(claims(&*store).await.is_empty());
    users.insert(record(a)).await.unwrap();
}

/// Rewrites the claim of `email` with `body` (what a crash or another tool leaves).
async fn rewrite_claim(store: &dyn Storage, email_claim: &str, body: Value) {
    let payload = PutPayload {
        body: Bytes::from(body.to_string()),
        ..PutPayload::default()
    };
    store
        .put(email_claim, payload, PutMode::Overwrite)
        .await
        .unwrap();
}

#[tokio::test]
async fn crash_leftovers_are_taken_over() {
    let store = Arc::new(MemoryStorage::new());
    let users = users(store.clone()).await;
    users
        .insert(record(json!({"id": "gone", "email": "s@example.com"})))
        .await
        .unwrap();
    let (key, _) = claims(&*store).await.remove(0);
    // The record vanished without its claim (a crash, or s3db.js's deleteAll).
    store.delete("resource=users/data/id=gone").await.unwrap();
    users
        .insert(record(json!({"id": "next", "email": "s@example.com"})))
        .await
        .unwrap();
    assert_eq!(held(&*store).await[0]["id"], "next");

    // A pending claim of a writer that died before writing its record: respected while
    // young (the writer may be about to write), taken over once old.
    users.delete("next").await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    rewrite_claim(
        &*store,
        &key,
        json!({"id": "dead", "state": "pending", "at": now}),
    )
    .await;
    violation_on(
        users
            .insert(record(json!({"id": "x", "email": "s@example.com"})))
            .await,
        "email",
        "dead",
    );
    rewrite_claim(
        &*store,
        &key,
        json!({"id": "dead", "state": "pending", "at": 0}),
    )
    .await;
    users
        .insert(record(json!({"id": "x", "email": "s@example.com"})))
        .await
        .unwrap();
    assert_eq!(
        held(&*store).await,
        vec![json!({"id": "x", "state": "confirmed", "at": held(&*store).await[0]["at"]})]
    );

    // A claim naming a record that holds another value is stale too.
    rewrite_claim(
        &*store,
        &key,
        json!({"id": "y", "state": "confirmed", "at": 0}),
    )
    .await;
    users.delete("x").await.unwrap();
    users
        .insert(record(json!({"id": "y", "email": "y@example.com"})))
        .await
        .unwrap();
    users
        .insert(record(json!({"id": "z", "email": "s@example.com"})))
        .await
        .unwrap();
    let report = users.repair_unique().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn repair_writes_missing_claims_frees_stale_ones_and_reports_duplicates() {
    let store = Arc::new(MemoryStorage::new());
    let db = Database::builder(store.clone()).open().await.unwrap();
    // Written while the field was not unique (as s3db.js writes it).
    let plain = db
        .create_resource(users_config("email|optional"))
        .await
        .unwrap();
    for (id, email) in [
        ("a", "x@example.com"),
        ("b", "x@example.com"),
        ("c", "y@example.com"),
    ] {
        plain
            .insert(record(json!({"id": id, "email": email})))
            .await
            .unwrap();
    }
    let users = db
        .create_resource(users_config("email|unique|optional"))
        .await
        .unwrap();
    users
        .insert(record(json!({"id": "e", "email": "z@example.com"})))
        .await
        .unwrap();
    store.delete("resource=users/data/id=e").await.unwrap();

    let report = users.repair_unique().await.unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.claims, 1);
    assert_eq!(report.written.len(), 1, "c's value: {report:?}");
    assert_eq!(report.released.len(), 1, "e's stale claim: {report:?}");
    assert_eq!(report.duplicates.len(), 1);
    let duplicate = &report.duplicates[0];
    assert_eq!(
        (duplicate.field.as_str(), &duplicate.value, &duplicate.ids),
        (
            "email",
            &json!("x@example.com"),
            &vec!["a".to_owned(), "b".to_owned()]
        )
    );
    // The claim written makes the value taken; the freed one is free.
    violation_on(
        users
            .insert(record(json!({"id": "f", "email": "y@example.com"})))
            .await,
        "email",
        "c",
    );
    users
        .insert(record(json!({"id": "f", "email": "z@example.com"})))
        .await
        .unwrap();
    // Duplicates are reported again until resolved, without a winner chosen.
    let again = users.repair_unique().await.unwrap();
    assert!(again.written.is_empty() && again.released.is_empty());
    assert_eq!(again.duplicates, report.duplicates);
    users.delete("b").await.unwrap();
    let resolved = users.repair_unique().await.unwrap();
    assert_eq!(resolved.written.len(), 1, "a's value: {resolved:?}");
    assert!(resolved.duplicates.is_empty());
    assert!(users.repair_unique().await.unwrap().is_clean());
    violation_on(
        users
            .insert(record(json!({"id": "g", "email": "x@example.com"})))
            .await,
        "email",
        "a",
    );
}
