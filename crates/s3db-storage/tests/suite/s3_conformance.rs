//! The S3 backend against real S3 servers: the shared conformance suite on moto and on
//! SeaweedFS, plus S3-specific checks on moto. The servers come from
//! `S3DB_TEST_S3_ENDPOINT` / `S3DB_TEST_SEAWEEDFS_ENDPOINT` or are started by
//! `s3db_storage::testing`; every test uses its own fresh bucket.

use std::sync::Arc;

use futures::TryStreamExt;
use s3db_storage::layers::{RetryConfig, Stack};
use s3db_storage::testing::{Server, fresh_s3_storage, fresh_storage_on, s3_config};
use s3db_storage::{
    CopyOptions, ErrorKind, ListOptions, Metadata, Prefixed, PutMode, PutPayload, S3Config,
    S3Storage, Storage, conformance,
};

fn payload(body: &str, metadata: &[(&str, &str)]) -> PutPayload {
    PutPayload {
        metadata: metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_owned().into(),
        content_type: None,
    }
}

/// A fresh bucket behind the default stack's retry layer, as in production: moto answers a
/// GET that races an overwrite of the same key with a 500 now and then (a moto bug), which
/// the backend correctly reports as retryable `Unavailable`.
async fn retried(server: Server) -> Arc<dyn Storage> {
    let backend = Arc::new(fresh_storage_on(server).await.unwrap());
    Stack::builder(backend)
        .retry(RetryConfig::default())
        .build()
        .storage()
}

/// One test per conformance check and server, each on its own bucket behind the retry
/// layer, plain and under a prefix.
///
/// `conformance::metadata_round_trip` is not run on moto: moto's HTTP server (werkzeug)
/// drops request headers whose names contain `_`, so metadata keys such as `_v` never
/// reach it. `tests/s3_wire.rs` checks those keys on the wire instead; SeaweedFS runs it.
macro_rules! conformance_tests {
    ($server:ident: $($check:ident),* $(,)?) => {
        mod plain {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let store = retried(Server::$server).await;
                    conformance::$check(store.as_ref()).await.unwrap();
                }
            )*
        }
        mod prefixed {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let store = Prefixed::new(retried(Server::$server).await, "tenants/acme");
                    conformance::$check(&store).await.unwrap();
                }
            )*
        }
    };
}

mod moto {
    use super::*;
    conformance_tests!(
        Moto: nested_keys,
        empty_and_large_bodies,
        conditional_put_semantics,
        conditional_create_race,
        cas_increments,
        copy_semantics,
        list_semantics,
        delete_semantics,
        not_found,
        head_matches_get,
        packed_get_matches_get,
    );
}

mod seaweedfs {
    use super::*;
    conformance_tests!(
        SeaweedFs: nested_keys,
        metadata_round_trip,
        empty_and_large_bodies,
        conditional_put_semantics,
        conditional_create_race,
        cas_increments,
        copy_semantics,
        list_semantics,
        delete_semantics,
        not_found,
        head_matches_get,
        packed_get_matches_get,
    );
}

#[tokio::test]
async fn metadata_round_trips_with_keys_lower_cased() {
    let store = fresh_s3_storage().await.unwrap();
    // No `_` in keys: moto cannot receive those (see above).
    let meta = [
        ("v", "v1"),
        ("CamelCase", "Value With Spaces"),
        ("x-y", "1"),
    ];
    let mut p = payload("body", &meta);
    p.content_type = Some("application/json".into());
    let etag = store.put("doc", p, PutMode::Overwrite).await.unwrap();
    let want: Metadata = [
        ("v", "v1"),
        ("camelcase", "Value With Spaces"),
        ("x-y", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let got = store.get("doc").await.unwrap();
    assert_eq!(got.metadata, want);
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(got.meta.etag, etag);
    assert_eq!(got.meta.size, 4);
    let head = store.head("doc").await.unwrap();
    assert_eq!(head.metadata, want);
    assert_eq!(head.meta.etag, etag);
}

#[tokio::test]
async fn oversized_metadata_is_refused_before_sending() {
    let store = fresh_s3_storage().await.unwrap();
    // 2048 bytes exactly is allowed...
    let fits = "v".repeat(2048 - 1);
    store
        .put("ok", payload("", &[("k", &fits)]), PutMode::Overwrite)
        .await
        .unwrap();
    // ...one more byte is not, although moto itself would accept it.
    let big = "v".repeat(2048);
    let err = store
        .put("big", payload("", &[("k", &big)]), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);
    assert_eq!(
        store.head("big").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let replace = CopyOptions {
        replace: Some(([("k".to_string(), big.clone())].into(), None)),
        source_if_match: None,
    };
    let err = store.copy("ok", "copy", replace).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);

    // The check can be turned off, and then the server decides (moto accepts).
    let config = S3Config {
        max_metadata_bytes: None,
        ..s3_config(store.bucket()).unwrap()
    };
    let unchecked = S3Storage::connect(&config).await.unwrap();
    unchecked
        .put("big", payload("", &[("k", &big)]), PutMode::Overwrite)
        .await
        .unwrap();
}

#[tokio::test]
async fn awkward_keys_survive_put_copy_list_and_delete() {
    let store = fresh_s3_storage().await.unwrap();
    let keys = [
        "a b",
        "plus+sign",
        "percent%20",
        "é/ü/😀",
        "q?x=1&y",
        "hash#frag",
        "a//b",
    ];
    for key in keys {
        store
            .put(key, payload(key, &[]), PutMode::Create)
            .await
            .unwrap();
        let copy = format!("copy/{key}");
        store
            .copy(key, &copy, CopyOptions::default())
            .await
            .unwrap();
        assert_eq!(store.get(&copy).await.unwrap().body, key.as_bytes());
    }
    let listed: Vec<String> = store
        .list(ListOptions::default())
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    let mut want: Vec<String> = keys
        .iter()
        .flat_map(|k| [k.to_string(), format!("copy/{k}")])
        .collect();
    want.sort();
    assert_eq!(listed, want);
    store.delete_many(&listed).await.unwrap();
    assert_eq!(
        store
            .list(ListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .unwrap(),
        []
    );
}

#[tokio::test]
async fn failures_map_to_error_kinds() {
    let store = fresh_s3_storage().await.unwrap();
    assert_eq!(
        store.get("missing").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.head("missing").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = store
        .copy("missing", "x", CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // A bucket that does not exist is a configuration problem, not a missing key.
    let nowhere = S3Storage::connect(&s3_config("s3db-no-such-bucket").unwrap())
        .await
        .unwrap();
    let err = nowhere.get("k").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // Nothing listens on this port: retryable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = S3Config {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..s3_config("bucket").unwrap()
    };
    let down = S3Storage::connect(&config).await.unwrap();
    let err = down
        .put("k", payload("x", &[]), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    let listed: Result<Vec<_>, _> = down.list(ListOptions::default()).try_collect().await;
    assert_eq!(listed.unwrap_err().kind(), ErrorKind::Unavailable);

    // Through a connection string, the default stack retries as its parameters say, then
    // gives up with a final error that still says what failed.
    let conn = format!("http://k:s@127.0.0.1:{port}/bucket?retries=2");
    let stack = s3db_storage::connection::open(&conn).await.unwrap();
    assert!(!stack.capabilities().transient_failures);
    let err = stack
        .put("k", payload("x", &[]), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.gave_up().map(|g| g.attempts), Some(3), "{err}");
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
    let off = s3db_storage::connection::open(&format!("{conn}&retries=0")).await;
    // (`retries` given twice: the last one counts.)
    let err = off.unwrap().get("k").await.unwrap_err();
    assert!(err.is_retryable() && err.gave_up().is_none(), "{err}");
}

#[tokio::test]
async fn listing_paginates_with_start_after() {
    let store = fresh_s3_storage().await.unwrap();
    let keys: Vec<String> = (0..25).map(|i| format!("p/{i:03}")).collect();
    for key in &keys {
        store
            .put(key, payload("x", &[]), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let listed: Vec<String> = store
        .list(ListOptions {
            prefix: "p/".into(),
            start_after: Some("p/004".into()),
            page_size: Some(7),
        })
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, keys[5..]);
}

#[test]
fn debug_output_hides_the_secret() {
    let config = s3_config("b").unwrap();
    let shown = format!("{config:?}");
    assert!(shown.contains("***"));
    assert!(!shown.contains("s3dbtestsecret"));
}

#[tokio::test]
async fn connection_strings_open_the_bucket_under_a_prefix() {
    use s3db_storage::StorageExt;
    let bucket = fresh_s3_storage().await.unwrap();
    let config = s3_config(bucket.bucket()).unwrap();
    let creds = config.credentials.unwrap();
    let endpoint = config.endpoint.unwrap();
    let (scheme, host) = endpoint.split_once("://").unwrap();
    let conn = format!(
        "{scheme}://{}:{}@{host}/{}/tenants/acme",
        creds.access_key_id,
        creds.secret_access_key.expose(),
        bucket.bucket()
    );
    let acme = s3db_storage::connection::open(&conn).await.unwrap();
    acme.put_bytes("users/1", "x").await.unwrap();
    assert_eq!(
        bucket.list_keys("").await.unwrap(),
        ["tenants/acme/users/1"]
    );
    assert_eq!(acme.list_keys("").await.unwrap(), ["users/1"]);
}
