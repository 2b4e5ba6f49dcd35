//! Memory backend: put, get, head, and a 100k-key prefix listing in a 200k-key bucket.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use s3db_storage::{ListOptions, MemoryStorage, PutMode, PutPayload, Storage};
use tokio::runtime::Runtime;

/// A payload shaped like an s3db record: a few metadata entries, no body.
fn record(i: u64) -> PutPayload {
    PutPayload {
        metadata: [
            ("_v".to_string(), "v1".to_string()),
            ("0".to_string(), format!("user {i}")),
            ("1".to_string(), format!("{i:x}")),
        ]
        .into(),
        ..PutPayload::default()
    }
}

/// A bucket with `n` records under each of the prefixes `a/` and `b/`.
fn filled(rt: &Runtime, n: u64) -> MemoryStorage {
    let store = MemoryStorage::new();
    rt.block_on(async {
        for prefix in ["a", "b"] {
            for i in 0..n {
                let key = format!("{prefix}/id={i:08}");
                let _ = store.put(&key, record(i), PutMode::Overwrite).await;
            }
        }
    });
    store
}

fn single_ops(c: &mut Criterion) {
    let Ok(rt) = Runtime::new() else { return };
    let store = filled(&rt, 100_000);
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Elements(1));
    group.bench_function("put", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let store = &store;
            async move {
                let key = format!("c/id={i:08}");
                black_box(store.put(&key, record(i), PutMode::Overwrite).await)
            }
        })
    });
    group.bench_function("get", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) % 100_000;
            let store = &store;
            async move { black_box(store.get(&format!("a/id={i:08}")).await) }
        })
    });
    group.bench_function("head", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) % 100_000;
            let store = &store;
            async move { black_box(store.head(&format!("a/id={i:08}")).await) }
        })
    });
    group.finish();
}

fn listing(c: &mut Criterion) {
    let Ok(rt) = Runtime::new() else { return };
    let store = filled(&rt, 100_000);
    let mut group = c.benchmark_group("memory_list");
    group.sample_size(20);
    group.throughput(Throughput::Elements(100_000));
    for page_size in [1000usize, 100] {
        group.bench_with_input(
            BenchmarkId::new("prefix_100k_of_200k", page_size),
            &page_size,
            |b, &page_size| {
                b.to_async(&rt).iter(|| async {
                    let options = ListOptions {
                        prefix: "b/".to_string(),
                        start_after: None,
                        page_size: Some(page_size),
                    };
                    let count = store.list(options).count().await;
                    black_box(count)
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, single_ops, listing);
criterion_main!(benches);
