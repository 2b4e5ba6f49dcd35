//! TTL plugin: every action handles each expired record exactly once (also with two
//! sweepers at once, on memory and on moto), unexpired records stay untouched, the index
//! follows updates and deletes, backfill, and background sweeps on an interval.
//!
//! Expiry time comes from a `ManualClock`; the interval from tokio's paused time.

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::rec;
use s3db_core::extend::{HookPoint, Payload};
use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::clock::{Clock, ManualClock, iso};
use s3db_plugins::ttl::{Action, Expiry, FlagValue, SweepLog, SweepReport, TtlConfig, TtlPlugin};
use s3db_storage::{S3Storage, Storage, StorageExt, testing};
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000_000;

fn memory_url(test: &str) -> String {
    format!("memory://ttl-{test}-{}", testing::unique_bucket_name())
}

/// A resource whose `expiresAt` holds epoch milliseconds.
async fn define(db: &Database, name: &str) -> Resource {
    define_with(db, name, "number|optional").await
}

/// A resource whose `expiresAt` is of type `expires_type`.
async fn define_with(db: &Database, name: &str, expires_type: &str) -> Resource {
    db.create_resource_if_not_exists(
        ResourceConfig::from_json(&json!({
            "name": name,
            "attributes": {
                "name": "string",
                "deletedAt": "string|optional",
                "expiresAt": expires_type
            }
        }))
        .unwrap(),
    )
    .await
    .unwrap()
    .0
}

async fn install(db: &Database, config: TtlConfig, clock: &ManualClock) -> Arc<TtlPlugin> {
    let plugin = Arc::new(TtlPlugin::with_clock(config, Arc::new(clock.clone())).unwrap());
    db.use_plugin(plugin.clone()).await.unwrap();
    plugin
}

/// Ids in the resource, sorted.
async fn ids(resource: &Resource) -> Vec<String> {
    let mut ids = resource.list_ids().await.unwrap();
    ids.sort();
    ids
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Inserts `ids` (with an optional `expiresAt`), returning the stored records by id.
async fn insert_all(
    resource: &Resource,
    ids: &[String],
    expires_at: Option<Value>,
) -> BTreeMap<String, Record> {
    let mut stored = BTreeMap::new();
    for id in ids {
        let mut record = rec(json!({"id": id, "name": format!("n-{id}")}));
        if let Some(at) = &expires_at {
            record.insert("expiresAt".into(), at.clone());
        }
        stored.insert(id.clone(), resource.insert(record).await.unwrap());
    }
    stored
}

async fn assert_untouched(resource: &Resource, stored: &BTreeMap<String, Record>) {
    for (id, record) in stored {
        assert_eq!(
            &resource.get(id).await.unwrap(),
            record,
            "record {id} changed"
        );
    }
}

/// Three records expire (fixed lifetime 60 s), two do not; two sweeps.
struct Scenario {
    db: Database,
    clock: ManualClock,
    plugin: Arc<TtlPlugin>,
    resource: Resource,
    expired: Vec<String>,
    fresh: BTreeMap<String, Record>,
}

async fn scenario(test: &str, action: Action) -> Scenario {
    let db = Database::connect(&memory_url(test)).await.unwrap();
    let resource = define(&db, "items").await;
    define(&db, "archive").await;
    let clock = ManualClock::at_millis(T0);
    let config = TtlConfig::new().resource("items", Expiry::after_secs(60), action);
    let plugin = install(&db, config, &clock).await;
    let expired = names("old", 3);
    insert_all(&resource, &expired, None).await;
    clock.advance(Duration::from_secs(30));
    let fresh = insert_all(&resource, &names("new", 2), None).await;
    clock.advance(Duration::from_secs(40)); // old: 70 s old, new: 40 s
    Scenario {
        db,
        clock,
        plugin,
        resource,
        expired,
        fresh,
    }
}

#[tokio::test]
async fn hard_delete_removes_expired_records_once() {
    let s = scenario("hard", Action::HardDelete).await;
    let first = s.plugin.sweep_now().await.unwrap();
    assert_eq!(first.hard_deleted, 3, "{first:?}");
    assert_eq!(first.handled(), 3);
    assert_eq!(s.plugin.sweep_now().await.unwrap(), SweepReport::default());
    assert_eq!(ids(&s.resource).await, vec!["new0", "new1"]);
    assert_untouched(&s.resource, &s.fresh).await;
    // The handled entries are gone; the fresh ones wait.
    let left: Vec<_> = s.plugin.index_entries("items").await.unwrap();
    assert_eq!(
        left,
        vec![(T0 + 90_000, "new0".into()), (T0 + 90_000, "new1".into())]
    );
    s.db.disconnect().await.unwrap();
}

#[tokio::test]
async fn soft_delete_flags_expired_records_once() {
    let s = scenario("soft", Action::soft_delete("deletedAt")).await;
    let first = s.plugin.sweep_now().await.unwrap();
    assert_eq!(first.soft_deleted, 3, "{first:?}");
    assert_eq!(s.plugin.sweep_now().await.unwrap(), SweepReport::default());
    let now = iso(s.clock.now());
    for id in &s.expired {
        assert_eq!(s.resource.get(id).await.unwrap()["deletedAt"], json!(now));
    }
    // Later writes to a flagged record do not bring it back into the index.
    s.resource
        .update("old0", rec(json!({"name": "renamed"})))
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(3_600));
    let later = s.plugin.sweep_now().await.unwrap();
    assert_eq!(later.soft_deleted, 2, "only the two fresh ones: {later:?}");
    assert_eq!(ids(&s.resource).await.len(), 5);
    s.db.disconnect().await.unwrap();
}

#[tokio::test]
async fn archive_moves_expired_records_once() {
    let s = scenario("archive", Action::archive("archive")).await;
    let before: BTreeMap<_, _> = {
        let mut all = BTreeMap::new();
        for id in &s.expired {
            all.insert(id.clone(), s.resource.get(id).await.unwrap());
        }
        all
    };
    let first = s.plugin.sweep_now().await.unwrap();
    assert_eq!(first.archived, 3, "{first:?}");
    assert_eq!(s.plugin.sweep_now().await.unwrap(), SweepReport::default());
    let archive = s.db.resource("archive").unwrap();
    assert_eq!(ids(&archive).await, s.expired);
    for (id, original) in &before {
        let copy = archive.get(id).await.unwrap();
        assert_eq!(copy["name"], original["name"]);
    }
    assert_eq!(ids(&s.resource).await, vec!["new0", "new1"]);
    assert_untouched(&s.resource, &s.fresh).await;
    s.db.disconnect().await.unwrap();
}

#[tokio::test]
async fn archive_resumes_after_a_half_done_move() {
    // A sweeper died after the archive insert: the record is in both resources.
    let s = scenario("archive-resume", Action::archive("archive")).await;
    let archive = s.db.resource("archive").unwrap();
    archive
        .insert(s.resource.get("old0").await.unwrap())
        .await
        .unwrap();
    let report = s.plugin.sweep_now().await.unwrap();
    assert_eq!(report.archived, 3, "{report:?}");
    assert_eq!(ids(&archive).await, s.expired);
    assert_eq!(ids(&s.resource).await, vec!["new0", "new1"]);
}

/// A callback action recording every id it is called with.
fn recording_callback() -> (Action, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let action = Action::callback(move |expired| {
        let seen = seen.clone();
        async move {
            assert!(expired.record.contains_key("name"));
            seen.lock().unwrap().push(expired.id);
            Ok(())
        }
    });
    (action, calls)
}

#[tokio::test]
async fn callback_is_called_once_per_expired_record() {
    let (action, calls) = recording_callback();
    let s = scenario("callback", action).await;
    let first = s.plugin.sweep_now().await.unwrap();
    assert_eq!(first.callbacks, 3, "{first:?}");
    assert_eq!(s.plugin.sweep_now().await.unwrap(), SweepReport::default());
    // An update keeping the expiry does not call it again.
    s.resource
        .update("old1", rec(json!({"name": "again"})))
        .await
        .unwrap();
    assert_eq!(s.plugin.sweep_now().await.unwrap(), SweepReport::default());
    let mut called = calls.lock().unwrap().clone();
    called.sort();
    assert_eq!(called, s.expired);
    assert_eq!(
        ids(&s.resource).await.len(),
        5,
        "callbacks keep the records"
    );
    assert_untouched(&s.resource, &s.fresh).await;
}

#[tokio::test]
async fn a_failing_callback_is_retried_by_the_next_sweep() {
    let attempts = Arc::new(Mutex::new(0));
    let seen = attempts.clone();
    let action = Action::callback(move |expired| {
        let seen = seen.clone();
        async move {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n == 1 {
                return Err(s3db_plugins::Error::Target {
                    target: expired.id,
                    reason: "down".into(),
                    source: None,
                });
            }
            Ok(())
        }
    });
    let db = Database::connect(&memory_url("retry")).await.unwrap();
    let resource = define(&db, "items").await;
    let clock = ManualClock::at_millis(T0);
    let plugin = install(
        &db,
        TtlConfig::new().resource("items", Expiry::after_secs(1), action),
        &clock,
    )
    .await;
    insert_all(&resource, &names("a", 1), None).await;
    clock.advance(Duration::from_secs(2));
    let first = plugin.sweep_now().await.unwrap();
    assert_eq!((first.callbacks, first.failures.len()), (0, 1), "{first:?}");
    assert_eq!(first.failures[0].id.as_deref(), Some("a0"));
    let second = plugin.sweep_now().await.unwrap();
    assert_eq!((second.callbacks, second.failures.len()), (1, 0));
    assert_eq!(plugin.sweep_now().await.unwrap(), SweepReport::default());
    assert_eq!(*attempts.lock().unwrap(), 2);
}

#[tokio::test]
async fn field_expiry_reads_iso_and_epoch_millis() {
    let db = Database::connect(&memory_url("field")).await.unwrap();
    let invites = define_with(&db, "invites", "string|optional").await;
    let codes = define(&db, "codes").await;
    let clock = ManualClock::at_millis(T0);
    let flag = Action::SoftDelete {
        field: "deletedAt".into(),
        value: FlagValue::Timestamp,
    };
    let config = TtlConfig::new()
        .resource("invites", Expiry::field("expiresAt"), flag.clone())
        .resource("codes", Expiry::field("expiresAt"), flag);
    let plugin = install(&db, config, &clock).await;
    let at = |ms: i64| {
        iso(time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap())
    };
    insert_all(&invites, &names("iso", 2), Some(json!(at(T0 + 10_000)))).await;
    let digits = (T0 + 20_000).to_string();
    insert_all(&invites, &names("digits", 1), Some(json!(digits))).await;
    insert_all(&codes, &names("ms", 1), Some(json!(T0 + 20_000))).await;
    let never = insert_all(&invites, &names("never", 1), None).await;
    let later = insert_all(&invites, &names("later", 1), Some(json!(at(T0 + 60_000)))).await;

    clock.advance(Duration::from_secs(15));
    assert_eq!(plugin.sweep_now().await.unwrap().soft_deleted, 2);
    clock.advance(Duration::from_secs(10));
    assert_eq!(plugin.sweep_now().await.unwrap().soft_deleted, 2);
    assert_eq!(plugin.sweep_now().await.unwrap(), SweepReport::default());
    assert!(codes.get("ms0").await.unwrap()["deletedAt"].is_string());
    assert!(invites.get("digits0").await.unwrap()["deletedAt"].is_string());
    assert_untouched(&invites, &never).await;
    assert_untouched(&invites, &later).await;
    assert_eq!(
        plugin.index_entries("invites").await.unwrap(),
        vec![(T0 + 60_000, "later0".to_owned())]
    );

    // An unreadable expiry is refused before anything is written.
    let refused = invites
        .insert(rec(json!({"id": "bad", "name": "x", "expiresAt": "soon"})))
        .await;
    assert!(refused.unwrap_err().to_string().contains("expiresAt"));
    assert!(!invites.exists("bad").await.unwrap());
}

#[tokio::test]
async fn updates_move_the_index_entry_and_deletes_remove_it() {
    let db = Database::connect(&memory_url("moves")).await.unwrap();
    let resource = define(&db, "tokens").await;
    let clock = ManualClock::at_millis(T0);
    let config =
        TtlConfig::new().resource("tokens", Expiry::field("expiresAt"), Action::HardDelete);
    let plugin = install(&db, config, &clock).await;
    insert_all(&resource, &names("t", 2), Some(json!(T0 + 10_000))).await;
    assert_eq!(
        plugin.index_entries("tokens").await.unwrap(),
        vec![(T0 + 10_000, "t0".into()), (T0 + 10_000, "t1".into())]
    );

    let expire_t0 = async |at: Value| {
        resource
            .update("t0", rec(json!({"expiresAt": at})))
            .await
            .unwrap();
    };

    // Moving expiresAt moves the entry; the old slot is empty.
    expire_t0(json!(T0 + 50_000)).await;
    assert_eq!(
        plugin.index_entries("tokens").await.unwrap(),
        vec![(T0 + 10_000, "t1".into()), (T0 + 50_000, "t0".into())]
    );
    clock.advance(Duration::from_secs(20));
    assert_eq!(plugin.sweep_now().await.unwrap().hard_deleted, 1);
    assert!(resource.exists("t0").await.unwrap());
    assert!(!resource.exists("t1").await.unwrap());

    // Clearing the field takes the record out of the index; setting it puts it back.
    expire_t0(json!(null)).await;
    assert_eq!(plugin.index_entries("tokens").await.unwrap(), vec![]);
    expire_t0(json!(T0 + 90_000)).await;
    assert_eq!(
        plugin.index_entries("tokens").await.unwrap(),
        vec![(T0 + 90_000, "t0".into())]
    );

    // delete_many (no per-record hooks) removes the entries too.
    insert_all(&resource, &names("m", 3), Some(json!(T0 + 99_000))).await;
    let gone = resource
        .delete_many(&["m0".to_owned(), "m2".to_owned(), "nope".to_owned()])
        .await
        .unwrap();
    assert_eq!(gone, 2);
    assert_eq!(
        plugin.index_entries("tokens").await.unwrap(),
        vec![(T0 + 90_000, "t0".into()), (T0 + 99_000, "m1".into())]
    );
    resource.delete("m1").await.unwrap();

    // A delete removes the entry (and nothing is left to sweep).
    resource.delete("t0").await.unwrap();
    assert_eq!(plugin.index_entries("tokens").await.unwrap(), vec![]);
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(plugin.sweep_now().await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn backfill_indexes_records_written_before_the_plugin() {
    let url = memory_url("backfill");
    let db = Database::connect(&url).await.unwrap();
    let resource = define(&db, "items").await;
    insert_all(&resource, &names("old", 3), Some(json!(T0 + 1_000))).await;
    let keep = insert_all(&resource, &names("keep", 1), Some(json!(T0 + 99_000))).await;
    insert_all(&resource, &names("none", 1), None).await;

    let clock = ManualClock::at_millis(T0 + 5_000);
    let config = TtlConfig::new().resource("items", Expiry::field("expiresAt"), Action::HardDelete);
    let plugin = install(&db, config, &clock).await;
    // Sweeps never scan: unindexed records are not seen.
    assert_eq!(plugin.sweep_now().await.unwrap(), SweepReport::default());
    let report = plugin.backfill("items").await.unwrap();
    assert_eq!(
        (report.scanned, report.indexed, report.without_expiry),
        (5, 4, 1)
    );
    assert_eq!(plugin.backfill("items").await.unwrap().unchanged, 4);
    assert_eq!(plugin.sweep_now().await.unwrap().hard_deleted, 3);
    assert_eq!(ids(&resource).await, vec!["keep0", "none0"]);
    assert_untouched(&resource, &keep).await;
    assert!(plugin.backfill("unknown").await.is_err());
}

/// Two plugin instances on two database handles over one storage sweep at once: every
/// expired record is archived once and called back once.
async fn concurrent_sweepers(first: Database, second: Database) {
    const N: usize = 12;
    for db in [&first, &second] {
        define(db, "tokens").await;
        define(db, "jobs").await;
        define(db, "archive").await;
    }
    let clock = ManualClock::at_millis(T0);
    let (action, calls) = recording_callback();
    let config = TtlConfig::new()
        .resource(
            "tokens",
            Expiry::field("expiresAt"),
            Action::archive("archive"),
        )
        .resource("jobs", Expiry::after_secs(60), action)
        .concurrency(4);
    let a = install(&first, config.clone(), &clock).await;
    let b = install(&second, config, &clock).await;

    // Every archive insert attempt, from either handle: a double archive would show here
    // even though the second insert of an id fails.
    let attempts = Arc::new(AtomicUsize::new(0));
    for db in [&first, &second] {
        let attempts = attempts.clone();
        db.resource("archive").unwrap().hooks().register(
            HookPoint::BeforeInsert,
            move |_ctx, data: Payload| {
                attempts.fetch_add(1, Ordering::SeqCst);
                async move { Ok(data) }
            },
        );
    }

    let tokens = first.resource("tokens").unwrap();
    let jobs = second.resource("jobs").unwrap();
    let expired = names("x", N);
    insert_all(&tokens, &expired, Some(json!(T0 + 10_000))).await;
    let fresh = insert_all(&tokens, &names("y", 2), Some(json!(T0 + 900_000))).await;
    insert_all(&jobs, &expired, None).await;
    clock.advance(Duration::from_secs(120));

    let (ra, rb) = tokio::join!(a.sweep_now(), b.sweep_now());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(
        ra.failures.is_empty() && rb.failures.is_empty(),
        "{ra:?} {rb:?}"
    );
    assert_eq!(ra.archived + rb.archived, N, "{ra:?} {rb:?}");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        N,
        "one archive insert per record"
    );
    assert_eq!(ra.callbacks + rb.callbacks, N, "{ra:?} {rb:?}");

    let archive = second.resource("archive").unwrap();
    assert_eq!(ids(&archive).await, {
        let mut sorted = expired.clone();
        sorted.sort();
        sorted
    });
    assert_eq!(ids(&tokens).await, vec!["y0", "y1"]);
    assert_untouched(&tokens, &fresh).await;
    let mut called = calls.lock().unwrap().clone();
    called.sort();
    let mut want = expired.clone();
    want.sort();
    assert_eq!(called, want, "each callback exactly once");

    let (ra, rb) = tokio::join!(a.sweep_now(), b.sweep_now());
    assert_eq!(ra.unwrap().handled() + rb.unwrap().handled(), 0);
    assert_eq!(calls.lock().unwrap().len(), N);
    first.disconnect().await.unwrap();
    second.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sweepers_on_memory() {
    let url = memory_url("concurrent");
    let first = Database::connect(&url).await.unwrap();
    let second = Database::connect(&url).await.unwrap();
    concurrent_sweepers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sweepers_on_moto() {
    let config = testing::fresh_s3_bucket().await.unwrap();
    let open = || async {
        let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
        Database::builder(storage).open().await.unwrap()
    };
    let first = open().await;
    let second = open().await;
    concurrent_sweepers(first, second).await;
}

#[tokio::test(start_paused = true)]
async fn background_sweeps_run_on_the_interval_until_stopped() {
    let db = Database::connect(&memory_url("interval")).await.unwrap();
    let resource = define(&db, "items").await;
    let clock = ManualClock::at_millis(T0);
    let config = TtlConfig::new()
        .resource("items", Expiry::after_secs(60), Action::HardDelete)
        .interval(Duration::from_secs(30));
    let plugin = install(&db, config, &clock).await;
    let mut log = plugin.background_log();
    insert_all(&resource, &names("a", 2), None).await;
    clock.advance(Duration::from_secs(61));

    // No sweep_now: the interval does it.
    tokio::time::advance(Duration::from_secs(31)).await;
    let swept = log
        .wait_for(|log: &SweepLog| log.totals.hard_deleted == 2)
        .await
        .unwrap()
        .clone();
    assert!(swept.sweeps >= 1);
    assert_eq!(ids(&resource).await, Vec::<String>::new());

    // Once stopped, no more sweeps.
    db.disconnect().await.unwrap();
    let sweeps = plugin.background_log().borrow().sweeps;
    insert_all(&resource, &names("b", 1), None).await;
    clock.advance(Duration::from_secs(3_600));
    tokio::time::advance(Duration::from_secs(3_600)).await;
    // Enough turns for a sweep on the memory backend, had the task still been running.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(plugin.background_log().borrow().sweeps, sweeps);
    assert_eq!(ids(&resource).await, vec!["b0"]);
}

#[tokio::test]
async fn resources_defined_after_install_are_covered() {
    let db = Database::connect(&memory_url("later")).await.unwrap();
    let clock = ManualClock::at_millis(T0);
    let config = TtlConfig::new().resource("late", Expiry::after_secs(1), Action::HardDelete);
    let plugin = install(&db, config, &clock).await;
    // Not defined yet: skipped.
    assert_eq!(plugin.sweep_now().await.unwrap(), SweepReport::default());
    let late = define(&db, "late").await;
    insert_all(&late, &names("l", 2), None).await;
    clock.advance(Duration::from_secs(2));
    assert_eq!(plugin.sweep_now().await.unwrap().hard_deleted, 2);
}

#[tokio::test]
async fn a_slow_action_renews_its_claim_so_it_is_not_taken_over() {
    let url = memory_url("renew");
    let first = Database::connect(&url).await.unwrap();
    let second = Database::connect(&url).await.unwrap();
    let jobs = define(&first, "jobs").await;
    define(&second, "jobs").await;
    let clock = ManualClock::at_millis(T0);
    // The first call blocks until released; a second call would be a double handling.
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let action = {
        let (calls, started, release) = (calls.clone(), started.clone(), release.clone());
        Action::callback(move |_expired| {
            let (calls, started, release) = (calls.clone(), started.clone(), release.clone());
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    started.notify_one();
                    release.notified().await;
                }
                Ok(())
            }
        })
    };
    let config = TtlConfig::new()
        .resource("jobs", Expiry::after_secs(60), action)
        .claim_timeout(Duration::from_millis(300));
    let a = install(&first, config.clone(), &clock).await;
    let b = install(&second, config, &clock).await;
    insert_all(&jobs, &names("j", 1), None).await;
    clock.advance(Duration::from_secs(120));

    let slow = tokio::spawn(async move { a.sweep_now().await });
    started.notified().await;
    // While the first sweeper acts, its claim's age passes the timeout on the clock; it
    // renews the claim every 100 ms (real time), dating it from the clock.
    clock.advance(Duration::from_secs(10));
    let claim = format!(
        "resource=jobs/plugin=ttl/claims/expires={:015}/id=j0",
        T0 + 60_000
    );
    let renewed = async {
        loop {
            let body = first.storage().get(&claim).await.unwrap().body;
            let held: Value = serde_json::from_slice(&body).unwrap();
            // The claim is a lock whose lease (300 ms) runs from the renewal's "now".
            if held["expiresAt"].as_i64() == Some(clock.now_millis() + 300) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), renewed)
        .await
        .expect("the claim is renewed as of the advanced clock");
    let other = b.sweep_now().await.unwrap();
    assert_eq!((other.callbacks, other.contended), (0, 1), "{other:?}");

    release.notify_one();
    let done = slow.await.unwrap().unwrap();
    assert_eq!(done.callbacks, 1, "{done:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "called once");
}

#[tokio::test]
async fn a_claim_left_by_a_dead_sweeper_is_taken_over_after_the_timeout() {
    let s = scenario("stale-claim", Action::HardDelete).await;
    // A sweeper claimed old0's entry (due at T0 + 60 s) and died.
    let claim = format!(
        "resource=items/plugin=ttl/claims/expires={:015}/id=old0",
        T0 + 60_000
    );
    let lease_end = s.clock.now_millis() + 600_000;
    let body = json!({"holder": "dead", "token": 1, "expiresAt": lease_end}).to_string();
    s.db.storage().put_bytes(&claim, body).await.unwrap();

    let first = s.plugin.sweep_now().await.unwrap();
    assert_eq!((first.hard_deleted, first.contended), (2, 1), "{first:?}");
    assert!(s.resource.exists("old0").await.unwrap());
    s.clock.advance(Duration::from_secs(601)); // past the default ten-minute claim timeout
    let second = s.plugin.sweep_now().await.unwrap();
    assert_eq!(
        second.hard_deleted, 3,
        "old0 and the two fresh ones: {second:?}"
    );
    assert!(!s.resource.exists("old0").await.unwrap());
    assert!(!s.db.storage().exists(&claim).await.unwrap(), "released");
}

/// A plugin given no clock reads "now" from the database's (`Database::builder(..).clock`).
#[tokio::test]
async fn without_a_clock_of_its_own_the_plugin_follows_the_database_clock() {
    let clock = ManualClock::at_millis(T0);
    let plugin = Arc::new(
        TtlPlugin::new(TtlConfig::new().resource(
            "sessions",
            Expiry::after_secs(60),
            Action::HardDelete,
        ))
        .unwrap(),
    );
    let db = Database::builder(memory_url("db-clock"))
        .clock(Arc::new(clock.clone()))
        .plugin(plugin.clone())
        .open()
        .await
        .unwrap();
    let sessions = define(&db, "sessions").await;
    insert_all(&sessions, &names("s", 3), None).await;
    clock.advance(Duration::from_secs(59));
    assert_eq!(plugin.sweep_now().await.unwrap().hard_deleted, 0);
    assert_eq!(
        plugin.index_entries("sessions").await.unwrap()[0].0,
        T0 + 60_000,
        "indexed from the database's clock at insert"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(plugin.sweep_now().await.unwrap().hard_deleted, 3);
    assert!(ids(&sessions).await.is_empty());
    db.disconnect().await.unwrap();
}
