//! Checks that drive a running s3db MCP server through a real MCP client (feature
//! `testing`), shared by this crate's tests (in-process and HTTP) and the CLI's (the `s3db
//! mcp` binary over stdio and HTTP). They panic with a message naming the tool at fault.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use rmcp::RoleClient;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::Peer;
use serde_json::{Value, json};

/// What a tool call returned: the text of its first content block and whether it is a tool
/// error.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The text content.
    pub text: String,
    /// `isError`.
    pub is_error: bool,
}

impl Reply {
    /// The text as JSON (panics when it is a tool error or not JSON).
    pub fn json(&self) -> Value {
        assert!(!self.is_error, "tool error: {}", self.text);
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

fn reply(result: CallToolResult) -> Reply {
    let text = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    Reply {
        text,
        is_error: result.is_error.unwrap_or(false),
    }
}

/// Calls tool `name` with `arguments` (a JSON object); panics on a protocol error.
pub async fn call(client: &Peer<RoleClient>, name: &str, arguments: Value) -> Reply {
    let Value::Object(arguments) = arguments else {
        panic!("arguments of {name} must be an object");
    };
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    let result = client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("tools/call {name} failed at the protocol level: {e}"));
    reply(result)
}

/// Names of the tools the server lists.
pub async fn tool_names(client: &Peer<RoleClient>) -> BTreeSet<String> {
    client
        .list_all_tools()
        .await
        .unwrap_or_else(|e| panic!("tools/list failed: {e}"))
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect()
}

/// Calls every listed tool on an empty database, each with arguments that make it do its
/// work, and checks the results; `dir` is a scratch directory for the export/import files.
/// Panics unless every listed tool was called and succeeded. Returns the names called.
pub async fn exercise_every_tool(client: &Peer<RoleClient>, dir: &Path) -> BTreeSet<String> {
    let listed = tool_names(client).await;
    let called = RefCell::new(BTreeSet::new());
    let ok = async |name: &str, arguments: Value| -> Value {
        called.borrow_mut().insert(name.to_owned());
        call(client, name, arguments).await.json()
    };
    let users = |extra: Value| {
        let mut args = json!({"resourceName": "users"});
        if let (Some(args), Value::Object(extra)) = (args.as_object_mut(), extra) {
            args.extend(extra);
        }
        args
    };

    let created = ok(
        "dbCreateResource",
        json!({"config": {
            "name": "users",
            "attributes": {"name": "string|required", "email": "email|optional|unique", "status": "string"},
            "partitions": {"byStatus": {"fields": {"status": "string"}}},
        }}),
    )
    .await;
    assert_eq!(created["name"], "users");
    let listed_resources = ok("dbListResources", json!({})).await;
    assert_eq!(listed_resources[0]["partitions"], json!(["byStatus"]));
    let inspected = ok("dbInspectResource", users(json!({}))).await;
    assert_eq!(inspected["partitions"]["byStatus"]["status"], "string");
    assert_eq!(inspected["attributes"]["name"], "string|required");

    let ana = json!({"id": "ana", "name": "Ana", "email": "ana@x.io", "status": "active"});
    assert_eq!(
        ok("resourceInsert", users(json!({"data": ana}))).await["name"],
        "Ana"
    );
    let bo = json!({"id": "bo", "name": "Bo", "email": "bo@x.io", "status": "idle"});
    ok("resourceInsert", users(json!({"data": bo}))).await;
    assert_eq!(
        ok("resourceGet", users(json!({"id": "ana"}))).await["email"],
        "ana@x.io"
    );
    let with_meta = ok(
        "resourceGet",
        users(json!({"id": "ana", "includeMeta": true})),
    )
    .await;
    let version = with_meta["_etag"].as_str().expect("_etag").to_owned();
    let updated = ok(
        "resourceUpdate",
        users(json!({"id": "ana", "data": {"status": "idle"}, "version": version})),
    )
    .await;
    assert_eq!(updated["status"], "idle");
    let stale = call(
        client,
        "resourceUpdate",
        users(json!({"id": "ana", "data": {"status": "x"}, "version": version})),
    )
    .await;
    assert!(
        stale.is_error && stale.text.starts_with("Conflict"),
        "{}",
        stale.text
    );
    let cy = json!({"id": "cy", "name": "Cy", "status": "active"});
    ok("resourceUpsert", users(json!({"data": cy}))).await;
    let many = ok(
        "resourceGetMany",
        users(json!({"ids": ["ana", "cy", "nobody"]})),
    )
    .await;
    assert_eq!(many.as_array().map(Vec::len), Some(2));
    assert_eq!(
        ok("resourceExists", users(json!({"id": "cy"}))).await["exists"],
        true
    );
    let raw = ok("resourceGetRaw", users(json!({"id": "ana"}))).await;
    assert_eq!(raw["key"], "resource=users/data/id=ana");
    assert!(
        raw["metadata"].as_object().is_some_and(|m| !m.is_empty()),
        "{raw}"
    );

    let idle = json!({"partition": "byStatus", "partitionValues": {"status": "idle"}});
    let listed_idle = ok("resourceList", users(idle.clone())).await;
    let mut idle_ids: Vec<&str> = listed_idle
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    idle_ids.sort_unstable();
    assert_eq!(idle_ids, ["ana", "bo"]);
    let ids = ok("resourceListIds", users(json!({"limit": 2}))).await;
    assert_eq!(ids.as_array().map(Vec::len), Some(2));
    let first = ok("resourcePage", users(json!({"size": 2}))).await;
    assert_eq!(first["totalItems"], 3);
    let cursor = first["nextCursor"].as_str().expect("nextCursor").to_owned();
    let second = ok("resourcePage", users(json!({"size": 2, "cursor": cursor}))).await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["nextCursor"], Value::Null);
    let active = ok(
        "resourceQuery",
        users(json!({"filters": {"status": "active"}})),
    )
    .await;
    assert_eq!(active[0]["id"], "cy");
    assert_eq!(ok("resourceCount", users(idle)).await["count"], 2);
    assert_eq!(ok("resourceCount", users(json!({}))).await["count"], 3);

    let bulk = ok(
        "resourceBulkUpsert",
        users(json!({"records": [
            {"id": "dee", "name": "Dee", "status": "idle"},
            {"id": "cy", "status": "idle"},
            {"id": "bad", "email": "not an email"},
        ]})),
    )
    .await;
    assert_eq!(
        (bulk["upserted"].clone(), bulk["failed"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(bulk["failures"][0]["index"], 2);

    called.borrow_mut().insert("resourceExport".to_owned());
    let inline = call(client, "resourceExport", users(json!({}))).await;
    assert!(!inline.is_error, "{}", inline.text);
    assert_eq!(inline.text.lines().count(), 4, "{}", inline.text);
    let file = dir.join("users.jsonl");
    let path = file.to_string_lossy().into_owned();
    assert_eq!(
        ok("resourceExport", users(json!({"path": path}))).await["exported"],
        4
    );
    let deleted = ok(
        "resourceDeleteMany",
        users(json!({"ids": ["bo", "dee", "zed"]})),
    )
    .await;
    assert_eq!(deleted["deleted"], 2);
    assert_eq!(
        ok("resourceImport", users(json!({"path": path}))).await["upserted"],
        4
    );
    let line = r#"{"id":"eve","name":"Eve","status":"active"}"#;
    assert_eq!(
        ok("resourceImport", users(json!({"jsonl": line}))).await["upserted"],
        1
    );
    assert_eq!(
        ok("resourceDelete", users(json!({"id": "eve"}))).await["deleted"],
        "eve"
    );
    assert_eq!(ok("resourceCount", users(json!({}))).await["count"], 4);

    let repaired = ok("resourceRepair", users(json!({}))).await;
    assert_eq!(repaired["partitions"]["records"], 4);
    let stats = ok("dbGetStats", json!({})).await;
    assert_eq!(stats["resources"][0]["records"], 4);
    assert_eq!(stats["resources"][0]["partitions"]["byStatus"], 4);
    let document = ok("dbGetMetadata", json!({})).await;
    assert!(document["resources"]["users"].is_object(), "{document}");

    // Nothing is orphaned (a partition is orphaned when s3db.json loses its field, as an
    // s3db.js edit can do; this crate's tests cover that case).
    assert_eq!(
        ok("dbFindOrphanedPartitions", json!({})).await["users"],
        json!([])
    );
    let removed = ok("dbRemoveOrphanedPartitions", users(json!({}))).await;
    assert_eq!(removed["removed"], json!([]));

    let called = called.into_inner();
    assert_eq!(
        called, listed,
        "tools listed but not called, or called but not listed"
    );
    called
}

/// Checks a read-only server: only reading tools are listed, a write is refused with a
/// tool error naming read-only mode, and reads still work.
pub async fn check_read_only(client: &Peer<RoleClient>) {
    let tools = client
        .list_all_tools()
        .await
        .unwrap_or_else(|e| panic!("tools/list failed: {e}"));
    assert!(!tools.is_empty());
    for tool in &tools {
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint);
        assert_eq!(
            read_only,
            Some(true),
            "{} is listed by a read-only server",
            tool.name
        );
    }
    let names: BTreeSet<String> = tools.into_iter().map(|t| t.name.into_owned()).collect();
    assert!(names.contains("resourceGet") && !names.contains("resourceInsert"));
    let refused = call(
        client,
        "resourceInsert",
        json!({"resourceName": "users", "data": {"name": "x"}}),
    )
    .await;
    assert!(
        refused.is_error,
        "a write was not refused: {}",
        refused.text
    );
    assert!(refused.text.contains("read-only"), "{}", refused.text);
    assert!(!call(client, "dbListResources", json!({})).await.is_error);
}

/// Checks that bad arguments and failing operations are tool errors naming the problem,
/// and that the server still answers afterwards.
pub async fn check_tool_errors(client: &Peer<RoleClient>) {
    let cases = [
        (
            "resourceGet",
            json!({"resourceName": 5, "id": "a"}),
            "\"resourceName\"",
        ),
        (
            "resourceList",
            json!({"resourceName": "u", "limit": "ten"}),
            "\"limit\"",
        ),
        (
            "resourceGet",
            json!({"resourceName": "u", "id": "a", "x": 1}),
            "`x`",
        ),
        ("resourceGet", json!({"id": "a"}), "resourceName"),
        (
            "resourceGet",
            json!({"resourceName": "nope", "id": "a"}),
            "NotFound",
        ),
        (
            "resourceQuery",
            json!({"resourceName": "nope", "filters": {}}),
            "NotFound",
        ),
        (
            "resourceImport",
            json!({"resourceName": "nope", "jsonl": "{"}),
            "NotFound",
        ),
    ];
    for (tool, arguments, expected) in cases {
        let reply = call(client, tool, arguments.clone()).await;
        assert!(
            reply.is_error,
            "{tool} {arguments} succeeded: {}",
            reply.text
        );
        assert!(
            reply.text.contains(expected),
            "{tool} {arguments}: {}",
            reply.text
        );
    }
    assert!(!call(client, "dbListResources", json!({})).await.is_error);
}
