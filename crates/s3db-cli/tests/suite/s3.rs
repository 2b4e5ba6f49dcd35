//! The `s3db` binary against a real S3 server (moto, started by the storage crate's
//! `testing` helpers unless `S3DB_TEST_S3_ENDPOINT` names one).

use assert_cmd::Command;
use serde_json::{Value, json};

/// `http://KEY:SECRET@host:port/bucket` of a new empty bucket.
fn fresh_bucket_connection() -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = runtime
        .block_on(s3db_storage::testing::fresh_s3_bucket())
        .unwrap();
    let endpoint = config.endpoint.clone().unwrap();
    let credentials = config.credentials.clone().unwrap();
    let (scheme, host) = endpoint.split_once("://").unwrap();
    format!(
        "{scheme}://{}:{}@{host}/{}",
        credentials.access_key_id, credentials.secret_access_key, config.bucket
    )
}

fn s3db(connection: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("s3db")
        .unwrap()
        .env("S3DB_CONNECTION_STRING", connection)
        .arg("--json")
        .args(args)
        .assert()
}

fn json(assert: assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&assert.success().get_output().stdout).unwrap()
}

#[test]
fn records_round_trip_through_a_real_s3_server() {
    let connection = fresh_bucket_connection();
    let dir = tempfile::tempdir().unwrap();
    let definition = dir.path().join("notes.json");
    std::fs::write(
        &definition,
        r#"{"name": "notes", "attributes": {"title": "string|required", "stars": "number|optional"},
            "partitions": {"byStars": {"fields": {"stars": "number"}}}}"#,
    )
    .unwrap();
    json(s3db(
        &connection,
        &["create-resource", "--file", definition.to_str().unwrap()],
    ));

    for (id, stars) in [("n1", 3), ("n2", 5), ("n3", 3)] {
        let record = json!({"id": id, "title": format!("note {id}"), "stars": stars});
        let stored = json(s3db(
            &connection,
            &["insert", "notes", "--data", &record.to_string()],
        ));
        assert_eq!(stored, record);
    }
    assert_eq!(json(s3db(&connection, &["get", "notes", "n2"]))["stars"], 5);
    let listed = json(s3db(&connection, &["list", "notes"]));
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["n1", "n2", "n3"]);

    json(s3db(&connection, &["delete", "notes", "n1"]));
    s3db(&connection, &["get", "notes", "n1"]).code(3);
    assert_eq!(json(s3db(&connection, &["count", "notes"]))["count"], 2);

    let stats = json(s3db(&connection, &["stats", "notes"]));
    assert_eq!(stats["resources"][0]["records"], 2);
    assert!(stats["requests"]["list"].as_u64().unwrap() >= 1);
}

#[test]
fn reads_of_an_empty_bucket_send_no_write_and_say_no_database() {
    let connection = fresh_bucket_connection();
    for args in [&["resources"][..], &["stats"], &["count", "notes"]] {
        s3db(&connection, args)
            .code(3)
            .stderr(predicates::str::contains("no database at http://"))
            .stderr(predicates::str::contains(
                "create a resource or run `s3db init`",
            ));
    }
    assert_eq!(json(s3db(&connection, &["objects", "list"])), json!([]));
}
