//! Scheduler: ticks driven by a ManualClock, exactly-once across schedulers and processes,
//! retries with backoff, timeouts, manual triggers, history retention, take-over of runs
//! whose owner went silent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s3db_plugins::clock::ManualClock;
use s3db_plugins::scheduler::{Job, RunStatus, Schedule, Scheduler, SchedulerOptions, Trigger};
use s3db_storage::layers::Metrics;
use s3db_storage::testing::{Server, fresh_bucket_on, s3_config_at};
use s3db_storage::{MemoryStorage, PutMode, PutPayload, S3Storage, Storage, StorageExt};
use serde_json::json;

use crate::common::processes::{Worker, spawn, wall_millis};

const MINUTE: Duration = Duration::from_secs(60);

/// A job that records each (tick, attempt) it ran into `log`.
fn logging_job(name: &str, schedule: Schedule, log: &Arc<Mutex<Vec<String>>>) -> Job {
    let log = log.clone();
    Job::new(name, schedule, move |run| {
        log.lock()
            .unwrap()
            .push(format!("{}#{}", run.tick, run.attempt));
        async { Ok(()) }
    })
}

fn scheduler(
    storage: &Arc<dyn Storage>,
    clock: &ManualClock,
    jobs: Vec<Job>,
    owner: &str,
) -> Scheduler {
    Scheduler::new(
        storage.clone(),
        Arc::new(clock.clone()),
        jobs,
        SchedulerOptions::new(owner),
    )
    .unwrap()
}

#[tokio::test]
async fn cron_ticks_fire_as_the_clock_moves_and_each_runs_once_across_schedulers() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let a = scheduler(
        &storage,
        &clock,
        vec![logging_job(
            "sync",
            Schedule::cron("*/5 * * * *").unwrap(),
            &log,
        )],
        "a",
    );
    let b = scheduler(
        &storage,
        &clock,
        vec![logging_job(
            "sync",
            Schedule::cron("*/5 * * * *").unwrap(),
            &log,
        )],
        "b",
    );
    for _ in 0..12 {
        clock.advance(MINUTE);
        a.tick().await.unwrap();
        b.tick().await.unwrap();
    }
    assert_eq!(
        *log.lock().unwrap(),
        ["1970-01-01T00:05:00.000Z#1", "1970-01-01T00:10:00.000Z#1"],
        "minutes 5 and 10 ran, once each, nothing at the start"
    );
    let history = a.history("sync").await.unwrap();
    let owners: Vec<_> = history
        .iter()
        .map(|r| (r.tick.as_str(), r.status))
        .collect();
    assert_eq!(
        owners,
        [
            ("1970-01-01T00:10:00.000Z", RunStatus::Succeeded),
            ("1970-01-01T00:05:00.000Z", RunStatus::Succeeded)
        ]
    );
    assert!(
        history
            .iter()
            .all(|r| r.ended_at.is_some() && r.error.is_none())
    );
}

#[tokio::test]
async fn missed_ticks_coalesce_and_disabled_jobs_wait_for_a_trigger() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let every = Schedule::every(Duration::from_secs(10)).unwrap();
    let off = logging_job("off", every.clone(), &log).enabled(false);
    let s = scheduler(
        &storage,
        &clock,
        vec![logging_job("ten", every, &log), off],
        "a",
    );
    clock.advance(Duration::from_secs(35));
    let runs = s.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].tick, "1970-01-01T00:00:30.000Z",
        "only the latest missed tick"
    );
    let manual = s.trigger("off").await.unwrap();
    assert_eq!(
        (manual.trigger, manual.status),
        (Trigger::Manual, RunStatus::Succeeded)
    );
    assert_eq!(manual.tick, "1970-01-01T00:00:35.000Z");
    assert_eq!(s.history("off").await.unwrap().len(), 1);
    assert!(
        s.trigger("nope")
            .await
            .unwrap_err()
            .to_string()
            .contains("\"nope\"")
    );
}

#[tokio::test]
async fn failed_attempts_retry_after_a_doubling_backoff_then_fail_for_good() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = attempts.clone();
    let job = Job::new(
        "flaky",
        Schedule::every(Duration::from_secs(3600)).unwrap(),
        move |run| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Err(format!("boom on attempt {}", run.attempt)) }
        },
    )
    .retries(2)
    .backoff(Duration::from_secs(10));
    let s = scheduler(&storage, &clock, vec![job], "a");
    clock.advance(Duration::from_secs(3600));
    let first = s.tick().await.unwrap();
    assert_eq!(
        (first[0].status, first[0].attempt),
        (RunStatus::Retrying, 1)
    );
    assert_eq!(
        first[0].next_attempt_at.as_deref(),
        Some("1970-01-01T01:00:10.000Z")
    );
    clock.advance(Duration::from_secs(9));
    assert!(s.tick().await.unwrap().is_empty(), "not due yet");
    clock.advance(Duration::from_secs(1));
    let second = s.tick().await.unwrap();
    assert_eq!(
        (second[0].status, second[0].attempt),
        (RunStatus::Retrying, 2)
    );
    assert_eq!(
        second[0].next_attempt_at.as_deref(),
        Some("1970-01-01T01:00:30.000Z"),
        "20 s: doubled"
    );
    clock.advance(Duration::from_secs(20));
    let third = s.tick().await.unwrap();
    assert_eq!((third[0].status, third[0].attempt), (RunStatus::Failed, 3));
    assert_eq!(third[0].error.as_deref(), Some("boom on attempt 3"));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(
        s.history("flaky").await.unwrap()[0].status,
        RunStatus::Failed
    );
}

#[tokio::test(start_paused = true)]
async fn an_attempt_running_past_its_timeout_fails() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let job = Job::new("slow", Schedule::every(MINUTE).unwrap(), |_| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    })
    .timeout(Duration::from_secs(2));
    let s = scheduler(&storage, &clock, vec![job], "a");
    clock.advance(MINUTE);
    let runs = s.tick().await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].error.as_deref(), Some("timed out after 2s"));
}

#[tokio::test]
async fn history_keeps_the_newest_runs() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let s = Scheduler::new(
        storage.clone(),
        Arc::new(clock.clone()),
        vec![logging_job("j", Schedule::every(MINUTE).unwrap(), &log)],
        SchedulerOptions::new("a").keep_runs(3),
    )
    .unwrap();
    for _ in 0..6 {
        clock.advance(MINUTE);
        s.tick().await.unwrap();
    }
    let ticks: Vec<_> = s
        .history("j")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.tick)
        .collect();
    assert_eq!(
        ticks,
        [
            "1970-01-01T00:06:00.000Z",
            "1970-01-01T00:05:00.000Z",
            "1970-01-01T00:04:00.000Z"
        ]
    );
    assert_eq!(storage.list_keys("j/runs/").await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_run_whose_owner_went_silent_is_taken_over_once() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::at_millis(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let job = || {
        logging_job("j", Schedule::every(MINUTE).unwrap(), &log)
            .retries(1)
            .timeout(Duration::from_secs(10))
    };
    // A process claimed the tick at minute 1 and died mid-attempt.
    let dead = json!({
        "job": "j", "tick": "1970-01-01T00:01:00.000Z", "trigger": "schedule",
        "status": "running", "attempt": 1, "owner": "dead",
        "startedAt": "1970-01-01T00:01:00.000Z", "attemptStartedAt": "1970-01-01T00:01:00.000Z"
    });
    let payload = PutPayload {
        body: dead.to_string().into(),
        ..PutPayload::default()
    };
    storage
        .put("j/runs/1970-01-01T00:01:00.000Z", payload, PutMode::Create)
        .await
        .unwrap();
    let (a, b) = (
        scheduler(&storage, &clock, vec![job()], "a"),
        scheduler(&storage, &clock, vec![job()], "b"),
    );
    clock.set(time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60 + 15));
    assert!(
        a.recover().await.unwrap().is_empty(),
        "15 s < twice the timeout: not stale yet"
    );
    clock.set(time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60 + 21));
    let (ra, rb) = (a.recover().await.unwrap(), b.recover().await.unwrap());
    assert_eq!(ra.len() + rb.len(), 1, "one process takes it over");
    let run = ra.into_iter().chain(rb).next().unwrap();
    assert_eq!(
        (run.status, run.attempt, run.owner.as_str()),
        (RunStatus::Succeeded, 2, "a")
    );
    assert_eq!(*log.lock().unwrap(), ["1970-01-01T00:01:00.000Z#2"]);
}

#[test]
fn bad_jobs_are_refused_naming_them() {
    let clock = ManualClock::at_millis(0);
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let every = Schedule::every(MINUTE).unwrap();
    let bad = Scheduler::new(
        storage.clone(),
        Arc::new(clock.clone()),
        vec![logging_job("a/b", every.clone(), &log)],
        SchedulerOptions::new("x"),
    );
    assert!(bad.unwrap_err().to_string().contains("\"a/b\""));
    let twice = vec![
        logging_job("a", every.clone(), &log),
        logging_job("a", every, &log),
    ];
    let twice = Scheduler::new(storage, Arc::new(clock), twice, SchedulerOptions::new("x"));
    assert!(twice.unwrap_err().to_string().contains("twice"));
}

const PROCESSES: usize = 4;
const TICKS: i64 = 25;
const T0_MS: i64 = 1_700_000_000_000;

/// N processes run the same schedule over the same ticks on one bucket: every tick's job
/// ran exactly once (checked by the effect objects the job writes, one per run, and by
/// the run objects), whatever the order the processes reach it in.
async fn processes_run_each_tick_once(server: Server) {
    let config = fresh_bucket_on(server).await.unwrap();
    let endpoint = config.endpoint.clone().unwrap();
    let workers = spawn(
        "scheduler::tick_worker",
        PROCESSES,
        &[
            ("ENDPOINT", endpoint),
            ("BUCKET", config.bucket.clone()),
            ("START_AT", (wall_millis() + 1500).to_string()),
        ],
    );
    let results = workers.wait();
    let mut ran: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests = 0u64;
    let mut winners = Vec::new();
    for (ok, reports) in &results {
        assert!(ok, "a worker failed: {reports:?}");
        let report = &reports[0];
        winners.push(report["ran"].as_array().unwrap().len());
        for tick in report["ran"].as_array().unwrap() {
            *ran.entry(tick.as_str().unwrap().to_owned()).or_default() += 1;
        }
        requests += report["requests"].as_u64().unwrap();
    }
    let storage = S3Storage::connect(&config).await.unwrap();
    let mut effects: BTreeMap<String, usize> = BTreeMap::new();
    for key in storage.list_keys("effects/").await.unwrap() {
        let tick = key.split('/').nth(1).unwrap().to_owned();
        *effects.entry(tick).or_default() += 1;
    }
    let runs = storage.list_keys("job/runs/").await.unwrap();
    let violations = ran.values().filter(|n| **n != 1).count()
        + effects.values().filter(|n| **n != 1).count()
        + usize::try_from(TICKS).unwrap().abs_diff(effects.len());
    println!(
        "scheduler on {}: {PROCESSES} processes x {TICKS} ticks: {} runs, {} effect objects, {violations} violations, {:.1} requests per tick (all processes); runs per process {winners:?}",
        server.name(),
        ran.values().sum::<usize>(),
        effects.len(),
        requests as f64 / TICKS as f64
    );
    assert_eq!(violations, 0, "ran {ran:?} effects {effects:?}");
    assert_eq!(runs.len(), usize::try_from(TICKS).unwrap());
}

#[tokio::test]
async fn processes_run_each_tick_once_on_moto() {
    processes_run_each_tick_once(Server::Moto).await;
}

#[tokio::test]
async fn processes_run_each_tick_once_on_seaweedfs() {
    processes_run_each_tick_once(Server::SeaweedFs).await;
}

#[tokio::test]
#[ignore = "a worker process of processes_run_each_tick_once_*"]
async fn tick_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let config = s3_config_at(worker.param("ENDPOINT").to_owned(), worker.param("BUCKET"));
    let metered = Metrics::new(S3Storage::connect(&config).await.unwrap());
    let recorder = metered.recorder();
    let storage: Arc<dyn Storage> = Arc::new(metered);
    let clock = ManualClock::at_millis(T0_MS);
    let owner = format!("w{}", worker.index);
    let effects = storage.clone();
    let job_owner = owner.clone();
    // The job's effect: one object per (tick, process) — a second run of a tick would
    // leave a second object.
    let job = Job::new("job", Schedule::every(MINUTE).unwrap(), move |run| {
        let (effects, key) = (effects.clone(), format!("effects/{}/{job_owner}", run.tick));
        async move {
            effects
                .put(&key, PutPayload::default(), PutMode::Create)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    });
    let s = scheduler(&storage, &clock, vec![job], &owner);
    // Start together, so the processes race for the same ticks.
    let start_at: u64 = worker.param("START_AT").parse().unwrap();
    tokio::time::sleep(Duration::from_millis(
        start_at.saturating_sub(wall_millis()),
    ))
    .await;
    let mut ran = Vec::new();
    for k in 1..=TICKS {
        // Each process reaches the tick at a slightly different moment inside the minute.
        let jitter = i64::try_from(worker.index).unwrap() * 250;
        clock.set(
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(T0_MS + k * 60_000 + jitter) * 1_000_000,
            )
            .unwrap(),
        );
        for run in s.tick().await.unwrap() {
            assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
            ran.push(run.tick);
        }
    }
    let requests = recorder.snapshot().requests();
    worker.report(&json!({"ran": ran, "requests": requests}));
}
