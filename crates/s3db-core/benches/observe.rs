//! What the operation spans cost (docs/observability.md, "Overhead"): an empty operation
//! run bare and through `observe`, a memory `get` and a storage request with and without the
//! trace layer, each with no `tracing` subscriber, with one filtering at `info` (the spans
//! disabled), and with one at `debug` formatting every line into a sink.
//!
//! `cargo bench -p s3db-core --no-default-features --bench observe`
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use s3db_core::observe::observe;
use s3db_core::{Database, Record, ResourceConfig};
use s3db_storage::layers::Trace;
use s3db_storage::{MemoryStorage, Storage, StorageExt};
use serde_json::json;
use tokio::runtime::Runtime;

/// Which subscriber a measurement runs under.
#[derive(Clone, Copy)]
enum Mode {
    None,
    Info,
    Debug,
}

impl Mode {
    const ALL: [(Mode, &'static str); 3] = [
        (Mode::None, "no subscriber"),
        (Mode::Info, "info subscriber"),
        (Mode::Debug, "debug subscriber"),
    ];

    /// Runs `f` with this mode's subscriber as the thread's default.
    fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let filter = match self {
            Mode::None => return f(),
            Mode::Info => "info",
            Mode::Debug => "info,s3db_core::operation=debug",
        };
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }
}

/// `iters` runs of `op`, timed on a single-threaded runtime.
fn timed<F, Fut>(rt: &Runtime, iters: u64, op: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(op().await);
        }
        start.elapsed()
    })
}

fn spans(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("empty operation");
    group.bench_function("bare", |b| {
        b.iter_custom(|iters| timed(&rt, iters, || async { Ok::<_, s3db_core::Error>(()) }))
    });
    for (mode, label) in Mode::ALL {
        group.bench_function(format!("observe, {label}"), |b| {
            b.iter_custom(|iters| {
                mode.run(|| {
                    timed(&rt, iters, || {
                        observe(Some("notes"), "get", Some("n1"), async {
                            Ok::<_, s3db_core::Error>(())
                        })
                    })
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("storage get");
    let memory = MemoryStorage::new();
    let traced = Trace::new(MemoryStorage::new());
    rt.block_on(async {
        memory.put_bytes("k", "hello").await.expect("put");
        traced.put_bytes("k", "hello").await.expect("put");
    });
    group.bench_function("memory", |b| {
        b.iter_custom(|iters| timed(&rt, iters, || memory.get("k")))
    });
    for (mode, label) in Mode::ALL {
        group.bench_function(format!("traced memory, {label}"), |b| {
            b.iter_custom(|iters| mode.run(|| timed(&rt, iters, || traced.get("k"))))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("resource get");
    let notes = rt.block_on(async {
        let db = Database::builder(Arc::new(MemoryStorage::new()))
            .open()
            .await
            .expect("open");
        let notes = db
            .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
            .await
            .expect("create");
        let note: Record = json!({"id": "n1", "text": "hello"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        notes.insert(note).await.expect("insert");
        notes
    });
    for (mode, label) in Mode::ALL {
        group.bench_function(label, |b| {
            b.iter_custom(|iters| mode.run(|| timed(&rt, iters, || notes.get("n1"))))
        });
    }
    group.finish();
}

criterion_group!(benches, spans);
criterion_main!(benches);
