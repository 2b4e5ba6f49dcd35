//! Shared helpers of the integration tests: the s3db.js fixtures loaded into a memory store.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use s3db_core::{Database, ListRequest, Resource, ResourceConfig};
use s3db_storage::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, MemoryStorage, Metadata,
    ObjectMeta, Prefixed, PutMode, PutPayload, Storage,
};
use serde_json::Value;

pub const PASSPHRASE: &str = "fixture-passphrase";

/// The wire fixture set (`fixtures/s3dbjs-21.6.2`).
pub const WIRE: &str = "s3dbjs-21.6.2";
/// The resource-definition fixture set (`fixtures/s3dbjs-21.6.2-definitions`).
pub const DEFINITIONS: &str = "s3dbjs-21.6.2-definitions";

pub fn fixture_path(set: &str, name: &str) -> String {
    format!("{}/../../fixtures/{set}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Every stored object of the wire fixture bucket.
pub fn objects() -> Vec<Value> {
    objects_of(WIRE)
}

/// Every stored object of a fixture set's bucket.
pub fn objects_of(set: &str) -> Vec<Value> {
    std::fs::read_to_string(fixture_path(set, "objects.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What s3db.js returned reading the wire fixture bucket.
pub fn expected() -> Value {
    expected_of(WIRE)
}

/// What s3db.js returned reading a fixture set's bucket.
pub fn expected_of(set: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(set, "expected.json")).unwrap())
        .unwrap()
}

pub fn body_of(object: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(object["body_base64"].as_str().unwrap())
        .unwrap()
}

pub fn metadata_of(object: &Value) -> Metadata {
    object["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The wire fixture bucket in a memory store (raw puts: no re-encoding).
pub async fn fixture_bucket() -> MemoryStorage {
    bucket_of(WIRE).await
}

/// A fixture set's bucket in a memory store (raw puts: no re-encoding).
pub async fn bucket_of(set: &str) -> MemoryStorage {
    let store = MemoryStorage::new();
    for object in objects_of(set) {
        let payload = PutPayload {
            metadata: metadata_of(&object).into(),
            body: Bytes::from(body_of(&object)),
            content_type: object["content_type"].as_str().map(str::to_owned),
        };
        store
            .put(object["key"].as_str().unwrap(), payload, PutMode::Overwrite)
            .await
            .unwrap();
    }
    store
}

/// The database at `prefix` ("" or "versioned") of the fixture bucket.
pub async fn fixture_database(store: MemoryStorage, prefix: &str) -> Database {
    let storage: Arc<dyn Storage> = if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(Prefixed::new(store, prefix))
    };
    Database::builder(storage)
        .passphrase(PASSPHRASE)
        .versioning(prefix == "versioned")
        .open()
        .await
        .unwrap()
}

/// Expected values with s3db.js's tags resolved: `{"$special":"undefined"}` keys removed,
/// numbers compared as f64.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| v.get("$special").and_then(Value::as_str) != Some("undefined"))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n.clone()), Value::Number),
        other => other.clone(),
    }
}

/// `typed::<Value>()` reads of `resource` (get, list and stream) give exactly what its untyped reads
/// give, key order included, whether or not they skipped the record map; returns the list.
pub async fn typed_reads_match_untyped(resource: &Resource, ids: &[&str]) -> Vec<Value> {
    let typed = resource.typed::<Value>();
    for id in ids {
        let untyped = Value::Object(resource.get(id).await.unwrap());
        let read = typed.get(id).await.unwrap();
        assert_eq!(read.to_string(), untyped.to_string(), "{id}");
    }
    let all = ListRequest::all();
    let untyped: Vec<String> = resource
        .list(&all)
        .await
        .unwrap()
        .into_iter()
        .map(|r| Value::Object(r).to_string())
        .collect();
    let listed = typed.list(&all).await.unwrap();
    let typed_listed: Vec<String> = listed.iter().map(Value::to_string).collect();
    assert_eq!(typed_listed, untyped);
    let streamed: Vec<Value> = typed.stream(&all).unwrap().try_collect().await.unwrap();
    assert_eq!(streamed, listed);
    listed
}

/// What a [`Hooked`] memory store does in place of its `get` and `delete_many` (by default,
/// what the store does).
#[async_trait::async_trait]
pub trait StoreHooks: Send + Sync + std::fmt::Debug + 'static {
    /// Reads `key` from `store`.
    async fn get(&self, store: &MemoryStorage, key: &str) -> s3db_storage::Result<GetResult> {
        store.get(key).await
    }

    /// Deletes `keys` from `store`.
    async fn delete_many(
        &self,
        store: &MemoryStorage,
        keys: &[String],
    ) -> s3db_storage::Result<()> {
        store.delete_many(keys).await
    }
}

/// A memory store whose reads and batch deletes go through a test's [`StoreHooks`]; every
/// other call goes straight to the store.
#[derive(Debug, Default)]
pub struct Hooked<H> {
    pub store: MemoryStorage,
    pub hooks: H,
}

#[async_trait::async_trait]
impl<H: StoreHooks> Storage for Hooked<H> {
    async fn put(
        &self,
        key: &str,
        payload: PutPayload,
        mode: PutMode,
    ) -> s3db_storage::Result<String> {
        self.store.put(key, payload, mode).await
    }
    async fn get(&self, key: &str) -> s3db_storage::Result<GetResult> {
        self.hooks.get(&self.store, key).await
    }
    async fn head(&self, key: &str) -> s3db_storage::Result<HeadResult> {
        self.store.head(key).await
    }
    async fn copy(
        &self,
        from: &str,
        to: &str,
        options: CopyOptions,
    ) -> s3db_storage::Result<String> {
        self.store.copy(from, to, options).await
    }
    async fn delete(&self, key: &str) -> s3db_storage::Result<()> {
        self.store.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> s3db_storage::Result<()> {
        self.hooks.delete_many(&self.store, keys).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'_, s3db_storage::Result<ObjectMeta>> {
        self.store.list(options)
    }
    fn capabilities(&self) -> Capabilities {
        self.store.capabilities()
    }
}

/// A resource `items` with one number attribute `n`, in a database on `storage`.
pub async fn numbered_items(storage: Arc<dyn Storage>) -> Resource {
    let db = Database::builder(storage).open().await.unwrap();
    db.create_resource(
        ResourceConfig::from_json(
            &serde_json::json!({"name": "items", "attributes": {"n": "number"}}),
        )
        .unwrap(),
    )
    .await
    .unwrap()
}
