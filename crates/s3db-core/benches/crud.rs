//! CRUD throughput of the core on the memory backend: the standard workload's `people`
//! resource (bench/workload.md), 10 000 records, 32 operations in flight.
//!
//! Each criterion iteration runs one whole phase (N operations) and reports its time, so the
//! throughput printed (elements/s) is operations per second.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3db_core::workload::{people_config, person};
use s3db_core::{Database, Record, Resource};
use s3db_storage::MemoryStorage;
use serde_json::json;
use tokio::runtime::Runtime;

const N: u32 = 10_000;
const CONCURRENCY: usize = 32;

fn id(i: u32) -> String {
    format!("u{i:07}")
}

/// Runs `op(i)` for every i in 0..N with CONCURRENCY tasks; returns the elapsed time.
async fn phase<F, Fut>(people: &Resource, op: F) -> Duration
where
    F: Fn(Resource, u32) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicU32::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (next, people, op) = (next.clone(), people.clone(), op.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= N {
                        break;
                    }
                    op(people.clone(), i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bench task");
    }
    start.elapsed()
}

async fn fresh_people() -> Resource {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .expect("open");
    db.create_resource(people_config())
        .await
        .expect("create people")
}

async fn filled_people() -> Resource {
    let people = fresh_people().await;
    phase(&people, insert).await;
    people
}

async fn insert(people: Resource, i: u32) {
    people.insert(person(i, "u")).await.expect("insert");
}

async fn get(people: Resource, i: u32) {
    let record = people.get(&id(i)).await.expect("get");
    assert_eq!(record["email"], json!(format!("person{i}@example.com")));
}

async fn update(people: Resource, i: u32) {
    people
        .update_with(&id(i), |current| {
            let mut next: Record = current.clone();
            let age = current["age"].as_f64().unwrap_or(0.0);
            next.insert("age".into(), json!(age + 1.0));
            Ok(next)
        })
        .await
        .expect("update");
}

async fn delete(people: Resource, i: u32) {
    people.delete(&id(i)).await.expect("delete");
}

fn crud(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("crud_memory_c32");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(u64::from(N)));
    group.bench_function("insert", |b| {
        b.iter_custom(|iters| timed(&rt, iters, fresh_people, insert))
    });
    group.bench_function("get", |b| {
        b.iter_custom(|iters| timed(&rt, iters, filled_people, get))
    });
    group.bench_function("update", |b| {
        b.iter_custom(|iters| timed(&rt, iters, filled_people, update))
    });
    group.bench_function("delete", |b| {
        b.iter_custom(|iters| timed(&rt, iters, filled_people, delete))
    });
    group.finish();
}

/// `iters` phases, each on a freshly prepared resource (preparation not timed).
fn timed<S, SF, F, Fut>(rt: &Runtime, iters: u64, setup: S, op: F) -> Duration
where
    S: Fn() -> SF,
    SF: std::future::Future<Output = Resource>,
    F: Fn(Resource, u32) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let people = rt.block_on(setup());
        total += rt.block_on(phase(&people, op.clone()));
    }
    total
}

criterion_group!(benches, crud);
criterion_main!(benches);
