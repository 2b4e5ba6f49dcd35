//! Per-resource options that take effect (`autoDecrypt`, `parallelism`, `passphrase`) and
//! the internal fields s3db.js returns with every read (`Resource::with_meta`).

use std::sync::Arc;

use s3db_codec::secret::Secrets;
use s3db_core::{
    Database, DatabaseOptions, Error, ListRequest, PageRequest, QueryOptions, Record, Resource,
    ResourceConfig, ResourceOptions,
};
use std::time::Duration;

use s3db_storage::layers::{FaultPlan, Faults, Pool, PoolControl};
use s3db_storage::memory::MemoryStorage;
use s3db_storage::{ErrorKind, Operation, Storage};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().cloned().unwrap_or_default()
}

fn accounts_json(auto_decrypt: bool) -> Value {
    json!({
        "name": "accounts",
        "attributes": {"name": "string", "token": "secret"},
        "autoDecrypt": auto_decrypt,
        "passphrase": "accounts-pass",
    })
}

#[tokio::test]
async fn auto_decrypt_false_returns_the_stored_ciphertext_in_every_process() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let db = Database::builder(storage.clone()).open().await.unwrap();
    let config = ResourceConfig::from_json(&accounts_json(false)).unwrap();
    let accounts = db.create_resource(config).await.unwrap();
    assert!(!accounts.auto_decrypt());
    accounts
        .insert(record(
            json!({"id": "a", "name": "Ann", "token": "t0ps3cret"}),
        ))
        .await
        .unwrap();
    let read = accounts.get("a").await.unwrap();
    let cipher = read["token"].as_str().unwrap().to_owned();
    assert_ne!(cipher, "t0ps3cret");
    // Decrypted explicitly, as s3db.js's `decrypt(value, passphrase)`.
    assert_eq!(
        Secrets::new("accounts-pass").decrypt(&cipher).unwrap(),
        "t0ps3cret"
    );
    // Every read returns it so.
    let listed = accounts.list(&ListRequest::all()).await.unwrap();
    assert_eq!(listed[0]["token"], json!(cipher));
    // Writing the read record back keeps the secret (not encrypted twice).
    let mut edited = read.clone();
    edited.insert("name".into(), json!("Anna"));
    accounts.update("a", edited).await.unwrap();
    let again = accounts.get("a").await.unwrap();
    assert_eq!(again["token"], json!(cipher));
    assert_eq!(again["name"], json!("Anna"));

    // Another process reads the flag from s3db.json.
    let other = Database::builder(storage)
        .options(DatabaseOptions::default().resource(
            "accounts",
            ResourceOptions::default().passphrase("accounts-pass"),
        ))
        .open()
        .await
        .unwrap();
    let accounts = other.resource("accounts").unwrap();
    assert!(!accounts.auto_decrypt());
    assert_eq!(accounts.get("a").await.unwrap()["token"], json!(cipher));
}

#[tokio::test]
async fn auto_decrypt_true_returns_plaintext() {
    let db = Database::connect("memory://options-decrypt").await.unwrap();
    let config = ResourceConfig::from_json(&accounts_json(true)).unwrap();
    let accounts = db.create_resource(config).await.unwrap();
    accounts
        .insert(record(
            json!({"id": "a", "name": "Ann", "token": "t0ps3cret"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        accounts.get("a").await.unwrap()["token"],
        json!("t0ps3cret")
    );
}

#[tokio::test]
async fn a_resource_passphrase_is_given_to_other_processes_and_a_wrong_one_is_an_error() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let first = Database::builder(storage.clone()).open().await.unwrap();
    let config = ResourceConfig::from_json(&accounts_json(true)).unwrap();
    first
        .create_resource(config)
        .await
        .unwrap()
        .insert(record(
            json!({"id": "a", "name": "Ann", "token": "t0ps3cret"}),
        ))
        .await
        .unwrap();
    // s3db.js stores no passphrase: neither does s3db.json here.
    let document = first.document().to_pretty_json().unwrap();
    assert!(!document.contains("accounts-pass"));

    let told = Database::builder(storage.clone())
        .options(DatabaseOptions::default().resource(
            "accounts",
            ResourceOptions::default().passphrase("accounts-pass"),
        ))
        .open()
        .await
        .unwrap();
    let read = told.resource("accounts").unwrap().get("a").await.unwrap();
    assert_eq!(read["token"], json!("t0ps3cret"));

    // Not told: the database passphrase does not decrypt it.
    let untold = Database::builder(storage).open().await.unwrap();
    let failed = untold.resource("accounts").unwrap().get("a").await;
    match failed {
        Err(Error::Decryption {
            resource,
            id,
            field,
        }) => assert_eq!(
            (resource, id, field),
            ("accounts".into(), "a".into(), "token".into())
        ),
        other => panic!("expected a decryption error, got {other:?}"),
    }
}

/// A resource of 20 records whose record GETs and PUTs each take an hour (of the test's
/// paused clock), behind a pool that counts the requests in flight.
async fn slow(parallelism: Option<usize>, database_wide: bool) -> (Resource, PoolControl) {
    let plan = FaultPlan::random(0, 0.0, ErrorKind::Unavailable)
        .with_latency(Duration::from_secs(3600))
        .only(&[Operation::Get, Operation::Put]);
    let pool = Pool::new(Faults::new(MemoryStorage::new(), plan), 1000);
    let control = pool.control();
    let mut builder = Database::builder(Arc::new(pool));
    let mut config = ResourceConfig::new("items").attribute("n", "number");
    match parallelism {
        Some(parallelism) if database_wide => builder = builder.parallelism(parallelism),
        Some(parallelism) => config = config.parallelism(parallelism),
        None => {}
    }
    let db = builder.open().await.unwrap();
    let items = db.create_resource(config).await.unwrap();
    for result in items.insert_many(numbered(0..20)).await {
        result.unwrap();
    }
    (items, control)
}

fn numbered(range: std::ops::Range<usize>) -> Vec<Record> {
    range
        .map(|n| record(json!({"id": format!("i{n:02}"), "n": n})))
        .collect()
}

/// The requests an operation keeps in flight once it can start no more: the runtime is
/// single-threaded and its clock paused, so yielding lets the operation run until all its
/// requests wait, and none finishes meanwhile.
async fn in_flight(control: &PoolControl) -> usize {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    control.stats().in_flight
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_the_requests_of_bulk_operations() {
    for (parallelism, database_wide, bulk, listing) in [
        (None, false, 10, 32),
        (Some(3), false, 3, 3),
        (Some(4), true, 4, 4),
    ] {
        let (items, control) = slow(parallelism, database_wide).await;
        assert_eq!(items.parallelism(), parallelism);
        let ids: Vec<String> = (0..20).map(|n| format!("i{n:02}")).collect();
        let reader = items.clone();
        let read = tokio::spawn(async move { reader.get_many(&ids).await });
        assert_eq!(in_flight(&control).await, bulk, "get_many {parallelism:?}");
        assert_eq!(read.await.unwrap().unwrap().len(), 20);

        let writer = items.clone();
        let write = tokio::spawn(async move { writer.insert_many(numbered(20..60)).await });
        assert_eq!(
            in_flight(&control).await,
            bulk,
            "insert_many {parallelism:?}"
        );
        assert!(write.await.unwrap().iter().all(Result::is_ok));

        // A listing asks for 32 reads in flight (its default); the resource bounds them.
        let lister = items.clone();
        let list = tokio::spawn(async move { lister.list(&ListRequest::all()).await });
        assert_eq!(in_flight(&control).await, listing, "list {parallelism:?}");
        assert_eq!(list.await.unwrap().unwrap().len(), 60);
    }
}

#[tokio::test]
async fn parallelism_comes_from_json_and_from_the_options_of_other_processes() {
    let config = ResourceConfig::from_json(&json!({
        "name": "items", "attributes": {"n": "number"}, "parallelism": 5
    }))
    .unwrap();
    assert_eq!(config.parallelism, Some(5));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let db = Database::builder(storage.clone()).open().await.unwrap();
    assert_eq!(
        db.create_resource(config).await.unwrap().parallelism(),
        Some(5)
    );
    let other = Database::builder(storage.clone())
        .options(
            DatabaseOptions::default().resource("items", ResourceOptions::default().parallelism(2)),
        )
        .open()
        .await
        .unwrap();
    assert_eq!(other.resource("items").unwrap().parallelism(), Some(2));
    let plain = Database::builder(storage.clone()).open().await.unwrap();
    assert_eq!(plain.resource("items").unwrap().parallelism(), None);
    // A database-wide bound (s3db.js's database `parallelism`) covers resources without
    // their own; a resource's own bound wins.
    let bounded = Database::builder(storage.clone())
        .parallelism(3)
        .open()
        .await
        .unwrap();
    assert_eq!(bounded.resource("items").unwrap().parallelism(), Some(3));
    let both = Database::builder(storage)
        .options(
            DatabaseOptions::default().resource("items", ResourceOptions::default().parallelism(2)),
        )
        .parallelism(7)
        .open()
        .await
        .unwrap();
    assert_eq!(both.resource("items").unwrap().parallelism(), Some(2));
}

#[tokio::test]
async fn the_cache_flag_is_stored_and_reported_as_without_effect() {
    let db = Database::connect("memory://options-cache").await.unwrap();
    let config = ResourceConfig::from_json(&json!({
        "name": "items", "attributes": {"n": "number"}, "cache": true
    }))
    .unwrap();
    let items = db.create_resource(config).await.unwrap();
    let document = db.document();
    let stored = document.resources["items"].current().unwrap();
    assert_eq!(stored.cache, Some(true));
    assert!(
        items
            .definition_warnings()
            .iter()
            .any(|w| w.key == "cache" && w.message.contains("no effect"))
    );
}

const FACTS: [&str; 8] = [
    "_etag",
    "_lastModified",
    "_contentLength",
    "_hasContent",
    "_mimeType",
    "_v",
    "_originalVersion",
    "_versionMapped",
];

fn has_facts(record: &Record) -> bool {
    FACTS.iter().all(|f| record.contains_key(*f))
}

fn has_none(record: &Record) -> bool {
    record.keys().all(|k| !k.starts_with('_'))
}

#[tokio::test]
async fn every_read_of_a_meta_handle_carries_the_object_facts() {
    let storage = Arc::new(MemoryStorage::new());
    let db = Database::builder(storage.clone()).open().await.unwrap();
    let notes = db
        .create_resource(
            ResourceConfig::new("notes")
                .attribute("title", "string")
                .attribute("status", "string")
                .partition("byStatus", [("status", "string")]),
        )
        .await
        .unwrap();
    for (id, status) in [("a", "open"), ("b", "done"), ("c", "open")] {
        notes
            .insert(record(json!({"id": id, "title": id, "status": status})))
            .await
            .unwrap();
    }
    let meta = notes.with_meta();
    assert!(meta.reads_meta() && !notes.reads_meta());
    let ids: Vec<String> = vec!["a".into(), "b".into()];
    let open = json!({"status": "open"});
    let reads: Vec<(&str, Vec<Record>, Vec<Record>)> = vec![
        (
            "list",
            meta.list(&ListRequest::all()).await.unwrap(),
            notes.list(&ListRequest::all()).await.unwrap(),
        ),
        (
            "get_many",
            meta.get_many(&ids).await.unwrap(),
            notes.get_many(&ids).await.unwrap(),
        ),
        (
            "page",
            meta.page(&PageRequest::default()).await.unwrap().items,
            notes.page(&PageRequest::default()).await.unwrap().items,
        ),
        (
            "query",
            meta.query(&open, &QueryOptions::default()).await.unwrap(),
            notes.query(&open, &QueryOptions::default()).await.unwrap(),
        ),
        (
            "get_all",
            meta.get_all().await.unwrap(),
            notes.get_all().await.unwrap(),
        ),
        (
            "get",
            vec![meta.get("a").await.unwrap()],
            vec![notes.get("a").await.unwrap()],
        ),
        (
            "get_from_partition",
            vec![
                meta.get_from_partition("a", "byStatus", &record(open.clone()))
                    .await
                    .unwrap(),
            ],
            vec![
                notes
                    .get_from_partition("a", "byStatus", &record(open.clone()))
                    .await
                    .unwrap(),
            ],
        ),
    ];
    for (name, with, without) in reads {
        assert!(!with.is_empty(), "{name}");
        assert!(with.iter().all(has_facts), "{name}: {with:?}");
        assert!(without.iter().all(has_none), "{name}: {without:?}");
        assert_eq!(with.len(), without.len(), "{name}");
    }
    // The facts are the object's.
    let listed = meta.list(&ListRequest::all()).await.unwrap();
    let head = storage.head("resource=notes/data/id=a").await.unwrap();
    assert_eq!(listed[0]["_etag"], json!(head.meta.etag));
    assert_eq!(listed[0]["_v"], json!("v1"));
    // A listed record goes back through a conditional write unchanged.
    let version = listed[0]["_etag"].as_str().unwrap().to_owned();
    let mut edited = listed[0].clone();
    edited.insert("title".into(), json!("edited"));
    let written = notes.update_if("a", edited, &version).await.unwrap();
    assert!(has_none(&written), "{written:?}");
    assert_eq!(notes.get("a").await.unwrap()["title"], json!("edited"));
    // Streams too.
    use futures::TryStreamExt;
    let streamed: Vec<Record> = meta
        .stream(&ListRequest::all())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 3);
    assert!(streamed.iter().all(has_facts));
}
