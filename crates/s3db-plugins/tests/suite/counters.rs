//! Counters plugin: transactions fold into the record exactly once — with concurrent
//! consolidators, after a crash at every write of a consolidation (fault-injecting storage),
//! across worker processes on moto and SeaweedFS with a consolidator killed mid-run — and
//! roll up by hour, day and month.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::processes::{Worker, spawn};
use common::rec;
use futures::{StreamExt, TryStreamExt};
use s3db_core::Database;
use s3db_plugins::clock::ManualClock;
use s3db_plugins::counters::{CountersConfig, CountersPlugin, Period, Rollup};
use s3db_storage::layers::{Fault, FaultPlan, Faults, Metrics};
use s3db_storage::testing::{self, Server};
use s3db_storage::{ErrorKind, MemoryStorage, Operation, S3Storage, Storage};
use serde_json::json;

/// 2026-12-06T08:00:00Z.
const T0: i64 = 1_796_544_000_000;
const HOUR: Duration = Duration::from_secs(3600);

fn config() -> CountersConfig {
    CountersConfig::new()
        .resource("urls", ["clicks", "views"])
        .consolidation_interval(None)
        .analytics(true)
}

/// A database on `storage` with the counters installed (and "urls" defined).
async fn open(
    storage: Arc<dyn Storage>,
    config: CountersConfig,
    clock: &ManualClock,
) -> (Database, Arc<CountersPlugin>) {
    let counters = Arc::new(CountersPlugin::with_clock(config, Arc::new(clock.clone())).unwrap());
    let db = Database::builder(storage)
        .clock(Arc::new(clock.clone()))
        .plugin(counters.clone())
        .open()
        .await
        .unwrap();
    common::define(
        &db,
        json!({"name": "urls", "attributes": {"clicks": "number", "views": "number"}}),
    )
    .await;
    (db, counters)
}

async fn insert_url(db: &Database, id: &str) {
    let urls = db.resource("urls").unwrap();
    urls.insert(rec(json!({"id": id, "clicks": 0, "views": 0})))
        .await
        .unwrap();
}

#[tokio::test]
async fn add_sub_set_fold_into_the_record_and_roll_up() {
    let clock = ManualClock::at_millis(T0);
    let (db, counters) = open(Arc::new(MemoryStorage::new()), config(), &clock).await;
    insert_url(&db, "u").await;
    for _ in 0..3 {
        counters.increment("urls", "u", "clicks").await.unwrap();
    }
    counters.sub("urls", "u", "clicks", 0.5).await.unwrap();
    counters.set("urls", "u", "views", 10.0).await.unwrap();
    clock.advance(HOUR);
    counters.add("urls", "u", "views", 5.0).await.unwrap();
    counters.decrement("urls", "u", "clicks").await.unwrap();

    // On read, nothing written yet.
    let value = counters.consolidated_value("urls", "u", "clicks");
    assert_eq!(value.await.unwrap(), 1.5);
    assert_eq!(counters.pending_count("urls", "u").await.unwrap(), 7);
    let record = db.resource("urls").unwrap().get("u").await.unwrap();
    assert_eq!(record["clicks"], 0, "not consolidated yet");

    let done = counters.consolidate("urls", "u").await.unwrap();
    assert_eq!(done.applied, 7);
    assert_eq!(
        done.values,
        BTreeMap::from([("clicks".into(), 1.5), ("views".into(), 15.0)])
    );
    let record = db.resource("urls").unwrap().get("u").await.unwrap();
    assert_eq!(
        (record["clicks"].clone(), record["views"].clone()),
        (json!(1.5), json!(15))
    );
    assert_eq!(counters.pending_count("urls", "u").await.unwrap(), 0);
    assert_eq!(counters.consolidate("urls", "u").await.unwrap().applied, 0);

    let hours = counters.rollups("urls", "clicks", Period::Hour).await;
    let expected = BTreeMap::from([
        (
            "2026-12-06T08".to_owned(),
            Rollup {
                transactions: 4,
                sum: 2.5,
            },
        ),
        (
            "2026-12-06T09".to_owned(),
            Rollup {
                transactions: 1,
                sum: -1.0,
            },
        ),
    ]);
    assert_eq!(hours.unwrap(), expected);
    let days = counters
        .rollups("urls", "views", Period::Day)
        .await
        .unwrap();
    assert_eq!(
        days,
        BTreeMap::from([(
            "2026-12-06".to_owned(),
            Rollup {
                transactions: 2,
                sum: 5.0
            }
        )]),
        "a set counts as a transaction, not in the sum"
    );
    let months = counters
        .rollups("urls", "clicks", Period::Month)
        .await
        .unwrap();
    assert_eq!(
        months["2026-12"],
        Rollup {
            transactions: 5,
            sum: 1.5
        }
    );
}

#[tokio::test]
async fn requests_per_operation() {
    let clock = ManualClock::at_millis(T0);
    let metrics = Arc::new(Metrics::new(MemoryStorage::new()));
    let recorder = metrics.recorder();
    let (db, counters) = open(metrics, config(), &clock).await;
    insert_url(&db, "u").await;
    let before = recorder.snapshot();
    for _ in 0..100 {
        counters.increment("urls", "u", "clicks").await.unwrap();
    }
    let added = recorder.snapshot();
    assert_eq!(added.requests() - before.requests(), 100);
    assert_eq!(
        added.put.requests - before.put.requests,
        100,
        "1 PUT per add"
    );
    counters.consolidate("urls", "u").await.unwrap();
    let done = recorder.snapshot();
    let n = |f: fn(&s3db_storage::layers::MetricsSnapshot) -> u64| f(&done) - f(&added);
    // state GET ×2 (before, and the check after the record write), record GET, 1 LIST,
    // state PUT, 1 contribution PUT, record PUT, 1 DeleteObjects for the 100 transactions.
    assert_eq!(
        (
            n(|s| s.get.requests),
            n(|s| s.list.requests),
            n(|s| s.put.requests),
            n(|s| s.delete_many.requests),
        ),
        (3, 1, 3, 1)
    );
    counters.consolidate("urls", "u").await.unwrap();
    let idle = recorder.snapshot();
    assert_eq!(
        idle.requests() - done.requests(),
        2,
        "nothing pending: 1 GET + 1 LIST"
    );
}

#[test]
fn bad_configurations_and_calls_are_refused() {
    for (config, words) in [
        (CountersConfig::new(), "no resource"),
        (CountersConfig::new().resource("urls", ["a~b"]), "a~b"),
        (
            CountersConfig::new().resource("urls", Vec::<String>::new()),
            "no counter field",
        ),
        (
            CountersConfig::new()
                .resource("urls", ["clicks"])
                .consolidation_interval(Some(Duration::ZERO)),
            "consolidation_interval",
        ),
    ] {
        let error = CountersPlugin::new(config).unwrap_err().to_string();
        assert!(error.contains(words), "{error}");
    }
}

#[tokio::test]
async fn bad_calls_name_the_problem() {
    let clock = ManualClock::at_millis(T0);
    let (_db, counters) = open(Arc::new(MemoryStorage::new()), config(), &clock).await;
    let cases = [
        (counters.add("urls", "u", "likes", 1.0).await, "likes"),
        (counters.add("posts", "u", "clicks", 1.0).await, "posts"),
        (counters.add("urls", "a/b", "clicks", 1.0).await, "a/b"),
        (
            counters.add("urls", "u", "clicks", f64::NAN).await,
            "finite",
        ),
    ];
    for (result, words) in cases {
        let error = result.unwrap_err().to_string();
        assert!(error.contains(words), "{error}");
    }
}

/// The values a consolidation must reach, whatever happened to earlier ones.
async fn assert_exact(db: &Database, counters: &CountersPlugin, clicks: f64, views: f64, txs: u64) {
    let record = db.resource("urls").unwrap().get("u").await.unwrap();
    assert_eq!(record["clicks"].as_f64(), Some(clicks));
    assert_eq!(record["views"].as_f64(), Some(views));
    assert_eq!(counters.pending_count("urls", "u").await.unwrap(), 0);
    let rolled: u64 = ["clicks", "views"]
        .iter()
        .map(|f| async move { counters.rollups("urls", f, Period::Month).await.unwrap() })
        .collect::<futures::future::JoinAll<_>>()
        .await
        .iter()
        .flat_map(|m| m.values().map(|r| r.transactions))
        .sum();
    assert_eq!(rolled, txs, "every transaction in the analytics once");
}

#[tokio::test]
async fn a_crash_at_any_write_of_a_consolidation_loses_and_double_counts_nothing() {
    let mut crash_points = 0;
    for after in [false, true] {
        for k in 0.. {
            let clock = ManualClock::at_millis(T0);
            let memory = Arc::new(MemoryStorage::new());
            let (db, counters) = open(memory.clone(), config(), &clock).await;
            insert_url(&db, "u").await;
            // A first consolidation leaves a state with applied names and an outbox.
            for _ in 0..5 {
                counters.increment("urls", "u", "clicks").await.unwrap();
            }
            counters.consolidate("urls", "u").await.unwrap();
            counters.set("urls", "u", "views", 7.0).await.unwrap();
            clock.advance(HOUR);
            for _ in 0..4 {
                counters.add("urls", "u", "clicks", 2.0).await.unwrap();
            }
            counters.sub("urls", "u", "views", 1.0).await.unwrap();

            // The "crashed" process: its k-th write fails (after landing, with `after`),
            // and every write after it too.
            let crash = if after {
                Fault::FailAfter(ErrorKind::Internal)
            } else {
                Fault::Fail(ErrorKind::Internal)
            };
            let script = std::iter::repeat_n(Fault::Pass, k)
                .chain([crash])
                .chain(std::iter::repeat_n(Fault::Fail(ErrorKind::Internal), 100));
            let plan = FaultPlan::script(script).only(&[
                Operation::Put,
                Operation::Delete,
                Operation::DeleteMany,
            ]);
            let faulty = Arc::new(Faults::new(memory.clone(), plan));
            let crashed = CountersPlugin::with_clock(config(), Arc::new(clock.clone())).unwrap();
            let crashed = Arc::new(crashed);
            let faulty_db = Database::builder(faulty.clone() as Arc<dyn Storage>)
                .plugin(crashed.clone())
                .open()
                .await
                .unwrap();
            let outcome = crashed.consolidate("urls", "u").await;
            let finished = faulty.injected() == 0;
            assert_eq!(outcome.is_ok(), finished, "k={k}: {outcome:?}");
            drop(faulty_db);

            // Restarted: the next consolidation completes the work exactly.
            counters.consolidate("urls", "u").await.unwrap();
            assert_exact(&db, &counters, 13.0, 6.0, 11).await;
            if finished {
                break;
            }
            crash_points += 1;
        }
    }
    assert!(
        crash_points >= 8,
        "every write of a consolidation was a crash point"
    );
    eprintln!(
        "counters: crashed at {crash_points} points (before and after each write), then exact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_consolidators_agree() {
    let clock = ManualClock::at_millis(T0);
    let (db, counters) = open(Arc::new(MemoryStorage::new()), config(), &clock).await;
    insert_url(&db, "u").await;
    let adders: Vec<_> = (0..8)
        .map(|_| {
            let counters = counters.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    counters.increment("urls", "u", "clicks").await.unwrap();
                    if i % 25 == 0 {
                        counters.consolidate("urls", "u").await.unwrap();
                    }
                }
            })
        })
        .collect();
    let consolidators: Vec<_> = (0..4)
        .map(|_| {
            let counters = counters.clone();
            tokio::spawn(async move {
                let mut applied = 0;
                for _ in 0..40 {
                    applied += counters.consolidate("urls", "u").await.unwrap().applied;
                    tokio::task::yield_now().await;
                }
                applied
            })
        })
        .collect();
    for adder in adders {
        adder.await.unwrap();
    }
    for consolidator in consolidators {
        consolidator.await.unwrap();
    }
    counters.consolidate("urls", "u").await.unwrap();
    assert_exact(&db, &counters, 2000.0, 0.0, 2000).await;
}

#[tokio::test(start_paused = true)]
async fn background_consolidation_runs_on_its_interval() {
    let clock = ManualClock::at_millis(T0);
    let config = config().consolidation_interval(Some(Duration::from_secs(10)));
    let (db, counters) = open(Arc::new(MemoryStorage::new()), config, &clock).await;
    insert_url(&db, "u").await;
    counters.add("urls", "u", "clicks", 4.0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let record = db.resource("urls").unwrap().get("u").await.unwrap();
    assert_eq!(record["clicks"], 4);
    db.disconnect().await.unwrap();
}

// ---- several processes on a real server ----

const ADDERS: usize = 4;
const OPS: usize = 500;

/// One worker: ADDER adds OPS times (every fifth a sub) to `r.clicks`, consolidating every
/// 100 operations; CONSOLIDATOR consolidates in a loop until killed.
#[tokio::test]
#[ignore = "a worker process of counters_processes_*"]
async fn counters_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let config = testing::s3_config_at(worker.param("ENDPOINT").into(), worker.param("BUCKET"));
    let storage = S3Storage::connect(&config).await.unwrap();
    let counters = Arc::new(CountersPlugin::new(self::config()).unwrap());
    let _db = Database::builder(Arc::new(storage) as Arc<dyn Storage>)
        .plugin(counters.clone())
        .open()
        .await
        .unwrap();
    if worker.param("ROLE") == "consolidator" {
        loop {
            counters.consolidate("urls", "r").await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // 100 operations at a time, 8 in flight, then a consolidation.
    let mut net = 0i64;
    for chunk in (0..OPS).collect::<Vec<_>>().chunks(100) {
        let signs: Vec<i64> = chunk
            .iter()
            .map(|j| if j % 5 == 4 { -1 } else { 1 })
            .collect();
        net += signs.iter().sum::<i64>();
        futures::stream::iter(signs)
            .map(|sign| {
                let counters = counters.clone();
                async move {
                    match sign {
                        1 => counters.increment("urls", "r", "clicks").await,
                        _ => counters.decrement("urls", "r", "clicks").await,
                    }
                }
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        counters.consolidate("urls", "r").await.unwrap();
    }
    worker.report(&json!({"ops": OPS, "net": net}));
}

async fn processes(server: Server) {
    let bucket = testing::fresh_bucket_on(server).await.unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&bucket).await.unwrap());
    let counters = Arc::new(CountersPlugin::new(config()).unwrap());
    let db = Database::builder(storage)
        .plugin(counters.clone())
        .open()
        .await
        .unwrap();
    common::define(
        &db,
        json!({"name": "urls", "attributes": {"clicks": "number", "views": "number"}}),
    )
    .await;
    db.resource("urls")
        .unwrap()
        .insert(rec(json!({"id": "r", "clicks": 0, "views": 0})))
        .await
        .unwrap();
    let params = |role: &str| {
        vec![
            ("ENDPOINT", bucket.endpoint.clone().unwrap()),
            ("BUCKET", bucket.bucket.clone()),
            ("ROLE", role.to_owned()),
        ]
    };
    let mut consolidator = spawn("counters::counters_worker", 1, &params("consolidator"));
    let adders = spawn("counters::counters_worker", ADDERS, &params("adder")).wait();
    consolidator.children()[0].kill().unwrap();
    assert!(!consolidator.wait()[0].0, "the consolidator was killed");
    assert!(adders.iter().all(|(ok, _)| *ok));
    let (ops, net): (i64, i64) = adders
        .iter()
        .flat_map(|(_, r)| r)
        .map(|r| (r["ops"].as_i64().unwrap(), r["net"].as_i64().unwrap()))
        .fold((0, 0), |(o, n), (a, b)| (o + a, n + b));
    assert_eq!(ops, (ADDERS * OPS) as i64);

    counters.consolidate("urls", "r").await.unwrap();
    let record = db.resource("urls").unwrap().get("r").await.unwrap();
    let value = counters
        .consolidated_value("urls", "r", "clicks")
        .await
        .unwrap();
    let violations = [
        record["clicks"].as_i64() != Some(net),
        value != net as f64,
        counters.pending_count("urls", "r").await.unwrap() != 0,
    ];
    let months = counters
        .rollups("urls", "clicks", Period::Month)
        .await
        .unwrap();
    let rolled = months.values().fold(Rollup::default(), |a, r| Rollup {
        transactions: a.transactions + r.transactions,
        sum: a.sum + r.sum,
    });
    assert_eq!(
        violations, [false; 3],
        "record {record:?}, value {value}, expected {net}"
    );
    assert_eq!(
        rolled,
        Rollup {
            transactions: ops as u64,
            sum: net as f64
        }
    );
    eprintln!(
        "counters on {}: {ADDERS} adders + 1 killed consolidator, {ops} operations, total {net} exact, 0 violations",
        server.name()
    );
}

#[tokio::test]
async fn counters_processes_moto() {
    processes(Server::Moto).await;
}

#[tokio::test]
async fn counters_processes_seaweedfs() {
    processes(Server::SeaweedFs).await;
}
