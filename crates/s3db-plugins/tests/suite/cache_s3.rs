//! Cache plugin with the storage driver on a real S3 API (moto): entries live under
//! `plugin=cache/` of the database's bucket, hits skip the bucket, writes invalidate.

use crate::common;

use std::sync::Arc;

use common::{assert_no_cache_entries, assert_one_users_cache_entry, define, rec};
use s3db_core::Database;
use s3db_plugins::cache::{CacheConfig, CachePlugin};
use s3db_storage::layers::Metrics;
use s3db_storage::testing::fresh_s3_storage;
use serde_json::json;

#[tokio::test]
async fn storage_driver_on_s3() {
    let metrics = Metrics::new(fresh_s3_storage().await.unwrap());
    let requests = metrics.recorder();
    let db = Database::builder(Arc::new(metrics)).open().await.unwrap();
    let cache = Arc::new(CachePlugin::new(CacheConfig::storage()));
    db.use_plugin(cache.clone()).await.unwrap();
    let users = define(
        &db,
        json!({"name": "users", "attributes": {"name": "string"}}),
    )
    .await;
    let user = |name: &str| rec(json!({"id": "u1", "name": name}));
    users.insert(user("Ana")).await.unwrap();

    assert_eq!(users.get("u1").await.unwrap()["name"], "Ana");
    assert_one_users_cache_entry(&db, "get").await;

    // A hit is one GET of the entry, never of the record.
    let before = requests.snapshot();
    assert_eq!(users.get("u1").await.unwrap()["name"], "Ana");
    let after = requests.snapshot();
    assert_eq!(after.get.requests, before.get.requests + 1);
    assert_eq!(after.requests(), before.requests() + 1);
    assert_eq!(cache.stats().hits, 1);

    users.replace("u1", user("Bia")).await.unwrap();
    assert_no_cache_entries(&db).await;
    assert_eq!(users.get("u1").await.unwrap()["name"], "Bia");
    assert_eq!(users.count().await.unwrap(), 1);
    assert_eq!(users.count().await.unwrap(), 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.errors), (2, 3, 0));
}
