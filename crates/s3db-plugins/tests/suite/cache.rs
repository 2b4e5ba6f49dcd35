//! Cache plugin: hits skip storage, every kind of write invalidates (memory and file
//! databases, every driver), TTL by the injected clock, opt-out, stats and the read/write
//! race guard.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{
    assert_no_cache_entries, assert_one_users_cache_entry, connect, define, memory_db, memory_url,
    rec, walk,
};
use s3db_core::extend::Operation;
use s3db_core::{Database, ListRequest, PageRequest, QueryOptions, Resource};
use s3db_plugins::cache::{CacheConfig, CachePlugin};
use s3db_plugins::clock::ManualClock;
use s3db_storage::MemoryStorage;
use s3db_storage::layers::{Metrics, MetricsRecorder};
use serde_json::{Value, json};
use tokio::sync::Notify;

async fn create_users(db: &Database) -> Resource {
    define(
        db,
        json!({
            "name": "users",
            "attributes": {"name": "string", "region": "string", "n": "number|optional"},
            "partitions": {"byRegion": {"fields": {"region": "string"}}},
            "paranoid": false
        }),
    )
    .await
}

async fn seed(users: &Resource) {
    for (id, name, region) in [
        ("u1", "Ana", "eu"),
        ("u2", "Bia", "eu"),
        ("u9", "Caio", "us"),
    ] {
        users
            .insert(rec(json!({"id": id, "name": name, "region": region})))
            .await
            .unwrap();
    }
}

/// A memory database whose every storage request is counted.
async fn metered_db() -> (Database, MetricsRecorder) {
    let metrics = Metrics::new(MemoryStorage::new());
    let recorder = metrics.recorder();
    (
        Database::builder(Arc::new(metrics)).open().await.unwrap(),
        recorder,
    )
}

async fn install(db: &Database, config: CacheConfig) -> Arc<CachePlugin> {
    let cache = Arc::new(CachePlugin::new(config));
    db.use_plugin(cache.clone()).await.unwrap();
    cache
}

/// Installs the cache with `config`, then defines and seeds `users`.
async fn cached_users(db: &Database, config: CacheConfig) -> (Arc<CachePlugin>, Resource) {
    let cache = install(db, config).await;
    let users = create_users(db).await;
    seed(&users).await;
    (cache, users)
}

/// The file driver in `dir` when `fs`, else a memory driver of 100 entries.
fn memory_or_fs(fs: bool, dir: &Path) -> CacheConfig {
    if fs {
        CacheConfig::filesystem(dir)
    } else {
        CacheConfig::memory(100)
    }
}

/// Every cached read of `users`, as one JSON value (errors as their text).
async fn reads(users: &Resource) -> Value {
    let show = |r: Result<Value, s3db_core::Error>| r.unwrap_or_else(|e| json!(e.to_string()));
    let eu = ListRequest::partition("byRegion", json!({"region": "eu"}));
    let ids = ["u1", "u2", "u3", "u4"].map(String::from);
    json!({
        "get": show(users.get("u1").await.map(Value::Object)),
        "getMany": show(users.get_many(&ids).await.map(|r| json!(r))),
        "exists": show(users.exists("u3").await.map(Value::Bool)),
        "list": show(users.list(&ListRequest::all()).await.map(|r| json!(r))),
        "count": show(users.count().await.map(|n| json!(n))),
        "listEu": show(users.list(&eu).await.map(|r| json!(r))),
        "countEu": show(users.count_by(&eu).await.map(|n| json!(n))),
        "query": show(users.query(&json!({"region": "us"}), &QueryOptions::default()).await.map(|r| json!(r))),
        "listIds": show(users.list_ids().await.map(|r| json!(r))),
        "hasContent": show(users.has_content("u2").await.map(Value::Bool)),
    })
}

/// Runs every kind of write through `cached` and checks after each that its reads equal
/// those of `truth`, a database without the plugin on the same storage.
async fn check_every_write(cached: &Resource, truth: &Resource, cache: &CachePlugin) {
    let same = |step: &str, got: &Value, want: &Value| {
        assert_eq!(got, want, "after {step}: cached reads differ from storage");
    };
    let prime = async |step: &str| {
        let first = reads(cached).await;
        let hits = cache.resource_stats("users").hits;
        let second = reads(cached).await;
        same(step, &first, &reads(truth).await);
        same(step, &second, &first);
        assert!(cache.resource_stats("users").hits > hits, "{step}: no hit");
    };
    prime("seed").await;

    type Step<'a> = (&'a str, futures::future::BoxFuture<'a, ()>);
    let u = cached;
    let steps: Vec<Step> = vec![
        (
            "insert",
            Box::pin(async {
                u.insert(rec(json!({"id": "u3", "name": "Duda", "region": "eu"})))
                    .await
                    .unwrap();
            }),
        ),
        (
            "update (partition move)",
            Box::pin(async {
                u.update("u1", rec(json!({"region": "us"}))).await.unwrap();
            }),
        ),
        (
            "patch",
            Box::pin(async {
                u.patch("u2", rec(json!({"name": "Bea"}))).await.unwrap();
            }),
        ),
        (
            "replace",
            Box::pin(async {
                u.replace("u1", rec(json!({"name": "Ana 2", "region": "eu"})))
                    .await
                    .unwrap();
            }),
        ),
        (
            "upsert (update)",
            Box::pin(async {
                u.upsert(rec(json!({"id": "u2", "n": 5}))).await.unwrap();
            }),
        ),
        (
            "upsert (insert)",
            Box::pin(async {
                u.upsert(rec(json!({"id": "u4", "name": "Eva", "region": "eu"})))
                    .await
                    .unwrap();
            }),
        ),
        ("delete", Box::pin(async { u.delete("u3").await.unwrap() })),
        (
            "insertMany",
            Box::pin(async {
                let batch = vec![
                    rec(json!({"id": "u3", "name": "Fê", "region": "eu"})),
                    rec(json!({"id": "u5", "name": "Gil", "region": "us"})),
                ];
                assert!(u.insert_many(batch).await.iter().all(Result::is_ok));
            }),
        ),
        (
            "deleteMany",
            Box::pin(async {
                assert_eq!(u.delete_many(&["u3".into(), "u5".into()]).await.unwrap(), 2);
            }),
        ),
        (
            "update_with",
            Box::pin(async {
                u.update_with("u1", |r| {
                    let mut next = r.clone();
                    next.insert("n".into(), json!(41));
                    Ok(next)
                })
                .await
                .unwrap();
            }),
        ),
        (
            "stream write",
            Box::pin(async {
                let records = futures::stream::iter([rec(
                    json!({"id": "u6", "name": "Hugo", "region": "eu"}),
                )]);
                assert_eq!(u.write(records, 2).await.written, 1);
            }),
        ),
        (
            "setContent",
            Box::pin(async {
                u.set_content("u2", bytes::Bytes::from_static(b"png"), "image/png")
                    .await
                    .unwrap();
            }),
        ),
        (
            "deleteContent",
            Box::pin(async { u.delete_content("u2").await.unwrap() }),
        ),
        (
            "deleteAll",
            Box::pin(async {
                u.delete_all().await.unwrap();
            }),
        ),
    ];
    for (step, write) in steps {
        write.await;
        prime(step).await;
    }
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// Installs the cache with `config` on the database at `url`, seeds `users` and checks every
/// kind of write against a second database on the same storage.
async fn check_every_write_at(url: &str, config: CacheConfig) {
    let db = connect(url).await;
    let (cache, users) = cached_users(&db, config).await;
    let truth = connect(url).await;
    check_every_write(&users, &truth.resource("users").unwrap(), &cache).await;
}

#[tokio::test]
async fn a_hit_after_a_miss_does_not_touch_storage() {
    let (db, requests) = metered_db().await;
    let (cache, users) = cached_users(&db, CacheConfig::memory(1_000)).await;

    let first = reads(&users).await;
    let before = requests.snapshot();
    let second = reads(&users).await;
    let after = requests.snapshot();
    assert_eq!(first, second);
    assert_eq!(after.get, before.get, "a hit read a record");
    assert_eq!(after.requests(), before.requests(), "a hit reached storage");
    let stats = cache.stats();
    assert_eq!(stats.hits, 10);
    assert_eq!(stats.misses, 10);
    assert_eq!(stats.stores, 10);
    assert_eq!(stats.hit_ratio(), 0.5);
}

#[tokio::test]
async fn a_cached_read_serves_plain_and_meta_handles_alike() {
    let (db, requests) = metered_db().await;
    let (cache, users) = cached_users(&db, CacheConfig::memory(1_000)).await;
    let plain = users.list(&ListRequest::all()).await.unwrap();
    assert!(plain.iter().all(|r| r.keys().all(|k| !k.starts_with('_'))));
    let before = requests.snapshot();
    // The entry the plain read stored carries the object facts: a hit on a meta handle
    // returns them, a hit on a plain handle does not.
    let meta = users.with_meta().list(&ListRequest::all()).await.unwrap();
    assert_eq!(requests.snapshot().requests(), before.requests());
    assert_eq!(cache.stats().hits, 1);
    assert!(
        meta.iter()
            .all(|r| r.contains_key("_etag") && r.contains_key("_v"))
    );
    let got = users.with_meta().get("u1").await.unwrap();
    let again = users.get("u1").await.unwrap();
    assert_eq!(got["_etag"], meta[0]["_etag"]);
    assert!(again.keys().all(|k| !k.starts_with('_')), "{again:?}");
}

#[tokio::test]
async fn every_write_invalidates_memory_database_memory_driver() {
    let url = memory_url("cache-mm");
    check_every_write_at(&url, CacheConfig::memory(1_000)).await;
}

#[tokio::test]
async fn every_write_invalidates_memory_database_fs_driver() {
    let url = memory_url("cache-mf");
    let dir = tempfile::tempdir().unwrap();
    check_every_write_at(&url, CacheConfig::filesystem(dir.path())).await;
}

#[tokio::test]
async fn every_write_invalidates_memory_database_storage_driver() {
    let url = memory_url("cache-ms");
    check_every_write_at(&url, CacheConfig::storage()).await;
}

#[tokio::test]
async fn every_write_invalidates_file_database_memory_driver() {
    let dir = tempfile::tempdir().unwrap();
    check_every_write_at(&file_url(dir.path()), CacheConfig::memory(1_000)).await;
}

#[tokio::test]
async fn every_write_invalidates_file_database_fs_driver() {
    let (data, entries) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    check_every_write_at(
        &file_url(data.path()),
        CacheConfig::filesystem(entries.path()),
    )
    .await;
}

#[tokio::test]
async fn fs_driver_keeps_entries_in_its_directory_and_a_write_removes_them() {
    let entries = tempfile::tempdir().unwrap();
    let (db, requests) = metered_db().await;
    let (cache, users) = cached_users(&db, CacheConfig::filesystem(entries.path())).await;
    users.get("u1").await.unwrap();
    let before = requests.snapshot().requests();
    assert_eq!(users.get("u1").await.unwrap()["name"], "Ana");
    assert_eq!(
        requests.snapshot().requests(),
        before,
        "the hit reached storage"
    );
    assert_eq!(cache.stats().hits, 1);

    let resource_dir = entries.path().join("resource=users");
    let files: Vec<_> = walk(&resource_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().contains("/get-"), "{files:?}");

    users
        .patch("u1", rec(json!({"name": "Ana B"})))
        .await
        .unwrap();
    assert!(!resource_dir.exists(), "the write left old entries");
    assert_eq!(users.get("u1").await.unwrap()["name"], "Ana B");
    assert_eq!(walk(&resource_dir).len(), 1);
}

#[tokio::test]
async fn storage_driver_keeps_entries_under_plugin_cache() {
    let db = memory_db("cache-sd").await;
    let (cache, users) = cached_users(&db, CacheConfig::storage()).await;
    users.count().await.unwrap();
    assert_one_users_cache_entry(&db, "count").await;
    assert_eq!(users.count().await.unwrap(), 3);
    assert_eq!(cache.stats().hits, 1);

    users.delete("u9").await.unwrap();
    assert_no_cache_entries(&db).await;
    assert_eq!(users.count().await.unwrap(), 2);
}

#[tokio::test]
async fn ttl_expiry_follows_the_injected_clock() {
    for fs in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at_millis(1_700_000_000_000);
        let config = memory_or_fs(fs, dir.path());
        let (db, requests) = metered_db().await;
        let (cache, users) = cached_users(
            &db,
            config
                .ttl(Duration::from_secs(60))
                .clock(Arc::new(clock.clone())),
        )
        .await;

        users.get("u1").await.unwrap();
        clock.advance(Duration::from_secs(59));
        let gets = requests.snapshot().get.requests;
        users.get("u1").await.unwrap();
        assert_eq!(
            requests.snapshot().get.requests,
            gets,
            "fs={fs}: fresh entry missed"
        );
        clock.advance(Duration::from_secs(1));
        users.get("u1").await.unwrap();
        assert_eq!(
            requests.snapshot().get.requests,
            gets + 1,
            "fs={fs}: expired entry hit"
        );
        // The re-read is dated now: fresh again.
        users.get("u1").await.unwrap();
        let stats = cache.stats();
        assert_eq!(
            (stats.hits, stats.misses, stats.expired),
            (2, 2, 1),
            "fs={fs}"
        );
    }
}

#[tokio::test]
async fn an_excluded_resource_is_not_cached() {
    let (db, requests) = metered_db().await;
    let cache = install(&db, CacheConfig::memory(100).exclude("logs")).await;
    let users = create_users(&db).await;
    let logs = define(
        &db,
        json!({"name": "logs", "attributes": {"line": "string"}}),
    )
    .await;
    logs.insert(rec(json!({"id": "l1", "line": "boot"})))
        .await
        .unwrap();
    seed(&users).await;

    for _ in 0..3 {
        logs.get("l1").await.unwrap();
    }
    let gets = requests.snapshot().get.requests;
    logs.get("l1").await.unwrap();
    assert_eq!(requests.snapshot().get.requests, gets + 1);
    assert_eq!(cache.resource_stats("logs"), Default::default());
    assert!(!logs.middlewares().has(Operation::Get));

    users.get("u1").await.unwrap();
    users.get("u1").await.unwrap();
    assert_eq!(cache.resource_stats("users").hits, 1);
    assert_eq!(cache.stats().hits, 1);
}

#[tokio::test]
async fn stats_count_per_resource_and_in_total() {
    let db = memory_db("cache-stats").await;
    let users = create_users(&db).await;
    // Installed after the resource exists: existing resources are covered too.
    let cache = install(&db, CacheConfig::memory(100)).await;
    seed(&users).await;
    let notes = define(&db, json!({"name": "notes", "attributes": {"t": "string"}})).await;
    notes
        .insert(rec(json!({"id": "n1", "t": "x"})))
        .await
        .unwrap();

    for _ in 0..3 {
        users.get("u1").await.unwrap();
        notes.count().await.unwrap();
    }
    assert!(users.get("nope").await.is_err());
    let u = cache.resource_stats("users");
    assert_eq!((u.hits, u.misses, u.stores), (2, 2, 1));
    assert_eq!(u.invalidations, 3, "one per seeded insert");
    let n = cache.resource_stats("notes");
    assert_eq!((n.hits, n.misses, n.stores, n.invalidations), (2, 1, 1, 1));
    let total = cache.stats();
    assert_eq!((total.hits, total.misses, total.stores), (4, 3, 2));
    assert_eq!(total.errors, 0);

    cache.clear().await.unwrap();
    notes.count().await.unwrap();
    assert_eq!(cache.resource_stats("notes").misses, 2);
}

/// A read that missed and read the old value must not store it when a write landed
/// meanwhile: the read is held (by a middleware inside the cache's) until the write is done.
#[tokio::test]
async fn a_read_overtaken_by_a_write_does_not_store_the_old_value() {
    for fs in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = memory_db("cache-race").await;
        let config = memory_or_fs(fs, dir.path());
        let (cache, users) = cached_users(&db, config).await;

        let hold = Arc::new(AtomicBool::new(true));
        let (read_done, write_done) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        {
            let (hold, read_done, write_done) =
                (hold.clone(), read_done.clone(), write_done.clone());
            users
                .middlewares()
                .register(Operation::Get, move |ctx, next| {
                    let (hold, read_done, write_done) =
                        (hold.clone(), read_done.clone(), write_done.clone());
                    async move {
                        let value = next.run(ctx).await;
                        if hold.swap(false, Ordering::SeqCst) {
                            read_done.notify_one();
                            write_done.notified().await;
                        }
                        value
                    }
                });
        }
        let reader = {
            let users = users.clone();
            tokio::spawn(async move { users.get("u1").await.unwrap() })
        };
        read_done.notified().await;
        users
            .patch("u1", rec(json!({"name": "New"})))
            .await
            .unwrap();
        write_done.notify_one();
        assert_eq!(
            reader.await.unwrap()["name"],
            "Ana",
            "the read began before the write"
        );

        assert_eq!(
            users.get("u1").await.unwrap()["name"],
            "New",
            "fs={fs}: stale value cached"
        );
        let stats = cache.stats();
        assert_eq!(stats.stale_skips, 1, "fs={fs}");
        assert_eq!(users.get("u1").await.unwrap()["name"], "New");
        assert_eq!(cache.stats().hits, 1);
    }
}

#[tokio::test]
async fn a_second_install_of_the_same_plugin_is_refused() {
    let cache = Arc::new(CachePlugin::new(CacheConfig::memory(10)));
    let a = memory_db("cache-a").await;
    let b = memory_db("cache-b").await;
    a.use_plugin(cache.clone()).await.unwrap();
    assert!(b.use_plugin(cache).await.is_err());
}

#[tokio::test]
async fn after_disconnect_reads_go_to_storage() {
    let (db, requests) = metered_db().await;
    let (cache, users) = cached_users(&db, CacheConfig::memory(10)).await;
    users.get("u1").await.unwrap();
    db.disconnect().await.unwrap();
    let gets = requests.snapshot().get.requests;
    users.get("u1").await.unwrap();
    assert_eq!(requests.snapshot().get.requests, gets + 1);
    assert_eq!(cache.stats().hits, 0);
}

/// Pages are not cached (their cursor does not go through middleware), so pagination keeps
/// working with the plugin installed and sees writes at once.
#[tokio::test]
async fn pages_are_cached_with_their_cursor_and_see_writes() {
    let db = memory_db("cache-page").await;
    let (cache, users) = cached_users(&db, CacheConfig::memory(100)).await;
    let first = PageRequest {
        size: 2,
        ..PageRequest::default()
    };
    // The second round is served from the cache, cursors included.
    for _ in 0..2 {
        let page = users.page(&first).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let next = PageRequest {
            cursor: page.next_cursor.clone(),
            ..first.clone()
        };
        assert!(next.cursor.is_some());
        let rest = users.page(&next).await.unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.next_cursor, None);
    }
    assert_eq!(cache.stats().hits, 2);
    users.delete("u1").await.unwrap();
    assert_eq!(users.page(&first).await.unwrap().items[0]["id"], "u2");
    assert_eq!(cache.stats().hits, 2);
}

/// Writes made behind the database's back (another `Database` on the same bucket here) are
/// not seen until the TTL or an explicit `invalidate`.
#[tokio::test]
async fn invalidate_drops_a_resource_written_elsewhere() {
    let url = memory_url("cache-elsewhere");
    let db = connect(&url).await;
    let (cache, users) = cached_users(&db, CacheConfig::memory(100)).await;
    assert_eq!(users.count().await.unwrap(), 3);

    let other = connect(&url).await;
    other.resource("users").unwrap().delete("u9").await.unwrap();
    assert_eq!(users.count().await.unwrap(), 3, "served from the cache");
    cache.invalidate("users").await;
    assert_eq!(users.count().await.unwrap(), 2);
    cache.invalidate("never-cached").await;
}
