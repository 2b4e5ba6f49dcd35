//! problem+json for every failure, with the request id.

use serde_json::json;

use crate::harness::{body, open, problem, start};

#[tokio::test]
async fn core_errors_map_to_statuses_by_kind() {
    let s = open().await;
    problem(
        s.http.get(s.url("/users/nobody")).send().await.unwrap(),
        404,
        "NotFound",
    )
    .await;
    problem(
        s.http.get(s.url("/ghosts")).send().await.unwrap(),
        404,
        "NotFound",
    )
    .await;

    let invalid = s
        .http
        .post(s.url("/users"))
        .json(&json!({"name": "A", "email": "not-an-email"}))
        .send()
        .await
        .unwrap();
    let invalid = problem(invalid, 422, "Validation").await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email"], "{invalid}");
    assert_eq!(invalid["errors"][0]["rule"], "stringMin");

    s.http
        .post(s.url("/notes"))
        .json(&json!({"id": "dup", "title": "x"}))
        .send()
        .await
        .unwrap();
    problem(
        s.http
            .post(s.url("/notes"))
            .json(&json!({"id": "dup", "title": "x"}))
            .send()
            .await
            .unwrap(),
        409,
        "AlreadyExists",
    )
    .await;
    problem(
        s.http.get(s.url("/users?limit=abc")).send().await.unwrap(),
        400,
        "InvalidInput",
    )
    .await;
    problem(
        s.http
            .get(s.url("/users?cursor=garbage"))
            .send()
            .await
            .unwrap(),
        400,
        "InvalidInput",
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_a_400_never_a_500() {
    let s = open().await;
    let send = |body: &'static str| {
        s.http
            .post(s.url("/notes"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    problem(send("{not json").await.unwrap(), 400, "InvalidInput").await;
    problem(send("[1,2]").await.unwrap(), 400, "InvalidInput").await;
    let text = s
        .http
        .post(s.url("/notes"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    problem(text, 415, "InvalidInput").await;
    problem(
        s.http.get(s.url("/users?nope=1")).send().await.unwrap(),
        400,
        "InvalidInput",
    )
    .await;
    problem(
        s.http.get(s.url("/users/x?nope=1")).send().await.unwrap(),
        400,
        "InvalidInput",
    )
    .await;
    let unknown = s
        .http
        .post(s.url("/users/query"))
        .json(&json!({"filter": {}, "sort": "x"}))
        .send()
        .await
        .unwrap();
    problem(unknown, 400, "InvalidInput").await;
    let bad_filter = s
        .http
        .post(s.url("/users/query"))
        .json(&json!({"filter": {"age": {"$regex": "x"}}}))
        .send()
        .await
        .unwrap();
    problem(bad_filter, 400, "InvalidInput").await;
    let mismatch = s
        .http
        .put(s.url("/notes/a"))
        .json(&json!({"id": "b", "title": "x"}))
        .send()
        .await
        .unwrap();
    problem(mismatch, 400, "InvalidInput").await;
    let object_id = s
        .http
        .post(s.url("/notes"))
        .json(&json!({"id": {}, "title": "x"}))
        .send()
        .await
        .unwrap();
    problem(object_id, 400, "InvalidInput").await;
    let empty_tag = s
        .http
        .delete(s.url("/notes/a"))
        .header("if-match", "")
        .send()
        .await
        .unwrap();
    problem(empty_tag, 400, "InvalidInput").await;
    // Empty optional parameters are absent ones.
    let empty = s
        .http
        .get(s.url("/users?cursor=&fields=&limit=5"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 200);
    assert_eq!(s.db.resource("notes").unwrap().count().await.unwrap(), 0);
    let method = s.http.post(s.url("/health")).send().await.unwrap();
    problem(method, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn the_client_request_id_is_echoed_in_the_problem() {
    let s = open().await;
    let response = s
        .http
        .get(s.url("/users/nobody"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    assert_eq!(
        problem(response, 404, "NotFound").await["requestId"],
        "trace-42"
    );
    let ok = s.http.get(s.url("/health")).send().await.unwrap();
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
    problem(
        s.http
            .post(s.url("/notes"))
            .json(&big)
            .send()
            .await
            .unwrap(),
        413,
        "InvalidInput",
    )
    .await;
    let small = s
        .http
        .post(s.url("/notes"))
        .json(&json!({"title": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 201);
    assert_eq!(body(small).await["data"]["title"], "ok");
}
