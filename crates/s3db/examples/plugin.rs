//! Plugins: a small custom plugin (counts inserts per resource through an after-insert
//! hook) next to an installed one (the metrics plugin). Run with
//! `cargo run -p s3db --example plugin`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use s3db::plugins::MetricsPlugin;
use s3db::prelude::*;
use s3db::{HookPoint, Plugin, PluginContext};
use serde_json::json;

/// Counts the inserts of every resource, those defined before and after its installation.
#[derive(Debug, Default)]
struct InsertCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl InsertCounter {
    fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .map(|counts| counts.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl Plugin for InsertCounter {
    fn slug(&self) -> &str {
        "insert-counter"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db::Result<()> {
        let counts = self.counts.clone();
        ctx.for_each_resource(move |resource| {
            let counts = counts.clone();
            let name = resource.name().to_owned();
            resource
                .hooks()
                .register(HookPoint::AfterInsert, move |_ctx, data| {
                    if let Ok(mut counts) = counts.lock() {
                        *counts.entry(name.clone()).or_default() += 1;
                    }
                    async move { Ok(data) }
                });
        });
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let counter = Arc::new(InsertCounter::default());
    let metrics = MetricsPlugin::prometheus();
    let db = Database::builder("memory://plugin-example")
        .plugin(counter.clone())
        .plugin(Arc::new(metrics.clone()))
        .open()
        .await?;

    let notes = db
        .create_resource(ResourceConfig::from_json(&json!({
            "name": "notes", "attributes": {"text": "string"}
        }))?)
        .await?;
    for (id, text) in [("n1", "hello"), ("n2", "world")] {
        let note = json!({"id": id, "text": text});
        notes
            .insert(note.as_object().cloned().unwrap_or_default())
            .await?;
    }
    notes.get("n1").await?;

    println!("plugins: {:?}", db.plugins());
    println!("inserts counted: {:?}", counter.counts());
    println!("{}", metrics.render().unwrap_or_default());
    db.disconnect().await?;
    Ok(())
}
