//! The shared conformance suite against the memory backend, plain and behind a prefix.

use std::sync::Arc;

use s3db_storage::{MemoryStorage, Prefixed, Storage, conformance};

#[tokio::test]
async fn memory_passes_conformance() {
    conformance::run_all(&MemoryStorage::new()).await.unwrap();
}

#[tokio::test]
async fn memory_without_metadata_limit_passes_conformance() {
    let store = MemoryStorage::new().with_metadata_limit(None);
    conformance::run_all(&store).await.unwrap();
}

#[tokio::test]
async fn prefixed_memory_passes_conformance() {
    let bucket = MemoryStorage::new();
    let store = Prefixed::new(bucket.clone(), "tenant/db");
    conformance::run_all(&store).await.unwrap();
    assert_eq!(
        bucket.stats().objects,
        0,
        "checks clean up after themselves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_can_share_a_bucket_concurrently() {
    let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { conformance::run_all(store.as_ref()).await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
}
