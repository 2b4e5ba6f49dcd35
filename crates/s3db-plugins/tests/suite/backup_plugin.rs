//! Backups as a library part: full + incremental round trips (deletions included) into a
//! directory, a memory storage and another bucket; verify; retention; scheduled backups,
//! also run by several processes at once.

use std::sync::Arc;
use std::time::Duration;

use s3db_core::Database;
use s3db_plugins::backup::{BackupKind, Backups};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::scheduler::{RunStatus, Schedule, Scheduler, SchedulerOptions};
use s3db_storage::testing::{Server, fresh_bucket_on, fresh_storage_on, s3_config_at};
use s3db_storage::{FsStorage, MemoryStorage, S3Storage, Storage, StorageExt};
use serde_json::{Value, json};

use crate::common::processes::{Worker, spawn, wall_millis};
use crate::common::{define, rec};

async fn db_at(clock: &ManualClock) -> Database {
    Database::builder(Arc::new(MemoryStorage::new()))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .unwrap()
}

async fn state(db: &Database) -> Vec<Value> {
    let mut all: Vec<Value> = db
        .resource("notes")
        .unwrap()
        .get_all()
        .await
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.remove("createdAt");
            r.remove("updatedAt");
            Value::Object(r)
        })
        .collect();
    all.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    all
}

/// Defines `notes` in `db` with `n` records `n00`, `n01`….
async fn notes_with(db: &Database, n: usize) -> s3db_core::Resource {
    let notes = define(
        db,
        json!({"name": "notes", "attributes": {"text": "string"}}),
    )
    .await;
    for i in 0..n {
        let note = json!({"id": format!("n{i:02}"), "text": format!("t{i}")});
        notes.insert(rec(note)).await.unwrap();
    }
    notes
}

/// Full, then changes (insert, update, delete), then incremental, twice; restoring each
/// backup into an empty database gives the source's state at that backup.
async fn round_trip(destination: Arc<dyn Storage>) {
    let clock = ManualClock::at_millis(1_700_000_000_000);
    let db = db_at(&clock).await;
    let notes = notes_with(&db, 20).await;
    let backups = Backups::new(db.clone(), destination.clone());
    let mut expected = vec![(
        backups.backup(BackupKind::Full).await.unwrap(),
        state(&db).await,
    )];
    for round in 0..2 {
        clock.advance(Duration::from_secs(60));
        notes.delete(&format!("n{round:02}")).await.unwrap();
        notes
            .update("n10", rec(json!({"text": format!("changed {round}")})))
            .await
            .unwrap();
        notes
            .insert(rec(json!({"id": format!("new{round}"), "text": "new"})))
            .await
            .unwrap();
        let entry = backups.backup(BackupKind::Incremental).await.unwrap();
        assert_eq!(
            (entry.records, entry.deleted_count()),
            (2, 1),
            "only what changed"
        );
        expected.push((entry, state(&db).await));
    }
    let listed: Vec<_> = backups
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        listed,
        expected
            .iter()
            .map(|(e, _)| e.id.clone())
            .collect::<Vec<_>>()
    );
    for (entry, want) in &expected {
        backups.verify(&entry.id).await.unwrap();
        let copy = db_at(&clock).await;
        backups.restore(&entry.id, &copy).await.unwrap();
        assert_eq!(&state(&copy).await, want, "restore of {}", entry.id);
    }
}

#[tokio::test]
async fn full_and_incremental_round_trip_into_memory() {
    round_trip(Arc::new(MemoryStorage::new())).await;
}

#[tokio::test]
async fn full_and_incremental_round_trip_into_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(Arc::new(FsStorage::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn full_and_incremental_round_trip_into_another_bucket() {
    round_trip(Arc::new(fresh_storage_on(Server::Moto).await.unwrap())).await;
}

#[tokio::test]
async fn verify_catches_a_damaged_record_file() {
    let clock = ManualClock::at_millis(0);
    let db = db_at(&clock).await;
    let notes = define(
        &db,
        json!({"name": "notes", "attributes": {"text": "string"}}),
    )
    .await;
    notes
        .insert(rec(json!({"id": "a", "text": "x"})))
        .await
        .unwrap();
    let destination: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let backups = Backups::new(db, destination.clone());
    let entry = backups.backup(BackupKind::Full).await.unwrap();
    destination
        .put_bytes(
            &format!("{}/notes.jsonl", entry.id),
            "{\"id\":\"a\",\"text\":\"evil\"}\n",
        )
        .await
        .unwrap();
    let err = backups.verify(&entry.id).await.unwrap_err().to_string();
    assert!(
        err.contains("notes.jsonl") && err.contains("SHA-256"),
        "{err}"
    );
    assert!(
        backups
            .verify("nope")
            .await
            .unwrap_err()
            .to_string()
            .contains("\"nope\"")
    );
}

#[tokio::test]
async fn retention_keeps_the_newest_fulls_and_drops_old_chains() {
    let clock = ManualClock::at_millis(0);
    let db = db_at(&clock).await;
    define(
        &db,
        json!({"name": "notes", "attributes": {"text": "string"}}),
    )
    .await;
    let destination: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let backups = Backups::new(db, destination.clone()).keep_last(2);
    let mut fulls = Vec::new();
    for _ in 0..3 {
        fulls.push(backups.backup(BackupKind::Full).await.unwrap().id);
        clock.advance(Duration::from_secs(1));
        backups.backup(BackupKind::Incremental).await.unwrap();
        clock.advance(Duration::from_secs(1));
    }
    let kept: Vec<_> = backups
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == BackupKind::Full)
        .map(|e| e.id)
        .collect();
    assert_eq!(kept, fulls[1..]);
    assert_eq!(
        backups.list().await.unwrap().len(),
        4,
        "two chains of full + incremental"
    );
    assert!(
        destination
            .list_keys(&format!("{}/", fulls[0]))
            .await
            .unwrap()
            .is_empty(),
        "files deleted"
    );
    let by_age = backups.clone().max_age(Duration::from_millis(1500));
    clock.advance(Duration::from_secs(1));
    by_age.prune().await.unwrap();
    let left: Vec<_> = by_age
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        left,
        [BackupKind::Full, BackupKind::Incremental],
        "the newest chain always stays"
    );
}

#[tokio::test]
async fn scheduled_backups_run_on_each_cron_tick() {
    let clock = ManualClock::at_millis(0);
    let db = db_at(&clock).await;
    define(
        &db,
        json!({"name": "notes", "attributes": {"text": "string"}}),
    )
    .await;
    let backups = Backups::new(db, Arc::new(MemoryStorage::new()));
    let job = backups.job(
        "nightly",
        Schedule::cron("0 3 * * *").unwrap(),
        BackupKind::Incremental,
    );
    let scheduler = Scheduler::new(
        Arc::new(MemoryStorage::new()),
        Arc::new(clock.clone()),
        vec![job],
        SchedulerOptions::new("a"),
    )
    .unwrap();
    for _ in 0..48 {
        clock.advance(Duration::from_secs(3600));
        for run in scheduler.tick().await.unwrap() {
            assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        }
    }
    let kinds: Vec<_> = backups
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.timestamp, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("1970-01-01T03:00:00.000Z".to_owned(), BackupKind::Full),
            (
                "1970-01-02T03:00:00.000Z".to_owned(),
                BackupKind::Incremental
            )
        ]
    );
}

const BACKUP_PROCESSES: usize = 3;
const BACKUP_TICKS: i64 = 6;
const BACKUP_T0_MS: i64 = 1_700_000_000_000;

/// Several processes run the same scheduled backup job on one source bucket into one
/// destination bucket: each tick makes exactly one backup, every incremental's parent is
/// a listed backup, and the newest one restores to the source's records.
async fn scheduled_backups_across_processes(server: Server) {
    let source = fresh_bucket_on(server).await.unwrap();
    let destination = fresh_bucket_on(server).await.unwrap();
    let db = Database::builder(Arc::new(S3Storage::connect(&source).await.unwrap()))
        .open()
        .await
        .unwrap();
    notes_with(&db, 12).await;
    let workers = spawn(
        "backup_plugin::backup_worker",
        BACKUP_PROCESSES,
        &[
            ("ENDPOINT", source.endpoint.clone().unwrap()),
            ("SOURCE", source.bucket.clone()),
            ("DESTINATION", destination.bucket.clone()),
            ("START_AT", (wall_millis() + 1500).to_string()),
        ],
    );
    let mut runs_per_process = Vec::new();
    for (ok, reports) in workers.wait() {
        assert!(ok, "a worker failed: {reports:?}");
        runs_per_process.push(reports[0]["ran"].as_u64().unwrap());
    }
    let destination = Arc::new(S3Storage::connect(&destination).await.unwrap());
    let backups = Backups::new(db.clone(), destination);
    let listed = backups.list().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    let orphans = listed
        .iter()
        .filter(|e| e.parent.as_deref().is_some_and(|p| !ids.contains(&p)))
        .count();
    let violations = usize::try_from(BACKUP_TICKS)
        .unwrap()
        .abs_diff(listed.len())
        + orphans;
    println!(
        "backups on {}: {BACKUP_PROCESSES} processes x {BACKUP_TICKS} ticks: {} backups ({} full), runs per process {runs_per_process:?}, {violations} violations",
        server.name(),
        listed.len(),
        listed.iter().filter(|e| e.kind == BackupKind::Full).count()
    );
    assert_eq!(violations, 0, "{listed:?}");
    assert_eq!(runs_per_process.iter().sum::<u64>(), BACKUP_TICKS as u64);
    let restored = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    backups
        .restore(&listed.last().unwrap().id, &restored)
        .await
        .unwrap();
    assert_eq!(state(&restored).await, state(&db).await);
}

#[tokio::test]
async fn scheduled_backups_across_processes_on_moto() {
    scheduled_backups_across_processes(Server::Moto).await;
}

#[tokio::test]
async fn scheduled_backups_across_processes_on_seaweedfs() {
    scheduled_backups_across_processes(Server::SeaweedFs).await;
}

#[tokio::test]
#[ignore = "a worker process of scheduled_backups_across_processes_*"]
async fn backup_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let endpoint = worker.param("ENDPOINT");
    let config = |bucket: &str| s3_config_at(endpoint.to_owned(), worker.param(bucket));
    let source = S3Storage::connect(&config("SOURCE")).await.unwrap();
    let destination: Arc<dyn Storage> =
        Arc::new(S3Storage::connect(&config("DESTINATION")).await.unwrap());
    let clock = ManualClock::at_millis(BACKUP_T0_MS);
    let db = Database::builder(Arc::new(source))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .unwrap();
    let backups = Backups::new(db, destination.clone());
    let job = backups.job(
        "backup",
        Schedule::every(Duration::from_secs(60)).unwrap(),
        BackupKind::Incremental,
    );
    let owner = format!("w{}", worker.index);
    let scheduler = Scheduler::new(
        destination,
        Arc::new(clock.clone()),
        vec![job],
        SchedulerOptions::new(owner),
    )
    .unwrap();
    let start_at: u64 = worker.param("START_AT").parse().unwrap();
    tokio::time::sleep(Duration::from_millis(
        start_at.saturating_sub(wall_millis()),
    ))
    .await;
    let mut ran = 0u64;
    for k in 1..=BACKUP_TICKS {
        let jitter = i64::try_from(worker.index).unwrap() * 250;
        clock.set(
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(BACKUP_T0_MS + k * 60_000 + jitter) * 1_000_000,
            )
            .unwrap(),
        );
        for run in scheduler.tick().await.unwrap() {
            assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
            ran += 1;
        }
    }
    worker.report(&json!({"ran": ran}));
}
