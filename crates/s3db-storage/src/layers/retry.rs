//! [`Retry`]: exponential backoff with jitter on retryable errors, bounded by an attempt
//! limit and a total deadline, and resolution of conditional writes whose outcome a failed
//! response hid.
//!
//! Only `Throttled` and `Unavailable` are retried; `NotFound`, `AlreadyExists`,
//! `PreconditionFailed` and the rest are final. Before retry number `n` (0-based) the layer
//! waits a random delay between half and all of `base_delay * 2^n` (capped at `max_delay`),
//! never past the deadline. When attempts run out or the deadline is reached, the last error
//! is returned with its kind, message and source, marked with [`GaveUp`] (attempts and time
//! spent, shown in its message) so that it is no longer
//! [retryable](crate::Error::is_retryable) and no outer layer retries it again.
//!
//! A conditional write (`Create` / `IfMatch`) that fails with a retryable error may still have
//! landed — the response was lost. Retrying it blindly would then report `AlreadyExists` /
//! `PreconditionFailed` for the caller's own write. So each conditional write carries a write
//! id in its metadata (key [`DEFAULT_WRITE_ID_KEY`]), and after an ambiguous failure the layer
//! HEADs the key: if the stored write id is ours, the write landed and the call succeeds. When
//! the id would not fit in the metadata budget, the layer compares body ETag and metadata
//! instead. The write id is removed from what `get` and `head` return through this layer.
//!
//! Servers that drop metadata names containing `_` (moto's web server) lose the write id; the
//! layer then recognises its write by the body's ETag, which is only sound when distinct
//! writes have distinct bodies — `s3db-core` adds a random `_w` nonce to every conditional
//! update's body for this. Callers writing identical bodies on such servers should use
//! another `write_id_key` the server keeps.
//!
//! Known limit: if another writer replaces the object between our landed write and our HEAD,
//! the landing is invisible and the caller sees the condition failure (S3 keeps no history).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, ErrorKind, GaveUp, Result};
use crate::etag::{etag_of, etags_match};
use crate::packed::PackedMetadata;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, Metadata, ObjectMeta, PutMode,
    PutPayload,
};

/// The metadata key that carries a conditional write's id (lower-case, as S3 stores keys).
pub const DEFAULT_WRITE_ID_KEY: &str = "_wid";

/// Waits between attempts and tells the time the deadline is measured in; injectable so
/// tests neither sleep nor depend on time.
pub trait Sleeper: Send + Sync + std::fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// The current instant (default: tokio's clock, which follows a paused test runtime).
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How many attempts, how long to back off between them, and how long to keep trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included; 1 (or 0) disables retrying.
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Total time one operation may spend on attempts and waits: no wait extends past it,
    /// and no attempt starts after it. An attempt in flight is bounded by the backend's own
    /// timeouts (for S3, [`crate::S3Config::connect_timeout`] and `read_timeout`).
    pub deadline: Duration,
}

/// Attempts of the default policy, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 15;
/// Backoff ceiling before the first retry in the default policy.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(100);
/// Largest backoff ceiling in the default policy.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);
/// Total time budget of one operation in the default policy.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

impl Default for RetryPolicy {
    /// 15 attempts, backoff ceilings 100 ms doubling up to 10 s, 2 min deadline. The
    /// fourteen waits add up to between 41 s and 83 s, so an operation outlasts a server
    /// restart or a network blip of that length before giving up.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries: the explicit opt-out.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Whether this policy retries at all (more than one attempt and a non-zero deadline).
    pub fn is_enabled(&self) -> bool {
        self.max_attempts > 1 && !self.deadline.is_zero()
    }

    /// The backoff ceiling before retry number `retry` (0-based): `base * 2^retry`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base_delay
            .checked_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

/// Everything a [`Retry`] layer can be configured with.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts, delays and deadline.
    pub policy: RetryPolicy,
    /// How to wait between attempts.
    pub sleeper: Arc<dyn Sleeper>,
    /// Seed of the jitter and write-id generator; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// Metadata key of the write id; `None` resolves by comparing content only.
    pub write_id_key: Option<String>,
}

impl Default for RetryConfig {
    /// The [default policy](RetryPolicy::default), tokio's timer, write ids under `_wid`.
    fn default() -> Self {
        RetryConfig::with_policy(RetryPolicy::default())
    }
}

impl RetryConfig {
    /// The default configuration with `policy`.
    pub fn with_policy(policy: RetryPolicy) -> Self {
        RetryConfig {
            policy,
            sleeper: Arc::new(TokioSleeper),
            seed: None,
            write_id_key: Some(DEFAULT_WRITE_ID_KEY.to_string()),
        }
    }

    /// No retry layer at all: the explicit opt-out of the default stack
    /// (`?retries=0` in a connection string).
    pub fn disabled() -> Self {
        RetryConfig::with_policy(RetryPolicy::disabled())
    }

    /// Whether a stack built with this configuration gets a retry layer.
    pub fn is_enabled(&self) -> bool {
        self.policy.is_enabled()
    }
}

/// Retries retryable failures of the inner storage; see the [module docs](self).
#[derive(Debug)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    rng: Mutex<StdRng>,
    write_id_key: Option<String>,
    retries: AtomicU64,
    resolved: AtomicU64,
}

/// Counters of a retry layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryStats {
    /// Attempts made after a retryable failure.
    pub retries: u64,
    /// Conditional writes found to have landed despite a failed response.
    pub resolved_writes: u64,
}

/// Where one operation stands against the policy: when it started and attempts made.
#[derive(Debug, Clone, Copy)]
struct Budget {
    start: Instant,
    attempts: u32,
}

/// How to recognise our own conditional write when reading the key back.
enum Marker {
    /// A write id in metadata, plus the body's ETag (non-empty bodies only) for servers that
    /// drop metadata keys they dislike (moto's web server drops names containing `_`).
    WriteId {
        key: String,
        id: String,
        body_etag: Option<String>,
    },
    Content {
        etag: String,
        metadata: PackedMetadata,
    },
}

impl Marker {
    fn matches(&self, head: &HeadResult) -> bool {
        match self {
            Marker::WriteId { key, id, body_etag } => match head.metadata.get(key) {
                Some(found) => found == id,
                None => body_etag
                    .as_ref()
                    .is_some_and(|etag| etags_match(etag, &head.meta.etag)),
            },
            Marker::Content { etag, metadata } => {
                etags_match(etag, &head.meta.etag)
                    && head
                        .metadata
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .eq(metadata.iter())
            }
        }
    }
}

impl<S: Storage> Retry<S> {
    /// Wraps `inner` with the given configuration.
    pub fn new(inner: S, config: RetryConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Retry {
            inner,
            policy: config.policy,
            sleeper: config.sleeper,
            rng: Mutex::new(rng),
            write_id_key: config.write_id_key,
            retries: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
        }
    }

    /// Retries made and landed writes resolved so far.
    pub fn stats(&self) -> RetryStats {
        RetryStats {
            retries: self.retries.load(Ordering::Relaxed),
            resolved_writes: self.resolved.load(Ordering::Relaxed),
        }
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn start(&self) -> Budget {
        Budget {
            start: self.sleeper.now(),
            attempts: 0,
        }
    }

    /// Called after a retryable failure `error`: waits a jittered backoff and returns `Ok`
    /// if another attempt is allowed, or returns `error` marked [`GaveUp`] if attempts or
    /// time have run out.
    async fn next_attempt(&self, budget: &mut Budget, error: Error) -> Result<()> {
        budget.attempts += 1;
        let elapsed = self.sleeper.now().saturating_duration_since(budget.start);
        let remaining = self.policy.deadline.saturating_sub(elapsed);
        if budget.attempts >= self.policy.max_attempts || remaining.is_zero() {
            return Err(error.with_gave_up(GaveUp {
                attempts: budget.attempts,
                elapsed,
                deadline_reached: budget.attempts < self.policy.max_attempts,
            }));
        }
        // Equal jitter: between half and all of the ceiling, so the waits add up to a known
        // minimum (see `RetryPolicy::default`) while clients still spread out.
        let ceiling = self.policy.ceiling(budget.attempts - 1);
        let half = u64::try_from(ceiling.as_nanos() / 2).unwrap_or(u64::MAX);
        let delay = Duration::from_nanos(half.saturating_add(self.rng().gen_range(0..=half)));
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.sleeper.sleep(delay.min(remaining)).await;
        Ok(())
    }

    /// Calls `call` until it succeeds, fails finally, or the budget runs out.
    async fn retrying<T, F, Fut>(&self, budget: &mut Budget, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        loop {
            match call().await {
                Err(e) if e.is_retryable() => self.next_attempt(budget, e).await?,
                result => return result,
            }
        }
    }

    /// [`Self::retrying`] with a budget of its own.
    async fn retried<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.retrying(&mut self.start(), call).await
    }

    /// Tags a conditional write so it can be recognised later.
    fn mark(&self, payload: &mut PutPayload) -> Marker {
        if let Some(id_key) = &self.write_id_key {
            let id = format!("{:016x}", self.rng().r#gen::<u64>());
            let limit = self.inner.capabilities().max_metadata_bytes;
            let tagged = payload.metadata.with(id_key, &id);
            if limit.is_none_or(|limit| tagged.byte_len() <= limit) {
                payload.metadata = tagged;
                return Marker::WriteId {
                    key: id_key.clone(),
                    id,
                    body_etag: (!payload.body.is_empty()).then(|| etag_of(&payload.body)),
                };
            }
        }
        Marker::Content {
            etag: etag_of(&payload.body),
            metadata: payload.metadata.clone(),
        }
    }

    /// Whether `head` shows our marked write: `Some(etag)` if so.
    fn ours(&self, head: HeadResult, marker: &Marker) -> Option<String> {
        marker.matches(&head).then(|| {
            self.resolved.fetch_add(1, Ordering::Relaxed);
            head.meta.etag
        })
    }

    async fn put_conditional(
        &self,
        key: &str,
        mut payload: PutPayload,
        mode: PutMode,
    ) -> Result<String> {
        let marker = self.mark(&mut payload);
        let mut budget = self.start();
        let mut maybe_landed = false;
        loop {
            match self.inner.put(key, payload.clone(), mode.clone()).await {
                Ok(etag) => return Ok(etag),
                Err(e) if e.is_retryable() => {
                    maybe_landed = true;
                    // One look whether it landed after all; if the look fails too, the next
                    // attempt (or its condition failure) tells.
                    if let Ok(head) = self.inner.head(key).await
                        && let Some(etag) = self.ours(head, &marker)
                    {
                        return Ok(etag);
                    }
                    self.next_attempt(&mut budget, e).await?;
                }
                Err(e)
                    if maybe_landed
                        && matches!(
                            e.kind(),
                            ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                        ) =>
                {
                    return match self.retrying(&mut budget, || self.inner.head(key)).await {
                        Ok(head) => self.ours(head, &marker).ok_or(e),
                        Err(missing) if missing.kind() == ErrorKind::NotFound => Err(e),
                        Err(other) => Err(other),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn strip_write_id(&self, metadata: &mut Metadata) {
        if let Some(id_key) = &self.write_id_key {
            metadata.remove(id_key);
        }
    }
}

#[async_trait]
impl<S: Storage> Storage for Retry<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        match mode {
            PutMode::Overwrite => {
                self.retried(|| self.inner.put(key, payload.clone(), PutMode::Overwrite))
                    .await
            }
            conditional => self.put_conditional(key, payload, conditional).await,
        }
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        let mut result = self.retried(|| self.inner.get(key)).await?;
        self.strip_write_id(&mut result.metadata);
        Ok(result)
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let mut result = self.retried(|| self.inner.head(key)).await?;
        self.strip_write_id(&mut result.metadata);
        Ok(result)
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.retried(|| self.inner.copy(from, to, options.clone()))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.retried(|| self.inner.delete(key)).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        self.retried(|| self.inner.delete_many(keys)).await
    }

    /// Resumes a failed listing after the last key it yielded; the budget covers one streak
    /// of failures (a yielded key starts a new one).
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        struct State<'a> {
            stream: BoxStream<'a, Result<ObjectMeta>>,
            options: ListOptions,
            failures: Option<Budget>,
            done: bool,
        }
        let state = State {
            stream: self.inner.list(options.clone()),
            options,
            failures: None,
            done: false,
        };
        stream::unfold(state, move |mut state| async move {
            if state.done {
                return None;
            }
            loop {
                match state.stream.next().await {
                    Some(Ok(meta)) => {
                        state.options.start_after = Some(meta.key.clone());
                        state.failures = None;
                        return Some((Ok(meta), state));
                    }
                    Some(Err(e)) if e.is_retryable() => {
                        let budget = state.failures.get_or_insert_with(|| self.start());
                        if let Err(e) = self.next_attempt(budget, e).await {
                            state.done = true;
                            return Some((Err(e), state));
                        }
                        state.stream = self.inner.list(state.options.clone());
                    }
                    Some(Err(e)) => {
                        state.done = true;
                        return Some((Err(e), state));
                    }
                    None => return None,
                }
            }
        })
        .boxed()
    }

    /// The inner storage's, without transient failures: this layer has retried them, and
    /// what it returns after giving up is final.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transient_failures: false,
            ..self.inner.capabilities()
        }
    }
}
