//! Hook points and events not covered elsewhere: after-delete, exists, list, count, query and
//! get-many hooks; `ExceedsLimit` and `PartitionIndexError` events.

use std::sync::{Arc, Mutex};

use s3db_core::extend::{Event, HookPoint, Operation as ResourceOperation, Payload};
use s3db_core::{Database, Error, ListRequest, QueryOptions, Record, Resource, ResourceConfig};
use s3db_storage::layers::{Fault, FaultPlan, Faults, RetryConfig};
use s3db_storage::{ErrorKind, MemoryStorage, Operation, Storage, StorageExt};
use serde_json::{Value, json};

fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

fn ids(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

async fn tasks(db: &Database) -> Resource {
    let tasks = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "tasks",
                "attributes": {"title": "string", "status": "string"},
                "partitions": {"byStatus": {"fields": {"status": "string"}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    for (id, status) in [("a", "open"), ("b", "done"), ("c", "open")] {
        tasks
            .insert(rec(json!({"id": id, "title": id, "status": status})))
            .await
            .unwrap();
    }
    tasks
}

/// Registers a hook at `point` that records what it receives and hands back `rewrite` of it.
fn spy(
    resource: &Resource,
    point: HookPoint,
    rewrite: impl Fn(Payload) -> Payload + Send + Sync + 'static,
) -> Arc<Mutex<Vec<Payload>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rewrite = Arc::new(rewrite);
    resource.hooks().register(point, move |_, data: Payload| {
        let log = log.clone();
        let rewrite = rewrite.clone();
        async move {
            log.lock().unwrap().push(data.clone());
            Ok(rewrite(data))
        }
    });
    seen
}

fn seen(log: &Arc<Mutex<Vec<Payload>>>) -> Vec<Payload> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn after_delete_receives_the_deleted_record() {
    let db = Database::connect("memory://points-delete").await.unwrap();
    let tasks = tasks(&db).await;
    let log = spy(&tasks, HookPoint::AfterDelete, |p| p);
    tasks.delete("b").await.unwrap();
    match seen(&log).as_slice() {
        [Payload::Record(record)] => {
            assert_eq!(record["id"], "b");
            assert_eq!(record["status"], "done");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn exists_hooks_redirect_the_id_and_rewrite_the_answer() {
    let db = Database::connect("memory://points-exists").await.unwrap();
    let tasks = tasks(&db).await;
    let before = spy(&tasks, HookPoint::BeforeExists, |p| match p {
        Payload::Id(id) if id == "alias" => Payload::Id("a".into()),
        other => other,
    });
    let after = spy(&tasks, HookPoint::AfterExists, |p| p);
    assert!(tasks.exists("alias").await.unwrap());
    assert!(!tasks.exists("zzz").await.unwrap());
    assert_eq!(
        seen(&before),
        [Payload::Id("alias".into()), Payload::Id("zzz".into())]
    );
    assert_eq!(seen(&after), [Payload::Flag(true), Payload::Flag(false)]);

    // An after-hook may change the answer.
    spy(&tasks, HookPoint::AfterExists, |_| Payload::Flag(true));
    assert!(tasks.exists("zzz").await.unwrap());
}

#[tokio::test]
async fn list_hooks_rewrite_the_options_and_the_records() {
    let db = Database::connect("memory://points-list").await.unwrap();
    let tasks = tasks(&db).await;
    let before = spy(&tasks, HookPoint::BeforeList, |p| match p {
        Payload::Options(mut options) => {
            options.insert("partition".into(), json!("byStatus"));
            options.insert("partitionValues".into(), json!({"status": "open"}));
            Payload::Options(options)
        }
        other => other,
    });
    let after = spy(&tasks, HookPoint::AfterList, |p| match p {
        Payload::Records(mut records) => {
            records.truncate(1);
            Payload::Records(records)
        }
        other => other,
    });
    let listed = tasks.list(&ListRequest::all().limit(10)).await.unwrap();
    assert_eq!(ids(&listed), ["a"]);
    match seen(&before).as_slice() {
        [Payload::Options(options)] => {
            assert_eq!(options["limit"], 10);
            assert_eq!(options.get("partition"), None);
        }
        other => panic!("unexpected {other:?}"),
    }
    match seen(&after).as_slice() {
        [Payload::Records(records)] => assert_eq!(ids(records), ["a", "c"]),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn count_hooks_rewrite_the_options_and_the_count() {
    let db = Database::connect("memory://points-count").await.unwrap();
    let tasks = tasks(&db).await;
    let before = spy(&tasks, HookPoint::BeforeCount, |p| match p {
        Payload::Options(mut options) => {
            options.insert("partition".into(), json!("byStatus"));
            options.insert("partitionValues".into(), json!({"status": "done"}));
            Payload::Options(options)
        }
        other => other,
    });
    let after = spy(&tasks, HookPoint::AfterCount, |p| match p {
        Payload::Count(n) => Payload::Count(n + 100),
        other => other,
    });
    assert_eq!(tasks.count().await.unwrap(), 101);
    assert!(matches!(seen(&before).as_slice(), [Payload::Options(_)]));
    assert_eq!(seen(&after), [Payload::Count(1)]);
}

#[tokio::test]
async fn query_hooks_narrow_the_filter_and_see_the_records() {
    let db = Database::connect("memory://points-query").await.unwrap();
    let tasks = tasks(&db).await;
    let before = spy(&tasks, HookPoint::BeforeQuery, |p| match p {
        Payload::Options(mut options) => {
            options.insert("filter".into(), json!({"status": "open", "title": "c"}));
            Payload::Options(options)
        }
        other => other,
    });
    let after = spy(&tasks, HookPoint::AfterQuery, |p| p);
    let found = tasks
        .query(&json!({"status": "open"}), &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(ids(&found), ["c"]);
    match seen(&before).as_slice() {
        [Payload::Options(options)] => {
            assert_eq!(options["filter"], json!({"status": "open"}));
            assert_eq!(options["allowScan"], false);
        }
        other => panic!("unexpected {other:?}"),
    }
    match seen(&after).as_slice() {
        [Payload::Records(records)] => assert_eq!(ids(records), ["c"]),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn get_many_hooks_rewrite_the_ids_and_see_the_records() {
    let db = Database::connect("memory://points-get-many").await.unwrap();
    let tasks = tasks(&db).await;
    let before = spy(&tasks, HookPoint::BeforeGetMany, |p| match p {
        Payload::Ids(mut ids) => {
            ids.push("c".into());
            Payload::Ids(ids)
        }
        other => other,
    });
    let after = spy(&tasks, HookPoint::AfterGetMany, |p| p);
    let mut sub = db.events().subscribe();
    let got = tasks
        .get_many(&["a".into(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(ids(&got), ["a", "c"]);
    assert_eq!(
        seen(&before),
        [Payload::Ids(vec!["a".into(), "missing".into()])]
    );
    match seen(&after).as_slice() {
        [Payload::Records(records)] => assert_eq!(ids(records), ["a", "c"]),
        other => panic!("unexpected {other:?}"),
    }
    let events: Vec<_> = std::iter::from_fn(|| sub.try_recv()).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(*events[0], Event::FetchedMany { count: 2, .. }));
}

#[tokio::test]
async fn a_user_managed_record_over_the_limit_emits_exceeds_limit() {
    let db = Database::connect("memory://points-exceeds").await.unwrap();
    let notes = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "notes",
                "behavior": "user-managed",
                "attributes": {"text": "string"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let mut sub = db.events().subscribe();
    notes
        .insert(rec(json!({"id": "small", "text": "short"})))
        .await
        .unwrap();
    assert!(sub.try_recv().is_some_and(|e| e.name() == "inserted"));
    assert!(
        sub.try_recv().is_none(),
        "a record that fits emits nothing more"
    );

    let text = "x".repeat(3000);
    notes
        .insert(rec(json!({"id": "big", "text": text})))
        .await
        .unwrap();
    assert_eq!(notes.get("big").await.unwrap()["text"], json!(text));
    let events: Vec<_> = std::iter::from_fn(|| sub.try_recv()).collect();
    let exceeded: Vec<_> = events
        .iter()
        .filter_map(|e| match &**e {
            Event::ExceedsLimit {
                resource,
                operation,
                id,
                total_size,
                limit,
                excess,
            } => Some((
                resource.clone(),
                *operation,
                id.clone(),
                *total_size,
                *limit,
                *excess,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(exceeded.len(), 1, "{events:?}");
    let (resource, operation, id, total, limit, excess) = exceeded[0].clone();
    assert_eq!(resource, "notes");
    assert_eq!(operation, ResourceOperation::Insert);
    assert_eq!(id.as_deref(), Some("big"));
    assert!(total > 3000 && limit < 2048, "{total} {limit}");
    assert_eq!(excess, total - limit);
}

#[tokio::test]
async fn a_failed_reference_write_emits_partition_index_error() {
    let inner: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let setup = Database::builder(inner.clone()).open().await.unwrap();
    tasks(&setup).await;
    // The record PUT passes, the reference PUT fails.
    let faults = Faults::new(
        inner.clone(),
        FaultPlan::script([Fault::Pass, Fault::Fail(ErrorKind::Unavailable)])
            .only(&[Operation::Put]),
    );
    // Without retries, so the injected failure reaches the insert.
    let db = Database::builder(Arc::new(faults))
        .retry(RetryConfig::disabled())
        .open()
        .await
        .unwrap();
    let tasks = db.resource("tasks").unwrap();
    let mut sub = db.events().subscribe();
    let result = tasks
        .insert(rec(json!({"id": "d", "title": "d", "status": "late"})))
        .await;
    assert!(
        matches!(result, Err(Error::Storage(ref e)) if e.kind() == ErrorKind::Unavailable),
        "{result:?}"
    );
    assert!(inner.exists("resource=tasks/data/id=d").await.unwrap());
    let events: Vec<_> = std::iter::from_fn(|| sub.try_recv()).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    match &*events[0] {
        Event::PartitionIndexError {
            resource,
            operation,
            id,
            partition,
            message,
        } => {
            assert_eq!(resource, "tasks");
            assert_eq!(*operation, ResourceOperation::Insert);
            assert_eq!(id, "d");
            assert_eq!(partition, "byStatus");
            assert!(!message.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
}
