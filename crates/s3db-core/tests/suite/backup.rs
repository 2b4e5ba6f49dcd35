//! Backups you can trust, through the library API on `memory://` databases: round trips,
//! refusal to mix backups, overwrite leaving exactly the new files, and restores that verify
//! every file before writing anything.

use std::fs;
use std::path::Path;

use s3db_core::backup::{BackupError, BackupOptions, RestoreOptions, backup, restore};
use s3db_core::{Database, Error, Record, ResourceConfig};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

/// `users`, partitioned by city.
fn users_config() -> ResourceConfig {
    ResourceConfig::from_json(&json!({
        "name": "users",
        "behavior": "body-overflow",
        "attributes": {"name": "string", "city": "string"},
        "partitions": {"byCity": {"fields": {"city": "string"}}}
    }))
    .unwrap()
}

/// A database with `users` (partitioned by city, 3 records) and `notes` (2 records).
async fn source(name: &str) -> Database {
    let db = Database::connect(&format!("memory://{name}"))
        .await
        .unwrap();
    let users = db.create_resource(users_config()).await.unwrap();
    for (id, name, city) in [
        ("u1", "Ana", "lisbon"),
        ("u2", "Bo", "porto"),
        ("u3", "Cy", "faro"),
    ] {
        users
            .insert(record(json!({"id": id, "name": name, "city": city})))
            .await
            .unwrap();
    }
    let notes = db
        .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
        .await
        .unwrap();
    for id in ["n1", "n2"] {
        notes
            .insert(record(json!({"id": id, "text": format!("note {id}")})))
            .await
            .unwrap();
    }
    db
}

async fn all(db: &Database, resource: &str) -> Vec<Record> {
    let mut records = db.resource(resource).unwrap().get_all().await.unwrap();
    records.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    records
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join("s3db.json")).unwrap()).unwrap()
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value = manifest(dir);
    edit(&mut value);
    fs::write(dir.join("s3db.json"), value.to_string()).unwrap();
}

#[tokio::test]
async fn a_backup_restores_into_a_fresh_memory_database() {
    let db = source("bk-roundtrip").await;
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let options = BackupOptions::new()
            .compress(compress)
            .bucket("memory://bk-roundtrip");
        let made = backup(&db, dir.path(), &options).await.unwrap();
        assert_eq!((made.records, made.resources.len()), (5, 2));
        let ext = if compress { "jsonl.gz" } else { "jsonl" };
        assert_eq!(
            names_in(dir.path()),
            [
                format!("notes.{ext}"),
                "s3db.json".into(),
                format!("users.{ext}")
            ]
        );
        let users = &manifest(dir.path())["resources"]["users"];
        assert_eq!(users["file"], format!("users.{ext}"));
        assert_eq!(users["stats"]["recordCount"], 3);
        assert_eq!(users["sha256"].as_str().unwrap().len(), 64);
        let reported = made
            .resources
            .iter()
            .find(|r| r.resource == "users")
            .unwrap();
        assert_eq!(users["sha256"], reported.sha256);

        let copy = Database::connect(&format!("memory://bk-roundtrip-copy-{compress}"))
            .await
            .unwrap();
        let report = restore(&copy, dir.path(), &RestoreOptions::new())
            .await
            .unwrap();
        assert_eq!((report.restored(), report.failed()), (5, 0));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        for resource in ["users", "notes"] {
            assert_eq!(all(&copy, resource).await, all(&db, resource).await);
        }
        let porto = copy
            .resource("users")
            .unwrap()
            .list_partition("byCity", json!({"city": "porto"}))
            .await
            .unwrap();
        assert_eq!(porto.len(), 1);
    }
}

/// The reported bug: `backup --compress`, change a record, `backup` again left both
/// `users.jsonl.gz` (old) and `users.jsonl` (new), and restore brought back the old record.
#[tokio::test]
async fn a_second_backup_is_refused_and_overwrite_leaves_only_the_new_files() {
    let db = source("bk-overwrite").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new().compress(true))
        .await
        .unwrap();
    let users = db.resource("users").unwrap();
    users
        .update("u1", record(json!({"name": "Ana NEW"})))
        .await
        .unwrap();
    let before = names_in(dir.path());

    let refused = backup(&db, dir.path(), &BackupOptions::new()).await;
    assert!(
        matches!(refused, Err(Error::Backup(BackupError::NotEmpty { .. }))),
        "{refused:?}"
    );
    assert_eq!(
        names_in(dir.path()),
        before,
        "a refused backup changes nothing"
    );

    let made = backup(&db, dir.path(), &BackupOptions::new().overwrite(true))
        .await
        .unwrap();
    assert_eq!(made.removed, ["notes.jsonl.gz", "users.jsonl.gz"]);
    assert_eq!(
        names_in(dir.path()),
        ["notes.jsonl", "s3db.json", "users.jsonl"]
    );
    let copy = Database::connect("memory://bk-overwrite-copy")
        .await
        .unwrap();
    restore(&copy, dir.path(), &RestoreOptions::new())
        .await
        .unwrap();
    assert_eq!(
        copy.resource("users").unwrap().get("u1").await.unwrap()["name"],
        "Ana NEW"
    );
}

#[tokio::test]
async fn overwrite_never_deletes_what_a_backup_did_not_write() {
    let db = source("bk-foreign").await;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let refused = backup(&db, dir.path(), &BackupOptions::new().overwrite(true)).await;
    assert!(
        matches!(&refused, Err(Error::Backup(BackupError::ForeignEntry { entry, .. })) if entry == "thesis.tex"),
        "{refused:?}"
    );
    assert_eq!(names_in(dir.path()), ["thesis.tex"]);
}

/// Restores into a fresh database must refuse with `expected`, and define nothing.
async fn refused(dir: &Path, name: &str, expected: impl Fn(&BackupError) -> bool) -> String {
    let target = Database::connect(&format!("memory://{name}"))
        .await
        .unwrap();
    let err = restore(&target, dir, &RestoreOptions::new())
        .await
        .unwrap_err();
    match &err {
        Error::Backup(e) if expected(e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
    assert!(target.list_resources().is_empty(), "nothing is defined");
    err.to_string()
}

#[tokio::test]
async fn a_tampered_file_is_refused_before_anything_is_written() {
    let db = source("bk-tamper").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new())
        .await
        .unwrap();
    // Same number of lines, one value changed: only the checksum can tell.
    let users = dir.path().join("users.jsonl");
    let text = fs::read_to_string(&users).unwrap().replace("Bo", "Eve");
    fs::write(&users, text).unwrap();
    let message = refused(dir.path(), "bk-tamper-target", |e| {
        matches!(e, BackupError::ChecksumMismatch { .. })
    })
    .await;
    assert!(message.contains("users.jsonl"), "{message}");

    // With records already in the target and `clear`: nothing is deleted either.
    let target = source("bk-tamper-existing").await;
    let err = restore(&target, dir.path(), &RestoreOptions::new().clear(true))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Backup(BackupError::ChecksumMismatch { .. })
    ));
    assert_eq!(all(&target, "users").await.len(), 3);
    assert_eq!(all(&target, "notes").await.len(), 2);
}

#[tokio::test]
async fn a_truncated_compressed_file_is_refused() {
    let db = source("bk-truncated").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new().compress(true))
        .await
        .unwrap();
    let users = dir.path().join("users.jsonl.gz");
    let bytes = fs::read(&users).unwrap();
    fs::write(&users, &bytes[..bytes.len() / 2]).unwrap();
    let message = refused(dir.path(), "bk-truncated-target", |e| {
        matches!(e, BackupError::Corrupt { .. })
    })
    .await;
    assert!(message.contains("users.jsonl.gz"), "{message}");
}

#[tokio::test]
async fn a_missing_file_is_refused() {
    let db = source("bk-missing").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new())
        .await
        .unwrap();
    fs::remove_file(dir.path().join("users.jsonl")).unwrap();
    let message = refused(
        dir.path(),
        "bk-missing-target",
        |e| matches!(e, BackupError::MissingFile { resource, .. } if resource == "users"),
    )
    .await;
    assert!(message.contains("users.jsonl"), "{message}");
}

#[tokio::test]
async fn a_record_count_that_differs_from_the_manifest_is_refused() {
    let db = source("bk-count").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new())
        .await
        .unwrap();
    edit_manifest(dir.path(), |m| {
        m["resources"]["notes"]["stats"]["recordCount"] = json!(7);
    });
    refused(dir.path(), "bk-count-target", |e| {
        matches!(
            e,
            BackupError::CountMismatch {
                expected: 7,
                actual: 2,
                ..
            }
        )
    })
    .await;
}

/// An s3db.js manifest has no `file` or `sha256`: the file follows `compressed` (a stray
/// file of the other kind is ignored), the count is checked, and the restore warns.
#[tokio::test]
async fn a_manifest_without_checksums_restores_with_counts_checked_and_a_warning() {
    let db = source("bk-legacy").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new())
        .await
        .unwrap();
    edit_manifest(dir.path(), |m| {
        for entry in m["resources"].as_object_mut().unwrap().values_mut() {
            let entry = entry.as_object_mut().unwrap();
            entry.remove("file");
            entry.remove("sha256");
        }
    });
    fs::write(
        dir.path().join("users.jsonl.gz"),
        b"not what the manifest names",
    )
    .unwrap();
    let copy = Database::connect("memory://bk-legacy-copy").await.unwrap();
    let report = restore(&copy, dir.path(), &RestoreOptions::new())
        .await
        .unwrap();
    assert_eq!(report.restored(), 5);
    assert_eq!(report.warnings.len(), 2);
    assert!(report.warnings.iter().all(|w| w.contains("no checksum")));
    assert_eq!(all(&copy, "users").await, all(&db, "users").await);

    // Lines removed from a legacy file: the count catches it.
    let users = dir.path().join("users.jsonl");
    let text = fs::read_to_string(&users).unwrap();
    fs::write(&users, text.lines().next().unwrap()).unwrap();
    refused(dir.path(), "bk-legacy-target", |e| {
        matches!(
            e,
            BackupError::CountMismatch {
                expected: 3,
                actual: 1,
                ..
            }
        )
    })
    .await;
}

#[tokio::test]
async fn clear_deletes_stale_records_of_the_restored_resources_only() {
    let db = source("bk-clear").await;
    let dir = tempfile::tempdir().unwrap();
    backup(&db, dir.path(), &BackupOptions::new().resources(["users"]))
        .await
        .unwrap();
    assert_eq!(names_in(dir.path()), ["s3db.json", "users.jsonl"]);
    let target = source("bk-clear-target").await;
    let users = target.resource("users").unwrap();
    users
        .insert(record(
            json!({"id": "stale", "name": "Old", "city": "faro"}),
        ))
        .await
        .unwrap();
    // Paranoid (the default): clearing is refused before anything is written.
    let err = restore(&target, dir.path(), &RestoreOptions::new().clear(true))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Paranoid { resource, .. } if resource == "users"),
        "{err}"
    );
    assert_eq!(all(&target, "users").await.len(), 4, "nothing deleted");
    target
        .create_resource(users_config().paranoid(false))
        .await
        .unwrap();
    let report = restore(&target, dir.path(), &RestoreOptions::new().clear(true))
        .await
        .unwrap();
    assert_eq!(report.resources.len(), 1);
    assert_eq!((report.resources[0].cleared, report.restored()), (4, 3));
    assert_eq!(all(&target, "users").await, all(&db, "users").await);
    assert_eq!(
        all(&target, "notes").await.len(),
        2,
        "not in the backup: untouched"
    );
}
