//! ETag, If-Match, If-None-Match.

use serde_json::json;

use crate::harness::{body, open, problem};

#[tokio::test]
async fn if_match_makes_writes_conditional() {
    let s = open().await;
    let created = s
        .http
        .post(s.url("/notes"))
        .json(&json!({"id": "n1", "title": "one"}))
        .send()
        .await
        .unwrap();
    let v1 = created.headers()["etag"].to_str().unwrap().to_owned();
    let patched = s
        .http
        .patch(s.url("/notes/n1"))
        .header("if-match", &v1)
        .json(&json!({"title": "two"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let v2 = patched.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(v1, v2);

    // Stale versions: 412, nothing written.
    let stale = s
        .http
        .patch(s.url("/notes/n1"))
        .header("if-match", &v1)
        .json(&json!({"title": "lost"}))
        .send()
        .await
        .unwrap();
    problem(stale, 412, "Conflict").await;
    let stale = s
        .http
        .put(s.url("/notes/n1"))
        .header("if-match", &v1)
        .json(&json!({"title": "lost"}))
        .send()
        .await
        .unwrap();
    problem(stale, 412, "Conflict").await;
    let stale = s
        .http
        .delete(s.url("/notes/n1"))
        .header("if-match", &v1)
        .send()
        .await
        .unwrap();
    problem(stale, 412, "Conflict").await;
    assert_eq!(
        body(s.http.get(s.url("/notes/n1")).send().await.unwrap()).await["data"]["title"],
        "two"
    );

    // If-Match on a missing record fails too.
    let missing = s
        .http
        .put(s.url("/notes/none"))
        .header("if-match", &v2)
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    problem(missing, 412, "Conflict").await;

    let replaced = s
        .http
        .put(s.url("/notes/n1"))
        .header("if-match", &v2)
        .json(&json!({"title": "three"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let v3 = replaced.headers()["etag"].to_str().unwrap().to_owned();
    let deleted = s
        .http
        .delete(s.url("/notes/n1"))
        .header("if-match", &v3)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        s.http
            .get(s.url("/notes/n1"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn if_none_match_star_creates_only_and_get_answers_304() {
    let s = open().await;
    let create = || {
        s.http
            .put(s.url("/notes/n2"))
            .header("if-none-match", "*")
            .json(&json!({"title": "first"}))
    };
    let created = create().send().await.unwrap();
    assert_eq!(created.status(), 201);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    problem(create().send().await.unwrap(), 412, "AlreadyExists").await;
    assert_eq!(
        body(s.http.get(s.url("/notes/n2")).send().await.unwrap()).await["data"]["title"],
        "first"
    );

    let cached = s
        .http
        .get(s.url("/notes/n2"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], etag.as_str());
    let other = s
        .http
        .get(s.url("/notes/n2"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
