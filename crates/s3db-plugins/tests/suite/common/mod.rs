//! Helpers shared by the plugin tests: record literals, unique names, resource creation
//! and directory walks.

pub mod processes;
pub mod replication;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::replicator::{Replicator, ReplicatorBuilder, RetryPolicy};
use s3db_storage::StorageExt;
use serde_json::{Value, json};

/// A record from a JSON object literal.
pub fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

/// `{prefix}-{process}-{n}`: a name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Connects to `url`.
pub async fn connect(url: &str) -> Database {
    Database::connect(url).await.unwrap()
}

/// Retries `max_attempts` times with 1–5 ms of backoff: a replicator that gives up fast.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(5),
    }
}
/// `memory://` on a fresh bucket named after `prefix`.
pub fn memory_url(prefix: &str) -> String {
    format!("memory://{}", unique(prefix))
}

/// A fresh memory database on a bucket named after `prefix`.
pub async fn memory_db(prefix: &str) -> Database {
    connect(&memory_url(prefix)).await
}

/// Creates the resource `config` describes.
pub async fn create(db: &Database, config: ResourceConfig) -> Resource {
    db.create_resource(config).await.unwrap()
}

/// Creates the resource `config` (s3db.js JSON form) describes.
pub async fn define(db: &Database, config: Value) -> Resource {
    create(db, ResourceConfig::from_json(&config).unwrap()).await
}

/// Creates `name` with `attributes` and s3db.js timestamps.
pub async fn define_timestamped(db: &Database, name: &str, attributes: Value) -> Resource {
    define(
        db,
        json!({"name": name, "attributes": attributes, "timestamps": true}),
    )
    .await
}

/// One write of a scripted sequence; records are JSON object literals.
pub enum Write {
    /// `insert`.
    Insert(Value),
    /// `insert_many`, every record expected to succeed.
    InsertMany(Vec<Value>),
    /// `update` of the id with the fields.
    Update(&'static str, Value),
    /// `patch` of the id with the fields.
    Patch(&'static str, Value),
    /// `replace` of the id with the record.
    Replace(&'static str, Value),
    /// `upsert`.
    Upsert(Value),
    /// `delete`.
    Delete(&'static str),
    /// `delete_many` (missing ids included).
    DeleteMany(&'static [&'static str]),
}

/// Runs the writes on `resource` in order, each expected to succeed.
pub async fn run_writes(resource: &Resource, writes: impl IntoIterator<Item = Write>) {
    for write in writes {
        match write {
            Write::Insert(record) => {
                resource.insert(rec(record)).await.unwrap();
            }
            Write::InsertMany(records) => insert_many_ok(resource, records).await,
            Write::Update(id, fields) => {
                resource.update(id, rec(fields)).await.unwrap();
            }
            Write::Patch(id, fields) => {
                resource.patch(id, rec(fields)).await.unwrap();
            }
            Write::Replace(id, record) => {
                resource.replace(id, rec(record)).await.unwrap();
            }
            Write::Upsert(record) => {
                resource.upsert(rec(record)).await.unwrap();
            }
            Write::Delete(id) => resource.delete(id).await.unwrap(),
            Write::DeleteMany(ids) => {
                let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
                resource.delete_many(&ids).await.unwrap();
            }
        }
    }
}

/// Inserts each record, one at a time.
pub async fn insert_each(resource: &Resource, records: impl IntoIterator<Item = Value>) {
    for record in records {
        resource.insert(rec(record)).await.unwrap();
    }
}

/// Inserts the records in one `insert_many`, asserting that every one succeeded.
pub async fn insert_many_ok(resource: &Resource, records: impl IntoIterator<Item = Value>) {
    let results = resource
        .insert_many(records.into_iter().map(rec).collect())
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// Builds the replicator and installs it on `db`.
pub async fn install_replicator(db: &Database, builder: ReplicatorBuilder) -> Arc<Replicator> {
    let replicator = Arc::new(builder.build().unwrap());
    db.use_plugin(replicator.clone()).await.unwrap();
    replicator
}

/// Asserts that the cache's storage driver holds one entry, a `kind` read of `users`.
pub async fn assert_one_users_cache_entry(db: &Database, kind: &str) {
    let keys = db.storage().list_keys("plugin=cache/").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("plugin=cache/resource=users/gen="),
        "{keys:?}"
    );
    assert!(keys[0].contains(&format!("/{kind}-")), "{keys:?}");
}

/// Asserts that the cache's storage driver holds no entry.
pub async fn assert_no_cache_entries(db: &Database) {
    let keys = db.storage().list_keys("plugin=cache/").await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

/// Every file below `dir` (none when it does not exist).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
