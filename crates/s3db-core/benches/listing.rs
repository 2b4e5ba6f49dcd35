//! Listing and partition-maintenance throughput on the memory backend: the standard
//! workload's `people` resource, 10 000 records, 32 operations (or reads) in flight.
//!
//! - `update_move`: N updates that each move a record to another `byCity` value (record
//!   PUT plus one reference DELETE and PUT); elements/s = updates per second.
//! - `list`: one listing of all N records with 32 reads in flight; elements/s = records/s.
//! - `list_partition`: the four `byCity` listings (N records in all); elements/s = records/s.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3db_core::workload::{CITIES, people_config, person};
use s3db_core::{Database, ListRequest, Resource};
use s3db_storage::MemoryStorage;
use serde_json::json;

const N: u32 = 10_000;
const CONCURRENCY: usize = 32;

async fn filled_people() -> Resource {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .expect("open");
    let people = db.create_resource(people_config()).await.expect("create");
    let records = (0..N).map(|i| person(i, "u")).collect();
    for result in people.insert_many(records).await {
        result.expect("insert");
    }
    people
}

/// N updates, CONCURRENCY in flight, each moving record i to the next city.
async fn update_phase(people: &Resource, round: u32) -> Duration {
    let next = Arc::new(AtomicU32::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (next, people) = (next.clone(), people.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= N {
                        break;
                    }
                    let city = CITIES[((i + round + 1) % 4) as usize];
                    let changes = json!({"address": {"city": city}});
                    let changes = changes.as_object().cloned().unwrap_or_default();
                    people
                        .update(&format!("u{i:07}"), changes)
                        .await
                        .expect("update");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bench task");
    }
    start.elapsed()
}

fn listing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let people = rt.block_on(filled_people());
    let mut group = c.benchmark_group("listing_memory_c32");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(u64::from(N)));
    let mut round = 0;
    group.bench_function("update_move", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(update_phase(&people, round));
                round += 1;
            }
            total
        })
    });
    let all = ListRequest::all().concurrency(CONCURRENCY);
    group.bench_function("list", |b| {
        b.to_async(&rt).iter(|| async {
            let records = people.list(&all).await.expect("list");
            assert_eq!(records.len(), N as usize);
        })
    });
    group.bench_function("list_partition", |b| {
        b.to_async(&rt).iter(|| async {
            let mut listed = 0;
            for city in CITIES {
                let request = ListRequest::partition("byCity", json!({"address.city": city}))
                    .concurrency(CONCURRENCY);
                listed += people.list(&request).await.expect("list partition").len();
            }
            assert_eq!(listed, N as usize);
        })
    });
    group.finish();
}

criterion_group!(benches, listing);
criterion_main!(benches);
