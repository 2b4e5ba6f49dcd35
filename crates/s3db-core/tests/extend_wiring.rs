//! Hooks, events and middleware wired into `Resource` and `Database`.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use s3db_core::extend::{Event, HookError, HookPoint, Operation, Payload, Veto};
use s3db_core::{Database, Error, Record, Resource, ResourceConfig};
use serde_json::{Value, json};

fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

async fn people(db: &Database) -> Resource {
    db.create_resource(
        ResourceConfig::from_json(&json!({
            "name": "people",
            "attributes": {"name": "string|required", "age": "number|optional"}
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn before_insert_hook_rewrites_and_vetoes() {
    let db = Database::connect("memory://wiring-hooks").await.unwrap();
    let r = people(&db).await;
    // Registered through one handle, seen through another.
    db.resource("people").unwrap().hooks().register(
        HookPoint::BeforeInsert,
        |_, mut data: Payload| async move {
            let record = data.record_mut().unwrap();
            if record.get("name") == Some(&json!("forbidden")) {
                return Err(Veto::new("name is forbidden"));
            }
            record.insert("name".into(), json!("Rewritten"));
            Ok(data)
        },
    );
    let stored = r
        .insert(rec(json!({"id": "a", "name": "Ana"})))
        .await
        .unwrap();
    assert_eq!(stored["name"], "Rewritten");
    assert_eq!(r.get("a").await.unwrap()["name"], "Rewritten");

    let err = r
        .insert(rec(json!({"id": "b", "name": "forbidden"})))
        .await
        .unwrap_err();
    match &err {
        Error::Hook(hook @ HookError::Vetoed { .. }) => {
            assert_eq!(hook.reason(), Some("name is forbidden"))
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!r.exists("b").await.unwrap());
}

#[tokio::test]
async fn after_hooks_see_the_stored_record() {
    let db = Database::connect("memory://wiring-after").await.unwrap();
    let r = people(&db).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    r.hooks()
        .register(HookPoint::AfterInsert, move |_, data: Payload| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(data.clone());
                Ok(data)
            }
        });
    let stored = r.insert(rec(json!({"name": "Bo"}))).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, vec![Payload::Record(stored.clone())]);
    assert!(stored["id"].is_string());
}

#[tokio::test]
async fn events_fire_once_per_write_and_updated_has_before_and_after() {
    let db = Database::connect("memory://wiring-events").await.unwrap();
    let r = people(&db).await;
    let mut sub = db.events().subscribe();
    r.insert(rec(json!({"id": "a", "name": "Ana"})))
        .await
        .unwrap();
    r.update("a", rec(json!({"age": 3}))).await.unwrap();
    r.delete("a").await.unwrap();
    let mut got = Vec::new();
    while let Some(event) = sub.try_recv() {
        got.push(event);
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(matches!(&*got[0], Event::Inserted { id, .. } if id == "a"));
    match &*got[1] {
        Event::Updated { before, after, .. } => {
            assert_eq!(before.as_ref().unwrap().get("age"), None);
            assert_eq!(after["age"], 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(&*got[2], Event::Deleted { id, .. } if id == "a"));
}

#[tokio::test]
async fn middleware_order_short_circuit_and_argument_rewriting() {
    let db = Database::connect("memory://wiring-mw").await.unwrap();
    let r = people(&db).await;
    r.insert(rec(json!({"id": "real", "name": "Real"})))
        .await
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    for name in ["outer", "inner"] {
        let order = order.clone();
        r.middlewares()
            .register(Operation::Get, move |mut ctx, next| {
                let order = order.clone();
                async move {
                    order.lock().unwrap().push(format!("{name}>"));
                    if name == "inner" && ctx.args == Payload::Id("alias".into()) {
                        ctx.args = Payload::Id("real".into());
                    }
                    let out = next.run(ctx).await;
                    order.lock().unwrap().push(format!("<{name}"));
                    out
                }
            });
    }
    assert_eq!(r.get("alias").await.unwrap()["name"], "Real");
    assert_eq!(
        *order.lock().unwrap(),
        ["outer>", "inner>", "<inner", "<outer"]
    );

    // A short-circuiting insert never reaches storage.
    r.middlewares()
        .register(Operation::Insert, |ctx, _next| async move {
            let mut record = ctx.args.into_record()?;
            record.insert("id".into(), json!("fake"));
            Ok(Payload::Record(record))
        });
    let out = r
        .insert(rec(json!({"id": "ghost", "name": "G"})))
        .await
        .unwrap();
    assert_eq!(out["id"], "fake");
    assert!(!r.exists("ghost").await.unwrap());
    assert!(!r.exists("fake").await.unwrap());
}

#[tokio::test]
async fn database_hooks_fire_on_create_resource() {
    let db = Database::connect("memory://wiring-db").await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for point in [
        HookPoint::BeforeCreateResource,
        HookPoint::BeforeUploadMetadata,
        HookPoint::AfterUploadMetadata,
        HookPoint::AfterCreateResource,
    ] {
        let seen = seen.clone();
        db.hooks().register(point, move |ctx, data: Payload| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((ctx.point, data.kind()));
                Ok(data)
            }
        });
    }
    let mut sub = db.events().subscribe();
    people(&db).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (HookPoint::BeforeCreateResource, "options"),
            (HookPoint::BeforeUploadMetadata, "no"),
            (HookPoint::AfterUploadMetadata, "options"),
            (HookPoint::AfterCreateResource, "name"),
        ]
    );
    let names: Vec<&str> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(names, ["db:metadata-uploaded", "db:resource-created"]);
}

#[tokio::test]
async fn connect_and_disconnect_hooks_run_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hooks = s3db_core::extend::Hooks::for_database();
    for point in [
        HookPoint::BeforeConnect,
        HookPoint::AfterConnect,
        HookPoint::BeforeDisconnect,
        HookPoint::AfterDisconnect,
    ] {
        let seen = seen.clone();
        hooks.register(point, move |ctx, data: Payload| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(ctx.point);
                Ok(data)
            }
        });
    }
    let storage = s3db_storage::connection::open("memory://hooks-lifecycle")
        .await
        .unwrap();
    let db = Database::open_with_hooks(storage, Default::default(), hooks)
        .await
        .unwrap();
    let mut sub = db.events().subscribe();
    db.disconnect().await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            HookPoint::BeforeConnect,
            HookPoint::AfterConnect,
            HookPoint::BeforeDisconnect,
            HookPoint::AfterDisconnect
        ]
    );
    assert!(matches!(*sub.recv().await.unwrap(), Event::Disconnected));
}
