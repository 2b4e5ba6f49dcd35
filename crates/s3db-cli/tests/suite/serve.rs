//! `s3db serve`: the binary prints its bound address, serves the REST API with an API key
//! and its metrics on `--metrics-addr`, and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

#[tokio::test]
async fn serve_prints_its_address_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("data").display());
    let definition = dir.path().join("notes.json");
    std::fs::write(
        &definition,
        r#"{"name": "notes", "attributes": {"title": "string"}}"#,
    )
    .unwrap();
    let defined = Command::new(assert_cmd::cargo::cargo_bin("s3db"))
        .args(["-c", &store, "create-resource", "--file"])
        .arg(&definition)
        .output()
        .unwrap();
    assert!(defined.status.success(), "{defined:?}");

    let mut child = Command::new(assert_cmd::cargo::cargo_bin("s3db"))
        .args([
            "-c",
            &store,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "KEY",
            "--base-path",
            "/v1",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .env_remove("S3DB_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let mut metrics_line = String::new();
    stdout.read_line(&mut metrics_line).unwrap();
    let metrics_url = metrics_line
        .trim()
        .strip_prefix("metrics on ")
        .unwrap()
        .to_owned();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{line}"
    );

    let http = reqwest::Client::new();
    let denied = http.get(format!("{base}/notes")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let created = http
        .post(format!("{base}/notes"))
        .header("x-api-key", "KEY")
        .json(&json!({"id": "n1", "title": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("etag"));
    let got: Value = http
        .get(format!("{base}/notes/n1"))
        .header("x-api-key", "KEY")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["data"]["title"], "hello");

    // --metrics-addr: the Prometheus text of what the API did.
    let text = http
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"s3db_operations_total{resource="notes",operation="insert",outcome="ok"} 1"#,
        r#"s3db_operations_total{resource="notes",operation="get",outcome="ok"} "#,
        "# TYPE s3db_operation_duration_seconds histogram",
    ] {
        assert!(text.contains(series), "{series} missing in {text}");
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
}
