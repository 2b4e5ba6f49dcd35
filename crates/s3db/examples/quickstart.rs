//! The smallest s3db program: a database in a temporary directory (`file://`), one
//! resource, insert, update, query, list. Run with `cargo run -p s3db --example quickstart`.

use s3db::prelude::*;
use serde_json::json;

/// A JSON object literal as a [`Record`].
fn record(value: serde_json::Value) -> Record {
    value.as_object().cloned().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // `memory://name` works the same; `s3://..` and `http://..` reach a bucket.
    let url = format!("file://{}", dir.path().display());
    let db = Database::builder(url.as_str()).open().await?;

    let people = db
        .create_resource(ResourceConfig::from_json(&json!({
            "name": "people",
            "attributes": {"name": "string|required", "age": "number|optional"},
            "timestamps": true
        }))?)
        .await?;

    people
        .insert(record(json!({"id": "ana", "name": "Ana", "age": 31})))
        .await?;
    people
        .insert(record(json!({"id": "bo", "name": "Bo", "age": 17})))
        .await?;
    people.update("ana", record(json!({"age": 32}))).await?;

    let ana = people.get("ana").await?;
    println!("ana: {}", serde_json::Value::Object(ana));

    // A filter no partition serves is a full scan, and must say so.
    let adults = people
        .query(&json!({"age": {"$gte": 18}}), &QueryOptions::scanning())
        .await?;
    println!("adults: {}", adults.len());
    println!("ids: {:?}", people.list_ids().await?);

    // A duplicate id is refused: inserts never overwrite.
    let again = people
        .insert(record(json!({"id": "ana", "name": "Other"})))
        .await;
    println!("insert again: {:?}", again.map_err(|e| e.kind()).err());

    db.disconnect().await?;
    Ok(())
}
