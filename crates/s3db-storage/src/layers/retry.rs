//! [`Retry`]: exponential backoff with full jitter on retryable errors, and resolution of
//! conditional writes whose outcome a failed response hid.
//!
//! Only `Throttled` and `Unavailable` are retried; `NotFound`, `AlreadyExists`,
//! `PreconditionFailed` and the rest are final. A conditional write (`Create` / `IfMatch`) that
//! fails with a retryable error may still have landed — the response was lost. Retrying it
//! blindly would then report `AlreadyExists` / `PreconditionFailed` for the caller's own write.
//! So each conditional write carries a write id in its metadata (key [`DEFAULT_WRITE_ID_KEY`]),
//! and after an ambiguous failure the layer HEADs the key: if the stored write id is ours, the
//! write landed and the call succeeds. When the id would not fit in the metadata budget, the
//! layer compares body ETag and metadata instead. The write id is removed from what `get` and
//! `head` return through this layer.
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
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use s3db_codec::budget::s3_metadata_bytes;

use crate::error::{ErrorKind, Result};
use crate::etag::{etag_of, etags_match};
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, Metadata, ObjectMeta, PutMode,
    PutPayload,
};

/// The metadata key that carries a conditional write's id (lower-case, as S3 stores keys).
pub const DEFAULT_WRITE_ID_KEY: &str = "_wid";

/// Waits between attempts; injectable so tests neither sleep nor depend on time.
pub trait Sleeper: Send + Sync + std::fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How many attempts, and how long to back off between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 50 ms doubling up to 5 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
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
    /// Attempts and delays.
    pub policy: RetryPolicy,
    /// How to wait between attempts.
    pub sleeper: Arc<dyn Sleeper>,
    /// Seed of the jitter and write-id generator; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// Metadata key of the write id; `None` resolves by comparing content only.
    pub write_id_key: Option<String>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            seed: None,
            write_id_key: Some(DEFAULT_WRITE_ID_KEY.to_string()),
        }
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
        metadata: Metadata,
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
                etags_match(etag, &head.meta.etag) && &head.metadata == metadata
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

    /// Sleeps a jittered backoff before retry number `retry` (0-based).
    async fn backoff(&self, retry: u32) {
        let ceiling = self.policy.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let delay = Duration::from_nanos(self.rng().gen_range(0..=nanos));
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.sleeper.sleep(delay).await;
    }

    /// Calls `call` until it succeeds, fails finally, or attempts run out.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() && retry + 1 < self.policy.max_attempts => {
                    self.backoff(retry).await;
                    retry += 1;
                }
                result => return result,
            }
        }
    }

    /// Tags a conditional write so it can be recognised later.
    fn mark(&self, payload: &mut PutPayload) -> Marker {
        if let Some(id_key) = &self.write_id_key {
            let id = format!("{:016x}", self.rng().r#gen::<u64>());
            let limit = self.inner.capabilities().max_metadata_bytes;
            let mut tagged = payload.metadata.clone();
            tagged.insert(id_key.clone(), id.clone());
            if limit.is_none_or(|limit| s3_metadata_bytes(&tagged) <= limit) {
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

    /// Whether our marked write is what the key holds now: `Some(etag)` if so.
    async fn landed(&self, key: &str, marker: &Marker) -> Result<Option<String>> {
        match self.retrying(|| self.inner.head(key)).await {
            Ok(head) if marker.matches(&head) => {
                self.resolved.fetch_add(1, Ordering::Relaxed);
                Ok(Some(head.meta.etag))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_conditional(
        &self,
        key: &str,
        mut payload: PutPayload,
        mode: PutMode,
    ) -> Result<String> {
        let marker = self.mark(&mut payload);
        let mut maybe_landed = false;
        let mut retry = 0;
        loop {
            match self.inner.put(key, payload.clone(), mode.clone()).await {
                Ok(etag) => return Ok(etag),
                Err(e) if e.is_retryable() => {
                    maybe_landed = true;
                    if let Ok(Some(etag)) = self.landed(key, &marker).await {
                        return Ok(etag);
                    }
                    if retry + 1 >= self.policy.max_attempts {
                        return Err(e);
                    }
                    self.backoff(retry).await;
                    retry += 1;
                }
                Err(e)
                    if maybe_landed
                        && matches!(
                            e.kind(),
                            ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                        ) =>
                {
                    return match self.landed(key, &marker).await? {
                        Some(etag) => Ok(etag),
                        None => Err(e),
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
                self.retrying(|| self.inner.put(key, payload.clone(), PutMode::Overwrite))
                    .await
            }
            conditional => self.put_conditional(key, payload, conditional).await,
        }
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        let mut result = self.retrying(|| self.inner.get(key)).await?;
        self.strip_write_id(&mut result.metadata);
        Ok(result)
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let mut result = self.retrying(|| self.inner.head(key)).await?;
        self.strip_write_id(&mut result.metadata);
        Ok(result)
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.retrying(|| self.inner.copy(from, to, options.clone()))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.retrying(|| self.inner.delete(key)).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        self.retrying(|| self.inner.delete_many(keys)).await
    }

    /// Resumes a failed listing after the last key it yielded.
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        struct State<'a> {
            stream: BoxStream<'a, Result<ObjectMeta>>,
            options: ListOptions,
            failures: u32,
            done: bool,
        }
        let state = State {
            stream: self.inner.list(options.clone()),
            options,
            failures: 0,
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
                        state.failures = 0;
                        return Some((Ok(meta), state));
                    }
                    Some(Err(e))
                        if e.is_retryable() && state.failures + 1 < self.policy.max_attempts =>
                    {
                        self.backoff(state.failures).await;
                        state.failures += 1;
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

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
