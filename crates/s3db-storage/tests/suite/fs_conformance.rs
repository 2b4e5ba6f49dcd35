//! The shared conformance suite against the filesystem backend, plain, behind a prefix,
//! without fsync, and shared by concurrent runs.

use std::sync::Arc;

use s3db_storage::{FsOptions, FsStorage, Prefixed, Storage, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(&FsStorage::open(dir.path()).unwrap())
        .await
        .unwrap();
    // Checks clean up, and deletes prune the directories they leave empty.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn fs_without_fsync_or_metadata_limit_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let options = FsOptions {
        max_metadata_bytes: None,
        durable: false,
    };
    let store = FsStorage::with_options(dir.path(), options).unwrap();
    conformance::run_all(&store).await.unwrap();
}

/// Without fsync: the same semantics, much faster (fsync dominates the durable runs).
fn fast(dir: &std::path::Path) -> FsStorage {
    let options = FsOptions {
        durable: false,
        ..FsOptions::default()
    };
    FsStorage::with_options(dir, options).unwrap()
}

#[tokio::test]
async fn prefixed_fs_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = Prefixed::new(fast(dir.path()), "tenant/db");
    conformance::run_all(&store).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_can_share_a_directory_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = Arc::new(fast(dir.path()));
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
