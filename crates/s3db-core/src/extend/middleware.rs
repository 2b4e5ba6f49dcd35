//! Middleware: `(ctx, next)` functions wrapped around a whole method call.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use futures::future::BoxFuture;

use super::operation::Operation;
use super::payload::Payload;

/// What a middleware sees of the call it wraps.
#[derive(Debug, Clone, PartialEq)]
pub struct MiddlewareContext {
    /// The method called.
    pub operation: Operation,
    /// The resource.
    pub resource: Arc<str>,
    /// The arguments; a middleware may rewrite them before calling [`Next::run`].
    pub args: Payload,
}

type MiddlewareFn<E> =
    Arc<dyn Fn(MiddlewareContext, Next<E>) -> BoxFuture<'static, Result<Payload, E>> + Send + Sync>;

type Terminal<E> = Box<dyn FnOnce(Payload) -> BoxFuture<'static, Result<Payload, E>> + Send>;

/// The rest of the chain: the next middleware, or the method itself after the last one.
///
/// [`Next::run`] takes `self`, so a middleware calls the rest of the chain at most once;
/// not calling it short-circuits the method.
pub struct Next<E = crate::Error> {
    chain: Arc<[MiddlewareFn<E>]>,
    index: usize,
    terminal: Terminal<E>,
}

impl<E: Send + 'static> Next<E> {
    /// Runs the rest of the chain with `ctx` (possibly rewritten) and returns its result.
    pub fn run(self, ctx: MiddlewareContext) -> BoxFuture<'static, Result<Payload, E>> {
        match self.chain.get(self.index).cloned() {
            Some(middleware) => middleware(
                ctx,
                Next {
                    chain: self.chain,
                    index: self.index + 1,
                    terminal: self.terminal,
                },
            ),
            None => (self.terminal)(ctx.args),
        }
    }
}

impl<E> fmt::Debug for Next<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.chain.len().saturating_sub(self.index))
            .finish()
    }
}

/// The middleware registry of a resource, per [`Operation`].
///
/// A middleware is an async function `(ctx, next)`: it may look at or rewrite
/// `ctx.args`, call `next.run(ctx)` to go on (and look at or replace the result), or
/// return without calling it to short-circuit the method. Errors are the core's error type
/// `E` (by default [`crate::Error`]).
///
/// **Order:** the first registered middleware is the outermost: it runs first on the way
/// in and last on the way out (`a` registered before `b` gives `a → b → method → b → a`),
/// as in s3db.js's `useMiddleware`.
///
/// `Middlewares` is a cheap `Arc` handle: clones share the registry. [`Middlewares::has`]
/// is one atomic load, so a resource method skips the chain entirely (no boxing, no
/// allocation) when nothing is registered for it; [`Middlewares::run`] does the same check.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, Instant};
/// use s3db_core::extend::{Middlewares, Operation, Payload};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let middlewares: Middlewares = Middlewares::new("users");
/// // Time every `get`…
/// let timings = Arc::new(Mutex::new(Vec::<Duration>::new()));
/// let sink = timings.clone();
/// middlewares.register(Operation::Get, move |ctx, next| {
///     let sink = sink.clone();
///     async move {
///         let started = Instant::now();
///         let result = next.run(ctx).await;
///         sink.lock().unwrap().push(started.elapsed());
///         result
///     }
/// });
/// // …and answer `get("me")` without reaching storage.
/// middlewares.register(Operation::Get, |ctx, next| async move {
///     if ctx.args == Payload::Id("me".into()) {
///         return Ok(Payload::Record(serde_json::Map::new()));
///     }
///     next.run(ctx).await
/// });
///
/// // The method itself is the terminal: it receives the (possibly rewritten) arguments.
/// let out = middlewares
///     .run(Operation::Get, Payload::Id("me".into()), |_args| async move {
///         unreachable!("short-circuited before the method")
///     })
///     .await?;
/// assert_eq!(out, Payload::Record(serde_json::Map::new()));
/// assert_eq!(timings.lock().unwrap().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Middlewares<E = crate::Error> {
    shared: Arc<Shared<E>>,
}

type Chain<E> = Arc<[MiddlewareFn<E>]>;

struct Shared<E> {
    resource: Arc<str>,
    /// Bit [`Operation::bit`] is set when the operation has at least one middleware.
    registered: AtomicU64,
    table: RwLock<[Option<Chain<E>>; Operation::ALL.len()]>,
}

impl<E: Send + 'static> Middlewares<E> {
    /// An empty registry for the resource `name`.
    pub fn new(resource: impl Into<Arc<str>>) -> Middlewares<E> {
        Middlewares {
            shared: Arc::new(Shared {
                resource: resource.into(),
                registered: AtomicU64::new(0),
                table: RwLock::new(std::array::from_fn(|_| None)),
            }),
        }
    }

    /// The resource this registry belongs to.
    pub fn resource(&self) -> &str {
        &self.shared.resource
    }

    /// Adds a middleware around `operation`, inside those already registered.
    pub fn register<F, Fut>(&self, operation: Operation, middleware: F)
    where
        F: Fn(MiddlewareContext, Next<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Payload, E>> + Send + 'static,
    {
        let middleware: MiddlewareFn<E> =
            Arc::new(move |ctx, next| Box::pin(middleware(ctx, next)));
        let mut table = self
            .shared
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = &mut table[operation as usize];
        let mut chain: Vec<MiddlewareFn<E>> = slot.as_deref().unwrap_or_default().to_vec();
        chain.push(middleware);
        *slot = Some(chain.into());
        self.shared
            .registered
            .fetch_or(operation.bit(), Ordering::Release);
    }

    /// Removes every middleware of `operation`.
    pub fn clear(&self, operation: Operation) {
        let mut table = self
            .shared
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        table[operation as usize] = None;
        self.shared
            .registered
            .fetch_and(!operation.bit(), Ordering::Release);
    }

    /// Whether any middleware wraps `operation` (one atomic load).
    pub fn has(&self, operation: Operation) -> bool {
        self.shared.registered.load(Ordering::Acquire) & operation.bit() != 0
    }

    /// Whether no middleware is registered at all.
    pub fn is_empty(&self) -> bool {
        self.shared.registered.load(Ordering::Acquire) == 0
    }

    /// How many middlewares wrap `operation`.
    pub fn len(&self, operation: Operation) -> usize {
        self.chain(operation).map_or(0, |chain| chain.len())
    }

    /// Calls `method` with `args` through the middlewares of `operation` (directly when
    /// there are none) and returns the result the outermost middleware hands back.
    pub async fn run<F, Fut>(
        &self,
        operation: Operation,
        args: Payload,
        method: F,
    ) -> Result<Payload, E>
    where
        F: FnOnce(Payload) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Payload, E>> + Send + 'static,
    {
        let chain = if self.has(operation) {
            self.chain(operation)
        } else {
            None
        };
        let Some(chain) = chain else {
            return method(args).await;
        };
        let next = Next {
            chain,
            index: 0,
            terminal: Box::new(move |args| Box::pin(method(args))),
        };
        next.run(MiddlewareContext {
            operation,
            resource: self.shared.resource.clone(),
            args,
        })
        .await
    }

    fn chain(&self, operation: Operation) -> Option<Chain<E>> {
        let table = self
            .shared
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        table[operation as usize].clone()
    }
}

impl<E> Clone for Middlewares<E> {
    fn clone(&self) -> Self {
        Middlewares {
            shared: self.shared.clone(),
        }
    }
}

impl<E: Send + 'static> fmt::Debug for Middlewares<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered: Vec<(&str, usize)> = Operation::ALL
            .into_iter()
            .filter(|op| self.has(*op))
            .map(|op| (op.as_str(), self.len(op)))
            .collect();
        f.debug_struct("Middlewares")
            .field("resource", &self.resource())
            .field("registered", &registered)
            .finish()
    }
}
