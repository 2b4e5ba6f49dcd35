//! ETag, If-Match, If-None-Match.

use serde_json::json;

use crate::harness::{body, open, problem};

#[tokio::test]
async fn if_match_makes_writes_conditional() {
    let s = open().await;
    let created = s
        .post("/notes")
        .json(&json!({"id": "n1", "title": "one"}))
        .await;
    let v1 = created.headers()["etag"].to_str().unwrap().to_owned();
    let patched = s
        .patch("/notes/n1")
        .header("if-match", &v1)
        .json(&json!({"title": "two"}))
        .await;
    assert_eq!(patched.status(), 200);
    let v2 = patched.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(v1, v2);

    // Stale versions: 412, nothing written.
    let stale = s
        .patch("/notes/n1")
        .header("if-match", &v1)
        .json(&json!({"title": "lost"}))
        .await;
    problem(stale, 412, "Conflict").await;
    let stale = s
        .put("/notes/n1")
        .header("if-match", &v1)
        .json(&json!({"title": "lost"}))
        .await;
    problem(stale, 412, "Conflict").await;
    let stale = s.delete("/notes/n1").header("if-match", &v1).await;
    problem(stale, 412, "Conflict").await;
    assert_eq!(body(s.get("/notes/n1").await).await["data"]["title"], "two");

    // If-Match on a missing record fails too.
    let missing = s
        .put("/notes/none")
        .header("if-match", &v2)
        .json(&json!({"title": "x"}))
        .await;
    problem(missing, 412, "Conflict").await;

    let replaced = s
        .put("/notes/n1")
        .header("if-match", &v2)
        .json(&json!({"title": "three"}))
        .await;
    assert_eq!(replaced.status(), 200);
    let v3 = replaced.headers()["etag"].to_str().unwrap().to_owned();
    let deleted = s.delete("/notes/n1").header("if-match", &v3).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(s.get("/notes/n1").await.status(), 404);
}

#[tokio::test]
async fn if_none_match_star_creates_only_and_get_answers_304() {
    let s = open().await;
    let create = || {
        s.put("/notes/n2")
            .header("if-none-match", "*")
            .json(&json!({"title": "first"}))
    };
    let created = create().await;
    assert_eq!(created.status(), 201);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    problem(create().await, 412, "AlreadyExists").await;
    assert_eq!(
        body(s.get("/notes/n2").await).await["data"]["title"],
        "first"
    );

    let cached = s.get("/notes/n2").header("if-none-match", &etag).await;
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], etag.as_str());
    let other = s
        .get("/notes/n2")
        .header("if-none-match", "\"other\"")
        .await;
    assert_eq!(other.status(), 200);
}
