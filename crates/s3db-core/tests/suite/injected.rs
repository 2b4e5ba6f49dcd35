//! `Database::builder`: options, hooks and plugins given at open, and the injected clock and
//! random source driving timestamps, ids and what plugins see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use s3db_core::clock::{Clock, ManualClock, SharedClock};
use s3db_core::extend::{HookPoint, Hooks, Plugin, PluginContext};
use s3db_core::random::{RandomSource, SeededRandom, SharedRandom};
use s3db_core::{Database, Error, Record, ResourceConfig};
use s3db_storage::MemoryStorage;
use s3db_storage::layers::RetryConfig;
use serde_json::{Value, json};

fn rec(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

fn notes_config() -> ResourceConfig {
    ResourceConfig::new("notes")
        .attribute("text", "string")
        .timestamps(true)
}

#[tokio::test]
async fn a_manual_clock_dates_records_definitions_and_the_document_exactly() {
    let clock = ManualClock::at_millis(1_700_000_000_000);
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .unwrap();
    let notes = db.create_resource(notes_config()).await.unwrap();
    let document = db.document();
    assert_eq!(document.last_updated, "2023-11-14T22:13:20.000Z");
    let version = document.resources["notes"].current().unwrap();
    assert_eq!(
        version.created_at.as_deref(),
        Some("2023-11-14T22:13:20.000Z")
    );

    clock.advance(Duration::from_millis(1_234));
    let inserted = notes
        .insert(rec(json!({"id": "n1", "text": "a"})))
        .await
        .unwrap();
    assert_eq!(inserted["createdAt"], "2023-11-14T22:13:21.234Z");
    assert_eq!(inserted["updatedAt"], "2023-11-14T22:13:21.234Z");

    clock.advance(Duration::from_secs(3_600));
    notes.update("n1", rec(json!({"text": "b"}))).await.unwrap();
    let read = notes.get("n1").await.unwrap();
    assert_eq!(read["createdAt"], "2023-11-14T22:13:21.234Z");
    assert_eq!(read["updatedAt"], "2023-11-14T23:13:21.234Z");

    // Evolving the definition stamps the new version and the document with the clock.
    clock.advance(Duration::from_secs(60));
    db.create_resource(notes_config().attribute("tag", "string|optional"))
        .await
        .unwrap();
    let document = db.document();
    assert_eq!(document.last_updated, "2023-11-14T23:14:21.234Z");
    assert_eq!(
        document.resources["notes"]
            .current()
            .unwrap()
            .created_at
            .as_deref(),
        Some("2023-11-14T23:14:21.234Z")
    );
    assert_eq!(db.clock().now_millis(), clock.now_millis());
}

/// The ids a fresh database seeded with `seed` gives to `n` records inserted without one.
async fn generated_ids(seed: u64, n: usize) -> Vec<String> {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .random(Arc::new(SeededRandom::new(seed)))
        .open()
        .await
        .unwrap();
    let notes = db.create_resource(notes_config()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let inserted = notes
            .insert(rec(json!({"text": i.to_string()})))
            .await
            .unwrap();
        ids.push(inserted["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn the_same_seed_generates_the_same_ids() {
    let first = generated_ids(42, 5).await;
    assert_eq!(first.len(), 5);
    assert!(first.iter().all(|id| id.len() == 22));
    assert_eq!(generated_ids(42, 5).await, first);
    assert_ne!(generated_ids(43, 5).await, first);
}

/// Records the clock and random source its context hands out.
#[derive(Default)]
struct Probe {
    seen: Mutex<Option<(SharedClock, SharedRandom)>>,
}

#[async_trait]
impl Plugin for Probe {
    fn slug(&self) -> &str {
        "probe"
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        *self.seen.lock().unwrap() = Some((ctx.clock().clone(), ctx.random().clone()));
        Ok(())
    }
}

#[tokio::test]
async fn plugins_given_to_the_builder_are_installed_with_the_database_clock_and_random() {
    let clock = ManualClock::at_millis(5_000);
    let probe = Arc::new(Probe::default());
    let connects = Arc::new(Mutex::new(0));
    let hooks = Hooks::for_database();
    let counted = connects.clone();
    hooks.register(HookPoint::BeforeConnect, move |_ctx, data| {
        *counted.lock().unwrap() += 1;
        async move { Ok(data) }
    });
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .hooks(hooks)
        .plugin(probe.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(9)))
        .open()
        .await
        .unwrap();
    assert_eq!(db.plugins(), ["probe"]);
    assert_eq!(*connects.lock().unwrap(), 1, "hooks see the first connect");
    let (seen_clock, seen_random) = probe.seen.lock().unwrap().clone().unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(seen_clock.now_millis(), 6_000, "the database's clock");
    assert_eq!(seen_random.next_u64(), SeededRandom::new(9).next_u64());
}

#[tokio::test]
async fn builder_setters_reach_the_options() {
    let db = Database::builder("memory://builder-options/db")
        .passphrase("p")
        .versioning(true)
        .metadata_limit(1_000)
        .max_write_attempts(3)
        .retry(RetryConfig::disabled())
        .open()
        .await
        .unwrap();
    let options = db.options();
    assert!(options.versioning);
    assert_eq!(options.metadata_limit, 1_000);
    assert_eq!(options.max_write_attempts, 3);
    assert!(!options.retry.is_enabled());
    assert_eq!(
        options.location.as_deref(),
        Some("memory://builder-options/db")
    );
    assert_eq!(options.passphrase.expose(), "p");

    // A plugin that fails to install fails the open, naming the plugin.
    let bad = Database::builder("memory://builder-options/bad")
        .plugin(Arc::new(BadSlug))
        .open()
        .await;
    assert!(matches!(bad, Err(Error::InvalidPlugin { slug, .. }) if slug == "Not Valid"));
    let unparsable = Database::builder("nope://x").open().await;
    assert!(unparsable.is_err());
}

struct BadSlug;

#[async_trait]
impl Plugin for BadSlug {
    fn slug(&self) -> &str {
        "Not Valid"
    }

    async fn install(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        Ok(())
    }
}
