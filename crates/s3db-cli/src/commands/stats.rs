//! `stats [R]`: records and partition references per resource, and the storage requests this command
//! sent with their estimated cost (S3 Standard request prices).

use s3db::core::ListRequest;
use s3db::storage::layers::{MetricsSnapshot, Prices};
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::session::Session;

/// Runs `stats`.
pub async fn run(session: &Session, only: Option<String>) -> Result<()> {
    let db = session.database().await?;
    let names = match only {
        Some(name) => vec![name],
        None => db.list_resources(),
    };
    let mut resources = Vec::with_capacity(names.len());
    for name in &names {
        let resource = db.resource(name)?;
        let names: Vec<String> = db
            .document()
            .resources
            .get(name)
            .and_then(|entry| entry.partitions.as_ref())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        // References per partition: a listing each, no record reads.
        let mut partitions = Map::new();
        for partition in names {
            let request = ListRequest::partition(partition.clone(), Value::Null);
            partitions.insert(partition, json!(resource.count_by(&request).await?));
        }
        resources.push(json!({
            "name": name,
            "version": resource.version(),
            "behavior": resource.behavior().as_str(),
            "records": resource.count().await?,
            "partitions": partitions,
        }));
    }
    let requests = session.requests();
    if session.output.is_json() {
        let mut summary = Map::new();
        summary.insert("resources".into(), Value::Array(resources));
        summary.insert("requests".into(), requests_json(&requests));
        return session.output.record(&Value::Object(summary));
    }
    let rows: Vec<Vec<Value>> = resources
        .iter()
        .map(|r| {
            ["name", "version", "behavior", "records", "partitions"]
                .iter()
                .map(|k| r[*k].clone())
                .collect()
        })
        .collect();
    session.output.rows(
        &["name", "version", "behavior", "records", "partitions"],
        &rows,
    )?;
    session.output.note(&format!(
        "\nthis command: {} requests (get {}, head {}, put {}, list {}), estimated cost ${:.6}",
        requests.requests(),
        requests.get.requests,
        requests.head.requests,
        requests.put.requests,
        requests.list.requests,
        requests.estimated_cost_usd(Prices::S3_STANDARD)
    ))
}

/// The request counts and cost as JSON.
fn requests_json(r: &MetricsSnapshot) -> Value {
    json!({
        "total": r.requests(),
        "get": r.get.requests,
        "head": r.head.requests,
        "put": r.put.requests,
        "copy": r.copy.requests,
        "delete": r.delete.requests,
        "delete_many": r.delete_many.requests,
        "list": r.list.requests,
        "errors": r.get.errors + r.head.errors + r.put.errors + r.copy.errors
            + r.delete.errors + r.delete_many.errors + r.list.errors,
        "estimated_cost_usd": r.estimated_cost_usd(Prices::S3_STANDARD),
    })
}
