//! s3db against a real S3 endpoint (AWS, MinIO, R2, moto, SeaweedFS...). The connection
//! string comes from `S3DB_EXAMPLE_ENDPOINT`, for example
//! `http://KEY:SECRET@127.0.0.1:9000/my-bucket/example?region=us-east-1` or
//! `s3://KEY:SECRET@my-bucket/example?region=eu-west-1`; the bucket must exist.
//! Run with `S3DB_EXAMPLE_ENDPOINT=.. cargo run -p s3db --example s3_server`.

use std::process::ExitCode;

use s3db::prelude::*;
use serde_json::json;

/// The environment variable holding the connection string.
const ENDPOINT_VAR: &str = "S3DB_EXAMPLE_ENDPOINT";

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(url) = std::env::var(ENDPOINT_VAR) else {
        eprintln!(
            "{ENDPOINT_VAR} is not set: set it to a connection string such as \
             http://KEY:SECRET@127.0.0.1:9000/my-bucket/example?region=us-east-1"
        );
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error ({:?}): {error}", error.kind());
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str) -> s3db::Result<()> {
    // The Debug form of the builder's location masks the credentials.
    let db = Database::builder(url).open().await?;
    let (visits, _created) = db
        .create_resource_if_not_exists(ResourceConfig::from_json(&json!({
            "name": "visits",
            "attributes": {"count": "number"}
        }))?)
        .await?;
    if !visits.exists("home").await? {
        let first = json!({"id": "home", "count": 0});
        visits
            .insert(first.as_object().cloned().unwrap_or_default())
            .await?;
    }
    // A read-modify-write retried on conflict: safe with other writers.
    let updated = visits
        .update_with("home", |current| {
            let count = current.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
            let mut next = current.clone();
            next.insert("count".into(), json!(count + 1));
            Ok(next)
        })
        .await?;
    println!("home visited {} times", updated["count"]);
    db.disconnect().await
}
