//! The OpenAPI document follows the live definitions.

use s3db_core::ResourceConfig;
use serde_json::json;

use crate::harness::{body, open};

#[tokio::test]
async fn openapi_has_a_schema_per_resource_and_follows_changes() {
    let s = open().await;
    let doc = body(s.get("/openapi.json").await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let users = &doc["components"]["schemas"]["users"];
    assert_eq!(
        users["properties"]["name"],
        json!({"type": "string", "minLength": 2, "maxLength": 50})
    );
    assert_eq!(users["properties"]["email"]["format"], "email");
    assert_eq!(
        users["properties"]["age"]["anyOf"][0],
        json!({"type": "integer", "minimum": 0.0})
    );
    assert_eq!(users["required"], json!(["name", "email"]));
    for path in [
        "/users",
        "/users/{id}",
        "/users/query",
        "/users/count",
        "/notes/{id}",
        "/health",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(
        doc["paths"]["/users/{id}"]["put"]["responses"]
            .get("412")
            .is_some()
    );
    assert!(doc["paths"].get("/tasks").is_none());

    s.db.create_resource(
        ResourceConfig::new("tasks")
            .attribute("state", json!({"type": "enum", "values": ["open", "done"]}))
            .attribute("due", "date|optional"),
    )
    .await
    .unwrap();
    let doc = body(s.get("/openapi.json").await).await;
    let tasks = &doc["components"]["schemas"]["tasks"];
    assert_eq!(
        tasks["properties"]["state"]["enum"],
        json!(["open", "done"])
    );
    assert!(doc["paths"].get("/tasks/{id}").is_some());
}
