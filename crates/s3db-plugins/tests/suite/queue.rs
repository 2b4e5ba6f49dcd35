//! Queue plugin: claims, acks, nacks with backoff, dead letters, takeover after the
//! visibility timeout (memory, `ManualClock`), the requests each operation costs, and
//! several worker processes on moto and SeaweedFS, one of them killed mid-message.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::processes::{Worker, spawn};
use common::rec;
use s3db_core::{Database, Resource};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::queue::{QueueConfig, QueuePlugin, QueueStats, Settled, Status};
use s3db_storage::layers::{Metrics, MetricsRecorder, MetricsSnapshot};
use s3db_storage::testing::{self, Server};
use s3db_storage::{ErrorKind, MemoryStorage, PutMode, S3Storage, Storage, StorageExt};
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000_000;

async fn jobs(db: &Database) -> Resource {
    common::define(db, json!({"name": "jobs", "attributes": {"n": "number"}})).await
}

/// A memory database with the queue installed and "jobs" defined; the request counter of
/// its storage.
async fn setup(
    config: QueueConfig,
    clock: &ManualClock,
) -> (Database, Arc<QueuePlugin>, MetricsRecorder) {
    let metrics = Arc::new(Metrics::new(MemoryStorage::new()));
    let recorder = metrics.recorder();
    let queue = Arc::new(QueuePlugin::with_clock(config, Arc::new(clock.clone())).unwrap());
    let db = Database::builder(metrics as Arc<dyn Storage>)
        .plugin(queue.clone())
        .open()
        .await
        .unwrap();
    jobs(&db).await;
    (db, queue, recorder)
}

fn delta(before: MetricsSnapshot, after: MetricsSnapshot) -> [u64; 5] {
    [
        after.list.requests - before.list.requests,
        after.get.requests - before.get.requests,
        after.put.requests - before.put.requests,
        after.delete.requests - before.delete.requests,
        after.head.requests - before.head.requests,
    ]
}

#[tokio::test]
async fn claim_ack_and_the_requests_each_costs() {
    let clock = ManualClock::at_millis(T0);
    let (_db, queue, metrics) = setup(QueueConfig::new("jobs"), &clock).await;
    let before = metrics.snapshot();
    let message = queue.enqueue_id("j1").await.unwrap();
    let after_enqueue = metrics.snapshot();
    assert_eq!(
        delta(before, after_enqueue),
        [0, 0, 2, 0, 0],
        "enqueue: 2 PUT"
    );
    assert_eq!(message.status, Status::Pending);

    let delivery = queue.claim().await.unwrap().expect("a visible message");
    let after_claim = metrics.snapshot();
    // LIST the index, GET the message, PUT it (If-Match), PUT the moved entry, DELETE the
    // old one, GET the record (absent here).
    assert_eq!(delta(after_enqueue, after_claim), [1, 2, 2, 1, 0], "claim");
    assert_eq!(delivery.message.id, message.id);
    assert_eq!(delivery.message.attempts, 1);
    assert_eq!(delivery.record, None, "record j1 was never inserted");
    assert!(queue.claim().await.unwrap().is_none(), "claimed: hidden");

    let after_second = metrics.snapshot();
    assert_eq!(queue.ack(&delivery).await.unwrap(), Settled::Done);
    assert_eq!(
        delta(after_second, metrics.snapshot()),
        [0, 0, 1, 1, 0],
        "ack"
    );
    assert!(queue.is_drained().await.unwrap());
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        stats,
        QueueStats {
            done: 1,
            ..QueueStats::default()
        }
    );
}

#[tokio::test]
async fn enqueue_inserts_the_record_and_the_claim_brings_it() {
    let clock = ManualClock::at_millis(T0);
    let (_db, queue, _) = setup(QueueConfig::new("jobs"), &clock).await;
    let stored = queue
        .enqueue(rec(json!({"id": "a", "n": 1})))
        .await
        .unwrap();
    assert_eq!(stored["n"], 1);
    let delivery = queue.claim().await.unwrap().unwrap();
    assert_eq!(delivery.record.unwrap()["n"], 1);
}

#[tokio::test]
async fn inserts_are_enqueued_when_configured() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs").enqueue_on_insert(true);
    let (db, queue, _) = setup(config, &clock).await;
    let jobs = db.resource("jobs").unwrap();
    jobs.insert(rec(json!({"id": "x", "n": 7}))).await.unwrap();
    queue
        .enqueue(rec(json!({"id": "y", "n": 8})))
        .await
        .unwrap();
    let messages = queue.messages().await.unwrap();
    let ids: BTreeSet<_> = messages.iter().map(|m| m.original_id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["x", "y"]), "one message per insert");
}

#[tokio::test]
async fn an_expired_claim_is_taken_over_once_and_counted() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs").visibility_timeout(Duration::from_secs(10));
    let (_db, queue, _) = setup(config, &clock).await;
    queue.enqueue_id("j").await.unwrap();
    let first = queue.claim().await.unwrap().unwrap();
    clock.advance(Duration::from_secs(9));
    assert!(queue.claim().await.unwrap().is_none(), "still held");
    clock.advance(Duration::from_secs(2));
    assert_eq!(queue.stats().await.unwrap().expired, 1);
    let second = queue.claim().await.unwrap().expect("expired: claimable");
    assert_eq!(second.message.attempts, 2);
    assert_eq!(second.message.redeliveries, 1);
    assert!(
        queue.claim().await.unwrap().is_none(),
        "one claimant per delivery"
    );
    // The first worker finishes late: its ack is refused, the second one's counts.
    assert_eq!(queue.ack(&first).await.unwrap(), Settled::LeaseLost);
    assert_eq!(queue.ack(&second).await.unwrap(), Settled::Done);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.done, stats.redeliveries), (1, 1));
}

#[tokio::test]
async fn extend_keeps_a_slow_delivery() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs").visibility_timeout(Duration::from_secs(10));
    let (_db, queue, _) = setup(config, &clock).await;
    queue.enqueue_id("j").await.unwrap();
    let mut delivery = queue.claim().await.unwrap().unwrap();
    clock.advance(Duration::from_secs(8));
    let extended = queue.extend(&mut delivery, Duration::from_secs(10));
    assert_eq!(extended.await.unwrap(), Settled::Done);
    clock.advance(Duration::from_secs(8));
    assert!(
        queue.claim().await.unwrap().is_none(),
        "extended: still held"
    );
    assert_eq!(queue.ack(&delivery).await.unwrap(), Settled::Done);
}

#[tokio::test]
async fn nacks_back_off_then_dead_letter() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs")
        .max_attempts(3)
        .retry_backoff(Duration::from_secs(1), Duration::from_secs(3));
    let (_db, queue, _) = setup(config, &clock).await;
    assert_eq!(queue.backoff(1), Duration::from_secs(1));
    assert_eq!(queue.backoff(2), Duration::from_secs(2));
    assert_eq!(queue.backoff(5), Duration::from_secs(3), "capped");
    queue.enqueue_id("j").await.unwrap();
    for (attempt, wait) in [(1, 1), (2, 2)] {
        let delivery = queue.claim().await.unwrap().unwrap();
        assert_eq!(delivery.message.attempts, attempt);
        let nacked = queue.nack(&delivery, "boom", None).await.unwrap();
        assert_eq!(nacked, Settled::Done);
        clock.advance(Duration::from_millis(wait * 1000 - 1));
        assert!(queue.claim().await.unwrap().is_none(), "backing off");
        clock.advance(Duration::from_millis(1));
    }
    let last = queue.claim().await.unwrap().unwrap();
    assert_eq!(last.message.retries, 2);
    assert_eq!(
        queue.nack(&last, "boom", None).await.unwrap(),
        Settled::Dead
    );
    let dead = queue.message(&last.message.id).await.unwrap().unwrap();
    assert_eq!(
        (dead.status, dead.error.as_deref()),
        (Status::Dead, Some("boom"))
    );
    assert!(queue.is_drained().await.unwrap());
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.dead, stats.retries, stats.pending), (1, 2, 0));
}

#[tokio::test]
async fn a_message_whose_worker_keeps_dying_goes_dead() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs")
        .visibility_timeout(Duration::from_secs(5))
        .max_attempts(2);
    let (_db, queue, _) = setup(config, &clock).await;
    let message = queue.enqueue_id("j").await.unwrap();
    for _ in 0..2 {
        queue.claim().await.unwrap().expect("claimable");
        clock.advance(Duration::from_secs(6));
    }
    assert!(queue.claim().await.unwrap().is_none());
    let dead = queue.message(&message.id).await.unwrap().unwrap();
    assert_eq!(dead.status, Status::Dead);
    assert!(queue.is_drained().await.unwrap());
}

#[tokio::test]
async fn a_crash_between_enqueue_writes_or_claim_writes_loses_nothing() {
    let clock = ManualClock::at_millis(T0);
    let config = QueueConfig::new("jobs").visibility_timeout(Duration::from_secs(5));
    let (db, queue, _) = setup(config, &clock).await;
    let area = db.storage().clone();
    // An enqueue that died after its index entry: the entry is tidied once old.
    let orphan = format!("resource=jobs/plugin=queue/ready/{T0:015}/ghost");
    area.put_bytes(&orphan, "").await.unwrap();
    assert!(queue.claim().await.unwrap().is_none());
    assert!(
        area.exists(&orphan).await.unwrap(),
        "young: maybe in flight"
    );
    clock.advance(Duration::from_secs(6));
    assert!(queue.claim().await.unwrap().is_none());
    assert!(!area.exists(&orphan).await.unwrap(), "old: removed");
    // A claim that died before moving its entry: the early entry is moved, and the message
    // is claimable once the timeout expires.
    let message = queue.enqueue_id("j").await.unwrap();
    let delivery = queue.claim().await.unwrap().unwrap();
    let early = format!(
        "resource=jobs/plugin=queue/ready/{:015}/{}",
        message.visible_at, message.id
    );
    area.put_bytes(&early, "").await.unwrap();
    assert!(queue.claim().await.unwrap().is_none(), "held");
    assert!(!area.exists(&early).await.unwrap(), "stale entry moved");
    clock.advance(Duration::from_secs(6));
    let again = queue.claim().await.unwrap().expect("taken over");
    assert_eq!(again.message.redeliveries, 1);
    assert_eq!(queue.ack(&delivery).await.unwrap(), Settled::LeaseLost);
}

#[test]
fn bad_configurations_are_refused_with_the_field() {
    for (config, field) in [
        (QueueConfig::new(""), "resource"),
        (
            QueueConfig::new("jobs").visibility_timeout(Duration::ZERO),
            "visibility_timeout",
        ),
        (QueueConfig::new("jobs").max_attempts(0), "max_attempts"),
        (
            QueueConfig::new("jobs").poll_batch_size(0),
            "poll_batch_size",
        ),
    ] {
        let error = QueuePlugin::new(config).unwrap_err().to_string();
        assert!(error.contains(field), "{error}");
    }
}

// ---- several processes on a real server ----

const MESSAGES: usize = 40;
const WORKERS: usize = 3;
const VISIBILITY_MS: u64 = 3_000;

async fn open_worker_db(worker: &Worker, clock_free: QueueConfig) -> (Database, Arc<QueuePlugin>) {
    let config = testing::s3_config_at(worker.param("ENDPOINT").into(), worker.param("BUCKET"));
    let storage = S3Storage::connect(&config).await.unwrap();
    let queue = Arc::new(QueuePlugin::new(clock_free).unwrap());
    let db = Database::builder(Arc::new(storage) as Arc<dyn Storage>)
        .plugin(queue.clone())
        .open()
        .await
        .unwrap();
    (db, queue)
}

fn worker_config() -> QueueConfig {
    QueueConfig::new("jobs").visibility_timeout(Duration::from_millis(VISIBILITY_MS))
}

/// One worker process: claims until the queue is drained. Each delivery first creates
/// `test/delivery/<message>/<attempt>` (a second claimant of one delivery would find it) and
/// `test/busy/<message>` (found by a second live handler of one message, which is allowed
/// only if the delivery took over an expired claim). The victim claims one message, reports
/// it, marks `test/victim` and waits to be killed.
#[tokio::test]
#[ignore = "a worker process of queue_workers_*"]
async fn queue_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let (db, queue) = open_worker_db(&worker, worker_config()).await;
    let bucket = db.storage().clone();
    let victim = worker.param("ROLE") == "victim";
    loop {
        let Some(delivery) = queue.claim().await.unwrap() else {
            if victim || queue.is_drained().await.unwrap() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let message = &delivery.message;
        let mut violations = Vec::new();
        let once = format!("test/delivery/{}/{}", message.id, message.attempts);
        if !created(&bucket, &once).await {
            violations.push(format!("two claimants of {once}"));
        }
        let busy = format!("test/busy/{}", message.id);
        if !created(&bucket, &busy).await && message.redeliveries == 0 {
            violations.push(format!("{} handled twice at once", message.id));
        }
        worker.report(
            &json!({"event": "start", "id": message.id, "attempt": message.attempts,
            "violations": violations, "record": delivery.record.as_ref().map(|r| r["n"].clone())}),
        );
        if victim {
            bucket.put_bytes("test/victim", "").await.unwrap();
            tokio::time::sleep(Duration::from_secs(120)).await;
            unreachable!("the victim is killed while it holds its message");
        }
        bucket.delete(&busy).await.unwrap();
        let settled = queue.ack(&delivery).await.unwrap();
        worker
            .report(&json!({"event": "ack", "id": message.id, "settled": format!("{settled:?}")}));
    }
}

async fn created(bucket: &Arc<dyn Storage>, key: &str) -> bool {
    match bucket.put(key, Default::default(), PutMode::Create).await {
        Ok(_) => true,
        Err(e)
            if e.kind() == ErrorKind::AlreadyExists
                || e.kind() == ErrorKind::PreconditionFailed =>
        {
            false
        }
        Err(e) => panic!("{key}: {e}"),
    }
}

async fn workers_with_one_killed(server: Server) {
    let config = testing::fresh_bucket_on(server).await.unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
    let queue = Arc::new(QueuePlugin::new(worker_config()).unwrap());
    let db = Database::builder(storage.clone())
        .plugin(queue.clone())
        .open()
        .await
        .unwrap();
    jobs(&db).await;
    for n in 0..MESSAGES {
        queue
            .enqueue(rec(json!({"id": format!("r{n:03}"), "n": n})))
            .await
            .unwrap();
    }
    let params = |role: &str| {
        vec![
            ("ENDPOINT", config.endpoint.clone().unwrap()),
            ("BUCKET", config.bucket.clone()),
            ("ROLE", role.to_owned()),
        ]
    };
    let mut victim = spawn("queue::queue_worker", 1, &params("victim"));
    while !storage.exists("test/victim").await.unwrap() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let workers = spawn("queue::queue_worker", WORKERS, &params("worker"));
    victim.children()[0].kill().unwrap();
    let victim_reports = victim.wait();
    assert!(!victim_reports[0].0, "the victim was killed");
    let results = workers.wait();
    assert!(results.iter().all(|(ok, _)| *ok), "every worker succeeded");

    let reports: Vec<Value> = victim_reports
        .into_iter()
        .chain(results)
        .flat_map(|(_, r)| r)
        .collect();
    let starts: Vec<&Value> = reports.iter().filter(|r| r["event"] == "start").collect();
    let violations: Vec<&Value> = starts
        .iter()
        .flat_map(|r| r["violations"].as_array().unwrap())
        .collect();
    assert!(violations.is_empty(), "{violations:?}");
    let mut acks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in reports.iter().filter(|r| r["event"] == "ack") {
        acks.entry(r["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(r["settled"].as_str().unwrap().to_owned());
    }
    let stats = queue.stats().await.unwrap();
    let messages = queue.messages().await.unwrap();
    assert_eq!(messages.len(), MESSAGES);
    assert!(
        messages.iter().all(|m| m.status == Status::Completed),
        "{stats:?}"
    );
    assert!(
        messages
            .iter()
            .all(|m| acks[&m.id].contains(&"Done".to_owned()))
    );
    assert_eq!(stats.done, MESSAGES as u64);
    assert!(
        stats.redeliveries >= 1,
        "the victim's message was redelivered"
    );
    assert_eq!(
        starts.len() as u64,
        MESSAGES as u64 + stats.redeliveries + stats.retries,
        "every handler run is a first delivery or a counted redelivery"
    );
    assert!(
        starts.iter().all(|r| !r["record"].is_null()),
        "records delivered"
    );
    eprintln!(
        "queue on {}: {} processes (1 killed), {MESSAGES} messages, {} deliveries, {} redeliveries, 0 violations",
        server.name(),
        WORKERS + 1,
        starts.len(),
        stats.redeliveries
    );
}

#[tokio::test]
async fn queue_workers_moto() {
    workers_with_one_killed(Server::Moto).await;
}

#[tokio::test]
async fn queue_workers_seaweedfs() {
    workers_with_one_killed(Server::SeaweedFs).await;
}
