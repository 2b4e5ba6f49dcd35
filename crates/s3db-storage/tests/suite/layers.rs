//! The layers: retry (deterministic, no real sleeping), fault injection, metrics, pool, and the
//! whole stack passing the conformance suite through injected faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use futures::future::BoxFuture;
use s3db_storage::layers::{
    DEFAULT_WRITE_ID_KEY, Fault, FaultPlan, Faults, Metrics, Pool, Prices, Retry, RetryConfig,
    RetryPolicy, Sleeper, Stack,
};
use s3db_storage::{
    ErrorKind, ListOptions, MemoryStorage, Metadata, Operation, PutMode, PutPayload, Storage,
    StorageExt, conformance,
};

/// Records requested delays and returns at once.
#[derive(Debug, Default)]
struct NoSleep(Mutex<Vec<Duration>>);

impl Sleeper for NoSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

fn retry_config(sleeper: Arc<NoSleep>) -> RetryConfig {
    RetryConfig {
        sleeper,
        seed: Some(7),
        ..RetryConfig::default()
    }
}

/// memory <- scripted faults <- retry, plus handles to the memory and the sleeper.
fn scripted(
    faults: Vec<Fault>,
    config: impl FnOnce(RetryConfig) -> RetryConfig,
) -> (Retry<Faults<MemoryStorage>>, MemoryStorage, Arc<NoSleep>) {
    let memory = MemoryStorage::new();
    let sleeper = Arc::new(NoSleep::default());
    let faulty = Faults::new(memory.clone(), FaultPlan::script(faults));
    let retry = Retry::new(faulty, config(retry_config(sleeper.clone())));
    (retry, memory, sleeper)
}

fn body(text: &str) -> PutPayload {
    PutPayload {
        body: text.to_string().into(),
        ..PutPayload::default()
    }
}

#[tokio::test]
async fn retryable_errors_back_off_with_jitter_under_the_ceiling() {
    let unavailable = Fault::Fail(ErrorKind::Unavailable);
    let throttled = Fault::Fail(ErrorKind::Throttled);
    let (store, memory, sleeper) = scripted(
        vec![Fault::Pass, unavailable, throttled, unavailable],
        |c| c,
    );
    store.put_bytes("k", "v").await.unwrap();
    assert_eq!(store.get_bytes("k").await.unwrap(), "v");
    assert_eq!(memory.get_bytes("k").await.unwrap(), "v");
    let delays = sleeper.0.lock().unwrap().clone();
    let policy = RetryPolicy::default();
    assert_eq!(delays.len(), 3);
    for (i, delay) in delays.iter().enumerate() {
        let ceiling = policy.ceiling(i as u32);
        assert!(*delay <= ceiling && *delay >= ceiling / 2, "{i}: {delay:?}");
    }
    assert_eq!(policy.ceiling(2), Duration::from_millis(400));
    assert_eq!(policy.ceiling(30), policy.max_delay);
    assert_eq!(store.stats().retries, 3);
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::PreconditionFailed,
        ErrorKind::AlreadyExists,
        ErrorKind::MetadataTooLarge,
    ] {
        let (store, _, sleeper) = scripted(vec![Fault::Fail(kind)], |c| c);
        let err = store.put_bytes("k", "v").await.unwrap_err();
        assert_eq!(err.kind(), kind);
        assert!(sleeper.0.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let (store, _, sleeper) = scripted(vec![Fault::Fail(ErrorKind::Throttled); 10], |c| {
        RetryConfig {
            policy: RetryPolicy {
                max_attempts: 4,
                ..RetryPolicy::default()
            },
            ..c
        }
    });
    let err = store.get("k").await.unwrap_err();
    // The kind stays, but the error is final now and says why.
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert!(!err.is_retryable(), "{err}");
    let gave_up = err.gave_up().unwrap();
    assert_eq!((gave_up.attempts, gave_up.deadline_reached), (4, false));
    assert!(
        err.to_string().contains("gave up after 4 attempts"),
        "{err}"
    );
    assert_eq!(sleeper.0.lock().unwrap().len(), 3);
}

/// A clock that only moves when slept on (plus `step` per reading, standing in for the time
/// attempts take).
#[derive(Debug)]
struct VirtualClock {
    start: std::time::Instant,
    now: Mutex<Duration>,
    step: Duration,
}

impl Sleeper for VirtualClock {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        *self.now.lock().unwrap() += duration;
        Box::pin(async {})
    }
    fn now(&self) -> std::time::Instant {
        let mut now = self.now.lock().unwrap();
        *now += self.step;
        self.start + *now
    }
}

#[tokio::test]
async fn the_deadline_ends_retries_and_the_last_wait_stops_at_it() {
    let clock = Arc::new(VirtualClock {
        start: std::time::Instant::now(),
        now: Mutex::new(Duration::ZERO),
        step: Duration::from_secs(1),
    });
    let config = RetryConfig {
        policy: RetryPolicy {
            max_attempts: 1000,
            deadline: Duration::from_secs(30),
            ..RetryPolicy::default()
        },
        sleeper: clock.clone(),
        seed: Some(3),
        ..RetryConfig::default()
    };
    let down = Faults::new(
        MemoryStorage::new(),
        FaultPlan::random(1, 1.0, ErrorKind::Unavailable),
    );
    let store = Retry::new(down, config);
    let err = store.put_bytes("k", "v").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.is_retryable());
    let gave_up = err.gave_up().unwrap();
    assert!(gave_up.deadline_reached, "{gave_up:?}");
    assert!(
        gave_up.attempts > 1 && gave_up.attempts < 1000,
        "{gave_up:?}"
    );
    // Measured on the injected clock: at the deadline, not a wait beyond it.
    assert!(
        gave_up.elapsed >= Duration::from_secs(30) && gave_up.elapsed <= Duration::from_secs(31),
        "{gave_up:?}"
    );
    assert!(err.to_string().contains("retry deadline reached"), "{err}");
}

#[tokio::test]
async fn a_disabled_config_adds_no_layer_and_nothing_is_wrapped_twice() {
    let faulty = || -> Arc<dyn Storage> {
        Arc::new(Faults::new(MemoryStorage::new(), FaultPlan::script([])))
    };
    // Transient failures possible: a retry layer is added, and hides them from above.
    let once = Stack::builder(faulty())
        .retry(RetryConfig::default())
        .build();
    assert!(once.retry_stats().is_some());
    assert!(!once.storage().capabilities().transient_failures);
    // Already retried: no second layer.
    let twice = Stack::builder(once.storage())
        .retry(RetryConfig::default())
        .build();
    assert!(twice.retry_stats().is_none());
    // Explicitly disabled, or nothing can fail transiently: no layer.
    let disabled = Stack::builder(faulty())
        .retry(RetryConfig::disabled())
        .build();
    assert!(disabled.retry_stats().is_none());
    assert!(disabled.storage().capabilities().transient_failures);
    let memory = Stack::builder(Arc::new(MemoryStorage::new()))
        .retry(RetryConfig::default())
        .build();
    assert!(memory.retry_stats().is_none());
}

#[tokio::test]
async fn a_landed_create_whose_response_was_lost_succeeds() {
    let (store, memory, _) = scripted(vec![Fault::FailAfter(ErrorKind::Unavailable)], |c| c);
    let etag = store
        .put("lock", body("mine"), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(store.stats().resolved_writes, 1);
    let raw = memory.head("lock").await.unwrap();
    assert_eq!(raw.meta.etag, etag);
    assert!(raw.metadata.contains_key(DEFAULT_WRITE_ID_KEY));
    let seen = store.head("lock").await.unwrap();
    assert!(
        seen.metadata.is_empty(),
        "write id hidden: {:?}",
        seen.metadata
    );
}

#[tokio::test]
async fn a_lost_create_response_then_a_conflict_is_resolved_as_ours() {
    // First attempt lands but its response is lost; the HEAD that would tell also fails; the
    // retry then meets our own object (AlreadyExists) and the second HEAD resolves it.
    let (store, _, _) = scripted(
        vec![
            Fault::FailAfter(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
            Fault::Fail(ErrorKind::Unavailable),
        ],
        |c| c,
    );
    store
        .put("lock", body("mine"), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(store.get_bytes("lock").await.unwrap(), "mine");
}

#[tokio::test]
async fn someone_elses_object_still_means_already_exists() {
    let (store, memory, _) = scripted(vec![Fault::Fail(ErrorKind::Unavailable)], |c| c);
    memory
        .put("lock", body("theirs"), PutMode::Create)
        .await
        .unwrap();
    let err = store
        .put("lock", body("mine"), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(store.stats().resolved_writes, 0);
}

#[tokio::test]
async fn a_landed_if_match_is_resolved() {
    let (store, memory, _) = scripted(
        vec![Fault::Pass, Fault::FailAfter(ErrorKind::Unavailable)],
        |c| c,
    );
    let first = store.put_bytes("n", "1").await.unwrap();
    let second = store
        .put("n", body("2"), PutMode::IfMatch(first))
        .await
        .unwrap();
    assert_eq!(memory.head("n").await.unwrap().meta.etag, second);
}

#[tokio::test]
async fn without_write_ids_content_decides() {
    let (store, memory, _) = scripted(vec![Fault::FailAfter(ErrorKind::Unavailable)], |c| {
        RetryConfig {
            write_id_key: None,
            ..c
        }
    });
    store
        .put("lock", body("mine"), PutMode::Create)
        .await
        .unwrap();
    assert!(memory.head("lock").await.unwrap().metadata.is_empty());
    assert_eq!(store.stats().resolved_writes, 1);
}

#[tokio::test]
async fn a_full_metadata_budget_falls_back_to_content() {
    let (store, memory, _) = scripted(vec![Fault::FailAfter(ErrorKind::Unavailable)], |c| c);
    let metadata: Metadata = [("k".to_string(), "v".repeat(2047))].into();
    let payload = PutPayload {
        metadata: metadata.clone().into(),
        ..body("x")
    };
    store.put("full", payload, PutMode::Create).await.unwrap();
    assert_eq!(memory.head("full").await.unwrap().metadata, metadata);
}

#[tokio::test]
async fn listings_resume_after_the_last_key() {
    let memory = MemoryStorage::new();
    for i in 0..50 {
        memory.put_bytes(&format!("k{i:02}"), "x").await.unwrap();
    }
    let plan = FaultPlan::script([
        Fault::FailAfter(ErrorKind::Unavailable),
        Fault::Fail(ErrorKind::Throttled),
        Fault::FailAfter(ErrorKind::Unavailable),
    ])
    .only(&[Operation::List]);
    let sleeper = Arc::new(NoSleep::default());
    let store = Retry::new(Faults::new(memory, plan), retry_config(sleeper));
    let keys: Vec<String> = store
        .list(ListOptions {
            page_size: Some(7),
            ..ListOptions::default()
        })
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<String> = (0..50).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(store.stats().retries, 3);
}

#[tokio::test]
async fn random_faults_are_deterministic_and_near_the_rate() {
    async fn run(seed: u64) -> (u64, Vec<bool>) {
        let faults = Faults::new(
            MemoryStorage::new(),
            FaultPlan::random(seed, 0.1, ErrorKind::Unavailable),
        );
        let mut outcomes = Vec::new();
        for i in 0..2000 {
            outcomes.push(faults.put_bytes(&format!("k{i}"), "x").await.is_ok());
        }
        (faults.injected(), outcomes)
    }
    let (injected, outcomes) = run(42).await;
    assert!((150..=250).contains(&injected), "{injected}");
    assert_eq!(run(42).await.1, outcomes);
    assert_ne!(run(43).await.1, outcomes);
}

#[tokio::test]
async fn failures_after_success_still_write() {
    let memory = MemoryStorage::new();
    let faults = Faults::new(
        memory.clone(),
        FaultPlan::random(1, 1.0, ErrorKind::Unavailable).after_success(1.0),
    );
    let err = faults.put_bytes("k", "v").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(memory.get_bytes("k").await.unwrap(), "v");
    let only_gets = Faults::new(
        memory.clone(),
        FaultPlan::random(1, 1.0, ErrorKind::Throttled).only(&[Operation::Get]),
    );
    only_gets.put_bytes("k2", "v").await.unwrap();
    assert!(only_gets.get("k2").await.is_err());
}

#[tokio::test]
async fn metrics_count_requests_pages_batches_and_cost() {
    let metrics = Metrics::new(MemoryStorage::new());
    let recorder = metrics.recorder();
    let keys: Vec<String> = (0..2500).map(|i| format!("k{i:04}")).collect();
    for key in &keys {
        metrics.put_bytes(key, "abc").await.unwrap();
    }
    metrics.get("k0000").await.unwrap();
    metrics.get("missing").await.unwrap_err();
    metrics.head("k0001").await.unwrap();
    metrics
        .copy("k0000", "copy", Default::default())
        .await
        .unwrap();
    assert_eq!(metrics.list_all("k").await.unwrap().len(), 2500);
    let small_pages = ListOptions {
        prefix: "k".into(),
        page_size: Some(100),
        ..ListOptions::default()
    };
    assert_eq!(
        metrics
            .list(small_pages)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len(),
        2500
    );
    metrics.delete_many(&keys).await.unwrap();
    metrics.delete("copy").await.unwrap();

    let s = recorder.snapshot();
    assert_eq!(s.put.requests, 2500);
    assert_eq!((s.get.requests, s.get.errors), (2, 1));
    assert_eq!(s.head.requests, 1);
    assert_eq!(s.copy.requests, 1);
    assert_eq!(s.list.requests, 3 + 25);
    assert_eq!(s.delete_many.requests, 3);
    assert_eq!(s.delete.requests, 1);
    assert_eq!(s.bytes_written, 7500);
    assert_eq!(s.bytes_read, 3);
    assert_eq!(s.requests(), 2500 + 2 + 1 + 1 + 28 + 3 + 1);
    let expected = (2500.0 + 1.0 + 28.0) * 0.005 / 1000.0 + 3.0 * 0.0004 / 1000.0;
    assert!((s.estimated_cost_usd(Prices::S3_STANDARD) - expected).abs() < 1e-12);
}

#[tokio::test(start_paused = true)]
async fn pool_bounds_concurrency_and_reports_latency() {
    let slow = Faults::new(
        MemoryStorage::new(),
        FaultPlan::script([]).with_latency(Duration::from_millis(10)),
    );
    let pool = Arc::new(Pool::new(slow, 2));
    let control = pool.control();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.put_bytes(&format!("k{i}"), "x").await })
        })
        .collect();
    tokio::task::yield_now().await;
    let busy = control.stats();
    assert_eq!((busy.in_flight, busy.queued), (2, 8));
    control.drain().await;
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let done = control.stats();
    assert_eq!((done.in_flight, done.queued, done.completed), (0, 0, 10));
    assert_eq!(done.p50, Some(Duration::from_millis(10)));
    assert_eq!(done.p99, Some(Duration::from_millis(10)));
}

#[tokio::test(start_paused = true)]
async fn pool_pause_holds_new_work_until_resume() {
    let pool = Arc::new(Pool::new(MemoryStorage::new(), 4));
    let control = pool.control();
    control.pause();
    let task = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.put_bytes("k", "x").await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = control.stats();
    assert!(stats.paused);
    assert_eq!((stats.queued, stats.completed), (1, 0));
    control.resume();
    task.await.unwrap().unwrap();
    control.drain().await;
    assert_eq!(control.stats().completed, 1);
    assert_eq!(pool.list_keys("").await.unwrap(), ["k"]);
    assert_eq!(control.stats().completed, 2, "a listing counts once");
}

#[tokio::test]
async fn conformance_passes_through_faults_and_retries() {
    let memory = MemoryStorage::new();
    let sleeper = Arc::new(NoSleep::default());
    let stack = Stack::builder(Arc::new(memory.clone()))
        .faults(FaultPlan::random(2024, 0.1, ErrorKind::Unavailable).after_success(0.3))
        .metrics()
        .retry(retry_config(sleeper))
        .pool(16)
        .build();
    conformance::run_all(stack.storage().as_ref())
        .await
        .unwrap();
    let injected = stack.faults_injected().unwrap();
    let retry = stack.retry_stats().unwrap();
    assert!(injected > 100, "{injected}");
    assert!(retry.retries >= injected / 2, "{retry:?}");
    assert!(retry.resolved_writes > 0, "{retry:?}");
    assert!(stack.metrics().unwrap().snapshot().put.requests > 5000);
    assert_eq!(stack.pool().unwrap().stats().in_flight, 0);
    assert_eq!(memory.stats().objects, 0, "checks cleaned up");
}

/// A server that silently drops metadata names containing `_` (as moto's web server does).
#[derive(Debug, Clone)]
struct DropsUnderscoreNames(MemoryStorage);

#[async_trait::async_trait]
impl Storage for DropsUnderscoreNames {
    async fn put(
        &self,
        key: &str,
        mut payload: PutPayload,
        mode: PutMode,
    ) -> s3db_storage::Result<String> {
        payload.metadata = payload
            .metadata
            .iter()
            .filter(|(name, _)| !name.contains('_'))
            .collect();
        self.0.put(key, payload, mode).await
    }
    async fn get(&self, key: &str) -> s3db_storage::Result<s3db_storage::GetResult> {
        self.0.get(key).await
    }
    async fn head(&self, key: &str) -> s3db_storage::Result<s3db_storage::HeadResult> {
        self.0.head(key).await
    }
    async fn copy(
        &self,
        from: &str,
        to: &str,
        options: s3db_storage::CopyOptions,
    ) -> s3db_storage::Result<String> {
        self.0.copy(from, to, options).await
    }
    async fn delete(&self, key: &str) -> s3db_storage::Result<()> {
        self.0.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> s3db_storage::Result<()> {
        self.0.delete_many(keys).await
    }
    fn list(
        &self,
        options: ListOptions,
    ) -> futures::stream::BoxStream<'_, s3db_storage::Result<s3db_storage::ObjectMeta>> {
        self.0.list(options)
    }
    fn capabilities(&self) -> s3db_storage::Capabilities {
        self.0.capabilities()
    }
}

#[tokio::test]
async fn a_landed_if_match_is_resolved_by_body_when_the_server_drops_the_write_id() {
    let memory = MemoryStorage::new();
    let first = memory.put("n", body("1"), PutMode::Create).await.unwrap();
    let faulty = Faults::new(
        DropsUnderscoreNames(memory.clone()),
        FaultPlan::script(vec![Fault::FailAfter(ErrorKind::Unavailable)]),
    );
    let sleeper = Arc::new(NoSleep::default());
    let store = Retry::new(faulty, retry_config(sleeper));
    let etag = store
        .put("n", body("2"), PutMode::IfMatch(first))
        .await
        .unwrap();
    assert_eq!(store.stats().resolved_writes, 1);
    assert_eq!(memory.head("n").await.unwrap().meta.etag, etag);
    assert_eq!(&memory.get("n").await.unwrap().body[..], b"2");
}
