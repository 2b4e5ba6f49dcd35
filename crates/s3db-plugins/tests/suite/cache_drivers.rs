//! Cache drivers on their own (prefix removal, clearing, corrupt files) and a custom driver
//! used to hold a store open while a write lands.

use crate::common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{connect, define, rec, walk};
use s3db_core::Resource;
use s3db_core::extend::{Event, Payload};
use s3db_plugins::cache::{
    CacheConfig, CacheDriver, CachePlugin, Entry, FsDriver, MemoryBound, MemoryDriver,
    StorageDriver,
};
use s3db_storage::MemoryStorage;
use serde_json::json;
use tokio::sync::Notify;

/// Installs a cache with `config` on the memory database `bucket` and defines `notes`.
async fn cached_notes(bucket: &str, config: CacheConfig) -> (Arc<CachePlugin>, Resource) {
    let db = connect(&format!("memory://{bucket}")).await;
    let cache = Arc::new(CachePlugin::new(config));
    db.use_plugin(cache.clone()).await.unwrap();
    let notes = define(&db, json!({"name": "notes", "attributes": {"t": "string"}})).await;
    (cache, notes)
}

fn entry(n: usize) -> Entry {
    Entry {
        stored_at: 1,
        value: Payload::Count(n),
    }
}

async fn prefix_and_clear(driver: &dyn CacheDriver) {
    driver
        .put("resource=a/gen=0/get-1", entry(1))
        .await
        .unwrap();
    driver
        .put("resource=a/gen=1/get-1", entry(2))
        .await
        .unwrap();
    driver
        .put("resource=ab/gen=0/get-1", entry(3))
        .await
        .unwrap();
    assert_eq!(
        driver.get("resource=a/gen=1/get-1").await.unwrap(),
        Some(entry(2))
    );
    driver.remove_prefix("resource=a/").await.unwrap();
    assert_eq!(driver.get("resource=a/gen=0/get-1").await.unwrap(), None);
    assert_eq!(driver.get("resource=a/gen=1/get-1").await.unwrap(), None);
    assert_eq!(
        driver.get("resource=ab/gen=0/get-1").await.unwrap(),
        Some(entry(3))
    );
    driver.remove("resource=ab/gen=0/get-1").await.unwrap();
    driver.remove("resource=ab/gen=0/get-1").await.unwrap();
    assert_eq!(driver.get("resource=ab/gen=0/get-1").await.unwrap(), None);
    driver
        .put("resource=c/gen=0/count-1", entry(4))
        .await
        .unwrap();
    driver.clear().await.unwrap();
    assert_eq!(driver.get("resource=c/gen=0/count-1").await.unwrap(), None);
}

#[tokio::test]
async fn every_driver_removes_by_prefix_and_clears() {
    prefix_and_clear(&MemoryDriver::new(MemoryBound::Entries(100), None)).await;
    let dir = tempfile::tempdir().unwrap();
    prefix_and_clear(&FsDriver::new(dir.path().join("cache"))).await;
    prefix_and_clear(&StorageDriver::new(Arc::new(MemoryStorage::new()))).await;
}

#[tokio::test]
async fn a_byte_bound_memory_driver_stays_within_its_bytes() {
    let driver = MemoryDriver::new(MemoryBound::Bytes(20_000), None);
    let big = |i: usize| Entry {
        stored_at: 0,
        value: Payload::Record(rec(json!({"id": i, "text": "x".repeat(1_000)}))),
    };
    for i in 0..100 {
        driver
            .put(&format!("resource=a/gen=0/get-{i}"), big(i))
            .await
            .unwrap();
    }
    let (entries, bytes) = driver.usage().await;
    assert!(bytes <= 20_000, "{bytes} bytes held");
    assert!((10..=20).contains(&entries), "{entries} entries held");

    let counted = MemoryDriver::new(MemoryBound::Entries(5), None);
    for i in 0..50 {
        counted.put(&format!("k{i}"), big(i)).await.unwrap();
    }
    assert_eq!(counted.usage().await.0, 5);
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_naming_its_key_and_reads_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let driver = FsDriver::new(dir.path());
    std::fs::create_dir_all(dir.path().join("resource=a/gen=0")).unwrap();
    std::fs::write(dir.path().join("resource=a/gen=0/get-1.json"), b"{oops").unwrap();
    let error = driver.get("resource=a/gen=0/get-1").await.unwrap_err();
    assert!(
        error.to_string().contains("resource=a/gen=0/get-1"),
        "{error}"
    );

    // Through the plugin: a corrupt entry is counted and the record is read from storage.
    let (cache, notes) =
        cached_notes("cache-drivers-corrupt", CacheConfig::filesystem(dir.path())).await;
    notes
        .insert(rec(json!({"id": "n1", "t": "x"})))
        .await
        .unwrap();
    notes.get("n1").await.unwrap();
    let files: Vec<_> = walk(&dir.path().join("resource=notes"));
    assert_eq!(files.len(), 1);
    std::fs::write(&files[0], b"not json").unwrap();
    assert_eq!(notes.get("n1").await.unwrap()["t"], "x");
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.hits, stats.misses), (1, 0, 2));
}

/// A memory driver whose next `put` waits until released, recording puts and removals.
#[derive(Debug)]
struct HeldPut {
    inner: MemoryDriver,
    hold: Mutex<bool>,
    entered: Notify,
    release: Notify,
    log: Mutex<Vec<String>>,
}

#[async_trait]
impl CacheDriver for HeldPut {
    async fn get(&self, key: &str) -> s3db_plugins::Result<Option<Entry>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, entry: Entry) -> s3db_plugins::Result<()> {
        let held = std::mem::take(&mut *self.hold.lock().unwrap());
        if held {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.log.lock().unwrap().push(format!("put {key}"));
        self.inner.put(key, entry).await
    }
    async fn remove(&self, key: &str) -> s3db_plugins::Result<()> {
        self.log.lock().unwrap().push(format!("remove {key}"));
        self.inner.remove(key).await
    }
    async fn remove_prefix(&self, prefix: &str) -> s3db_plugins::Result<()> {
        self.inner.remove_prefix(prefix).await
    }
    async fn clear(&self) -> s3db_plugins::Result<()> {
        self.inner.clear().await
    }
}

/// The second race window: the write lands while the entry is being stored. The read must
/// take its entry out again, so nothing stale stays in a (possibly shared) driver.
#[tokio::test]
async fn a_write_landing_during_the_store_removes_the_entry_again() {
    // `replace` goes through write middleware; a write made by another database on the
    // same bucket (no middleware of ours) is seen only by the event reporting it.
    for event_only in [false, true] {
        let bucket = format!("cache-drivers-held-{event_only}");
        let driver = Arc::new(HeldPut {
            inner: MemoryDriver::new(MemoryBound::Entries(100), None),
            hold: Mutex::new(false),
            entered: Notify::new(),
            release: Notify::new(),
            log: Mutex::default(),
        });
        let (cache, notes) = cached_notes(&bucket, CacheConfig::custom(driver.clone())).await;
        let note = |t: &str| rec(json!({"id": "n1", "t": t}));
        notes.insert(note("old")).await.unwrap();

        *driver.hold.lock().unwrap() = true;
        let reader = {
            let notes = notes.clone();
            tokio::spawn(async move { notes.get("n1").await.unwrap() })
        };
        driver.entered.notified().await;
        if event_only {
            let other = connect(&format!("memory://{bucket}")).await;
            let stored = other
                .resource("notes")
                .unwrap()
                .replace("n1", note("new"))
                .await
                .unwrap();
            notes.events().emit(Event::Updated {
                resource: "notes".into(),
                id: "n1".into(),
                before: None,
                after: stored,
            });
        } else {
            notes.replace("n1", note("new")).await.unwrap();
        }
        driver.release.notify_one();
        assert_eq!(reader.await.unwrap()["t"], "old");

        let log = driver.log.lock().unwrap().clone();
        assert_eq!(log.len(), 2, "event_only={event_only}: {log:?}");
        let key = log[0].strip_prefix("put ").unwrap();
        assert_eq!(log[1], format!("remove {key}"));
        assert_eq!(driver.inner.get(key).await.unwrap(), None);
        assert_eq!(notes.get("n1").await.unwrap()["t"], "new");
        assert_eq!(cache.stats().stale_skips, 1);
    }
}
