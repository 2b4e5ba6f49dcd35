//! TTL plugin costs on the memory backend: inserts with and without the plugin (the index
//! hooks add two writes per insert) and one sweep of 1 000 due records (hard delete).
//!
//! Each iteration runs a whole phase of `N` records; the throughput printed (elements/s) is
//! records per second.
#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used)] // a bench aborts on any failure

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use s3db_core::{Database, Resource, ResourceConfig};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::ttl::{Action, Expiry, TtlConfig, TtlPlugin};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::json;
use tokio::runtime::Runtime;

const N: usize = 1_000;
const IN_FLIGHT: usize = 32;
const T0: i64 = 1_700_000_000_000;

/// A fresh database with the `items` resource, and the plugin when `ttl` is set.
async fn setup(ttl: bool) -> (Database, Resource, ManualClock, Option<Arc<TtlPlugin>>) {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let db = Database::builder(storage).open().await.unwrap();
    let items = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "items", "attributes": {"name": "string"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let clock = ManualClock::at_millis(T0);
    let plugin = if ttl {
        let config = TtlConfig::new()
            .resource("items", Expiry::after_secs(60), Action::HardDelete)
            .concurrency(IN_FLIGHT);
        let plugin = Arc::new(TtlPlugin::with_clock(config, Arc::new(clock.clone())).unwrap());
        db.use_plugin(plugin.clone()).await.unwrap();
        Some(plugin)
    } else {
        None
    };
    (db, items, clock, plugin)
}

async fn insert_n(items: &Resource) -> Duration {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let start = Instant::now();
    futures::stream::iter(0..N)
        .map(|_| {
            let id = format!("r{}", SERIAL.fetch_add(1, Ordering::Relaxed));
            let record = json!({"id": id, "name": "x"}).as_object().cloned().unwrap();
            async move { items.insert(record).await.unwrap() }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    start.elapsed()
}

fn ttl(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("ttl");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    for (name, with_plugin) in [
        ("insert_without_plugin", false),
        ("insert_with_plugin", true),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (db, items, _, _) = setup(with_plugin).await;
                        total += insert_n(&items).await;
                        db.disconnect().await.unwrap();
                    }
                    total
                })
            });
        });
    }
    group.bench_function("sweep_hard_delete", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (db, items, clock, plugin) = setup(true).await;
                    insert_n(&items).await;
                    clock.advance(Duration::from_secs(61));
                    let plugin = plugin.unwrap();
                    let start = Instant::now();
                    let report = plugin.sweep_now().await.unwrap();
                    total += start.elapsed();
                    assert_eq!(report.hard_deleted, N);
                    db.disconnect().await.unwrap();
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, ttl);
criterion_main!(benches);
