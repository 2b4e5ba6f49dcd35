//! The plugin trait: lifecycle, storage areas, every-resource registration and the
//! operation context.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use s3db_core::extend::{HookPoint, OperationContext, Plugin, PluginContext};
use s3db_core::{Database, Error, Record, ResourceConfig};
use s3db_storage::StorageExt;
use serde_json::{Value, json};

fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

fn config(name: &str, attributes: Value) -> ResourceConfig {
    ResourceConfig::from_json(&json!({"name": name, "attributes": attributes})).unwrap()
}

/// Records its lifecycle calls and, for every resource, who inserted what.
struct Recorder {
    slug: String,
    calls: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Plugin for Recorder {
    fn slug(&self) -> &str {
        &self.slug
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("install {}", self.slug));
        let calls = self.calls.clone();
        ctx.for_each_resource(move |resource| {
            let calls = calls.clone();
            let name = resource.name().to_owned();
            calls.lock().unwrap().push(format!("cover {name}"));
            resource
                .hooks()
                .register(HookPoint::AfterInsert, move |_ctx, data| {
                    let who = OperationContext::current().and_then(|c| c.user);
                    calls
                        .lock()
                        .unwrap()
                        .push(format!("insert {name} by {who:?}"));
                    async move { Ok(data) }
                });
        });
        Ok(())
    }

    async fn start(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("start {}", self.slug));
        Ok(())
    }

    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("stop {}", self.slug));
        Ok(())
    }
}

fn recorder(slug: &str, calls: &Arc<Mutex<Vec<String>>>) -> Arc<Recorder> {
    Arc::new(Recorder {
        slug: slug.into(),
        calls: calls.clone(),
    })
}

#[tokio::test]
async fn lifecycle_covers_existing_and_new_resources_once() {
    let db = Database::connect("memory://plugins-lifecycle")
        .await
        .unwrap();
    db.create_resource(config("old", json!({"a": "string"})))
        .await
        .unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    db.use_plugin(recorder("one", &calls)).await.unwrap();
    db.use_plugin(recorder("two", &calls)).await.unwrap();
    assert_eq!(db.plugins(), ["one", "two"]);

    let new = db
        .create_resource(config("new", json!({"a": "string"})))
        .await
        .unwrap();
    // A new version of a covered resource is not covered twice.
    db.create_resource(config(
        "new",
        json!({"a": "string", "b": "number|optional"}),
    ))
    .await
    .unwrap();
    OperationContext::user("ana")
        .scope(new.insert(rec(json!({"id": "x", "a": "hi"}))))
        .await
        .unwrap();
    db.disconnect().await.unwrap();

    assert_eq!(
        *calls.lock().unwrap(),
        [
            "install one",
            "cover old",
            "start one",
            "install two",
            "cover old",
            "start two",
            "cover new",
            "cover new",
            "insert new by Some(\"ana\")",
            "insert new by Some(\"ana\")",
            "stop two",
            "stop one",
        ]
    );
}

#[tokio::test]
async fn duplicate_and_invalid_slugs_are_refused() {
    let db = Database::connect("memory://plugins-slugs").await.unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    db.use_plugin(recorder("cache", &calls)).await.unwrap();
    let again = db.use_plugin(recorder("cache", &calls)).await;
    assert!(matches!(again, Err(Error::InvalidPlugin { ref slug, .. }) if slug == "cache"));
    for bad in ["", "Cache", "../x", "a/b", "a=b"] {
        let refused = db.use_plugin(recorder(bad, &calls)).await;
        assert!(
            matches!(refused, Err(Error::InvalidPlugin { .. })),
            "{bad:?} was accepted"
        );
    }
    assert_eq!(db.plugins(), ["cache"]);
}

#[tokio::test]
async fn storage_areas_are_namespaced() {
    let db = Database::connect("memory://plugins-areas").await.unwrap();
    let ctx = PluginContext::new(&db, "audit").unwrap();
    ctx.storage()
        .put_bytes("state", Bytes::from_static(b"1"))
        .await
        .unwrap();
    ctx.resource_storage("people")
        .put_bytes("expiry/1", Bytes::from_static(b"2"))
        .await
        .unwrap();
    let keys = db.storage().list_keys("").await.unwrap();
    assert!(keys.contains(&"plugin=audit/state".to_owned()), "{keys:?}");
    assert!(
        keys.contains(&"resource=people/plugin=audit/expiry/1".to_owned()),
        "{keys:?}"
    );
}

#[tokio::test]
async fn context_does_not_keep_the_database_alive() {
    let db = Database::connect("memory://plugins-weak").await.unwrap();
    let ctx = PluginContext::new(&db, "weak").unwrap();
    assert!(ctx.database().is_ok());
    drop(db);
    assert!(matches!(ctx.database(), Err(Error::Disconnected)));
}
