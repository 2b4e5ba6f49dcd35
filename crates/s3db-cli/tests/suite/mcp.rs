//! `s3db mcp` driven by a real MCP client (rmcp): over stdio (the client spawns the binary,
//! as desktop assistants do) and over streamable HTTP (`--http 127.0.0.1:0`).

use std::path::Path;
use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use s3db_mcp::testing;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// `s3db -c file://DIR/store mcp ARGS…`, with a clean environment.
fn s3db_mcp(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3db"));
    cmd.arg("-c")
        .arg(format!("file://{}", dir.join("store").display()))
        .arg("mcp")
        .args(args)
        .env_remove("S3DB_PASSPHRASE")
        .env_remove("S3DB_LOG_LEVEL")
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn mcp_over_stdio_calls_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let transport = TokioChildProcess::new(s3db_mcp(dir.path(), &[])).unwrap();
    let client = ().serve(transport).await.unwrap();
    let called = testing::exercise_every_tool(&client, dir.path()).await;
    assert!(called.contains("resourceInsert") && called.contains("dbGetStats"));
    testing::check_tool_errors(&client).await;
    // dbGetStats reports the requests the server sent.
    let stats = testing::call(&client, "dbGetStats", serde_json::json!({}))
        .await
        .json();
    assert!(stats["requests"]["total"].as_u64().unwrap() > 0, "{stats}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_over_streamable_http_prints_its_address_and_calls_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = s3db_mcp(
        dir.path(),
        &["--http", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let url = line.strip_prefix("listening on ").unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{line}"
    );
    let line = lines.next_line().await.unwrap().unwrap();
    let metrics_url = line.strip_prefix("metrics on ").unwrap().to_owned();
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await.unwrap();
    testing::exercise_every_tool(&client, dir.path()).await;
    client.cancel().await.unwrap();

    // --metrics-addr: the Prometheus text of the operations the tools ran.
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"operation="insert",outcome="ok"} "#,
        "# TYPE s3db_operation_duration_seconds histogram",
    ] {
        assert!(text.contains(series), "{series} missing in {text}");
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn mcp_read_only_lists_reading_tools_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    // A database with a resource, made by a writing server first.
    let writer = ().serve(TokioChildProcess::new(s3db_mcp(dir.path(), &[])).unwrap());
    let writer = writer.await.unwrap();
    let config = serde_json::json!({"config": {"name": "users", "attributes": {"name": "string"}}});
    assert!(
        !testing::call(&writer, "dbCreateResource", config)
            .await
            .is_error
    );
    writer.cancel().await.unwrap();

    let transport = TokioChildProcess::new(s3db_mcp(dir.path(), &["--read-only"])).unwrap();
    let client = ().serve(transport).await.unwrap();
    testing::check_read_only(&client).await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_read_only_on_a_missing_database_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = s3db_mcp(dir.path(), &["--read-only"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
}
