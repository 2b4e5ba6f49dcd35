//! Cache on vs off: 10 000 `get`s over 1 000 hot records of the standard workload's `people`
//! resource on the FILE backend (a temporary directory), one at a time.
//!
//! Each criterion iteration runs all 10 000 gets, so the throughput printed (elements/s) is
//! gets per second. "off" reads every record from its file; "memory" and "fs" are the cache
//! plugin with the memory driver and with the filesystem driver, warmed before measuring.
#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3db_core::workload::{people_config, person};
use s3db_core::{Database, Resource};
use s3db_plugins::cache::{CacheConfig, CachePlugin};
use tokio::runtime::Runtime;

const HOT: u32 = 1_000;
const GETS: u32 = 10_000;

fn id(i: u32) -> String {
    format!("u{i:07}")
}

/// A file database under `dir` holding the hot records, with `cache` installed if given.
async fn people(dir: &std::path::Path, cache: Option<CacheConfig>) -> Resource {
    let db = Database::connect(&format!("file://{}", dir.display()))
        .await
        .unwrap();
    if let Some(config) = cache {
        db.use_plugin(Arc::new(CachePlugin::new(config)))
            .await
            .unwrap();
    }
    let people = db.create_resource(people_config()).await.unwrap();
    for i in 0..HOT {
        people.insert(person(i, "u")).await.unwrap();
    }
    people
}

async fn gets(people: &Resource) {
    for i in 0..GETS {
        let record = people.get(&id(i % HOT)).await.unwrap();
        std::hint::black_box(record);
    }
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut group = c.benchmark_group("cache_file_backend_10k_gets_1k_hot");
    group.throughput(Throughput::Elements(u64::from(GETS)));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let entries = tempfile::tempdir().unwrap();
    let setups: [(&str, Option<CacheConfig>); 3] = [
        ("off", None),
        ("memory", Some(CacheConfig::memory(u64::from(HOT) * 2))),
        ("fs", Some(CacheConfig::filesystem(entries.path()))),
    ];
    for (name, cache) in setups {
        let data = tempfile::tempdir().unwrap();
        let people = rt.block_on(async {
            let people = people(data.path(), cache).await;
            gets(&people).await; // warm the cache (and the OS page cache)
            people
        });
        group.bench_function(name, |b| b.to_async(&rt).iter(|| gets(&people)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
