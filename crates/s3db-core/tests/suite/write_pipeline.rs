//! One write pipeline: every write method passes through the middleware of the write
//! operations (what audit, cache, metrics and replicator plugins register on), and
//! `update_with` through `update`'s hooks as well.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream;
use s3db_core::extend::{HookPoint, Operation, Payload};
use s3db_core::{Database, Record, Resource, ResourceConfig};
use serde_json::{Value, json};

fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

/// A resource whose write middleware log each call they wrap (`operation`).
async fn counted(db: &Database) -> (Resource, Arc<Mutex<Vec<&'static str>>>) {
    let r = db
        .create_resource(
            ResourceConfig::new("items")
                .attribute("n", "number")
                .attribute("tag", "string|optional")
                .paranoid(false),
        )
        .await
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    for operation in Operation::ALL.into_iter().filter(|op| op.is_write()) {
        let log = log.clone();
        r.middlewares().register(operation, move |ctx, next| {
            log.lock().unwrap().push(ctx.operation.as_str());
            next.run(ctx)
        });
    }
    (r, log)
}

/// The log since the last call.
fn take(log: &Mutex<Vec<&'static str>>) -> Vec<&'static str> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn every_write_method_runs_write_middleware() {
    let db = Database::connect("memory://write-pipeline").await.unwrap();
    let (r, log) = counted(&db).await;

    r.insert(rec(json!({"id": "a", "n": 1}))).await.unwrap();
    assert_eq!(take(&log), ["insert"]);
    r.update("a", rec(json!({"n": 2}))).await.unwrap();
    assert_eq!(take(&log), ["update"]);
    r.patch("a", rec(json!({"n": 3}))).await.unwrap();
    assert_eq!(take(&log), ["patch"]);
    r.replace("a", rec(json!({"n": 4}))).await.unwrap();
    assert_eq!(take(&log), ["replace"]);
    let stored = r
        .update_with("a", |current| {
            let mut next = current.clone();
            next.insert("n".into(), json!(current["n"].as_i64().unwrap() + 1));
            Ok(next)
        })
        .await
        .unwrap();
    assert_eq!(stored["n"], 5);
    assert_eq!(take(&log), ["update"]);
    // upsert wraps the insert or update it makes.
    r.upsert(rec(json!({"id": "a", "n": 6}))).await.unwrap();
    assert_eq!(take(&log), ["upsert", "update"]);
    r.upsert(rec(json!({"id": "b", "n": 1}))).await.unwrap();
    assert_eq!(take(&log), ["upsert", "insert"]);
    // Bulk and streamed inserts: each record through `insert`.
    let results = r
        .insert_many(vec![
            rec(json!({"id": "c", "n": 1})),
            rec(json!({"id": "d", "n": 1})),
        ])
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(take(&log), ["insert", "insert"]);
    let report = r
        .write(
            stream::iter([
                rec(json!({"id": "e", "n": 1})),
                rec(json!({"id": "f", "n": 1})),
            ]),
            1,
        )
        .await;
    assert_eq!(report.written, 2);
    assert_eq!(take(&log), ["insert", "insert"]);
    // Content.
    r.set_content("a", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap();
    assert_eq!(take(&log), ["setContent"]);
    r.delete_content("a").await.unwrap();
    assert_eq!(take(&log), ["deleteContent"]);
    // Deletes.
    r.delete("a").await.unwrap();
    assert_eq!(take(&log), ["delete"]);
    assert_eq!(r.delete_many(&["b".into(), "c".into()]).await.unwrap(), 2);
    assert_eq!(take(&log), ["deleteMany"]);
    assert_eq!(r.delete_all().await.unwrap(), 3);
    assert_eq!(take(&log), ["deleteAll"]);
}

#[tokio::test]
async fn update_with_runs_update_hooks_and_merges_their_changes() {
    let db = Database::connect("memory://write-pipeline-hooks")
        .await
        .unwrap();
    let (r, _log) = counted(&db).await;
    r.insert(rec(json!({"id": "a", "n": 1}))).await.unwrap();
    // A beforeUpdate hook adds a field to the change set; it is merged over the
    // closure's result.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let before_log = seen.clone();
    r.hooks()
        .register(HookPoint::BeforeUpdate, move |_, mut data: Payload| {
            let log = before_log.clone();
            async move {
                if let Payload::Change { id, record } = &mut data {
                    log.lock()
                        .unwrap()
                        .push(format!("before {id} {}", record.len()));
                    record.insert("tag".into(), json!("hooked"));
                }
                Ok(data)
            }
        });
    let after_log = seen.clone();
    r.hooks()
        .register(HookPoint::AfterUpdate, move |_, data: Payload| {
            let log = after_log.clone();
            async move {
                if let Payload::Record(record) = &data {
                    log.lock().unwrap().push(format!("after {}", record["n"]));
                }
                Ok(data)
            }
        });
    let stored = r
        .update_with("a", |current| {
            let mut next = current.clone();
            next.insert("n".into(), json!(current["n"].as_i64().unwrap() * 10));
            Ok(next)
        })
        .await
        .unwrap();
    assert_eq!(stored["n"], 10);
    assert_eq!(stored["tag"], "hooked");
    assert_eq!(r.get("a").await.unwrap()["tag"], "hooked");
    assert_eq!(*seen.lock().unwrap(), ["before a 0", "after 10"]);

    // A middleware may short-circuit it like any update.
    r.middlewares()
        .register(Operation::Update, |_ctx, _next| async move {
            Ok(Payload::Record(rec(json!({"id": "a", "n": -1}))))
        });
    let answered = r.update_with("a", |_| unreachable!()).await.unwrap();
    assert_eq!(answered["n"], -1);
    assert_eq!(r.get("a").await.unwrap()["n"], 10);
}
