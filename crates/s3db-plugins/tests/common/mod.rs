//! Helpers shared by the plugin tests: record literals, unique names, resource creation
//! and directory walks. Each test binary uses a part of them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::replicator::{Replicator, ReplicatorBuilder};
use serde_json::Value;

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

/// `memory://` on a fresh bucket named after `prefix`.
pub fn memory_url(prefix: &str) -> String {
    format!("memory://{}", unique(prefix))
}

/// A fresh memory database on a bucket named after `prefix`.
pub async fn memory_db(prefix: &str) -> Database {
    connect(&memory_url(prefix)).await
}

/// Creates the resource `config` (s3db.js JSON form) describes.
pub async fn define(db: &Database, config: Value) -> Resource {
    db.create_resource(ResourceConfig::from_json(&config).unwrap())
        .await
        .unwrap()
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
