//! API keys, Basic, permissions, read-only mode, rate limits, CORS.

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use s3db_server::{AuthConfig, JwtConfig, RateLimit, ServerConfig};
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
    let none = s.get("/notes").await;
    assert!(none.headers().contains_key("www-authenticate"));
    problem(none, 401, "Unauthorized").await;
    problem(
        s.get("/notes").header("x-api-key", "wrong").await,
        401,
        "Unauthorized",
    )
    .await;
    // Health and the OpenAPI document stay public.
    assert_eq!(s.get("/health").await.status(), 200);
    assert_eq!(s.get("/openapi.json").await.status(), 200);

    let admin = s
        .post("/notes")
        .header("x-api-key", "k-admin")
        .json(&json!({"id": "n", "title": "t"}))
        .await;
    assert_eq!(admin.status(), 201);
    assert_eq!(
        s.get("/notes/n")
            .header("x-api-key", "k-read")
            .await
            .status(),
        200
    );
    let write = s.delete("/notes/n").header("x-api-key", "k-read").await;
    problem(write, 403, "Forbidden").await;
    problem(
        s.get("/users").header("x-api-key", "k-read").await,
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
        .post("/users")
        .header("authorization", basic("ana", "pw"))
        .json(&json!({"name": "Ana", "email": "a@example.com"}))
        .await;
    assert_eq!(ana.status(), 201);
    problem(
        s.get("/notes")
            .header("authorization", basic("ana", "pw"))
            .await,
        403,
        "Forbidden",
    )
    .await;
    problem(
        s.get("/users")
            .header("authorization", basic("ana", "nope"))
            .await,
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
    assert_eq!(s.get("/notes").await.status(), 200);
    problem(
        s.post("/notes").json(&json!({"title": "t"})).await,
        403,
        "ReadOnly",
    )
    .await;
    problem(s.delete("/notes/x").await, 403, "ReadOnly").await;
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
            s.get("/notes").header("x-api-key", "k-read").await.status(),
            200
        );
    }
    let limited = s.get("/notes").header("x-api-key", "k-read").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    problem(limited, 429, "RateLimited").await;
    // Another principal has its own bucket.
    assert_eq!(
        s.get("/notes")
            .header("x-api-key", "k-admin")
            .await
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
        .call(reqwest::Method::OPTIONS, "/notes")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PUT")
        .await;
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = s
        .get("/notes")
        .header("origin", "https://evil.example")
        .await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

/// A P-256 key pair made for this test (`openssl ecparam -name prime256v1`).
const ES256_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgByJulDkiZM6eaaJb\nfNenUNj3VLu3IRO7NHbBzZEQLyOhRANCAATVMtm+eDKu+CXugkt7QgHG5WBFjh9g\nkgahFprgJbsf5fq0gS6B4qb0817dH5FvydUeO9VDJ0SQuOa3lVdign7q\n-----END PRIVATE KEY-----";
const ES256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1TLZvngyrvgl7oJLe0IBxuVgRY4f\nYJIGoRaa4CW7H+X6tIEugeKm9PNe3R+Rb8nVHjvVQydEkLjmt5VXYoJ+6g==\n-----END PUBLIC KEY-----";

fn token(header: Header, key: &EncodingKey, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

#[tokio::test]
async fn hs256_bearer_tokens_carry_the_principal_and_its_permissions() {
    let auth = AuthConfig {
        jwt: Some(JwtConfig::hs256(b"shh").issuer("idp")),
        ..Default::default()
    };
    let s = start(ServerConfig {
        auth,
        ..Default::default()
    })
    .await;
    let key = EncodingKey::from_secret(b"shh");
    let good = token(
        Header::default(),
        &key,
        json!({"sub": "ana", "iss": "idp", "exp": in_an_hour(), "s3db": {"read": ["notes"], "write": ["notes"]}}),
    );
    let bearer = |t: &str| format!("Bearer {t}");
    let created = s
        .post("/notes")
        .header("authorization", bearer(&good))
        .json(&json!({"title": "t"}))
        .await;
    assert_eq!(created.status(), 201);
    let users = s.get("/users").header("authorization", bearer(&good)).await;
    assert!(
        problem(users, 403, "Forbidden").await["detail"]
            .as_str()
            .unwrap()
            .contains("ana")
    );

    let expired = token(
        Header::default(),
        &key,
        json!({"sub": "ana", "iss": "idp", "exp": 1000, "s3db": {"read": ["*"]}}),
    );
    problem(
        s.get("/notes")
            .header("authorization", bearer(&expired))
            .await,
        401,
        "Unauthorized",
    )
    .await;
    let forged = token(
        Header::default(),
        &EncodingKey::from_secret(b"other"),
        json!({"sub": "ana", "iss": "idp", "exp": in_an_hour()}),
    );
    problem(
        s.get("/notes")
            .header("authorization", bearer(&forged))
            .await,
        401,
        "Unauthorized",
    )
    .await;
    let other_issuer = token(
        Header::default(),
        &key,
        json!({"sub": "ana", "iss": "evil", "exp": in_an_hour(), "s3db": {"read": ["*"]}}),
    );
    problem(
        s.get("/notes")
            .header("authorization", bearer(&other_issuer))
            .await,
        401,
        "Unauthorized",
    )
    .await;
    let no_claim = token(
        Header::default(),
        &key,
        json!({"sub": "bob", "iss": "idp", "exp": in_an_hour()}),
    );
    problem(
        s.get("/notes")
            .header("authorization", bearer(&no_claim))
            .await,
        403,
        "Forbidden",
    )
    .await;
}

#[tokio::test]
async fn es256_tokens_verified_with_a_pem_public_key_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("jwt.pem");
    std::fs::write(&pem, ES256_PUBLIC).unwrap();
    let config =
        json!({"jwt": {"algorithm": "ES256", "publicKeyFile": pem, "permissionsClaim": "perms"}});
    let auth = AuthConfig::from_json(&config.to_string()).unwrap();
    let s = start(ServerConfig {
        auth,
        ..Default::default()
    })
    .await;
    let key = EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap();
    let good = token(
        Header::new(Algorithm::ES256),
        &key,
        json!({"sub": "svc", "exp": in_an_hour(), "perms": {"read": ["*"]}}),
    );
    let ok = s
        .get("/users")
        .header("authorization", format!("Bearer {good}"))
        .await;
    assert_eq!(ok.status(), 200);
    // An HS256 token is refused by an ES256 server, whatever its secret.
    let hs = token(
        Header::default(),
        &EncodingKey::from_secret(b"x"),
        json!({"sub": "svc", "exp": in_an_hour(), "perms": {"read": ["*"]}}),
    );
    problem(
        s.get("/users")
            .header("authorization", format!("Bearer {hs}"))
            .await,
        401,
        "Unauthorized",
    )
    .await;

    let missing = AuthConfig::from_json(r#"{"jwt": {"algorithm": "RS256"}}"#).unwrap_err();
    assert!(missing.to_string().contains("publicKeyFile"), "{missing}");
    let unsupported = AuthConfig::from_json(r#"{"jwt": {"algorithm": "none"}}"#).unwrap_err();
    assert!(
        unsupported.to_string().contains("not supported"),
        "{unsupported}"
    );
}
