//! Replicator: the s3db database target (memory → file), the JSONL sink, routes with
//! renaming and transforms, retries, dead letters, the queue off the write path and the
//! journal replayed after a process died.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{
    Write, create, define_timestamped, fast_retry, insert_each, install_replicator, rec, run_writes,
};
use s3db_core::extend::{Plugin, PluginContext};
use s3db_core::{Database, ResourceConfig};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::replicator::{
    ChangeOp, DatabaseTarget, JsonlTarget, ReplicationTarget, Replicator, Route, TargetChange,
};
use s3db_storage::StorageExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

async fn memory_db() -> Database {
    common::memory_db("replicator").await
}

async fn users(db: &Database, name: &str) -> s3db_core::Resource {
    let attributes = json!({
        "name": "string|required",
        "email": "string|optional",
        "password": "string|optional",
        "score": "number|optional",
        "profile": {"$$type": "object|optional", "city": "string|optional"}
    });
    define_timestamped(db, name, attributes).await
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A scripted sequence of every kind of write on `users`.
async fn script(users: &s3db_core::Resource) {
    run_writes(
        users,
        [
            Write::Insert(json!({"id": "u1", "name": "Ana", "score": 1})),
            Write::Insert(json!({"id": "u2", "name": "Bob", "profile": {"city": "Porto"}})),
            Write::InsertMany(vec![
                json!({"id": "u3", "name": "Cid"}),
                json!({"id": "u4", "name": "Dee"}),
            ]),
            Write::Update("u1", json!({"score": 2})),
            Write::Patch("u2", json!({"profile": {"city": "Faro"}})),
            Write::Replace("u3", json!({"name": "Cid II"})),
            Write::Upsert(json!({"id": "u5", "name": "Eve"})),
            Write::Upsert(json!({"id": "u4", "email": "dee@x.io"})),
            Write::Delete("u3"),
            Write::DeleteMany(&["u5", "nobody"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_file_database_equals_the_memory_source_after_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let backup = Database::connect(&format!("file://{}", dir.path().display()))
        .await
        .unwrap();
    let db = memory_db().await;
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(DatabaseTarget::new(backup.clone()), [Route::all()]),
    )
    .await;
    let source = users(&db, "users").await;
    script(&source).await;
    replicator.flush().await.unwrap();

    let copy = backup.resource("users").unwrap();
    let expected = source.get_all().await.unwrap();
    assert_eq!(
        expected
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["u1", "u2", "u4"]
    );
    // Timestamps are copied, not re-stamped.
    assert_eq!(copy.get_all().await.unwrap(), expected);
    assert_eq!(copy.attributes(), source.attributes());
    // A fresh handle on the backup's bucket sees the same data.
    let reopened = Database::connect(&format!("file://{}", dir.path().display()))
        .await
        .unwrap();
    assert_eq!(
        reopened.resource("users").unwrap().get_all().await.unwrap(),
        expected
    );
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn the_jsonl_sink_has_one_line_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changes.jsonl");
    let db = memory_db().await;
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(JsonlTarget::file(&path), [Route::all()]),
    )
    .await;
    let source = create(
        &db,
        ResourceConfig::new("notes")
            .attribute("text", "string")
            .paranoid(false),
    )
    .await;
    run_writes(
        &source,
        [
            Write::Insert(json!({"id": "n1", "text": "a"})),
            Write::Insert(json!({"id": "n2", "text": "b"})),
            Write::Update("n1", json!({"text": "c"})),
            Write::Replace("n2", json!({"text": "d"})),
            Write::Delete("n1"),
            Write::DeleteMany(&["n2"]),
            Write::Insert(json!({"id": "n3", "text": "e"})),
            Write::Insert(json!({"id": "n4", "text": "e"})),
        ],
    )
    .await;
    assert_eq!(source.delete_all().await.unwrap(), 2);
    replicator.flush().await.unwrap();

    assert_eq!(
        lines(&path),
        [
            json!({"op": "upsert", "resource": "notes", "id": "n1", "record": {"text": "a", "id": "n1"}}),
            json!({"op": "upsert", "resource": "notes", "id": "n2", "record": {"text": "b", "id": "n2"}}),
            json!({"op": "upsert", "resource": "notes", "id": "n1", "record": {"text": "c", "id": "n1"}}),
            json!({"op": "upsert", "resource": "notes", "id": "n2", "record": {"text": "d", "id": "n2"}}),
            json!({"op": "delete", "resource": "notes", "id": "n1"}),
            json!({"op": "delete", "resource": "notes", "id": "n2"}),
            json!({"op": "upsert", "resource": "notes", "id": "n3", "record": {"text": "e", "id": "n3"}}),
            json!({"op": "upsert", "resource": "notes", "id": "n4", "record": {"text": "e", "id": "n4"}}),
            json!({"op": "delete", "resource": "notes", "id": "n3"}),
            json!({"op": "delete", "resource": "notes", "id": "n4"}),
        ]
    );
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn routes_rename_transform_and_select_resources() {
    let dir = tempfile::tempdir().unwrap();
    let all_path = dir.path().join("all.jsonl");
    let public_path = dir.path().join("public.jsonl");
    let db = memory_db().await;
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .target(
                JsonlTarget::file(&public_path).named("public"),
                [Route::resource("users")
                    .rename("public_users")
                    .transform(|mut record| {
                        if record.get("name") == Some(&json!("hidden")) {
                            return None;
                        }
                        record.shift_remove("password");
                        record.shift_remove("createdAt");
                        record.shift_remove("updatedAt");
                        record.insert("source".into(), json!("s3db"));
                        Some(record)
                    })],
            )
            .target(
                JsonlTarget::file(&all_path).named("all"),
                [Route::resource("orders")],
            ),
    )
    .await;
    let users = users(&db, "users").await;
    let orders = create(
        &db,
        ResourceConfig::new("orders").attribute("total", "number"),
    )
    .await;
    let ignored = create(&db, ResourceConfig::new("logs").attribute("line", "string")).await;
    insert_each(
        &users,
        [
            json!({"id": "u1", "name": "Ana", "password": "s3cret"}),
            json!({"id": "u2", "name": "hidden", "password": "x"}),
        ],
    )
    .await;
    insert_each(&orders, [json!({"id": "o1", "total": 10})]).await;
    insert_each(&ignored, [json!({"id": "l1", "line": "nothing"})]).await;
    users.delete("u2").await.unwrap();
    replicator.flush().await.unwrap();

    assert_eq!(
        lines(&public_path),
        [
            json!({"op": "upsert", "resource": "public_users", "id": "u1",
                   "record": {"name": "Ana", "id": "u1", "source": "s3db"}}),
            json!({"op": "delete", "resource": "public_users", "id": "u2"}),
        ]
    );
    assert_eq!(
        lines(&all_path),
        [json!({"op": "upsert", "resource": "orders", "id": "o1",
                "record": {"total": 10, "id": "o1"}})]
    );
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.skipped), (3, 1));
    db.disconnect().await.unwrap();
}

/// Fails while `down` is set; records what it applied.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    fail_next: AtomicUsize,
    applied: Mutex<Vec<(ChangeOp, String, Option<Value>)>>,
}

#[async_trait]
impl ReplicationTarget for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    async fn apply(&self, change: &TargetChange) -> s3db_plugins::Result<()> {
        let transient = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if transient || self.down.load(Ordering::SeqCst) {
            return Err(s3db_plugins::Error::Target {
                target: "flaky".into(),
                reason: "connection refused".into(),
                source: None,
            });
        }
        let name = change.record.as_ref().and_then(|r| r.get("name").cloned());
        self.applied
            .lock()
            .unwrap()
            .push((change.op, change.id.clone(), name));
        Ok(())
    }
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let db = memory_db().await;
    let flaky = Arc::new(Flaky::default());
    flaky.fail_next.store(2, Ordering::SeqCst);
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .shared_target(flaky.clone(), [Route::all()])
            .retry(fast_retry(3)),
    )
    .await;
    let users = users(&db, "users").await;
    insert_each(&users, [json!({"id": "u1", "name": "Ana"})]).await;
    replicator.flush().await.unwrap();
    let stats = replicator.stats();
    assert_eq!(
        (stats.replicated, stats.failures, stats.dead_letters),
        (1, 2, 0)
    );
    assert_eq!(flaky.applied.lock().unwrap().len(), 1);
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn dead_letters_are_stored_and_replayed_with_the_current_state() {
    let db = memory_db().await;
    let flaky = Arc::new(Flaky::default());
    flaky.down.store(true, Ordering::SeqCst);
    let clock = Arc::new(ManualClock::at_millis(1_700_000_000_000));
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .shared_target(flaky.clone(), [Route::all()])
            .retry(fast_retry(2))
            .clock(clock),
    )
    .await;
    let users = users(&db, "users").await;
    insert_each(
        &users,
        [
            json!({"id": "u1", "name": "Ana"}),
            json!({"id": "u2", "name": "Bob"}),
        ],
    )
    .await;
    users.delete("u2").await.unwrap();
    replicator.flush().await.unwrap();

    let letters = replicator.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 3);
    let first = &letters[0];
    assert_eq!(
        (
            first.target.as_str(),
            first.resource.as_str(),
            first.target_resource.as_str(),
            first.op,
            first.id.as_str(),
            first.attempts,
        ),
        ("flaky", "users", "users", ChangeOp::Upsert, "u1", 2)
    );
    assert_eq!(first.payload.as_ref().unwrap()["name"], "Ana");
    assert!(
        first.error.contains("connection refused"),
        "{}",
        first.error
    );
    assert_eq!(first.failed_at, "2023-11-14T22:13:20.000Z");
    assert_eq!(letters[2].op, ChangeOp::Delete);
    let stats = replicator.stats();
    assert_eq!(
        (stats.replicated, stats.failures, stats.dead_letters),
        (0, 6, 3)
    );
    let raw = db
        .storage()
        .get(&format!("plugin=replicator/{}", first.key))
        .await
        .unwrap();
    let stored: Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(stored["target"], "flaky");
    assert_eq!(stored["op"], "upsert");

    // Still down: kept, attempts counted.
    let report = replicator.retry_dead_letters().await.unwrap();
    assert_eq!((report.replayed, report.failed), (0, 3));
    assert!(
        replicator
            .dead_letters()
            .await
            .unwrap()
            .iter()
            .all(|l| l.attempts == 4)
    );

    // A write made meanwhile is what the replay sends, not the old payload.
    flaky.down.store(false, Ordering::SeqCst);
    users
        .update("u1", rec(json!({"name": "Ana Maria"})))
        .await
        .unwrap();
    replicator.flush().await.unwrap();
    let report = replicator.retry_dead_letters().await.unwrap();
    assert_eq!((report.replayed, report.failed), (3, 0));
    assert!(replicator.dead_letters().await.unwrap().is_empty());
    assert_eq!(
        *flaky.applied.lock().unwrap(),
        [
            (ChangeOp::Upsert, "u1".into(), Some(json!("Ana Maria"))),
            (ChangeOp::Upsert, "u1".into(), Some(json!("Ana Maria"))),
            (ChangeOp::Delete, "u2".into(), None),
            (ChangeOp::Delete, "u2".into(), None),
        ]
    );
    assert_eq!(replicator.stats().dead_letters_replayed, 3);
    db.disconnect().await.unwrap();
}

/// Holds every change until a permit is added.
struct Gate {
    permits: Semaphore,
    applied: AtomicUsize,
}

#[async_trait]
impl ReplicationTarget for Gate {
    fn name(&self) -> &str {
        "gate"
    }

    async fn apply(&self, _change: &TargetChange) -> s3db_plugins::Result<()> {
        let permit = self.permits.acquire().await;
        if let Ok(permit) = permit {
            permit.forget();
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn writes_do_not_wait_for_the_targets_and_stop_drains_the_queue() {
    let db = memory_db().await;
    let gate = Arc::new(Gate {
        permits: Semaphore::new(0),
        applied: AtomicUsize::new(0),
    });
    let replicator = install_replicator(
        &db,
        Replicator::builder().shared_target(gate.clone(), [Route::all()]),
    )
    .await;
    let users = users(&db, "users").await;
    for i in 0..5 {
        insert_each(&users, [json!({"id": format!("u{i}"), "name": "x"})]).await;
    }
    // Every insert returned while the target holds the first change.
    assert_eq!(replicator.stats().queue_len, 5);
    assert_eq!(gate.applied.load(Ordering::SeqCst), 0);

    gate.permits.add_permits(5);
    // disconnect stops the plugin, which applies everything queued first.
    db.disconnect().await.unwrap();
    assert_eq!(gate.applied.load(Ordering::SeqCst), 5);
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.queue_len), (5, 0));
    assert_eq!(stats.lag_samples, 5);
    assert!(stats.lag_p95 >= stats.lag_p50);
}

/// Takes batches of up to three. Records the ids of each call, and refuses batches
/// holding the id `poison`.
#[derive(Default)]
struct Batches {
    calls: Mutex<Vec<Vec<String>>>,
}

#[async_trait]
impl ReplicationTarget for Batches {
    fn name(&self) -> &str {
        "batches"
    }

    async fn apply(&self, change: &TargetChange) -> s3db_plugins::Result<()> {
        self.apply_batch(std::slice::from_ref(change)).await
    }

    fn max_batch(&self) -> usize {
        3
    }

    async fn apply_batch(&self, changes: &[TargetChange]) -> s3db_plugins::Result<()> {
        let ids: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
        if ids.len() > 1 && ids.iter().any(|id| id == "poison") {
            return Err(s3db_plugins::Error::Target {
                target: "batches".into(),
                reason: "refused".into(),
                source: None,
            });
        }
        self.calls.lock().unwrap().push(ids);
        Ok(())
    }
}

#[tokio::test]
async fn changes_queued_together_go_in_batches_and_a_refused_batch_one_by_one() {
    let db = memory_db().await;
    let target = Arc::new(Batches::default());
    let replicator = install_replicator(
        &db,
        Replicator::builder().shared_target(target.clone(), [Route::all()]),
    )
    .await;
    let users = users(&db, "users").await;
    // Stopped, the replicator queues the changes; started, it finds all seven queued.
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    for id in ["a", "b", "c", "d", "poison", "e", "f"] {
        insert_each(&users, [json!({"id": id, "name": "x"})]).await;
    }
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();
    let calls = target.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            vec!["a", "b", "c"],
            // [d, poison, e] was refused whole, then applied one by one.
            vec!["d"],
            vec!["poison"],
            vec!["e"],
            vec!["f"],
        ]
    );
    let stats = replicator.stats();
    assert_eq!(
        (stats.replicated, stats.batches, stats.batch_failures),
        (7, 1, 1)
    );
    assert_eq!(stats.failures, 0, "a refused batch is not a failed attempt");
    assert_eq!(stats.lag_samples, 7);
    db.disconnect().await.unwrap();
}

/// The journal entries left in the replicator's storage area.
async fn pending(db: &Database) -> Vec<String> {
    db.storage()
        .list_keys("plugin=replicator/pending/")
        .await
        .unwrap()
}

#[tokio::test]
async fn the_journal_replays_what_a_dead_process_left() {
    // A first process journals its changes, but its target never acknowledges them and
    // it dies (is dropped) with all of them queued.
    let first = memory_db().await;
    let gate = Arc::new(Gate {
        permits: Semaphore::new(0),
        applied: AtomicUsize::new(0),
    });
    install_replicator(
        &first,
        Replicator::builder()
            .journal(true)
            .shared_target(gate.clone(), [Route::all()]),
    )
    .await;
    let source = users(&first, "users").await;
    run_writes(
        &source,
        [
            Write::Insert(json!({"id": "u1", "name": "Ana"})),
            Write::Insert(json!({"id": "u2", "name": "Bob"})),
            Write::Insert(json!({"id": "u3", "name": "Cid"})),
            Write::Update("u1", json!({"score": 2})),
            Write::Delete("u2"),
        ],
    )
    .await;
    assert_eq!(pending(&first).await.len(), 5, "one entry per change");
    assert_eq!(gate.applied.load(Ordering::SeqCst), 0);
    let storage = first.storage().clone();
    drop(source);
    drop(first);

    // The next process on the same bucket replays each record once, from its current state.
    let second = Database::builder(storage).open().await.unwrap();
    let backup = common::memory_db("replicator-journal-backup").await;
    let replicator = install_replicator(
        &second,
        Replicator::builder()
            .journal(true)
            .target(DatabaseTarget::new(backup.clone()), [Route::all()]),
    )
    .await;
    replicator.flush().await.unwrap();
    assert_eq!(replicator.stats().recovered, 3, "u1, u2 and u3");
    assert!(pending(&second).await.is_empty());
    let copies = backup.resource("users").unwrap();
    let u1 = copies.get("u1").await.unwrap();
    assert_eq!((&u1["name"], &u1["score"]), (&json!("Ana"), &json!(2)));
    assert_eq!(copies.get("u3").await.unwrap()["name"], "Cid");
    assert!(matches!(
        copies.get("u2").await,
        Err(s3db_core::Error::NotFound { .. })
    ));

    // Its own changes are journaled and their entries removed once delivered.
    let users = second.resource("users").unwrap();
    insert_each(&users, [json!({"id": "u4", "name": "Dee"})]).await;
    replicator.flush().await.unwrap();
    assert!(pending(&second).await.is_empty());
    assert_eq!(copies.get("u4").await.unwrap()["name"], "Dee");
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.journal_failures), (4, 0));
    second.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_held_target_does_not_delay_the_others() {
    let db = memory_db().await;
    let gate = Arc::new(Gate {
        permits: Semaphore::new(0),
        applied: AtomicUsize::new(0),
    });
    let fast = Arc::new(Flaky::default());
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .journal(true)
            .shared_target(gate.clone(), [Route::all()])
            .shared_target(fast.clone(), [Route::all()]),
    )
    .await;
    let users = users(&db, "users").await;
    for i in 0..3 {
        insert_each(&users, [json!({"id": format!("u{i}"), "name": "x"})]).await;
    }
    // Each target has its own worker: the second gets every change while the first holds.
    let all_applied = async {
        while fast.applied.lock().unwrap().len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), all_applied)
        .await
        .expect("the free target is not held up by the gated one");
    assert_eq!(gate.applied.load(Ordering::SeqCst), 0);
    assert_eq!(replicator.stats().queue_len, 3, "the gated target's three");
    // A journal entry stays until every target has handled its change.
    assert_eq!(pending(&db).await.len(), 3);

    gate.permits.add_permits(3);
    replicator.flush().await.unwrap();
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.queue_len), (6, 0));
    assert!(pending(&db).await.is_empty());
    db.disconnect().await.unwrap();
}

#[test]
fn target_names_must_be_unique_and_plain() {
    let twice = Replicator::builder()
        .target(JsonlTarget::file("a.jsonl"), [Route::all()])
        .target(JsonlTarget::file("b.jsonl"), [Route::all()])
        .build();
    assert!(
        matches!(twice, Err(s3db_plugins::Error::Config { .. })),
        "{twice:?}"
    );
    let slashed = Replicator::builder()
        .target(JsonlTarget::file("a.jsonl").named("a/b"), [Route::all()])
        .build();
    assert!(matches!(slashed, Err(s3db_plugins::Error::Config { .. })));
}

/// A target whose flush fails with an I/O error of its own.
struct FailingFlush;

#[async_trait]
impl ReplicationTarget for FailingFlush {
    fn name(&self) -> &str {
        "failing-flush"
    }

    async fn apply(&self, _change: &TargetChange) -> s3db_plugins::Result<()> {
        Ok(())
    }

    async fn flush(&self) -> s3db_plugins::Result<()> {
        let disk = std::io::Error::other("disk full");
        Err(s3db_plugins::Error::target("failing-flush", "flush", disk))
    }
}

#[tokio::test]
async fn a_target_failure_reaches_the_caller_with_its_source_and_kind() {
    use std::error::Error as _;
    let db = memory_db().await;
    users(&db, "users").await;
    install_replicator(
        &db,
        Replicator::builder().target(FailingFlush, [Route::all()]),
    )
    .await;
    let error = db.disconnect().await.unwrap_err();
    assert!(
        matches!(&error, s3db_core::Error::Plugin { plugin, .. } if plugin == "replicator"),
        "{error:?}"
    );
    // A remote target failing is transient for the replicator, and says so.
    assert_eq!(error.kind(), s3db_core::ErrorKind::Unavailable);
    assert!(error.is_retryable());
    // The plugin's own error, and the target's error under it, are reachable by downcast.
    let plugin = error.source().unwrap();
    let plugin = plugin.downcast_ref::<s3db_plugins::Error>().unwrap();
    assert!(
        matches!(plugin, s3db_plugins::Error::Target { target, .. } if target == "failing-flush")
    );
    let io = plugin
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(io.to_string(), "disk full");
}

#[tokio::test]
async fn a_database_target_keeps_the_core_error_and_its_kind() {
    use std::error::Error as _;
    // The backup database has a resource of the same name whose schema refuses the record.
    let backup = memory_db().await;
    define_timestamped(&backup, "users", json!({"name": "number|required"})).await;
    let target = DatabaseTarget::new(backup.clone());
    let change = TargetChange {
        op: ChangeOp::Upsert,
        resource: "users".into(),
        source_resource: "users".into(),
        id: "u1".into(),
        record: Some(rec(json!({"id": "u1", "name": "ana"}))),
        attributes: Arc::new(serde_json::Map::new()),
    };
    let error = target.apply(&change).await.unwrap_err();
    assert_eq!(error.kind(), s3db_core::ErrorKind::Validation, "{error}");
    let core = error.source().unwrap().downcast_ref::<s3db_core::Error>();
    assert!(
        matches!(core, Some(s3db_core::Error::Validation { .. })),
        "{error:?}"
    );
}
