//! The checks every [`Storage`] implementation must pass.
//!
//! Each check is a plain async function taking `&dyn Storage`; [`run_all`] runs them in order.
//! Backends in this crate run them in their integration tests, and so should any third-party
//! backend or layer:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use s3db_storage::{MemoryStorage, conformance};
//!
//! conformance::run_all(&MemoryStorage::new()).await?;
//! # Ok::<(), conformance::CheckFailed>(())
//! # }).unwrap();
//! ```
//!
//! Every check works under its own fresh key prefix (`conformance/<check>/<nonce>/`) and deletes
//! what it wrote, so checks can share a bucket — even a real one — and run concurrently.
//! Checks that depend on a capability (the metadata limit) consult
//! [`Storage::capabilities`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};

use crate::error::{Error, ErrorKind};
use crate::ext::StorageExt;
use crate::packed::PackedMetadata;
use crate::storage::Storage;
use crate::types::{CopyOptions, ListOptions, Metadata, PutMode, PutPayload};

/// A conformance check that did not hold: which check, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("conformance check `{check}` failed: {message}")]
pub struct CheckFailed {
    /// Name of the check.
    pub check: &'static str,
    /// What was expected and what happened.
    pub message: String,
    /// The storage error, when one ended the check.
    #[source]
    pub source: Option<Error>,
}

/// Result of one check.
pub type CheckResult = std::result::Result<(), CheckFailed>;

/// The quoted MD5 ETag of an empty body.
const EMPTY_ETAG: &str = "\"d41d8cd98f00b204e9800998ecf8427e\"";

/// Turns a condition into a check failure.
fn ensure(check: &'static str, condition: bool, message: impl FnOnce() -> String) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(CheckFailed {
            check,
            message: message(),
            source: None,
        })
    }
}

/// Attaches the check's name to a storage error.
trait Context<T> {
    fn during(self, check: &'static str, what: &str) -> std::result::Result<T, CheckFailed>;
}

impl<T> Context<T> for crate::error::Result<T> {
    fn during(self, check: &'static str, what: &str) -> std::result::Result<T, CheckFailed> {
        self.map_err(|e| CheckFailed {
            check,
            message: format!("{what}: {e}"),
            source: Some(e),
        })
    }
}

/// Expects a storage result to be an error of `kind`.
fn expect_kind<T: std::fmt::Debug>(
    check: &'static str,
    what: &str,
    result: crate::error::Result<T>,
    kind: ErrorKind,
) -> CheckResult {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        other => Err(CheckFailed {
            check,
            message: format!("{what}: expected {kind:?}, got {other:?}"),
            source: None,
        }),
    }
}

/// A fresh prefix `conformance/<check>/<nonce>/` no earlier run can have used.
fn fresh_prefix(check: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("conformance/{check}/{nanos:x}-{}-{n}/", std::process::id())
}

fn payload(body: impl Into<Bytes>, metadata: &[(&str, &str)]) -> PutPayload {
    PutPayload {
        metadata: metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
        content_type: None,
    }
}

fn list_options(prefix: &str, start_after: Option<String>, page_size: usize) -> ListOptions {
    ListOptions {
        prefix: prefix.to_string(),
        start_after,
        page_size: Some(page_size),
    }
}

/// Writes `count` objects `<prefix><i:05>` with up to 16 writes in flight.
async fn put_many(
    store: &dyn Storage,
    check: &'static str,
    prefix: &str,
    count: usize,
) -> CheckResult {
    stream::iter(0..count)
        .map(|i| async move {
            store
                .put_bytes(&format!("{prefix}{i:05}"), format!("{i}"))
                .await
                .map(|_| ())
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .during(check, "writing many objects")
}

/// Deletes what a check wrote.
async fn cleanup(store: &dyn Storage, check: &'static str, prefix: &str) -> CheckResult {
    store
        .delete_prefix(prefix)
        .await
        .during(check, "cleaning up")
        .map(|_| ())
}

/// A key and a key "below" it (`a` and `a/b`) are independent objects.
pub async fn nested_keys(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "nested_keys";
    let p = fresh_prefix(CHECK);
    let (a, ab) = (format!("{p}a"), format!("{p}a/b"));
    store.put_bytes(&a, "parent").await.during(CHECK, "put a")?;
    store
        .put_bytes(&ab, "child")
        .await
        .during(CHECK, "put a/b")?;
    let body_a = store.get_bytes(&a).await.during(CHECK, "get a")?;
    let body_ab = store.get_bytes(&ab).await.during(CHECK, "get a/b")?;
    ensure(CHECK, body_a == "parent" && body_ab == "child", || {
        format!("bodies {body_a:?} / {body_ab:?}")
    })?;
    let keys = store.list_keys(&p).await.during(CHECK, "list")?;
    ensure(CHECK, keys == [a.clone(), ab.clone()], || {
        format!("listing {keys:?}")
    })?;
    store.delete(&a).await.during(CHECK, "delete a")?;
    let still = store.exists(&ab).await.during(CHECK, "head a/b")?;
    ensure(CHECK, still, || "deleting a removed a/b".into())?;
    cleanup(store, CHECK, &p).await
}

/// Metadata and content type round-trip exactly; keys are lower-case; the backend's metadata
/// limit (if any) accepts exactly the limit and rejects one byte more with `MetadataTooLarge`.
pub async fn metadata_round_trip(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "metadata_round_trip";
    let p = fresh_prefix(CHECK);
    let key = format!("{p}meta");
    let metadata: Metadata = [
        ("_v", "v1"),
        ("0", "u:Caf%C3%A9"),
        ("a-long-key_with.dots", "spaces inside and = signs; commas,"),
        ("b", "b:w5xuw69jw7Zk"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let written = PutPayload {
        metadata: metadata.clone().into(),
        body: Bytes::from_static(b"{}"),
        content_type: Some("application/json".into()),
    };
    store
        .put(&key, written, PutMode::Overwrite)
        .await
        .during(CHECK, "put")?;
    let read = store.get(&key).await.during(CHECK, "get")?;
    ensure(CHECK, read.metadata == metadata, || {
        format!("metadata {:?} != {metadata:?}", read.metadata)
    })?;
    ensure(
        CHECK,
        read.content_type.as_deref() == Some("application/json"),
        || format!("content type {:?}", read.content_type),
    )?;
    let mixed = payload("", &[("MixedCase", "V")]);
    store
        .put(&format!("{p}mixed"), mixed, PutMode::Overwrite)
        .await
        .during(CHECK, "put mixed-case metadata key")?;
    let lowered = store
        .head(&format!("{p}mixed"))
        .await
        .during(CHECK, "head")?;
    ensure(
        CHECK,
        lowered.metadata.get("mixedcase").map(String::as_str) == Some("V"),
        || {
            format!(
                "metadata keys are stored lower-case, got {:?}",
                lowered.metadata
            )
        },
    )?;

    if let Some(limit) = store.capabilities().max_metadata_bytes {
        // Two entries: "k" + value filling the rest of the budget, and "x" + "y".
        let fill = limit.saturating_sub(3);
        let exact = payload("", &[("k", &"v".repeat(fill)), ("x", "y")]);
        store
            .put(&format!("{p}exact"), exact, PutMode::Overwrite)
            .await
            .during(CHECK, &format!("metadata of exactly {limit} bytes"))?;
        let over = payload("", &[("k", &"v".repeat(fill + 1)), ("x", "y")]);
        expect_kind(
            CHECK,
            &format!("metadata of {} bytes", limit + 1),
            store
                .put(&format!("{p}over"), over, PutMode::Overwrite)
                .await,
            ErrorKind::MetadataTooLarge,
        )?;
        let absent = store
            .exists(&format!("{p}over"))
            .await
            .during(CHECK, "head rejected key")?;
        ensure(CHECK, !absent, || "a rejected write left an object".into())?;
    }
    cleanup(store, CHECK, &p).await
}

/// An empty body and a large (8 MiB) body round-trip with MD5 ETags.
pub async fn empty_and_large_bodies(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "empty_and_large_bodies";
    let p = fresh_prefix(CHECK);
    let empty_etag = store
        .put_bytes(&format!("{p}empty"), Bytes::new())
        .await
        .during(CHECK, "put empty")?;
    ensure(CHECK, empty_etag == EMPTY_ETAG, || {
        format!("empty body ETag {empty_etag}")
    })?;
    let empty = store
        .get(&format!("{p}empty"))
        .await
        .during(CHECK, "get empty")?;
    ensure(CHECK, empty.body.is_empty() && empty.meta.size == 0, || {
        format!("empty body read back as {} bytes", empty.body.len())
    })?;

    let large: Bytes = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect::<Vec<u8>>()
        .into();
    let etag = store
        .put_bytes(&format!("{p}large"), large.clone())
        .await
        .during(CHECK, "put large")?;
    let read = store
        .get(&format!("{p}large"))
        .await
        .during(CHECK, "get large")?;
    ensure(CHECK, read.body == large, || {
        format!("large body read back as {} bytes", read.body.len())
    })?;
    ensure(
        CHECK,
        read.meta.etag == etag && read.meta.size == large.len() as u64,
        || format!("large meta {:?}, put ETag {etag}", read.meta),
    )?;
    cleanup(store, CHECK, &p).await
}

/// 32 concurrent `PutMode::Create` writes of one key: exactly one wins, the rest get
/// `AlreadyExists`, and the winner's body is stored.
pub async fn conditional_create_race(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "conditional_create_race";
    let p = fresh_prefix(CHECK);
    let key = format!("{p}lock");
    let attempts = futures::future::join_all((0..32).map(|i| {
        let key = key.clone();
        async move {
            let result = store
                .put(&key, payload(format!("writer {i}"), &[]), PutMode::Create)
                .await;
            (i, result)
        }
    }))
    .await;
    let mut winners = Vec::new();
    for (i, result) in attempts {
        match result {
            Ok(_) => winners.push(i),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).during(CHECK, &format!("writer {i}")),
        }
    }
    ensure(CHECK, winners.len() == 1, || format!("winners {winners:?}"))?;
    let body = store.get_bytes(&key).await.during(CHECK, "get")?;
    ensure(
        CHECK,
        body == format!("writer {}", winners[0]).as_bytes(),
        || format!("stored {body:?}, winner {winners:?}"),
    )?;
    cleanup(store, CHECK, &p).await
}

/// `Create` on an existing key is `AlreadyExists`; `IfMatch` with a stale ETag or on a missing
/// key is `PreconditionFailed`; failed conditions leave the object unchanged.
pub async fn conditional_put_semantics(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "conditional_put_semantics";
    let p = fresh_prefix(CHECK);
    let key = format!("{p}doc");
    let first = store
        .put(&key, payload("one", &[]), PutMode::Create)
        .await
        .during(CHECK, "create")?;
    expect_kind(
        CHECK,
        "create on existing key",
        store.put(&key, payload("two", &[]), PutMode::Create).await,
        ErrorKind::AlreadyExists,
    )?;
    let second = store
        .put(&key, payload("two", &[]), PutMode::IfMatch(first.clone()))
        .await
        .during(CHECK, "if-match with current ETag")?;
    expect_kind(
        CHECK,
        "if-match with stale ETag",
        store
            .put(&key, payload("three", &[]), PutMode::IfMatch(first))
            .await,
        ErrorKind::PreconditionFailed,
    )?;
    expect_kind(
        CHECK,
        "if-match on a missing key",
        store
            .put(
                &format!("{p}missing"),
                payload("x", &[]),
                PutMode::IfMatch(second.clone()),
            )
            .await,
        ErrorKind::PreconditionFailed,
    )?;
    let now = store.get(&key).await.during(CHECK, "get")?;
    ensure(CHECK, now.body == "two" && now.meta.etag == second, || {
        format!(
            "after failed conditions: {:?} {:?}",
            now.body, now.meta.etag
        )
    })?;
    cleanup(store, CHECK, &p).await
}

/// 16 concurrent tasks each increment a counter in the body 50 times with `If-Match`
/// compare-and-swap, retrying on `PreconditionFailed`: the final count is exactly 800.
pub async fn cas_increments(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "cas_increments";
    const TASKS: u64 = 16;
    const INCREMENTS: u64 = 50;
    let p = fresh_prefix(CHECK);
    let key = format!("{p}counter");
    store
        .put(&key, payload("0", &[]), PutMode::Create)
        .await
        .during(CHECK, "create counter")?;
    let workers = (0..TASKS).map(|_| increment_many(store, &key, INCREMENTS));
    futures::future::try_join_all(workers).await?;
    let body = store.get_bytes(&key).await.during(CHECK, "read counter")?;
    let count = body.split(|&b| b == b' ').next().unwrap_or_default();
    let expected = (TASKS * INCREMENTS).to_string();
    ensure(CHECK, count == expected.as_bytes(), || {
        format!("counter is {body:?}, expected {expected}")
    })?;
    cleanup(store, CHECK, &p).await
}

async fn increment_many(store: &dyn Storage, key: &str, times: u64) -> CheckResult {
    const CHECK: &str = "cas_increments";
    let mut done = 0;
    while done < times {
        let current = store.get(key).await.during(CHECK, "read counter")?;
        // The body is `<count> <nonce>`: distinct writes have distinct bodies, as the
        // retry layer's body-ETag fallback requires (see `layers::retry`).
        let value: u64 = std::str::from_utf8(&current.body)
            .ok()
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CheckFailed {
                check: CHECK,
                message: format!("counter body {:?} is not a number", current.body),
                source: None,
            })?;
        // Let the other writers interleave between the read and the conditional write.
        tokio::task::yield_now().await;
        let next = payload(format!("{} {:016x}", value + 1, rand::random::<u64>()), &[]);
        match store
            .put(key, next, PutMode::IfMatch(current.meta.etag))
            .await
        {
            Ok(_) => done += 1,
            Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
            Err(e) => return Err(e).during(CHECK, "increment"),
        }
    }
    Ok(())
}

/// Copies keep metadata by default, replace it on request, honour `source_if_match`, and
/// report `NotFound` for a missing source.
pub async fn copy_semantics(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "copy_semantics";
    let p = fresh_prefix(CHECK);
    let (src, kept, replaced) = (
        format!("{p}src"),
        format!("{p}kept"),
        format!("{p}replaced"),
    );
    let source = PutPayload {
        content_type: Some("text/plain".into()),
        ..payload("body", &[("a", "1"), ("b", "2")])
    };
    let etag = store
        .put(&src, source.clone(), PutMode::Overwrite)
        .await
        .during(CHECK, "put source")?;

    let copy_etag = store
        .copy(&src, &kept, CopyOptions::default())
        .await
        .during(CHECK, "copy keeping metadata")?;
    ensure(CHECK, copy_etag == etag, || {
        format!("copy ETag {copy_etag} != source ETag {etag}")
    })?;
    let copy = store.get(&kept).await.during(CHECK, "get kept copy")?;
    ensure(
        CHECK,
        copy.body == source.body
            && PackedMetadata::from(copy.metadata.clone()) == source.metadata
            && copy.content_type == source.content_type,
        || format!("kept copy {copy:?}"),
    )?;

    let new_meta: Metadata = [("c".to_string(), "3".to_string())].into();
    let options = CopyOptions {
        replace: Some((new_meta.clone(), Some("application/json".into()))),
        source_if_match: Some(etag.clone()),
    };
    store
        .copy(&src, &replaced, options)
        .await
        .during(CHECK, "copy replacing metadata with matching source ETag")?;
    let copy = store
        .head(&replaced)
        .await
        .during(CHECK, "head replaced copy")?;
    ensure(
        CHECK,
        copy.metadata == new_meta && copy.content_type.as_deref() == Some("application/json"),
        || format!("replaced copy {copy:?}"),
    )?;

    let stale = CopyOptions {
        source_if_match: Some(EMPTY_ETAG.into()),
        ..CopyOptions::default()
    };
    expect_kind(
        CHECK,
        "copy with a stale source ETag",
        store.copy(&src, &format!("{p}never"), stale).await,
        ErrorKind::PreconditionFailed,
    )?;
    expect_kind(
        CHECK,
        "copy from a missing key",
        store
            .copy(
                &format!("{p}missing"),
                &format!("{p}never"),
                CopyOptions::default(),
            )
            .await,
        ErrorKind::NotFound,
    )?;
    let never = store
        .exists(&format!("{p}never"))
        .await
        .during(CHECK, "head")?;
    ensure(CHECK, !never, || "a failed copy wrote its target".into())?;
    cleanup(store, CHECK, &p).await
}

/// Listing across 2 500 keys with small pages: complete, in UTF-8 byte order, honouring
/// `prefix` and `start_after`.
pub async fn list_semantics(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "list_semantics";
    const COUNT: usize = 2500;
    let p = fresh_prefix(CHECK);
    put_many(store, CHECK, &format!("{p}n/"), COUNT).await?;
    // Byte order: "Z" < "a" < "~" < "é" (0xC3 0xA9) < "😀" (0xF0 ...).
    for key in ["o/é", "o/a", "o/Z", "o/😀", "o/~"] {
        store
            .put_bytes(&format!("{p}{key}"), "x")
            .await
            .during(CHECK, "put odd key")?;
    }

    let all: Vec<String> = store
        .list(list_options(&format!("{p}n/"), None, 97))
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .during(CHECK, "paged listing")?;
    let expected: Vec<String> = (0..COUNT).map(|i| format!("{p}n/{i:05}")).collect();
    ensure(CHECK, all == expected, || {
        format!(
            "paged listing returned {} keys (expected {COUNT}), first {:?}",
            all.len(),
            all.first()
        )
    })?;

    let after: Vec<String> = store
        .list(list_options(
            &format!("{p}n/"),
            Some(format!("{p}n/01234")),
            100,
        ))
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .during(CHECK, "listing with start_after")?;
    ensure(CHECK, after.as_slice() == &expected[1235..], || {
        format!(
            "start_after listing returned {} keys, first {:?}",
            after.len(),
            after.first()
        )
    })?;

    let narrow = store
        .list_keys(&format!("{p}n/012"))
        .await
        .during(CHECK, "narrow prefix")?;
    ensure(CHECK, narrow.as_slice() == &expected[1200..1300], || {
        format!("prefix n/012 listed {} keys", narrow.len())
    })?;

    let odd = store
        .list_keys(&format!("{p}o/"))
        .await
        .during(CHECK, "odd keys")?;
    let odd_expected: Vec<String> = ["o/Z", "o/a", "o/~", "o/é", "o/😀"]
        .iter()
        .map(|k| format!("{p}{k}"))
        .collect();
    ensure(CHECK, odd == odd_expected, || format!("byte order {odd:?}"))?;

    let metas = store
        .list_all(&format!("{p}o/"))
        .await
        .during(CHECK, "list meta")?;
    let head = store.head(&odd_expected[0]).await.during(CHECK, "head")?;
    ensure(
        CHECK,
        metas.first().map(|m| (&m.etag, m.size)) == Some((&head.meta.etag, head.meta.size)),
        || format!("listed {:?} vs head {:?}", metas.first(), head.meta),
    )?;

    let none = store
        .list_keys(&format!("{p}nothing/"))
        .await
        .during(CHECK, "empty prefix")?;
    ensure(CHECK, none.is_empty(), || format!("listed {none:?}"))?;
    cleanup(store, CHECK, &p).await
}

/// `delete` and `delete_many` remove objects; missing keys succeed; `delete_many` accepts more
/// keys than one S3 request carries.
pub async fn delete_semantics(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "delete_semantics";
    const COUNT: usize = 1200;
    let p = fresh_prefix(CHECK);
    store
        .put_bytes(&format!("{p}one"), "x")
        .await
        .during(CHECK, "put")?;
    store
        .delete(&format!("{p}one"))
        .await
        .during(CHECK, "delete")?;
    store
        .delete(&format!("{p}one"))
        .await
        .during(CHECK, "delete a missing key")?;
    expect_kind(
        CHECK,
        "get after delete",
        store.get(&format!("{p}one")).await,
        ErrorKind::NotFound,
    )?;

    put_many(store, CHECK, &format!("{p}many/"), COUNT).await?;
    store
        .put_bytes(&format!("{p}keep"), "x")
        .await
        .during(CHECK, "put keep")?;
    let mut keys: Vec<String> = (0..COUNT).map(|i| format!("{p}many/{i:05}")).collect();
    keys.extend((0..10).map(|i| format!("{p}missing/{i}")));
    store
        .delete_many(&keys)
        .await
        .during(CHECK, "delete_many")?;
    let left = store
        .list_keys(&p)
        .await
        .during(CHECK, "list after delete_many")?;
    ensure(CHECK, left == [format!("{p}keep")], || {
        format!(
            "left after delete_many: {} keys, first {:?}",
            left.len(),
            left.first()
        )
    })?;
    store
        .delete_many(&[])
        .await
        .during(CHECK, "delete_many of nothing")?;
    cleanup(store, CHECK, &p).await
}

/// `get`, `head` and `copy` of a missing key are `NotFound`.
pub async fn not_found(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "not_found";
    let p = fresh_prefix(CHECK);
    let missing = format!("{p}missing");
    expect_kind(CHECK, "get", store.get(&missing).await, ErrorKind::NotFound)?;
    expect_kind(
        CHECK,
        "get_packed",
        store.get_packed(&missing).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        CHECK,
        "head",
        store.head(&missing).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        CHECK,
        "copy",
        store
            .copy(&missing, &format!("{p}target"), CopyOptions::default())
            .await,
        ErrorKind::NotFound,
    )?;
    let exists = store.exists(&missing).await.during(CHECK, "exists")?;
    ensure(CHECK, !exists, || "exists() says yes".into())
}

/// `head` reports exactly what `get` does, minus the body; ETag and size match the body.
pub async fn head_matches_get(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "head_matches_get";
    let p = fresh_prefix(CHECK);
    let key = format!("{p}doc");
    let written = PutPayload {
        content_type: Some("text/plain; charset=utf-8".into()),
        ..payload("hello", &[("x", "1")])
    };
    let etag = store
        .put(&key, written, PutMode::Overwrite)
        .await
        .during(CHECK, "put")?;
    ensure(
        CHECK,
        etag == "\"5d41402abc4b2a76b9719d911017c592\"",
        || format!("ETag of \"hello\" is {etag}"),
    )?;
    let get = store.get(&key).await.during(CHECK, "get")?;
    let head = store.head(&key).await.during(CHECK, "head")?;
    ensure(
        CHECK,
        head.meta == get.meta
            && head.metadata == get.metadata
            && head.content_type == get.content_type,
        || format!("head {head:?} vs get {:?}", get.meta),
    )?;
    ensure(
        CHECK,
        get.meta.key == key && get.meta.size == 5 && get.meta.etag == etag,
        || format!("get meta {:?}", get.meta),
    )?;
    cleanup(store, CHECK, &p).await
}

/// `get_packed` returns what `get` does, the metadata packed (keys lower-cased as stored).
pub async fn packed_get_matches_get(store: &dyn Storage) -> CheckResult {
    const CHECK: &str = "packed_get_matches_get";
    let p = fresh_prefix(CHECK);
    let key = format!("{p}doc");
    let written = PutPayload {
        content_type: Some("application/json".into()),
        ..payload(
            "{\"a\":1}",
            &[("v", "v1"), ("0", "u:Caf%C3%A9"), ("Upper", "x")],
        )
    };
    store
        .put(&key, written, PutMode::Overwrite)
        .await
        .during(CHECK, "put")?;
    let get = store.get(&key).await.during(CHECK, "get")?;
    let packed = store.get_packed(&key).await.during(CHECK, "get_packed")?;
    ensure(
        CHECK,
        packed.meta == get.meta
            && packed.metadata.to_map() == get.metadata
            && packed.content_type == get.content_type
            && packed.body == get.body,
        || format!("get_packed {packed:?} vs get {get:?}"),
    )?;
    ensure(
        CHECK,
        packed.metadata.get("upper") == Some("x") && packed.metadata.get("v") == Some("v1"),
        || format!("packed lookups in {:?}", packed.metadata),
    )?;
    cleanup(store, CHECK, &p).await
}

/// Runs every check in order, stopping at the first failure.
pub async fn run_all(store: &dyn Storage) -> CheckResult {
    nested_keys(store).await?;
    metadata_round_trip(store).await?;
    empty_and_large_bodies(store).await?;
    conditional_put_semantics(store).await?;
    conditional_create_race(store).await?;
    cas_increments(store).await?;
    copy_semantics(store).await?;
    list_semantics(store).await?;
    delete_semantics(store).await?;
    not_found(store).await?;
    head_matches_get(store).await?;
    packed_get_matches_get(store).await
}
