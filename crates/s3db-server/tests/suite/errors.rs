//! problem+json for every failure, with the request id.

use serde_json::json;

use crate::harness::{body, open, problem, start};

#[tokio::test]
async fn core_errors_map_to_statuses_by_kind() {
    let s = open().await;
    problem(s.get("/users/nobody").await, 404, "NotFound").await;
    problem(s.get("/ghosts").await, 404, "NotFound").await;

    let invalid = s
        .post("/users")
        .json(&json!({"name": "A", "email": "not-an-email"}))
        .await;
    let invalid = problem(invalid, 422, "Validation").await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email"], "{invalid}");
    assert_eq!(invalid["errors"][0]["rule"], "stringMin");

    s.post("/notes")
        .json(&json!({"id": "dup", "title": "x"}))
        .await;
    problem(
        s.post("/notes")
            .json(&json!({"id": "dup", "title": "x"}))
            .await,
        409,
        "AlreadyExists",
    )
    .await;
    problem(s.get("/users?limit=abc").await, 400, "InvalidInput").await;
    problem(s.get("/users?cursor=garbage").await, 400, "InvalidInput").await;
}

#[tokio::test]
async fn bad_input_is_a_400_never_a_500() {
    let s = open().await;
    let send = |body: &'static str| {
        s.post("/notes")
            .header("content-type", "application/json")
            .body(body)
    };
    problem(send("{not json").await, 400, "InvalidInput").await;
    problem(send("[1,2]").await, 400, "InvalidInput").await;
    let text = s
        .post("/notes")
        .header("content-type", "text/plain")
        .body("x")
        .await;
    problem(text, 415, "InvalidInput").await;
    problem(s.get("/users?nope=1").await, 400, "InvalidInput").await;
    problem(s.get("/users/x?nope=1").await, 400, "InvalidInput").await;
    let unknown = s
        .post("/users/query")
        .json(&json!({"filter": {}, "sort": "x"}))
        .await;
    problem(unknown, 400, "InvalidInput").await;
    let bad_filter = s
        .post("/users/query")
        .json(&json!({"filter": {"age": {"$regex": "x"}}}))
        .await;
    problem(bad_filter, 400, "InvalidInput").await;
    let mismatch = s
        .put("/notes/a")
        .json(&json!({"id": "b", "title": "x"}))
        .await;
    problem(mismatch, 400, "InvalidInput").await;
    let object_id = s
        .post("/notes")
        .json(&json!({"id": {}, "title": "x"}))
        .await;
    problem(object_id, 400, "InvalidInput").await;
    let empty_tag = s.delete("/notes/a").header("if-match", "").await;
    problem(empty_tag, 400, "InvalidInput").await;
    // Empty optional parameters are absent ones.
    let empty = s.get("/users?cursor=&fields=&limit=5").await;
    assert_eq!(empty.status(), 200);
    assert_eq!(s.db.resource("notes").unwrap().count().await.unwrap(), 0);
    let method = s.post("/health").await;
    problem(method, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn the_client_request_id_is_echoed_in_the_problem() {
    let s = open().await;
    let response = s
        .get("/users/nobody")
        .header("x-request-id", "trace-42")
        .await;
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    assert_eq!(
        problem(response, 404, "NotFound").await["requestId"],
        "trace-42"
    );
    let ok = s.get("/health").await;
    assert!(!ok.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let s = start(s3db_server::ServerConfig {
        body_limit: 64,
        ..Default::default()
    })
    .await;
    let big = json!({"title": "x".repeat(100)});
    problem(s.post("/notes").json(&big).await, 413, "InvalidInput").await;
    let small = s.post("/notes").json(&json!({"title": "ok"})).await;
    assert_eq!(small.status(), 201);
    assert_eq!(body(small).await["data"]["title"], "ok");
}
