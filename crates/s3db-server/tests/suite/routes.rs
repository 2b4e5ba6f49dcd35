//! Every resource route, health, ready and the base path.

use serde_json::json;

use crate::harness::{body, open, start};

#[tokio::test]
async fn insert_get_head_list_count_update_replace_delete() {
    let s = open().await;
    let created = s
        .http
        .post(s.url("/users"))
        .json(&json!({"name": "Ana", "email": "ana@example.com", "age": 30, "role": "admin"}))
        .send()
        .await
        .unwrap();
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

    let got = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["etag"], etag.as_str());
    assert_eq!(body(got).await["data"]["name"], "Ana");

    let head = s.http.head(s.url(&location)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], etag.as_str());

    let only = body(
        s.http
            .get(s.url(&format!("{location}?fields=name")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(only["data"]["name"], "Ana");
    assert!(only["data"].get("email").is_none());

    s.http
        .post(s.url("/users"))
        .json(&json!({"id": "bob", "name": "Bob", "email": "bob@example.com", "role": "dev"}))
        .send()
        .await
        .unwrap();
    let list = body(s.http.get(s.url("/users")).send().await.unwrap()).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["data"][0]["_etag"].is_string());

    let count = body(s.http.get(s.url("/users/count")).send().await.unwrap()).await;
    assert_eq!(count["data"]["count"], 2);
    let devs = body(
        s.http
            .get(
                s.url("/users/count?partition=byRole&partitionValues=%7B%22role%22%3A%22dev%22%7D"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(devs["data"]["count"], 1);

    let patched = s
        .http
        .patch(s.url("/users/bob"))
        .json(&json!({"age": 41}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched = body(patched).await;
    assert_eq!(patched["data"]["age"], 41);
    assert_eq!(patched["data"]["name"], "Bob");

    let replaced = s
        .http
        .put(s.url("/users/bob"))
        .json(&json!({"name": "Robert", "email": "rob@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let replaced = body(replaced).await;
    assert_eq!(replaced["data"]["name"], "Robert");
    assert!(
        replaced["data"].get("age").is_none(),
        "PUT replaces the whole record"
    );

    let created = s
        .http
        .put(s.url("/users/carol"))
        .json(&json!({"name": "Carol", "email": "carol@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/users/carol");

    let deleted = s.http.delete(s.url("/users/bob")).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        s.http
            .get(s.url("/users/bob"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        s.http
            .delete(s.url("/users/bob"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn list_pages_with_a_cursor_filters_and_partitions() {
    let s = open().await;
    for i in 0..5 {
        let role = if i % 2 == 0 { "dev" } else { "ops" };
        s.http
            .post(s.url("/users"))
            .json(&json!({"id": format!("u{i}"), "name": format!("User {i}"), "email": format!("u{i}@example.com"), "age": 20 + i, "role": role}))
            .send()
            .await
            .unwrap();
    }
    let first = s.http.get(s.url("/users?limit=2")).send().await.unwrap();
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
            s.http
                .get(s.url("/users"))
                .query(&[("limit", "2"), ("cursor", &c)])
                .send()
                .await
                .unwrap(),
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
        s.http
            .get(s.url("/users?partition=byRole&partitionValues={\"role\":\"dev\"}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(devs["data"].as_array().unwrap().len(), 3);

    let filtered = body(
        s.http
            .get(s.url("/users?role=ops&age=23"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = filtered["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u3"]);
    let older = body(
        s.http
            .get(s.url("/users/count"))
            .query(&[("age", "{\"$gte\":23}")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(older["data"]["count"], 2);

    let query = s
        .http
        .post(s.url("/users/query"))
        .json(&json!({"filter": {"role": "dev", "age": {"$gt": 20}}, "fields": ["name"]}))
        .send()
        .await
        .unwrap();
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
    assert_eq!(
        body(s.http.get(s.url("/health")).send().await.unwrap()).await["status"],
        "ok"
    );
    let ready = body(s.http.get(s.url("/ready")).send().await.unwrap()).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["resources"], json!(["users", "notes"]));
    let created = s
        .http
        .post(s.url("/notes"))
        .json(&json!({"title": "hi"}))
        .send()
        .await
        .unwrap();
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
