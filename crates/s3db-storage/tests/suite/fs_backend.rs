//! Filesystem-backend specifics: layout, key safety, sub-roots, cross-process locking
//! and crash safety (a writer killed mid-write).

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use s3db_storage::etag::etag_of;
use s3db_storage::{
    ErrorKind, FsOptions, FsStorage, ListOptions, Metadata, PutMode, PutPayload, Storage,
};

fn payload(body: &str) -> PutPayload {
    PutPayload {
        body: body.to_owned().into(),
        ..Default::default()
    }
}

async fn keys(store: &dyn Storage, prefix: &str, start_after: Option<&str>) -> Vec<String> {
    store
        .list(ListOptions {
            prefix: prefix.into(),
            start_after: start_after.map(Into::into),
            page_size: None,
        })
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap()
}

/// Every file and directory under `dir`, relative, as strings.
fn tree(dir: &std::path::Path) -> BTreeSet<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[tokio::test]
async fn keys_and_directories_of_the_same_name_coexist() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    for key in ["a", "a/b", "a/b/c", "a/", "a//x", "a.meta.json", "a#obj"] {
        store.put(key, payload(key), PutMode::Create).await.unwrap();
    }
    for key in ["a", "a/b", "a/b/c", "a/", "a//x", "a.meta.json", "a#obj"] {
        assert_eq!(store.get(key).await.unwrap().body, key.as_bytes());
    }
    let mut expected = vec!["a", "a/b", "a/b/c", "a/", "a//x", "a.meta.json", "a#obj"];
    expected.sort();
    assert_eq!(keys(&store, "", None).await, expected);
    // No lock or temporary files are left behind.
    assert!(
        tree(dir.path())
            .iter()
            .all(|p| !p.contains("#lock") && !p.contains("#tmp"))
    );
}

#[tokio::test]
async fn hostile_keys_stay_inside_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    let store = FsStorage::open(&root).unwrap();
    let hostile = [
        "..",
        "../escape",
        "a/../../escape",
        ".",
        "./x",
        "/etc/passwd",
        "..\\..\\escape",
        "a\\b",
        "%2E%2E",
        "~",
        "a/./b",
    ];
    for key in hostile {
        store
            .put(key, payload(key), PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(store.get(key).await.unwrap().body, key.as_bytes(), "{key}");
    }
    // Nothing was written outside the root.
    assert_eq!(
        tree(outer.path())
            .iter()
            .filter(|p| !p.starts_with("root"))
            .count(),
        0
    );
    let mut expected: Vec<_> = hostile.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&store, "", None).await, expected);

    for key in [
        String::new(),
        "nul\0byte".into(),
        "k".repeat(1025),
        "s".repeat(256),
    ] {
        let err = store
            .put(&key, payload("x"), PutMode::Overwrite)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{key:?}");
        assert_eq!(
            store.get(&key).await.unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
    }
}

#[tokio::test]
async fn a_subdirectory_opens_as_the_prefixed_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    for key in [
        "tenants/acme/users/1",
        "tenants/acme/users/2",
        "tenants/acmex/1",
        "tenants/acme",
    ] {
        store.put(key, payload(key), PutMode::Create).await.unwrap();
    }
    let acme = FsStorage::open(dir.path().join("tenants/acme")).unwrap();
    assert_eq!(keys(&acme, "", None).await, ["users/1", "users/2"]);
    acme.put("users/3", payload("3"), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(
        store.get("tenants/acme/users/3").await.unwrap().body,
        "3".as_bytes()
    );
}

#[tokio::test]
async fn listing_is_in_byte_order_with_prefix_and_start_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    let all = [
        "a", "a!", "a-", "a/", "a/0", "a/b", "a0", "a/b/", "a/b/c", "b", "é", "z/z", "A", "a b",
    ];
    for key in all {
        store
            .put(key, payload(key), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let mut sorted: Vec<String> = all.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    assert_eq!(keys(&store, "", None).await, sorted);
    for prefix in ["", "a", "a/", "a/b", "a/b/", "z", "q", "a/b/c/d"] {
        for after in [
            None,
            Some("a"),
            Some("a/"),
            Some("a/b"),
            Some("a0"),
            Some("zz"),
        ] {
            let want: Vec<String> = sorted
                .iter()
                .filter(|k| k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a))
                .cloned()
                .collect();
            assert_eq!(
                keys(&store, prefix, after).await,
                want,
                "{prefix:?} {after:?}"
            );
        }
    }
}

#[tokio::test]
async fn deletes_prune_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    store
        .put("x/y/z", payload("1"), PutMode::Create)
        .await
        .unwrap();
    store
        .put("x/w", payload("1"), PutMode::Create)
        .await
        .unwrap();
    store.delete("x/y/z").await.unwrap();
    assert_eq!(tree(dir.path()), ["x", "x/w#obj"].map(String::from).into());
    store
        .delete_many(&["x/w".into(), "never/was".into()])
        .await
        .unwrap();
    assert!(tree(dir.path()).is_empty());
    assert!(dir.path().is_dir());
}

#[tokio::test]
async fn metadata_limit_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let mut metadata = Metadata::new();
    metadata.insert("Big".into(), "v".repeat(3000));
    let big = PutPayload {
        metadata: metadata.into(),
        ..Default::default()
    };
    let strict = FsStorage::open(dir.path()).unwrap();
    let err = strict
        .put("k", big.clone(), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);
    let loose = FsStorage::with_options(
        dir.path(),
        FsOptions {
            max_metadata_bytes: None,
            durable: false,
        },
    )
    .unwrap();
    loose.put("k", big, PutMode::Overwrite).await.unwrap();
    let head = strict.head("k").await.unwrap();
    assert_eq!(head.metadata["big"].len(), 3000);
}

#[tokio::test]
async fn corrupt_files_are_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    store
        .put("k", payload("hello"), PutMode::Create)
        .await
        .unwrap();
    let file = dir.path().join("k#obj");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(store.get("k").await.unwrap_err().kind(), ErrorKind::Corrupt);
    assert_eq!(
        store.head("k").await.unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    let listed: Result<Vec<_>, _> = store.list(ListOptions::default()).try_collect().await;
    assert_eq!(listed.unwrap_err().kind(), ErrorKind::Corrupt);
}

const CHILD_ENV: &str = "S3DB_FS_TEST_CHILD_ROOT";
const CHILD_MODE_ENV: &str = "S3DB_FS_TEST_CHILD_MODE";
const BIG: usize = 4 << 20;

/// Runs this test binary again as a child executing `child_process_entry` with `mode`.
fn spawn_child(root: &std::path::Path, mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fs_backend::child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, root)
        .env(CHILD_MODE_ENV, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Entry point of the child processes spawned by the tests below; without the
/// environment variables (a normal test run) there is nothing to do.
#[tokio::test]
async fn child_process_entry() {
    let Ok(root) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = FsStorage::open(root).unwrap();
    match std::env::var(CHILD_MODE_ENV).unwrap().as_str() {
        // Overwrite big objects forever, each body one repeated byte.
        "writer" => {
            for round in 0u64.. {
                let key = format!("big/{}", round % 3);
                let body = vec![(round % 251) as u8; BIG];
                let p = PutPayload {
                    body: body.into(),
                    ..Default::default()
                };
                store.put(&key, p, PutMode::Overwrite).await.unwrap();
            }
        }
        // Increment a counter 200 times by compare-and-swap.
        "counter" => {
            let mut done = 0;
            while done < 200 {
                let current = store.get("counter").await.unwrap();
                let n: u64 = std::str::from_utf8(&current.body).unwrap().parse().unwrap();
                let next = payload(&(n + 1).to_string());
                match store
                    .put("counter", next, PutMode::IfMatch(current.meta.etag))
                    .await
                {
                    Ok(_) => done += 1,
                    Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[tokio::test]
async fn a_killed_writer_never_leaves_a_torn_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStorage::open(dir.path()).unwrap();
    let temp_files = |dir: &std::path::Path| {
        std::fs::read_dir(dir.join("big"))
            .map(|entries| {
                entries
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        name.to_string_lossy().contains("#tmp-")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let mut killed_mid_write = 0;
    for round in 0..4 {
        let mut child = spawn_child(dir.path(), "writer");
        let started = Instant::now();
        // Wait until the writer has a temporary file open (it is mid-write), then kill it.
        let seen = loop {
            if temp_files(dir.path()) > 0 && (round > 0 || store.head("big/0").await.is_ok()) {
                break true;
            }
            if started.elapsed() > Duration::from_secs(60) {
                break false;
            }
            std::thread::yield_now();
        };
        assert!(seen, "the writer never started");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if temp_files(dir.path()) > 0 {
            killed_mid_write += 1;
        }

        let listed: Vec<_> = store
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert!(!listed.is_empty());
        for meta in listed {
            let object = store.get(&meta.key).await.unwrap();
            assert_eq!(object.body.len(), BIG, "{}", meta.key);
            let first = object.body[0];
            assert!(object.body.iter().all(|&b| b == first), "mixed body");
            assert_eq!(object.meta.etag, etag_of(&object.body));
            assert_eq!(meta.etag, object.meta.etag);
        }
        // Whatever the dead writer held does not block new writers.
        let after = PutPayload {
            body: vec![255u8; BIG].into(),
            ..Default::default()
        };
        store.put("big/0", after, PutMode::Overwrite).await.unwrap();
    }
    // The kills really interrupted writes (their temporary files were left behind).
    assert!(killed_mid_write > 0);
}

#[tokio::test]
async fn compare_and_swap_is_atomic_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStorage::open(dir.path()).unwrap());
    store
        .put("counter", payload("0"), PutMode::Create)
        .await
        .unwrap();
    let children: Vec<_> = (0..2).map(|_| spawn_child(dir.path(), "counter")).collect();
    // This process competes too.
    let mut done = 0;
    while done < 200 {
        let current = store.get("counter").await.unwrap();
        let n: u64 = std::str::from_utf8(&current.body).unwrap().parse().unwrap();
        match store
            .put(
                "counter",
                payload(&(n + 1).to_string()),
                PutMode::IfMatch(current.meta.etag),
            )
            .await
        {
            Ok(_) => done += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::PreconditionFailed),
        }
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(store.get("counter").await.unwrap().body, "600".as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn puts_survive_deletes_pruning_their_directories() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        FsStorage::with_options(
            dir.path(),
            FsOptions {
                durable: false,
                ..FsOptions::default()
            },
        )
        .unwrap(),
    );
    // Each task repeatedly creates and deletes the only key of a deep directory, so
    // directories are pruned and recreated under the other tasks' feet.
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    let key = format!("deep/er/dir/{}", (t + i) % 3);
                    store
                        .put(&key, payload("x"), PutMode::Overwrite)
                        .await
                        .unwrap();
                    store.delete(&key).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(keys(store.as_ref(), "", None).await.is_empty());
    assert!(
        tree(dir.path()).iter().all(|p| !p.contains('#')),
        "{:?}",
        tree(dir.path())
    );
}
