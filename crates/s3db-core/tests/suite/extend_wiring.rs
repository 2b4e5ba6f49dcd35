//! Hooks, events and middleware wired into `Resource` and `Database`.

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
    let db = Database::builder(storage)
        .hooks(hooks)
        .open()
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

async fn tickets(db: &Database) -> Resource {
    let tickets = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "tickets",
                "attributes": {"title": "string", "status": "string"},
                "partitions": {"byStatus": {"fields": {"status": "string"}}},
                "paranoid": false
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    for (id, status) in [("t1", "open"), ("t2", "done"), ("t3", "open")] {
        tickets
            .insert(rec(json!({"id": id, "title": id, "status": status})))
            .await
            .unwrap();
    }
    tickets
}

#[tokio::test]
async fn middleware_wraps_partition_reads_listings_pages_and_content() {
    let db = Database::connect("memory://wiring-more-mw").await.unwrap();
    let r = tickets(&db).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    for op in [
        Operation::GetFromPartition,
        Operation::ListIds,
        Operation::Page,
        Operation::GetAll,
        Operation::DeleteAll,
        Operation::Content,
        Operation::HasContent,
        Operation::SetContent,
        Operation::DeleteContent,
    ] {
        let log = log.clone();
        r.middlewares().register(op, move |ctx, next| {
            let log = log.clone();
            async move {
                let entry = format!("{}({})", ctx.operation, ctx.args.kind());
                let out = next.run(ctx).await?;
                log.lock().unwrap().push(format!("{entry}->{}", out.kind()));
                Ok(out)
            }
        });
    }
    let mut sub = db.events().subscribe();
    let open = rec(json!({"status": "open"}));
    assert_eq!(
        r.get_from_partition("t3", "byStatus", &open).await.unwrap()["title"],
        "t3"
    );
    assert_eq!(r.list_ids().await.unwrap(), ["t1", "t2", "t3"]);
    let page = r
        .page(&s3db_core::PageRequest {
            size: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_cursor.is_some(), "the cursor survives the chain");
    assert_eq!(r.get_all().await.unwrap().len(), 3);
    r.set_content("t1", bytes::Bytes::from_static(b"hello"), "text/plain")
        .await
        .unwrap();
    assert!(r.has_content("t1").await.unwrap());
    let content = r.content("t1").await.unwrap().unwrap();
    assert_eq!(&content.body[..], b"hello");
    assert_eq!(content.content_type.as_deref(), Some("text/plain"));
    r.delete_content("t1").await.unwrap();
    assert_eq!(r.content("t1").await.unwrap(), None);
    assert_eq!(r.delete_all().await.unwrap(), 3);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "getFromPartition(options)->record",
            "listIds(options)->ids",
            "page(options)->options",
            "getAll(options)->records",
            "setContent(content)->no",
            "hasContent(id)->flag",
            "content(id)->content",
            "deleteContent(id)->no",
            "content(id)->no",
            "deleteAll(no)->count",
        ]
    );
    let names: Vec<&str> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "fetched",
            "listed-ids",
            "content-set",
            "content-fetched",
            "content-deleted",
            "content-fetched",
            "deleted-all-data",
        ]
    );
}

#[tokio::test]
async fn middleware_rewrites_partition_reads_and_filters_pages() {
    let db = Database::connect("memory://wiring-rewrite-mw")
        .await
        .unwrap();
    let r = tickets(&db).await;
    r.middlewares()
        .register(Operation::GetFromPartition, |mut ctx, next| async move {
            if let Payload::Options(options) = &mut ctx.args {
                options.insert("id".into(), json!("t1"));
            }
            next.run(ctx).await
        });
    let open = rec(json!({"status": "open"}));
    assert_eq!(
        r.get_from_partition("t3", "byStatus", &open).await.unwrap()["id"],
        "t1"
    );
    // A middleware dropping records from a page keeps the listing's cursor.
    r.middlewares()
        .register(Operation::Page, |ctx, next| async move {
            let mut page = next.run(ctx).await?.into_options()?;
            if let Some(Value::Array(items)) = page.get_mut("items") {
                items.retain(|r| r["status"] != "done");
            }
            Ok(Payload::Options(page))
        });
    let mut request = s3db_core::PageRequest {
        size: 2,
        ..Default::default()
    };
    let first = r.page(&request).await.unwrap();
    assert_eq!(first.items.len(), 1);
    request.cursor = first.next_cursor;
    let second = r.page(&request).await.unwrap();
    assert_eq!(second.items[0]["id"], "t3");
    assert!(second.next_cursor.is_none());
    // Rewritten get-all options are used.
    r.middlewares()
        .register(Operation::GetAll, |mut ctx, next| async move {
            if let Payload::Options(options) = &mut ctx.args {
                options.insert("partition".into(), json!("byStatus"));
                options.insert("partitionValues".into(), json!({"status": "done"}));
            }
            next.run(ctx).await
        });
    let done = r.get_all().await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["id"], "t2");
    // A short-circuiting content middleware answers without reading.
    r.middlewares()
        .register(Operation::HasContent, |_ctx, _next| async move {
            Ok(Payload::Flag(true))
        });
    assert!(r.has_content("nope").await.unwrap());
}

#[tokio::test]
async fn listing_events_fire_once_without_middleware() {
    let db = Database::connect("memory://wiring-list-events")
        .await
        .unwrap();
    let r = tickets(&db).await;
    let mut sub = db.events().subscribe();
    r.list_ids().await.unwrap();
    r.get_all().await.unwrap();
    r.delete_all().await.unwrap();
    let events: Vec<_> = std::iter::from_fn(|| sub.try_recv()).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&*events[0], Event::ListedIds { count: 3, .. }));
    // Three records and their three references.
    assert!(matches!(&*events[1], Event::DeletedAll { count: 6, .. }));
}

#[tokio::test]
async fn update_with_runs_after_update_hooks() {
    let db = Database::connect("memory://wiring-update-with")
        .await
        .unwrap();
    let r = people(&db).await;
    r.insert(rec(json!({"id": "a", "name": "Ana", "age": 1})))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    r.hooks()
        .register(HookPoint::AfterUpdate, move |_, data: Payload| {
            let log = log.clone();
            async move {
                if let Payload::Record(record) = &data {
                    log.lock().unwrap().push(record["age"].clone());
                }
                Ok(data)
            }
        });
    let stored = r
        .update_with("a", |current| {
            let mut next = current.clone();
            let age = current["age"].as_i64().unwrap_or(0);
            next.insert("age".into(), json!(age + 1));
            Ok(next)
        })
        .await
        .unwrap();
    assert_eq!(stored["age"], 2);
    assert_eq!(*seen.lock().unwrap(), [json!(2)]);
}
