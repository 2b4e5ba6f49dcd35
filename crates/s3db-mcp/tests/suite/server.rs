//! The server driven by the rmcp client: in process over a byte pipe (the stdio framing),
//! and over streamable HTTP on an ephemeral port.

use futures::TryStreamExt;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use s3db_core::{Database, ResourceConfig};
use s3db_mcp::{S3dbMcp, testing};
use s3db_storage::{ListOptions, PutMode, PutPayload};
use serde_json::json;
use tempfile::TempDir;

/// A database on a fresh `file://` store (kept alive by the returned directory).
async fn database(dir: &TempDir) -> Database {
    let store = dir.path().join("store");
    Database::connect(&format!("file://{}", store.display()))
        .await
        .unwrap()
}

/// A client connected to `server` through an in-memory duplex pipe.
async fn in_process(server: S3dbMcp) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = server.serve(server_side).await.unwrap();
        running.waiting().await.unwrap();
    });
    ().serve(client_side).await.unwrap()
}

#[tokio::test]
async fn every_tool_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3dbMcp::new(database(&dir).await, false);
    let listed = server.tools().len();
    let client = in_process(server).await;
    let called = testing::exercise_every_tool(&client, dir.path()).await;
    assert_eq!(called.len(), listed);
    assert_eq!(listed, 25);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn every_tool_over_streamable_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3dbMcp::new(database(&dir).await, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(s3db_mcp::serve_http(server, listener));
    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = ().serve(transport).await.unwrap();
    testing::exercise_every_tool(&client, dir.path()).await;
    testing::check_tool_errors(&client).await;
    client.cancel().await.unwrap();
    serving.abort();
}

#[tokio::test]
async fn read_only_lists_only_reading_tools_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let config = ResourceConfig::from_json(&json!({
        "name": "users", "attributes": {"name": "string"},
    }))
    .unwrap();
    db.create_resource(config).await.unwrap();
    let server = S3dbMcp::new(db.clone(), true);
    assert!(server.is_read_only());
    let client = in_process(server).await;
    testing::check_read_only(&client).await;
    // The refused insert wrote nothing.
    assert_eq!(db.resource("users").unwrap().count().await.unwrap(), 0);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_and_failures_are_tool_errors() {
    let dir = tempfile::tempdir().unwrap();
    let client = in_process(S3dbMcp::new(database(&dir).await, false)).await;
    testing::check_tool_errors(&client).await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn every_tool_has_a_description_and_an_object_schema() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3dbMcp::new(database(&dir).await, false);
    for tool in server.tools() {
        assert!(
            tool.description.as_deref().is_some_and(|d| !d.is_empty()),
            "{}",
            tool.name
        );
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
    }
    let get = server
        .tools()
        .into_iter()
        .find(|t| t.name == "resourceGet")
        .unwrap();
    let required = get.input_schema.get("required").unwrap();
    assert_eq!(required, &json!(["resourceName", "id"]));
}

#[tokio::test]
async fn orphaned_partitions_are_found_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let config = ResourceConfig::from_json(&json!({
        "name": "tasks",
        "attributes": {"title": "string", "owner": "string"},
        "partitions": {"byOwner": {"fields": {"owner": "string"}}},
    }))
    .unwrap();
    let tasks = db.create_resource(config).await.unwrap();
    let mut record = serde_json::Map::new();
    record.insert("id".into(), json!("t1"));
    record.insert("title".into(), json!("a"));
    record.insert("owner".into(), json!("ana"));
    tasks.insert(record).await.unwrap();
    // The stored definition loses `owner` (as an s3db.js edit can): byOwner is orphaned.
    let storage = db.storage().clone();
    let stored = storage.get("s3db.json").await.unwrap().body;
    let mut document: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    document["resources"]["tasks"]["versions"]["v1"]["attributes"]
        .as_object_mut()
        .unwrap()
        .shift_remove("owner");
    let payload = PutPayload {
        body: document.to_string().into(),
        ..PutPayload::default()
    };
    storage
        .put("s3db.json", payload, PutMode::Overwrite)
        .await
        .unwrap();
    db.reload().await.unwrap();

    let client = in_process(S3dbMcp::new(db.clone(), false)).await;
    let found = testing::call(&client, "dbFindOrphanedPartitions", json!({})).await;
    assert_eq!(found.json(), json!({"tasks": ["byOwner"]}));
    let inspected = testing::call(
        &client,
        "dbInspectResource",
        json!({"resourceName": "tasks"}),
    );
    assert_eq!(
        inspected.await.json()["orphanedPartitions"],
        json!(["byOwner"])
    );
    let args = json!({"resourceName": "tasks"});
    let removed = testing::call(&client, "dbRemoveOrphanedPartitions", args).await;
    assert_eq!(removed.json(), json!({"removed": ["byOwner"]}));
    let found = testing::call(&client, "dbFindOrphanedPartitions", json!({})).await;
    assert_eq!(found.json(), json!({"tasks": []}));
    // The references are gone from the bucket, the definition from s3db.json.
    let listing = ListOptions {
        prefix: "resource=tasks/partition=".into(),
        ..ListOptions::default()
    };
    let references: Vec<_> = storage.list(listing).try_collect().await.unwrap();
    assert!(references.is_empty(), "{references:?}");
    let stored = storage.get("s3db.json").await.unwrap().body;
    let document: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    let entry = &document["resources"]["tasks"];
    let current = entry["currentVersion"].as_str().unwrap();
    let partitions = &entry["versions"][current]["partitions"];
    assert!(partitions.get("byOwner").is_none(), "{entry}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn docs_list_every_tool_with_its_read_only_mark() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mcp.md")).unwrap();
    // Rows of the tool table: | `name` | R or blank | arguments | what it does |
    let documented: std::collections::BTreeMap<String, bool> = docs
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            Some((name.to_owned(), cells.get(1)? == &"R"))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let server = S3dbMcp::new(database(&dir).await, false);
    let actual: std::collections::BTreeMap<String, bool> = server
        .tools()
        .into_iter()
        .map(|t| {
            let read_only = t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
            (t.name.into_owned(), read_only)
        })
        .collect();
    assert_eq!(documented, actual);
}
