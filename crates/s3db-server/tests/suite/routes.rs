//! Every resource route, health, ready and the base path.

use serde_json::json;

use crate::harness::{body, open, start};

#[tokio::test]
async fn insert_get_head_list_count_update_replace_delete() {
    let s = open().await;
    let created = s
        .post("/users")
        .json(&json!({"name": "Ana", "email": "ana@example.com", "age": 30, "role": "admin"}))
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let record = body(created).await;
    let id = record["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/users/{id}"));
    assert_eq!(
        etag.trim_matches('"'),
        record["data"]["_etag"].as_str().unwrap().trim_matches('"')
    );

    let got = s.get(&location).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["etag"], etag.as_str());
    assert_eq!(body(got).await["data"]["name"], "Ana");

    let head = s.call(reqwest::Method::HEAD, &location).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], etag.as_str());

    let only = body(s.get(&format!("{location}?fields=name")).await).await;
    assert_eq!(only["data"]["name"], "Ana");
    assert!(only["data"].get("email").is_none());

    s.post("/users")
        .json(&json!({"id": "bob", "name": "Bob", "email": "bob@example.com", "role": "dev"}))
        .await;
    let list = body(s.get("/users").await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["data"][0]["_etag"].is_string());

    let count = body(s.get("/users/count").await).await;
    assert_eq!(count["data"]["count"], 2);
    let devs = body(
        s.get("/users/count?partition=byRole&partitionValues=%7B%22role%22%3A%22dev%22%7D")
            .await,
    )
    .await;
    assert_eq!(devs["data"]["count"], 1);

    let patched = s.patch("/users/bob").json(&json!({"age": 41})).await;
    assert_eq!(patched.status(), 200);
    let patched = body(patched).await;
    assert_eq!(patched["data"]["age"], 41);
    assert_eq!(patched["data"]["name"], "Bob");

    let replaced = s
        .put("/users/bob")
        .json(&json!({"name": "Robert", "email": "rob@example.com"}))
        .await;
    assert_eq!(replaced.status(), 200);
    let replaced = body(replaced).await;
    assert_eq!(replaced["data"]["name"], "Robert");
    assert!(
        replaced["data"].get("age").is_none(),
        "PUT replaces the whole record"
    );

    let created = s
        .put("/users/carol")
        .json(&json!({"name": "Carol", "email": "carol@example.com"}))
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/users/carol");

    let deleted = s.delete("/users/bob").await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(s.get("/users/bob").await.status(), 404);
    assert_eq!(s.delete("/users/bob").await.status(), 404);
}

#[tokio::test]
async fn list_pages_with_a_cursor_filters_and_partitions() {
    let s = open().await;
    for i in 0..5 {
        let role = if i % 2 == 0 { "dev" } else { "ops" };
        s.post("/users")
            .json(&json!({"id": format!("u{i}"), "name": format!("User {i}"), "email": format!("u{i}@example.com"), "age": 20 + i, "role": role})).await;
    }
    let first = s.get("/users?limit=2").await;
    let cursor = first.headers()["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let first = body(first).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["pagination"]["hasMore"], true);
    assert_eq!(first["pagination"]["nextCursor"], cursor.as_str());
    let mut seen: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page = body(
            s.get("/users")
                .query(&[("limit", "2"), ("cursor", &c)])
                .await,
        )
        .await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["pagination"]["nextCursor"].as_str().map(str::to_owned);
    }
    seen.sort();
    assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4"]);

    let devs = body(
        s.get("/users?partition=byRole&partitionValues={\"role\":\"dev\"}")
            .await,
    )
    .await;
    assert_eq!(devs["data"].as_array().unwrap().len(), 3);

    let filtered = body(s.get("/users?role=ops&age=23").await).await;
    let ids: Vec<&str> = filtered["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u3"]);
    let older = body(
        s.get("/users/count")
            .query(&[("age", "{\"$gte\":23}")])
            .await,
    )
    .await;
    assert_eq!(older["data"]["count"], 2);

    let query = s
        .post("/users/query")
        .json(&json!({"filter": {"role": "dev", "age": {"$gt": 20}}, "fields": ["name"]}))
        .await;
    assert_eq!(query.status(), 200);
    let query = body(query).await;
    let mut names: Vec<&str> = query["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["User 2", "User 4"]);
    assert!(query["data"][0].get("email").is_none());
}

#[tokio::test]
async fn base_path_health_ready() {
    let s = start(s3db_server::ServerConfig {
        base_path: "/v1".into(),
        ..Default::default()
    })
    .await;
    assert!(s.base.ends_with("/v1"));
    assert_eq!(body(s.get("/health").await).await["status"], "ok");
    let ready = body(s.get("/ready").await).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["resources"], json!(["users", "notes"]));
    let created = s.post("/notes").json(&json!({"title": "hi"})).await;
    assert_eq!(created.status(), 201);
    assert!(
        created.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/v1/notes/")
    );
    let root = s.base.trim_end_matches("/v1").to_owned();
    let outside = s.http.get(format!("{root}/notes")).send().await.unwrap();
    assert_eq!(outside.status(), 404);
}
