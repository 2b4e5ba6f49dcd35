//! Memory-backend specifics: sharing by bucket name, snapshots, save/load in the s3db.js
//! fixture format, stats, and truly parallel conditional writes.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use s3db_storage::{
    ErrorKind, MemoryStorage, Metadata, Operation, PutMode, PutPayload, Storage, StorageExt,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/s3dbjs-21.6.2")
        .join(name)
}

#[tokio::test]
async fn shared_buckets_are_shared_by_name_only() {
    let a = MemoryStorage::shared("memory-backend-test-shared");
    let b = MemoryStorage::shared("memory-backend-test-shared");
    let other = MemoryStorage::shared("memory-backend-test-other");
    a.put_bytes("k", "v").await.unwrap();
    assert_eq!(b.get_bytes("k").await.unwrap(), "v");
    assert!(!other.exists("k").await.unwrap());
    assert!(!MemoryStorage::new().exists("k").await.unwrap());
    assert_eq!(b.bucket_name(), Some("memory-backend-test-shared"));
}

#[tokio::test]
async fn loads_the_s3dbjs_fixture_with_matching_etags() {
    let store = MemoryStorage::new();
    store.load(fixture("objects.jsonl")).unwrap();
    let text = std::fs::read_to_string(fixture("objects.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(store.stats().objects, lines.len());
    for line in &lines {
        let key = line["key"].as_str().unwrap();
        let got = store.get(key).await.unwrap();
        assert_eq!(got.meta.etag, line["etag"].as_str().unwrap(), "{key}");
        assert_eq!(got.meta.size, line["size"].as_u64().unwrap(), "{key}");
        assert_eq!(got.content_type.as_deref(), line["content_type"].as_str());
        let metadata: Metadata = serde_json::from_value(line["metadata"].clone()).unwrap();
        assert_eq!(got.metadata, metadata, "{key}");
    }
    let total: u64 = lines.iter().map(|l| l["size"].as_u64().unwrap()).sum();
    assert_eq!(store.stats().bytes, total);
}

#[tokio::test]
async fn save_then_load_round_trips_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bucket.jsonl");
    let store = MemoryStorage::new();
    store.load(fixture("objects.jsonl")).unwrap();
    store
        .put(
            "binary",
            PutPayload {
                metadata: [("x".to_string(), "1".to_string())].into(),
                body: Bytes::from_static(&[0, 255, 10, 13]),
                content_type: None,
            },
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    store.save(&path).unwrap();

    let loaded = MemoryStorage::new();
    loaded.load(&path).unwrap();
    assert_eq!(loaded.stats(), store.stats());
    let original = store.list_all("").await.unwrap();
    assert_eq!(loaded.list_all("").await.unwrap(), original);
    for meta in &original {
        assert_eq!(
            loaded.get(&meta.key).await.unwrap(),
            store.get(&meta.key).await.unwrap()
        );
    }
}

#[test]
fn corrupt_lines_are_named_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"key\":\"a\",\"metadata\":{},\"body_base64\":\"\"}\n\n{\"key\":\"b\",\"body_base64\":\"!!\"}\n",
    )
    .unwrap();
    let store = MemoryStorage::new();
    let err = store.load(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.operation(), Operation::Load);
    assert!(err.to_string().contains("line 3"), "{err}");

    std::fs::write(&path, "{\"key\":\"a\"}\nnot json\n").unwrap();
    let err = store.load(&path).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(store.stats().objects, 0);

    let missing = store.load(dir.path().join("missing.jsonl")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn snapshot_restore_and_clear() {
    let store = MemoryStorage::new();
    store.put_bytes("a", "1").await.unwrap();
    store.put_bytes("b", "22").await.unwrap();
    let snapshot = store.snapshot();
    assert_eq!(snapshot.len(), 2);
    store.put_bytes("a", "changed").await.unwrap();
    store.delete("b").await.unwrap();
    store.put_bytes("c", "3").await.unwrap();
    store.restore(&snapshot);
    assert_eq!(store.list_keys("").await.unwrap(), ["a", "b"]);
    assert_eq!(store.get_bytes("a").await.unwrap(), "1");
    assert_eq!(store.stats().bytes, 3);
    store.clear();
    assert_eq!(store.stats().objects, 0);
    assert_eq!(store.stats().bytes, 0);
    assert_eq!(snapshot.len(), 2, "a snapshot is independent of the bucket");
}

#[tokio::test]
async fn stats_track_overwrites_and_deletes() {
    let store = MemoryStorage::new();
    store.put_bytes("a", "12345").await.unwrap();
    store.put_bytes("a", "12").await.unwrap();
    store.put_bytes("b", "123").await.unwrap();
    assert_eq!(store.stats().objects, 2);
    assert_eq!(store.stats().bytes, 5);
    store
        .delete_many(&["a".into(), "zzz".into()])
        .await
        .unwrap();
    assert_eq!(store.stats().bytes, 3);
}

#[tokio::test]
async fn metadata_limit_is_configurable() {
    let big = PutPayload {
        metadata: [("k".to_string(), "v".repeat(3000))].into(),
        ..PutPayload::default()
    };
    let strict = MemoryStorage::new();
    let err = strict
        .put("k", big.clone(), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);
    assert_eq!(strict.capabilities().max_metadata_bytes, Some(2048));
    let relaxed = MemoryStorage::new().with_metadata_limit(None);
    relaxed.put("k", big, PutMode::Overwrite).await.unwrap();
    let small = MemoryStorage::new().with_metadata_limit(Some(4));
    let meta = |v: &str| PutPayload {
        metadata: [("ab".to_string(), v.to_string())].into(),
        ..PutPayload::default()
    };
    small
        .put("fits", meta("cd"), PutMode::Overwrite)
        .await
        .unwrap();
    let err = small
        .put("over", meta("cde"), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);
}

#[tokio::test]
async fn invalid_keys_and_self_copies_are_rejected() {
    let store = MemoryStorage::new();
    let empty = store.put_bytes("", "x").await.unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidKey);
    let long = store.put_bytes(&"k".repeat(1025), "x").await.unwrap_err();
    assert_eq!(long.kind(), ErrorKind::InvalidKey);
    store.put_bytes("a", "x").await.unwrap();
    let self_copy = store.copy("a", "a", Default::default()).await.unwrap_err();
    assert_eq!(self_copy.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn if_match_star_matches_any_existing_object() {
    let store = MemoryStorage::new();
    let missing = store
        .put("a", PutPayload::default(), PutMode::IfMatch("*".into()))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::PreconditionFailed);
    store.put_bytes("a", "1").await.unwrap();
    store
        .put("a", PutPayload::default(), PutMode::IfMatch("*".into()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_have_one_winner() {
    let store = Arc::new(MemoryStorage::new());
    for round in 0..20 {
        let key = format!("lock/{round}");
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    store
                        .put(
                            &key,
                            PutPayload {
                                body: format!("{i}").into(),
                                ..Default::default()
                            },
                            PutMode::Create,
                        )
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists),
            }
        }
        assert_eq!(wins, 1);
    }
}

#[tokio::test]
async fn listing_pages_see_writes_between_pages() {
    let store = MemoryStorage::new();
    for i in 0..10 {
        store.put_bytes(&format!("p/{i}"), "x").await.unwrap();
    }
    let mut stream = store.list(s3db_storage::ListOptions {
        prefix: "p/".into(),
        start_after: Some("a".into()),
        page_size: Some(3),
    });
    use futures::StreamExt;
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.key, "p/0");
    store.put_bytes("p/95", "x").await.unwrap();
    let rest: Vec<String> = stream.map(|m| m.unwrap().key).collect().await;
    assert_eq!(
        rest,
        [
            "p/1", "p/2", "p/3", "p/4", "p/5", "p/6", "p/7", "p/8", "p/9", "p/95"
        ]
    );
}
