//! `demo`: a small sample database (resources `users` and `products`, a few records) in
//! the configured store. Idempotent: a second run finds everything in place and writes
//! nothing.

use s3db::core::{Creation, Database, ResourceConfig};
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::session::Session;

/// The sample resources and their records.
fn samples() -> Vec<(Value, Vec<Value>)> {
    vec![
        (
            json!({
                "name": "users",
                "behavior": "user-managed",
                "attributes": {
                    "name": "string|required",
                    "email": "email|required",
                    "country": "string",
                    "age": "number|optional",
                    "tags": "array|items:string|optional"
                },
                "partitions": {"byCountry": {"fields": {"country": "string"}}}
            }),
            vec![
                json!({"id": "ana", "name": "Ana Lima", "email": "ana@example.com", "country": "PT", "age": 31, "tags": ["admin"]}),
                json!({"id": "ben", "name": "Ben Ode", "email": "ben@example.com", "country": "NG", "age": 27}),
                json!({"id": "chen", "name": "Chen Wei", "email": "chen@example.com", "country": "CN", "tags": ["beta", "mobile"]}),
            ],
        ),
        (
            json!({
                "name": "products",
                "behavior": "body-overflow",
                "attributes": {
                    "title": "string|required",
                    "price": "number|min:0",
                    "description": "string|optional"
                }
            }),
            vec![
                json!({"id": "p-100", "title": "Bucket hat", "price": 19.9}),
                json!({"id": "p-200", "title": "Object lamp", "price": 49.5,
                       "description": "A long description that does not fit in metadata. ".repeat(60)}),
            ],
        ),
    ]
}

/// Runs `demo`.
pub async fn run(session: &Session) -> Result<()> {
    let db = session.database_to_define().await?;
    let mut actions = Vec::new();
    for (definition, records) in samples() {
        let config = ResourceConfig::from_json(&definition)?;
        let name = config.name.clone();
        let (resource, creation) = db.create_resource_if_not_exists(config).await?;
        actions.push(action(
            "resource",
            &name,
            match creation {
                Creation::Created => "created",
                Creation::AlreadyExists {
                    same_definition: true,
                } => "kept",
                Creation::AlreadyExists {
                    same_definition: false,
                } => "kept (defined differently from the demo)",
            },
        ));
        for record in records {
            let Value::Object(record) = record else {
                continue;
            };
            let id = record
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let label = format!("{name}/{id}");
            if resource.exists(&id).await? {
                actions.push(action("record", &label, "kept"));
            } else {
                resource.insert(record).await?;
                actions.push(action("record", &label, "inserted"));
            }
        }
    }
    print(session, &db, &actions).await
}

fn action(kind: &str, name: &str, outcome: &str) -> Value {
    json!({"kind": kind, "name": name, "outcome": outcome})
}

async fn print(session: &Session, db: &Database, actions: &[Value]) -> Result<()> {
    if session.output.is_json() {
        let mut summary = Map::new();
        summary.insert("connection".into(), json!(session.location()));
        summary.insert("actions".into(), Value::Array(actions.to_vec()));
        return session.output.record(&Value::Object(summary));
    }
    session
        .output
        .note(&format!("demo database at {}", session.location()))?;
    for a in actions {
        session.output.note(&format!(
            "  {:<8} {:<10} {}",
            a["outcome"].as_str().unwrap_or_default(),
            a["kind"].as_str().unwrap_or_default(),
            a["name"].as_str().unwrap_or_default()
        ))?;
    }
    let users = db.resource("users")?.count().await?;
    let products = db.resource("products")?.count().await?;
    session.output.note(&format!(
        "\n{users} users, {products} products. Try:\n  s3db resources\n  s3db list users\n  s3db get products p-200\n  s3db stats"
    ))
}
