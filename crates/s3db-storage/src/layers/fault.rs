//! [`Faults`]: deterministic fault injection for tests — failures before or after the real call,
//! and added latency.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, ObjectMeta, PutMode, PutPayload,
};

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call goes through untouched.
    Pass,
    /// The call fails with this kind without reaching the inner storage.
    Fail(ErrorKind),
    /// The call reaches the inner storage (and takes effect), then fails with this kind, as if
    /// the response was lost. A listing yields its first item before failing.
    FailAfter(ErrorKind),
}

/// Where faults come from.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultSource {
    /// Each call fails with probability `rate`; of those failures, the fraction `after_success`
    /// happen after the inner call succeeded. Deterministic for a given `seed`.
    Random {
        /// Seed of the random generator.
        seed: u64,
        /// Fraction of calls that fail, 0.0 to 1.0.
        rate: f64,
        /// The error kind injected.
        kind: ErrorKind,
        /// Fraction of the failures that strike after the call succeeded.
        after_success: f64,
    },
    /// One fault per call, in order; calls after the end pass.
    Script(Vec<Fault>),
}

/// A complete fault-injection setup.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Where faults come from.
    pub source: FaultSource,
    /// Latency added before every affected call.
    pub latency: Option<Duration>,
    /// Operations affected; `None` = all of them.
    pub operations: Option<Vec<Operation>>,
}

impl FaultPlan {
    /// Fails `rate` of all calls with `kind`, seeded; none after success, no latency.
    pub fn random(seed: u64, rate: f64, kind: ErrorKind) -> Self {
        FaultPlan {
            source: FaultSource::Random {
                seed,
                rate,
                kind,
                after_success: 0.0,
            },
            latency: None,
            operations: None,
        }
    }

    /// Applies `faults` to the calls in order.
    pub fn script(faults: impl IntoIterator<Item = Fault>) -> Self {
        FaultPlan {
            source: FaultSource::Script(faults.into_iter().collect()),
            latency: None,
            operations: None,
        }
    }

    /// Makes `fraction` of random failures strike after the call succeeded.
    pub fn after_success(mut self, fraction: f64) -> Self {
        if let FaultSource::Random { after_success, .. } = &mut self.source {
            *after_success = fraction;
        }
        self
    }

    /// Adds `latency` before every affected call.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Restricts faults (and latency) to these operations.
    pub fn only(mut self, operations: &[Operation]) -> Self {
        self.operations = Some(operations.to_vec());
        self
    }
}

enum Picker {
    Random {
        rng: Box<StdRng>,
        rate: f64,
        kind: ErrorKind,
        after_success: f64,
    },
    Script(VecDeque<Fault>),
}

impl Picker {
    fn next(&mut self) -> Fault {
        match self {
            Picker::Random {
                rng,
                rate,
                kind,
                after_success,
            } => {
                if rng.gen_bool(rate.clamp(0.0, 1.0)) {
                    if rng.gen_bool(after_success.clamp(0.0, 1.0)) {
                        Fault::FailAfter(*kind)
                    } else {
                        Fault::Fail(*kind)
                    }
                } else {
                    Fault::Pass
                }
            }
            Picker::Script(faults) => faults.pop_front().unwrap_or(Fault::Pass),
        }
    }
}

/// Injects failures and latency into calls to the inner storage.
pub struct Faults<S> {
    inner: S,
    picker: Mutex<Picker>,
    latency: Option<Duration>,
    operations: Option<Vec<Operation>>,
    injected: AtomicU64,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Faults<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("inner", &self.inner)
            .field("latency", &self.latency)
            .field("injected", &self.injected)
            .finish()
    }
}

impl<S: Storage> Faults<S> {
    /// Wraps `inner` following `plan`.
    pub fn new(inner: S, plan: FaultPlan) -> Self {
        let picker = match plan.source {
            FaultSource::Random {
                seed,
                rate,
                kind,
                after_success,
            } => Picker::Random {
                rng: Box::new(StdRng::seed_from_u64(seed)),
                rate,
                kind,
                after_success,
            },
            FaultSource::Script(faults) => Picker::Script(faults.into()),
        };
        Faults {
            inner,
            picker: Mutex::new(picker),
            latency: plan.latency,
            operations: plan.operations,
            injected: AtomicU64::new(0),
        }
    }

    /// How many failures were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Picks this call's fault (after the added latency).
    async fn pick(&self, operation: Operation) -> Fault {
        if self
            .operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&operation))
        {
            return Fault::Pass;
        }
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        let fault = self
            .picker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .next();
        if fault != Fault::Pass {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        fault
    }

    async fn call<T>(
        &self,
        operation: Operation,
        key: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.pick(operation).await {
            Fault::Pass => call.await,
            Fault::Fail(kind) => Err(injected(kind, operation, key, "injected fault")),
            Fault::FailAfter(kind) => {
                call.await?;
                Err(injected(
                    kind,
                    operation,
                    key,
                    "injected fault after the call succeeded",
                ))
            }
        }
    }
}

fn injected(kind: ErrorKind, operation: Operation, key: &str, message: &str) -> Error {
    Error::new(kind, operation, key).with_message(message)
}

#[async_trait]
impl<S: Storage> Storage for Faults<S> {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        self.call(Operation::Put, key, self.inner.put(key, payload, mode))
            .await
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        self.call(Operation::Get, key, self.inner.get(key)).await
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        self.call(Operation::Head, key, self.inner.head(key)).await
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.call(Operation::Copy, to, self.inner.copy(from, to, options))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.call(Operation::Delete, key, self.inner.delete(key))
            .await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        self.call(Operation::DeleteMany, "", self.inner.delete_many(keys))
            .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        stream::once(self.pick(Operation::List))
            .flat_map(move |fault| {
                let prefix = options.prefix.clone();
                match fault {
                    Fault::Pass => self.inner.list(options.clone()),
                    Fault::Fail(kind) => stream::once(async move {
                        Err(injected(kind, Operation::List, &prefix, "injected fault"))
                    })
                    .boxed(),
                    Fault::FailAfter(kind) => self
                        .inner
                        .list(options.clone())
                        .take(1)
                        .chain(stream::once(async move {
                            Err(injected(
                                kind,
                                Operation::List,
                                &prefix,
                                "injected fault after the first page item",
                            ))
                        }))
                        .boxed(),
                }
            })
            .boxed()
    }

    /// The inner storage's, plus transient failures (this layer injects them).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transient_failures: true,
            ..self.inner.capabilities()
        }
    }
}
