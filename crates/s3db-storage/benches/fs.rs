//! Filesystem backend (temp dir): put (with and without fsync, conditional create), get,
//! head, and a 5k-key prefix listing in a 10k-key store.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use s3db_storage::{FsOptions, FsStorage, ListOptions, PutMode, PutPayload, Storage};
use tokio::runtime::Runtime;

const N: u64 = 5_000;

/// A payload shaped like an s3db record: a few metadata entries and a small body.
fn record(i: u64) -> PutPayload {
    PutPayload {
        metadata: [
            ("_v".to_string(), "v1".to_string()),
            ("0".to_string(), format!("user {i}")),
            ("1".to_string(), format!("{i:x}")),
        ]
        .into(),
        body: format!("{{\"bio\":\"{}\"}}", "x".repeat(200)).into(),
        content_type: Some("application/json".into()),
    }
}

fn open(dir: &std::path::Path, durable: bool) -> Option<FsStorage> {
    let options = FsOptions {
        durable,
        ..FsOptions::default()
    };
    FsStorage::with_options(dir, options).ok()
}

/// Writes `N` records under each of the prefixes `a/` and `b/` of `dir`.
fn fill(rt: &Runtime, dir: &std::path::Path) -> Option<()> {
    let store = open(dir, false)?;
    rt.block_on(async {
        for prefix in ["a", "b"] {
            for i in 0..N {
                let key = format!("{prefix}/id={i:08}");
                store.put(&key, record(i), PutMode::Overwrite).await.ok()?;
            }
        }
        Some(())
    })
}

fn single_ops(c: &mut Criterion) {
    let (Ok(rt), Ok(dir)) = (Runtime::new(), tempfile::tempdir()) else {
        return;
    };
    let (Some(()), Some(durable), Some(no_sync)) = (
        fill(&rt, dir.path()),
        open(dir.path(), true),
        open(dir.path(), false),
    ) else {
        return;
    };
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("fs");
    group.throughput(Throughput::Elements(1));
    for (name, store, mode) in [
        ("put_fsync", &durable, PutMode::Overwrite),
        ("put_no_fsync", &no_sync, PutMode::Overwrite),
        ("put_create_no_fsync", &no_sync, PutMode::Create),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let mode = mode.clone();
                async move {
                    let key = format!("c/id={i:08}");
                    black_box(store.put(&key, record(i), mode).await)
                }
            })
        });
    }
    group.bench_function("get", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) % N;
            let store = &durable;
            async move { black_box(store.get(&format!("a/id={i:08}")).await) }
        })
    });
    group.bench_function("head", |b| {
        b.to_async(&rt).iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) % N;
            let store = &durable;
            async move { black_box(store.head(&format!("a/id={i:08}")).await) }
        })
    });
    group.finish();
}

fn listing(c: &mut Criterion) {
    let (Ok(rt), Ok(dir)) = (Runtime::new(), tempfile::tempdir()) else {
        return;
    };
    let (Some(()), Some(store)) = (fill(&rt, dir.path()), open(dir.path(), false)) else {
        return;
    };
    let mut group = c.benchmark_group("fs_list");
    group.sample_size(20);
    group.throughput(Throughput::Elements(N));
    group.bench_function("prefix_5k_of_10k", |b| {
        b.to_async(&rt).iter(|| async {
            let options = ListOptions {
                prefix: "b/".to_string(),
                start_after: None,
                page_size: None,
            };
            black_box(store.list(options).count().await)
        })
    });
    group.finish();
}

criterion_group!(benches, single_ops, listing);
criterion_main!(benches);
