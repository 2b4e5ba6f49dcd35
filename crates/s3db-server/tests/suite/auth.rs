//! API keys, Basic, permissions, read-only mode, rate limits, CORS.

use std::time::Duration;

use base64::Engine as _;
use s3db_server::{AuthConfig, RateLimit, ServerConfig};
use serde_json::json;

use crate::harness::{problem, start};

fn auth() -> AuthConfig {
    AuthConfig::from_json(
        r#"{
        "apiKeys": [
            {"name": "admin", "key": "k-admin", "read": ["*"], "write": ["*"]},
            {"name": "reader", "key": "k-read", "read": ["notes"]}
        ],
        "basic": [{"username": "ana", "password": "pw", "read": ["users"], "write": ["users"]}]
    }"#,
    )
    .unwrap()
}

#[tokio::test]
async fn api_keys_and_basic_with_per_resource_permissions() {
    let s = start(ServerConfig {
        auth: auth(),
        ..Default::default()
    })
    .await;
    let none = s.http.get(s.url("/notes")).send().await.unwrap();
    assert!(none.headers().contains_key("www-authenticate"));
    problem(none, 401, "Unauthorized").await;
    problem(
        s.http
            .get(s.url("/notes"))
            .header("x-api-key", "wrong")
            .send()
            .await
            .unwrap(),
        401,
        "Unauthorized",
    )
    .await;
    // Health and the OpenAPI document stay public.
    assert_eq!(
        s.http.get(s.url("/health")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        s.http
            .get(s.url("/openapi.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let admin = s
        .http
        .post(s.url("/notes"))
        .header("x-api-key", "k-admin")
        .json(&json!({"id": "n", "title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 201);
    assert_eq!(
        s.http
            .get(s.url("/notes/n"))
            .header("x-api-key", "k-read")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let write = s
        .http
        .delete(s.url("/notes/n"))
        .header("x-api-key", "k-read")
        .send()
        .await
        .unwrap();
    problem(write, 403, "Forbidden").await;
    problem(
        s.http
            .get(s.url("/users"))
            .header("x-api-key", "k-read")
            .send()
            .await
            .unwrap(),
        403,
        "Forbidden",
    )
    .await;

    let basic = |user: &str, pw: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    };
    let ana = s
        .http
        .post(s.url("/users"))
        .header("authorization", basic("ana", "pw"))
        .json(&json!({"name": "Ana", "email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ana.status(), 201);
    problem(
        s.http
            .get(s.url("/notes"))
            .header("authorization", basic("ana", "pw"))
            .send()
            .await
            .unwrap(),
        403,
        "Forbidden",
    )
    .await;
    problem(
        s.http
            .get(s.url("/users"))
            .header("authorization", basic("ana", "nope"))
            .send()
            .await
            .unwrap(),
        401,
        "Unauthorized",
    )
    .await;
}

#[tokio::test]
async fn read_only_mode_refuses_writes() {
    let s = start(ServerConfig {
        read_only: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        s.http.get(s.url("/notes")).send().await.unwrap().status(),
        200
    );
    problem(
        s.http
            .post(s.url("/notes"))
            .json(&json!({"title": "t"}))
            .send()
            .await
            .unwrap(),
        403,
        "ReadOnly",
    )
    .await;
    problem(
        s.http.delete(s.url("/notes/x")).send().await.unwrap(),
        403,
        "ReadOnly",
    )
    .await;
    assert_eq!(s.db.resource("notes").unwrap().count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_burst_over_the_quota_is_429_per_principal() {
    let s = start(ServerConfig {
        auth: auth(),
        rate_limit: Some(RateLimit {
            burst: 3,
            period: Duration::from_secs(3600),
        }),
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            s.http
                .get(s.url("/notes"))
                .header("x-api-key", "k-read")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let limited = s
        .http
        .get(s.url("/notes"))
        .header("x-api-key", "k-read")
        .send()
        .await
        .unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    problem(limited, 429, "RateLimited").await;
    // Another principal has its own bucket.
    assert_eq!(
        s.http
            .get(s.url("/notes"))
            .header("x-api-key", "k-admin")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn cors_allows_configured_origins() {
    let s = start(ServerConfig {
        cors_origins: vec!["https://app.example".into()],
        ..Default::default()
    })
    .await;
    let preflight = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/notes"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = s
        .http
        .get(s.url("/notes"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}
