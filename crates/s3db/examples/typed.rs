//! Typed records: a struct deriving [`s3db::Document`] is the resource definition, a
//! [`TypedResource`] reads and writes it, and [`Filter`] builds queries without JSON.
//! Run with `cargo run -p s3db --example typed`.

use s3db::prelude::*;
use serde::{Deserialize, Serialize};

/// A task, stored as the resource `tasks` partitioned by status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Document)]
#[s3db(
    name = "tasks",
    timestamps,
    partition(name = "byStatus", fields(status = "string"))
)]
#[serde(rename_all = "camelCase")]
struct Task {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    title: String,
    status: String,
    estimate_hours: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl Task {
    fn new(id: &str, title: &str, status: &str, estimate_hours: u32) -> Task {
        Task {
            id: Some(id.into()),
            title: title.into(),
            status: status.into(),
            estimate_hours,
            created_at: None,
            updated_at: None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::builder("memory://typed-example").open().await?;
    let tasks: TypedResource<Task> = db
        .create_resource(Task::resource_config())
        .await?
        .typed::<Task>();

    tasks
        .insert(&Task::new("t1", "Write the docs", "open", 3))
        .await?;
    tasks
        .insert(&Task::new("t2", "Fix the build", "done", 1))
        .await?;
    tasks.insert(&Task::new("t3", "Ship it", "open", 8)).await?;

    let t1 = tasks.get("t1").await?;
    println!("t1: {} (created {:?})", t1.title, t1.created_at);

    // Served by the byStatus partition and the field filter, no JSON in sight.
    let long_open = tasks
        .query(
            &Filter::field("status")
                .eq("open")
                .and(Filter::field("estimateHours").gte(2)),
            &QueryOptions::scanning(),
        )
        .await?;
    let mut titles: Vec<_> = long_open.iter().map(|t| t.title.as_str()).collect();
    titles.sort();
    println!("open, 2h or more: {titles:?}");

    let open = tasks
        .list_partition("byStatus", serde_json::json!({"status": "open"}))
        .await?;
    println!("open tasks: {}", open.len());
    Ok(())
}
