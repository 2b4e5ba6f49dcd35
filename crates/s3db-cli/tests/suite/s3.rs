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
        credentials.access_key_id,
        credentials.secret_access_key.expose(),
        config.bucket
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

/// `s3db --json ARGS` in an empty environment (HOME an empty directory) plus `env`.
fn s3db_in_env(
    home: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> assert_cmd::assert::Assert {
    Command::cargo_bin("s3db")
        .unwrap()
        .env_clear()
        .env("HOME", home)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("--json")
        .args(args)
        .assert()
}

#[test]
fn s3_strings_follow_the_aws_environment() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = runtime
        .block_on(s3db_storage::testing::fresh_s3_bucket())
        .unwrap();
    let endpoint = config.endpoint.clone().unwrap();
    let credentials = config.credentials.clone().unwrap();
    let (key, secret) = (
        credentials.access_key_id.as_str(),
        credentials.secret_access_key.expose(),
    );
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{unused_port}");
    let home = tempfile::tempdir().unwrap();
    let conn = format!("s3://{}/app", config.bucket);
    let keys = [
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ];
    let with = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        keys.iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let definition = home.path().join("notes.json");
    std::fs::write(
        &definition,
        r#"{"name": "notes", "attributes": {"title": "string"}}"#,
    )
    .unwrap();

    // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL (where nothing listens).
    let s3_first = with(&[
        ("AWS_ENDPOINT_URL_S3", &endpoint),
        ("AWS_ENDPOINT_URL", &nowhere),
    ]);
    let create = [
        "-c",
        &conn,
        "create-resource",
        "--file",
        definition.to_str().unwrap(),
    ];
    s3db_in_env(home.path(), &s3_first, &create).success();
    let insert = [
        "-c",
        &conn,
        "insert",
        "notes",
        "--data",
        r#"{"id": "n1", "title": "hello"}"#,
    ];
    s3db_in_env(home.path(), &s3_first, &insert).success();
    // AWS_ENDPOINT_URL alone serves s3:// too.
    let get = ["-c", &conn, "get", "notes", "n1"];
    let generic = with(&[("AWS_ENDPOINT_URL", &endpoint)]);
    let out = json(s3db_in_env(home.path(), &generic, &get));
    assert_eq!(out["title"], "hello");

    // The region: ?region=, else AWS_REGION, else AWS_DEFAULT_REGION (seen in the debug log).
    let region_of = |conn: &str, extra: &[(&str, &str)]| -> String {
        let env = with(&[&[("AWS_ENDPOINT_URL_S3", endpoint.as_str())], extra].concat());
        let args = [
            "--log-level",
            "s3db_storage=debug",
            "-c",
            conn,
            "get",
            "notes",
            "n1",
        ];
        let assert = s3db_in_env(home.path(), &env, &args).success();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        let start = stderr.find("region=").expect(&stderr) + "region=".len();
        stderr[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let both = [
        ("AWS_REGION", "eu-west-3"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
    ];
    assert_eq!(region_of(&conn, &both), "eu-west-3");
    assert_eq!(region_of(&conn, &both[1..]), "eu-west-2");
    assert_eq!(
        region_of(&format!("{conn}?region=ap-south-1"), &both),
        "ap-south-1"
    );
    assert_eq!(region_of(&conn, &[]), "us-east-1");

    // Credentials and region from the AWS profile named by AWS_PROFILE.
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!("[work]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile work]\nregion = eu-central-1\n",
    )
    .unwrap();
    let profile = [
        ("AWS_PROFILE".to_owned(), "work".to_owned()),
        ("AWS_ENDPOINT_URL_S3".to_owned(), endpoint.clone()),
    ];
    let out = json(s3db_in_env(home.path(), &profile, &get));
    assert_eq!(out["title"], "hello");
    let args = [
        "--log-level",
        "s3db_storage=debug",
        "-c",
        &conn,
        "count",
        "notes",
    ];
    let assert = s3db_in_env(home.path(), &profile, &args).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("region=eu-central-1"), "{stderr}");
}
