//! End-to-end tests of the `s3db` binary on temporary `file://` stores.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;

const PEOPLE: &str = r#"{
  "name": "people",
  "behavior": "body-overflow",
  "attributes": {
    "name": "string|required",
    "email": "email",
    "age": "number|optional",
    "active": "boolean|optional",
    "address": {"city": "string", "zip": "string|optional"},
    "tags": "array|items:string|optional"
  },
  "partitions": {"byCity": {"fields": {"address.city": "string"}}}
}"#;

/// A temporary directory holding a store (`store/`) and scratch files.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `s3db --json` on the store named `store` inside the workspace.
    fn s3db(&self, store: &str) -> Command {
        let mut cmd = Command::cargo_bin("s3db").unwrap();
        cmd.current_dir(self.dir.path())
            .env(
                "S3DB_CONNECTION_STRING",
                format!("file://{}", self.path(store).display()),
            )
            .env_remove("S3DB_PASSPHRASE")
            .env_remove("S3DB_LOG_LEVEL")
            .arg("--json");
        cmd
    }

    /// Runs a command that must succeed; returns its stdout as JSON.
    fn json(&self, store: &str, args: &[&str]) -> Value {
        let out = self.s3db(store).args(args).assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    fn with_people(&self, store: &str) {
        let def = self.write("people.json", PEOPLE);
        self.s3db(store)
            .args(["create-resource", "--file"])
            .arg(&def)
            .assert()
            .success();
    }

    /// Every record of a resource, exported as JSON lines, parsed.
    fn export(&self, store: &str, resource: &str) -> Vec<Value> {
        let out = self
            .s3db(store)
            .args(["export", resource])
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn person(i: u32) -> Value {
    let cities = ["lisbon", "porto", "braga", "faro"];
    json!({
        "id": format!("p{i:03}"),
        "name": format!("Person {i}, \"quoted\""),
        "email": format!("person{i}@example.com"),
        "age": 20 + i,
        "active": i.is_multiple_of(2),
        "address": {"city": cities[(i % 4) as usize], "zip": format!("{}", 1000 + i)},
        "tags": [format!("t{}", i % 3)],
    })
}

fn jsonl(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn help_documents_connection_and_exit_codes() {
    Command::cargo_bin("s3db")
        .unwrap()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"))
        .stdout(predicate::str::contains("3  not found"))
        .stdout(predicate::str::contains("S3DB_CONNECTION_STRING"));
}

#[test]
fn usage_errors_exit_with_2() {
    let ws = Workspace::new();
    ws.s3db("store").arg("frobnicate").assert().code(2);
    ws.s3db("store")
        .args(["--connection", "gopher://x", "count", "people"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: invalid connection string",
        ));
}

#[test]
fn record_commands_work_and_failures_have_their_exit_codes() {
    let ws = Workspace::new();
    ws.with_people("store");
    let again = ws
        .s3db("store")
        .args(["create-resource", "--file"])
        .arg(ws.path("people.json"))
        .assert()
        .success();
    let again: Value = serde_json::from_slice(&again.get_output().stdout).unwrap();
    assert_eq!(again["outcome"], "unchanged");

    let resources = ws.json("store", &["resources"]);
    assert_eq!(resources[0]["name"], "people");
    assert_eq!(resources[0]["partitions"], json!(["byCity"]));
    let shown = ws.json("store", &["resources", "show", "people"]);
    assert_eq!(shown["currentVersion"], "v1");

    let ana = person(1);
    let stored = ws.json("store", &["insert", "people", "--data", &ana.to_string()]);
    assert_eq!(stored, ana);
    assert_eq!(ws.json("store", &["get", "people", "p001"]), ana);

    let bulk = json!([person(2), person(3), {"id": "bad", "email": "nope"}]);
    let out = ws
        .s3db("store")
        .args(["insert", "people", "--data", &bulk.to_string()])
        .assert()
        .code(4);
    let summary: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["inserted"], 2);
    assert_eq!(summary["errors"][0]["element"], 3);

    let updated = ws.json(
        "store",
        &["update", "people", "p001", "--data", r#"{"age": 99}"#],
    );
    assert_eq!(updated["age"], 99);
    assert_eq!(updated["name"], ana["name"]);

    let page = ws.json(
        "store",
        &["list", "people", "--offset", "1", "--limit", "1"],
    );
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], "p002");
    assert_eq!(ws.json("store", &["count", "people"])["count"], 3);

    let porto = ws.json(
        "store",
        &[
            "list",
            "people",
            "--partition",
            "byCity",
            "--values",
            "address.city=porto",
        ],
    );
    let ids: Vec<&str> = porto
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p001"]);
    let served = ws.json(
        "store",
        &[
            "query",
            "people",
            "--filter",
            r#"{"address.city": "braga"}"#,
        ],
    );
    assert_eq!(served[0]["id"], "p002");
    ws.s3db("store")
        .args(["query", "people", "--filter", r#"{"age": 23}"#])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("add --scan"));
    let scanned = ws.json(
        "store",
        &[
            "query",
            "people",
            "--filter",
            r#"{"age": {"$gte": 23}}"#,
            "--scan",
        ],
    );
    assert_eq!(scanned.as_array().unwrap().len(), 2);
    ws.s3db("store")
        .args(["list", "people", "--partition", "byNothing"])
        .assert()
        .code(3);
    let repaired = ws.json("store", &["repair", "people"]);
    assert_eq!(repaired["clean"], true);
    assert_eq!(repaired["records"], 3);

    ws.json("store", &["delete", "people", "p002"]);
    assert_eq!(ws.json("store", &["count", "people"])["count"], 2);

    ws.s3db("store")
        .args(["get", "people", "p002"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: resource \"people\": no record with id \"p002\"",
        ));
    ws.s3db("store")
        .args(["get", "nobody", "x"])
        .assert()
        .code(3);
    ws.s3db("store")
        .args([
            "insert",
            "people",
            "--data",
            r#"{"id": "v", "email": "nope"}"#,
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("validation failed"));
    ws.s3db("store")
        .args(["insert", "people", "--data", &person(1).to_string()])
        .assert()
        .code(5);
    ws.s3db("store")
        .args(["insert", "people", "--data", "{not json"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("--data is not valid JSON"));
}

#[test]
fn import_reports_malformed_lines_and_imports_the_rest() {
    let ws = Workspace::new();
    ws.with_people("store");
    let text = format!(
        "{}{{\"id\": \"broken\",\n{}{}\n{}",
        jsonl(&[person(1)]),
        jsonl(&[
            json!({"id": "invalid", "name": "X", "email": "not-an-email", "address": {"city": "porto"}})
        ]),
        jsonl(&[person(2)]),
        jsonl(&[person(3)]),
    );
    let file = ws.write("in.jsonl", &text);
    let out = ws
        .s3db("store")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("malformed line 2:"))
        .stderr(predicate::str::contains(
            "line 3: resource \"people\": validation failed",
        ));
    let summary: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["imported"], 3);
    assert_eq!(summary["failed"], 2);
    assert_eq!(summary["errors"][0]["line"], 2);
    assert_eq!(summary["errors"][1]["line"], 3);
    let ids: Vec<Value> = ws
        .export("store", "people")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [json!("p001"), json!("p002"), json!("p003")]);
}

#[test]
fn export_then_import_round_trips_in_every_format() {
    let ws = Workspace::new();
    ws.with_people("source");
    let records: Vec<Value> = (0..25).map(person).collect();
    let file = ws.write("people.jsonl", &jsonl(&records));
    ws.s3db("source")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .success();
    let original = ws.export("source", "people");
    assert_eq!(original, records);

    for format in ["jsonl", "json", "csv"] {
        let target = format!("target-{format}");
        ws.with_people(&target);
        let dump = ws.path(&format!("dump.{format}"));
        ws.s3db("source")
            .args(["export", "people", "--format", format, "--output"])
            .arg(&dump)
            .assert()
            .success();
        ws.s3db(&target)
            .args(["import", "people"])
            .arg(&dump)
            .args(["--concurrency", "4"])
            .assert()
            .success();
        assert_eq!(ws.export(&target, "people"), original, "format {format}");
    }
}

#[test]
fn backup_then_restore_into_a_fresh_store_is_equal() {
    let ws = Workspace::new();
    ws.with_people("source");
    let file = ws.write(
        "people.jsonl",
        &jsonl(&(0..12).map(person).collect::<Vec<_>>()),
    );
    ws.s3db("source")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .success();
    ws.s3db("source").arg("demo").assert().success();

    for compress in [false, true] {
        let dir = ws.path(if compress { "backup-gz" } else { "backup" });
        let mut backup = ws.s3db("source");
        backup.arg("backup").arg(&dir);
        if compress {
            backup.arg("--compress");
        }
        let summary: Value =
            serde_json::from_slice(&backup.assert().success().get_output().stdout).unwrap();
        assert_eq!(summary["records"], 17);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("s3db.json")).unwrap()).unwrap();
        assert_eq!(manifest["compressed"], compress);
        assert_eq!(manifest["resources"]["people"]["stats"]["recordCount"], 12);
        assert_eq!(
            manifest["resources"]["people"]["schema"]["behavior"],
            "body-overflow"
        );
        let ext = if compress { "jsonl.gz" } else { "jsonl" };
        assert!(dir.join(format!("users.{ext}")).exists());

        let target = if compress { "restored-gz" } else { "restored" };
        let restored = ws.json(target, &["restore", dir.to_str().unwrap()]);
        assert_eq!(restored["restored"], 17);
        for resource in ["people", "users", "products"] {
            assert_eq!(
                ws.export(target, resource),
                ws.export("source", resource),
                "{resource}"
            );
        }
        let shown = ws.json(target, &["resources", "show", "people"]);
        assert_eq!(
            shown["partitions"],
            json!({"byCity": {"fields": {"address.city": "string"}}})
        );
    }
}

#[test]
fn backup_and_restore_a_subset_without_schemas_and_clear_first() {
    let ws = Workspace::new();
    ws.with_people("source");
    let file = ws.write(
        "people.jsonl",
        &jsonl(&(0..6).map(person).collect::<Vec<_>>()),
    );
    ws.s3db("source")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .success();
    ws.s3db("source").arg("demo").assert().success();
    let dir = ws.path("subset");
    let dir_arg = dir.to_str().unwrap();

    ws.s3db("source")
        .args(["backup", dir_arg, "--resources", "people,nope"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no resource \"nope\""));
    assert!(!dir.join("s3db.json").exists());

    let summary = ws.json(
        "source",
        &["backup", dir_arg, "--resources", "people", "--no-schemas"],
    );
    assert_eq!(summary["resources"], 1);
    assert_eq!(summary["records"], 6);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s3db.json")).unwrap()).unwrap();
    let resources = manifest["resources"].as_object().unwrap();
    assert_eq!(resources.keys().collect::<Vec<_>>(), ["people"]);
    assert!(resources["people"].get("schema").is_none());
    assert_eq!(resources["people"]["stats"]["recordCount"], 6);
    assert!(!dir.join("users.jsonl").exists());

    // No schema in the backup and no resource in the target: refused, naming it.
    ws.s3db("target")
        .args(["restore", dir_arg])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("\"people\""));
    ws.s3db("target")
        .args(["restore", dir_arg, "--resources", "users"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no resource \"users\""));

    // Into an existing resource: stale records go with --clear.
    ws.with_people("target");
    ws.s3db("target")
        .args(["insert", "people", "--data"])
        .arg(json!({"id": "stale", "name": "Old", "email": "old@example.com", "address": {"city": "faro"}}).to_string())
        .assert()
        .success();
    // Paranoid (the default): --clear is refused before anything is written.
    ws.s3db("target")
        .args(["restore", dir_arg, "--clear"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "resource \"people\" is paranoid: deleteAll refused; set paranoid: false",
        ));
    assert_eq!(ws.export("target", "people").len(), 1);
    let relaxed = PEOPLE.replacen(
        r#""name": "people","#,
        r#""name": "people", "paranoid": false,"#,
        1,
    );
    let def = ws.write("people-relaxed.json", &relaxed);
    let defined = ws.json(
        "target",
        &["create-resource", "--file", def.to_str().unwrap()],
    );
    assert_eq!(defined["outcome"], "updated");
    assert_eq!(defined["version"], "v1");
    let report = ws.json("target", &["restore", dir_arg, "--clear"]);
    assert_eq!(
        report["resources"],
        json!([{"resource": "people", "cleared": 1, "restored": 6, "failed": 0}])
    );
    assert_eq!(report["restored"], 6);
    assert_eq!(report["errors"], json!([]));
    assert_eq!(ws.export("target", "people"), ws.export("source", "people"));

    // For people: a table with one row per resource and a total row.
    let out = Command::cargo_bin("s3db")
        .unwrap()
        .env(
            "S3DB_CONNECTION_STRING",
            format!("file://{}", ws.path("target").display()),
        )
        .env_remove("S3DB_PASSPHRASE")
        .args(["restore", dir_arg, "--resources", "people"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "resource       cleared  restored  failed");
    assert!(lines[2].starts_with("people") && lines[2].ends_with("0        6         0"));
    assert!(lines[3].starts_with("(1 resources)"));
}

/// Names in a directory, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A store `source` with 4 people, for the backup tests.
fn people_store(ws: &Workspace) {
    ws.with_people("source");
    let file = ws.write(
        "people.jsonl",
        &jsonl(&(0..4).map(person).collect::<Vec<_>>()),
    );
    ws.s3db("source")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .success();
}

/// The reported bug: `backup --compress`, change a record, `backup` again left both
/// `people.jsonl.gz` (old) and `people.jsonl` (new), and `restore` brought back the old
/// record with exit code 0.
#[test]
fn a_second_backup_needs_overwrite_and_then_restores_the_new_records() {
    let ws = Workspace::new();
    people_store(&ws);
    let dir = ws.path("backup");
    let dir_arg = dir.to_str().unwrap();
    ws.json("source", &["backup", dir_arg, "--compress"]);
    ws.json(
        "source",
        &[
            "update",
            "people",
            "p001",
            "--data",
            r#"{"name": "Changed"}"#,
        ],
    );

    ws.s3db("source")
        .args(["backup", dir_arg])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("is not empty"))
        .stderr(predicate::str::contains("--overwrite"));
    assert_eq!(names_in(&dir), ["people.jsonl.gz", "s3db.json"]);

    let summary = ws.json("source", &["backup", dir_arg, "--overwrite"]);
    assert_eq!(summary["removed"], json!(["people.jsonl.gz"]));
    assert_eq!(names_in(&dir), ["people.jsonl", "s3db.json"]);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s3db.json")).unwrap()).unwrap();
    assert_eq!(manifest["compressed"], false);
    assert_eq!(manifest["resources"]["people"]["file"], "people.jsonl");

    let restored = ws.json("target", &["restore", dir_arg]);
    assert_eq!(restored["restored"], 4);
    assert_eq!(restored["warnings"], json!([]));
    assert_eq!(
        ws.json("target", &["get", "people", "p001"])["name"],
        "Changed"
    );
}

/// A damaged backup is refused before anything is written: a changed byte (checksum), a
/// missing file, a record count that does not match.
#[test]
fn restore_refuses_a_damaged_backup_and_writes_nothing() {
    let ws = Workspace::new();
    people_store(&ws);
    let dir = ws.path("backup");
    let dir_arg = dir.to_str().unwrap();
    ws.json("source", &["backup", dir_arg]);
    let data = dir.join("people.jsonl");
    let original = std::fs::read_to_string(&data).unwrap();
    let manifest_path = dir.join("s3db.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();

    let refused = |code: i32, message: &str| {
        ws.s3db("target")
            .args(["restore", dir_arg])
            .assert()
            .code(code)
            .stderr(predicate::str::contains("people.jsonl"))
            .stderr(predicate::str::contains(message));
        ws.s3db("target")
            .args(["get", "people", "p001"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("no database at"));
    };

    std::fs::write(&data, original.replace("Person 1,", "Person 9,")).unwrap();
    refused(1, "damaged or was changed");

    std::fs::remove_file(&data).unwrap();
    refused(3, "is missing");

    std::fs::write(&data, &original).unwrap();
    let mut edited: Value = serde_json::from_str(&manifest).unwrap();
    edited["resources"]["people"]["stats"]["recordCount"] = json!(5);
    std::fs::write(&manifest_path, edited.to_string()).unwrap();
    refused(1, "holds 4 records, the manifest says 5");

    // Put back, the backup restores.
    std::fs::write(&manifest_path, &manifest).unwrap();
    assert_eq!(ws.json("target", &["restore", dir_arg])["restored"], 4);
}

#[test]
fn json_listings_stream_and_a_closed_stdout_is_not_an_error() {
    let ws = Workspace::new();
    ws.with_people("store");
    let file = ws.write(
        "people.jsonl",
        &jsonl(&(0..120).map(person).collect::<Vec<_>>()),
    );
    ws.s3db("store")
        .args(["import", "people"])
        .arg(&file)
        .assert()
        .success();
    let out = ws.s3db("store").args(["list", "people"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // One element per line, so readers can follow it as it is written.
    assert_eq!(text.lines().count(), 122);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 120);
    assert_eq!(listed[0]["id"], "p000");
    let empty = ws.json("store", &["objects", "list", "--prefix", "nothing/"]);
    assert_eq!(empty, json!([]));

    // More than the output buffer holds, so writes meet the closed pipe.
    for args in [&["list", "people"][..], &["objects", "list"][..]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("s3db"))
            .current_dir(ws.path(""))
            .env(
                "S3DB_CONNECTION_STRING",
                format!("file://{}", ws.path("store").display()),
            )
            .arg("--json")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        assert!(status.success(), "{args:?}");
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/s3dbjs-21.6.2")
}

#[test]
fn fixture_objects_import_and_read_back_as_s3dbjs_does() {
    let ws = Workspace::new();
    let summary = ws.json(
        "store",
        &[
            "objects",
            "import",
            fixtures().join("objects.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(summary["imported"], 66);
    assert_eq!(summary["failed"], 0);

    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let database = &expected["databases"][0];
    let mut checked = 0;
    for (resource, spec) in database["resources"].as_object().unwrap() {
        assert_eq!(
            ws.json("store", &["count", resource])["count"],
            spec["count"],
            "{resource}"
        );
        for (id, record) in spec["records"].as_object().unwrap() {
            let document = &record["document"];
            let text = document.to_string();
            // Values JSON cannot hold are tagged in expected.json; the core's own tests cover them.
            if ["$special", "$date", "$bytes_base64"]
                .iter()
                .any(|t| text.contains(t))
            {
                continue;
            }
            let got = ws
                .s3db("store")
                .args(["--passphrase", "fixture-passphrase", "get", resource, id])
                .assert()
                .success();
            let got: Value = serde_json::from_slice(&got.get_output().stdout).unwrap();
            assert_eq!(&got, document, "{resource}/{id}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} documents compared");

    for (resource, spec) in database["resources"].as_object().unwrap() {
        for listing in spec["partition_listings"].as_array().into_iter().flatten() {
            let values: Vec<String> = listing["values"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            // s3db.js lists `status=open` by key prefix and so also returns `opened`; s3db
            // matches values exactly (documented in docs/compatibility.md).
            if resource == "tickets" && values == ["status=open"] {
                continue;
            }
            let partition = listing["partition"].as_str().unwrap();
            let got = ws.json(
                "store",
                &[
                    "--passphrase",
                    "fixture-passphrase",
                    "list",
                    resource,
                    "--partition",
                    partition,
                    "--values",
                    &values.join(","),
                ],
            );
            let ids: Vec<&Value> = got.as_array().unwrap().iter().map(|r| &r["id"]).collect();
            let want: Vec<&Value> = listing["ids"].as_array().unwrap().iter().collect();
            assert_eq!(ids, want, "{resource} {partition} {values:?}");
        }
    }
}

#[test]
fn objects_export_reproduces_the_fixture_dump() {
    let ws = Workspace::new();
    let fixture = fixtures().join("objects.jsonl");
    ws.json("store", &["objects", "import", fixture.to_str().unwrap()]);
    let dump = ws.path("dump.jsonl");
    ws.s3db("store")
        .args(["objects", "export"])
        .arg(&dump)
        .assert()
        .success();
    let read = |path: &Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                json!([
                    v["key"],
                    v["metadata"],
                    v["body_base64"],
                    v["content_type"],
                    v["etag"],
                    v["size"]
                ])
            })
            .collect()
    };
    assert_eq!(read(&dump), read(&fixture));

    let listed = ws.json(
        "store",
        &["objects", "list", "--prefix", "resource=tickets/data/"],
    );
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 4);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));

    let bad = ws.write(
        "bad.jsonl",
        "{\"key\": \"a\"}\nnot json\n{\"key\": \"b\", \"body_base64\": \"@@\"}\n",
    );
    ws.s3db("other")
        .args(["objects", "import"])
        .arg(&bad)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("malformed line 2"))
        .stderr(predicate::str::contains("line 3: key \"b\": body_base64"));
}

#[test]
fn demo_is_idempotent_and_stats_count_requests() {
    let ws = Workspace::new();
    let first = ws.json("store", &["demo"]);
    let outcomes = |v: &Value| -> Vec<String> {
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["outcome"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        outcomes(&first)
            .iter()
            .all(|o| o == "created" || o == "inserted")
    );
    let second = ws.json("store", &["demo"]);
    assert!(outcomes(&second).iter().all(|o| o == "kept"));
    assert_eq!(outcomes(&first).len(), outcomes(&second).len());

    let stats = ws.json("store", &["stats"]);
    let users = &stats["resources"][0];
    assert_eq!(users["name"], "users");
    assert_eq!(users["records"], 3);
    assert_eq!(users["partitions"], json!({"byCountry": 3}));
    assert!(stats["requests"]["total"].as_u64().unwrap() >= 3);
    assert!(stats["requests"]["estimated_cost_usd"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_default_store_is_file_s3db_data_in_the_working_directory() {
    let ws = Workspace::new();
    let mut cmd = Command::cargo_bin("s3db").unwrap();
    cmd.current_dir(ws.dir.path())
        .env_remove("S3DB_CONNECTION_STRING")
        .arg("demo")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "demo database at file://./s3db-data",
        ));
    assert!(ws.path("s3db-data").is_dir());
}

#[test]
fn read_commands_on_an_empty_store_create_nothing() {
    let ws = Workspace::new();
    let store = ws.path("empty");
    std::fs::create_dir(&store).unwrap();
    let location = format!("file://{}", store.display());
    let backup = ws.path("backup");
    let reads: [&[&str]; 9] = [
        &["resources"],
        &["stats"],
        &["list", "people"],
        &["count", "people"],
        &["get", "people", "p1"],
        &["query", "people", "--filter", "{}", "--scan"],
        &["export", "people"],
        &["backup", backup.to_str().unwrap()],
        &["insert", "people", "--data", "{}"],
    ];
    for args in reads {
        ws.s3db("empty")
            .args(args)
            .assert()
            .code(3)
            .stderr(predicate::str::contains(format!(
                "error: no database at {location}; create a resource or run `s3db init`"
            )));
    }
    let created: Vec<_> = std::fs::read_dir(&store).unwrap().collect();
    assert!(created.is_empty(), "{created:?}");
    assert!(!backup.exists());

    // `init` creates the database once; reads then work.
    let init = ws.json("empty", &["init"]);
    assert_eq!(init, json!({"location": location, "created": true}));
    let objects = ws.json("empty", &["objects", "list"]);
    assert_eq!(objects[0]["key"], "s3db.json");
    assert_eq!(ws.json("empty", &["init"])["created"], false);
    assert_eq!(ws.json("empty", &["resources"]), json!([]));
    assert_eq!(ws.json("empty", &["stats"])["resources"], json!([]));
}

/// Stderr of a finished command, as text.
fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn no_aws_credentials_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    for imds_disabled in [false, true] {
        let mut cmd = Command::cargo_bin("s3db").unwrap();
        cmd.env_clear().env("HOME", home.path()).args([
            "-c",
            "s3://s3db-no-credentials-bucket/app",
            "count",
            "people",
        ]);
        if imds_disabled {
            cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        }
        let started = std::time::Instant::now();
        let assert = cmd.assert().code(4);
        eprintln!(
            "no credentials (IMDS disabled: {imds_disabled}): error after {:?}",
            started.elapsed()
        );
        let stderr = stderr_of(&assert);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: cannot open s3://s3db-no-credentials-bucket/app"),
            "{stderr}"
        );
        for fix in [
            "no AWS credentials found",
            "KEY:SECRET@",
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
        ] {
            assert!(stderr.contains(fix), "{fix} missing: {stderr}");
        }
        for noise in ["IMDS", "WARN", "\u{1b}"] {
            assert!(!stderr.contains(noise), "{noise:?} in {stderr}");
        }
    }
}

const VAULT: &str = r#"{"name": "vault", "attributes": {"label": "string", "token": "secret"}}"#;

#[test]
fn the_default_passphrase_warns_once_without_colour_in_a_pipe() {
    let ws = Workspace::new();
    let def = ws.write("vault.json", VAULT);
    ws.s3db("store")
        .args(["create-resource", "--file"])
        .arg(&def)
        .assert()
        .success();
    let records =
        r#"[{"id": "a", "label": "x", "token": "t1"}, {"id": "b", "label": "y", "token": "t2"}]"#;
    let inserted = ws
        .s3db("store")
        .env("NO_COLOR", "")
        .args(["insert", "vault", "--data", records])
        .assert()
        .success();
    let stderr = stderr_of(&inserted);
    assert_eq!(stderr.matches("default passphrase").count(), 1, "{stderr}");
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(stderr.contains("--passphrase-file"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escapes in a pipe: {stderr:?}"
    );
    // Reading warns too; a resource without secret fields, or a given passphrase, does not.
    let read = ws
        .s3db("store")
        .args(["get", "vault", "a"])
        .assert()
        .success();
    assert!(stderr_of(&read).contains("default passphrase"));
    let given = ws
        .s3db("store")
        .args(["--passphrase", "secret", "get", "vault", "a"])
        .assert()
        .success();
    assert_eq!(stderr_of(&given), "");
    ws.with_people("store");
    let plain = ws.s3db("store").args(["list", "people"]).assert().success();
    assert_eq!(stderr_of(&plain), "");
}

#[test]
fn the_passphrase_comes_from_the_flag_a_file_or_the_environment() {
    let ws = Workspace::new();
    let def = ws.write("vault.json", VAULT);
    ws.s3db("store")
        .args(["create-resource", "--file"])
        .arg(&def)
        .assert()
        .success();
    let record = r#"{"id": "a", "label": "x", "token": "hunter2"}"#;
    ws.json(
        "store",
        &["--passphrase", "p-one", "insert", "vault", "--data", record],
    );
    let token = |cmd: &mut Command| -> Value {
        let out = cmd.args(["get", "vault", "a"]).assert().success();
        assert_eq!(stderr_of(&out), "", "no default-passphrase warning");
        serde_json::from_slice::<Value>(&out.get_output().stdout).unwrap()["token"].clone()
    };
    assert_eq!(
        token(ws.s3db("store").args(["--passphrase", "p-one"])),
        "hunter2"
    );
    let file = ws.write("passphrase.txt", "p-one\n");
    assert_eq!(
        token(ws.s3db("store").arg("--passphrase-file").arg(&file)),
        "hunter2",
        "one trailing line break is not part of the passphrase"
    );
    assert_eq!(
        token(ws.s3db("store").env("S3DB_PASSPHRASE", "p-one")),
        "hunter2"
    );
    // The flag and the file win over the environment.
    assert_eq!(
        token(
            ws.s3db("store")
                .env("S3DB_PASSPHRASE", "wrong")
                .arg("--passphrase-file")
                .arg(&file)
        ),
        "hunter2"
    );
    // The default passphrase cannot decrypt it (and warns).
    let wrong = ws
        .s3db("store")
        .args(["get", "vault", "a"])
        .assert()
        .failure();
    let stderr = stderr_of(&wrong);
    assert!(stderr.contains("default passphrase"), "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    // Both options at once, an empty file, a missing file: usage errors.
    ws.s3db("store")
        .args(["--passphrase", "p-one", "--passphrase-file"])
        .arg(&file)
        .args(["get", "vault", "a"])
        .assert()
        .code(2);
    let empty = ws.write("empty.txt", "\n");
    ws.s3db("store")
        .arg("--passphrase-file")
        .arg(&empty)
        .args(["get", "vault", "a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is empty"));
    ws.s3db("store")
        .args(["--passphrase-file", "no-such-file", "get", "vault", "a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read --passphrase-file"));
}

#[test]
fn resources_show_reports_what_a_definition_keeps_but_does_not_apply() {
    let ws = Workspace::new();
    let file = ws.write(
        "users.json",
        &json!({
            "name": "users",
            "attributes": {"email": "email|unique", "nick": "string|foo:bar"}
        })
        .to_string(),
    );
    ws.s3db("store")
        .args(["create-resource", "--file"])
        .arg(file)
        .assert()
        .success();
    let shown = ws.json("store", &["resources", "show", "users"]);
    let warnings = shown["warnings"].as_array().unwrap();
    let text: Vec<&str> = warnings.iter().filter_map(Value::as_str).collect();
    assert!(
        !text.iter().any(|w| w.starts_with("email:")),
        "'unique' is enforced, not a warning: {text:?}"
    );
    assert!(
        text.iter().any(|w| w.starts_with("nick: modifier 'foo'")),
        "{text:?}"
    );
}

#[test]
fn meta_adds_the_object_facts_to_get_list_and_query() {
    let ws = Workspace::new();
    ws.with_people("store");
    for i in 1..=2 {
        ws.json(
            "store",
            &["insert", "people", "--data", &person(i).to_string()],
        );
    }
    let facts = [
        "_etag",
        "_lastModified",
        "_contentLength",
        "_hasContent",
        "_mimeType",
        "_v",
        "_originalVersion",
        "_versionMapped",
    ];
    let has_facts = |record: &Value| facts.iter().all(|f| record.get(f).is_some());
    let got = ws.json("store", &["get", "people", "p001", "--meta"]);
    assert!(has_facts(&got), "{got}");
    assert_eq!(got["_v"], "v1");
    assert_eq!(ws.json("store", &["get", "people", "p001"]), person(1));
    let listed = ws.json("store", &["list", "people", "--meta"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert!(listed.as_array().unwrap().iter().all(has_facts), "{listed}");
    assert_eq!(listed[0]["_etag"], got["_etag"]);
    let plain = ws.json("store", &["list", "people"]);
    assert_eq!(plain, json!([person(1), person(2)]));
    let queried = ws.json(
        "store",
        &[
            "query",
            "people",
            "--filter",
            r#"{"name": "x"}"#,
            "--scan",
            "--meta",
        ],
    );
    assert_eq!(queried, json!([]));
    let queried = ws.json(
        "store",
        &[
            "query",
            "people",
            "--filter",
            r#"{"age": 21}"#,
            "--scan",
            "--meta",
        ],
    );
    assert!(has_facts(&queried[0]), "{queried}");
    // A record read with --meta updates as it is (the internal fields are ignored).
    let mut edited = got.clone();
    edited["age"] = json!(99);
    ws.json(
        "store",
        &["update", "people", "p001", "--data", &edited.to_string()],
    );
    let after = ws.json("store", &["get", "people", "p001"]);
    assert_eq!(after["age"], 99);
    assert!(!has_facts(&after));
}

#[test]
fn repair_writes_unique_claims_and_reports_duplicates() {
    let ws = Workspace::new();
    let define = |email: &str| {
        let file = ws.write(
            "users.json",
            &json!({"name": "users", "attributes": {"email": email}}).to_string(),
        );
        ws.s3db("store")
            .args(["create-resource", "--file"])
            .arg(file)
            .assert()
            .success();
    };
    // Written while the field was not unique, as s3db.js writes it.
    define("email|optional");
    for (id, email) in [
        ("a", "x@example.com"),
        ("b", "x@example.com"),
        ("c", "y@example.com"),
    ] {
        ws.json(
            "store",
            &[
                "insert",
                "users",
                "--data",
                &json!({"id": id, "email": email}).to_string(),
            ],
        );
    }
    define("email|unique|optional");
    let report = ws.json("store", &["repair", "users"]);
    assert_eq!(report["clean"], false, "{report}");
    assert_eq!(report["unique"]["records"], 3, "{report}");
    assert_eq!(report["unique"]["written"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["unique"]["duplicates"],
        json!([{"field": "email", "value": "x@example.com", "ids": ["a", "b"]}])
    );
    // c's value is claimed now: another record cannot take it (exit 5, a conflict).
    ws.s3db("store")
        .args(["insert", "users", "--data", r#"{"id": "d", "email": "y@example.com"}"#])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "field \"email\" must be unique, but value \"y@example.com\" is already held by record \"c\"",
        ));
    ws.json("store", &["delete", "users", "b"]);
    let resolved = ws.json("store", &["repair", "users"]);
    assert_eq!(resolved["unique"]["duplicates"], json!([]), "{resolved}");
    assert_eq!(resolved["unique"]["written"].as_array().unwrap().len(), 1);
    assert_eq!(ws.json("store", &["repair", "users"])["clean"], true);
}

#[test]
fn codegen_rust_writes_the_structs_of_the_named_resources() {
    let ws = Workspace::new();
    ws.with_people("store");
    let out = ws
        .s3db("store")
        .args(["codegen", "rust", "people"])
        .assert()
        .success();
    let code = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(code.contains("#[s3db(name = \"people\", behavior = \"body-overflow\", partition(name = \"byCity\", fields(\"address.city\" = \"string\")))]\npub struct People {"), "{code}");
    assert!(
        code.contains("#[s3db(rule = \"string|required\")]\n    pub name: String,"),
        "{code}"
    );
    assert!(
        code.contains("pub address: Option<PeopleAddress>,"),
        "{code}"
    );
    assert!(code.contains("pub struct PeopleAddress {"), "{code}");
    let file = ws.path("people.rs");
    ws.s3db("store")
        .args(["codegen", "rust", "--output"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), code);
    ws.s3db("store")
        .args(["codegen", "rust", "nope"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("unknown resource \"nope\""));
}

/// `--log-level debug` logs one line per resource operation with its fields (and `trace`
/// one per storage request); `--log-format json` writes them as JSON lines.
#[test]
fn debug_logs_show_each_operation_in_text_and_json() {
    let ws = Workspace::new();
    people_store(&ws);

    let out = ws
        .s3db("source")
        .args(["--log-level", "debug", "get", "people", "p001"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.contains("s3db_core::operation") && l.contains("operation=\"get\""))
        .unwrap_or_else(|| panic!("no get line in {stderr}"));
    for part in [
        "resource=people",
        "operation=\"get\"",
        "id=\"p001\"",
        "outcome=\"ok\"",
        "requests=1",
        "bytes_read=",
        "duration_us=",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }

    let out = ws
        .s3db("source")
        .args([
            "--log-level",
            "trace",
            "--log-format",
            "json",
            "count",
            "people",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let operation = |name: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "s3db_core::operation" && l["span"]["operation"] == name)
            .unwrap_or_else(|| panic!("no {name} line in {stderr}"))
    };
    // Opening the database is an operation too: `connect`, which reads s3db.json.
    assert_eq!(operation("connect")["fields"]["outcome"], "ok");
    assert_eq!(operation("connect")["fields"]["requests"], 1);
    let count = operation("count");
    assert_eq!(count["span"]["operation"], "count");
    assert_eq!(count["span"]["resource"], "people");
    assert_eq!(count["fields"]["outcome"], "ok");
    assert_eq!(count["fields"]["count"], 4);
    let listing = lines
        .iter()
        .find(|l| l["target"] == "s3db_storage::request" && l["fields"]["op"] == "list")
        .unwrap_or_else(|| panic!("no storage request line in {stderr}"));
    assert_eq!(listing["fields"]["status"], "ok");
    assert_eq!(listing["fields"]["keys"], 4);
    assert_eq!(listing["span"]["operation"], "count");

    // A stream: `export` reads the resource in one `stream` operation.
    let out = ws
        .s3db("source")
        .args([
            "--log-level",
            "debug",
            "export",
            "people",
            "--format",
            "jsonl",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.contains("operation=\"stream\""))
        .unwrap_or_else(|| panic!("no stream line in {stderr}"));
    for part in ["resource=people", "outcome=\"ok\"", "count=4", "requests=5"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }

    // `import`: one operation over the records it wrote (each upsert nested in it).
    let file = ws.write(
        "again.jsonl",
        &jsonl(&(0..4).map(person).collect::<Vec<_>>()),
    );
    let out = ws
        .s3db("source")
        .args(["--log-level", "debug", "import", "people", "--upsert"])
        .arg(&file)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    // The innermost span of a line: the operation it closes.
    let closes = |line: &str, operation: &str| {
        line.split(": s3db_core::operation")
            .next()
            .and_then(|spans| spans.rsplit("s3db{").next())
            .is_some_and(|span| span.contains(&format!("operation=\"{operation}\"")))
    };
    let line = stderr
        .lines()
        .find(|l| closes(l, "import"))
        .unwrap_or_else(|| panic!("no import line in {stderr}"));
    for part in ["resource=people", "outcome=\"ok\"", "count=4"] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let upserts: Vec<&str> = stderr.lines().filter(|l| closes(l, "upsert")).collect();
    assert_eq!(upserts.len(), 4, "{stderr}");
    assert!(
        upserts
            .iter()
            .all(|l| l.contains("s3db{resource=people operation=\"import\"}:s3db{")),
        "each upsert inside the import span: {upserts:?}"
    );
}
