//! Who performs an operation: a task-scoped context that hooks and plugins can read.

use std::future::Future;

use serde_json::{Map, Value};

tokio::task_local! {
    static CURRENT: OperationContext;
}

/// Who performs the operations of a task, and any facts the caller wants recorded with
/// them (request id, tenant…). Plugins such as audit read it from inside their hooks.
///
/// The context is task-scoped: it is seen by everything awaited inside
/// [`OperationContext::scope`] on the same task (hooks and middleware run inline), not by
/// tasks spawned from it.
///
/// ```
/// use s3db_core::extend::OperationContext;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(OperationContext::current().is_none());
/// let who = OperationContext::user("ana").with("request", "r-1");
/// let seen = who.scope(async { OperationContext::current() }).await;
/// let seen = seen.unwrap();
/// assert_eq!(seen.user.as_deref(), Some("ana"));
/// assert_eq!(seen.metadata["request"], "r-1");
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationContext {
    /// The acting user or service, if known.
    pub user: Option<String>,
    /// Free-form facts recorded with the operation.
    pub metadata: Map<String, Value>,
}

impl OperationContext {
    /// A context naming the acting user.
    pub fn user(user: impl Into<String>) -> OperationContext {
        OperationContext {
            user: Some(user.into()),
            metadata: Map::new(),
        }
    }

    /// Adds a fact to record with the operation.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> OperationContext {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Runs `future` with this context as the current one.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The context of the running task, if one was set with [`OperationContext::scope`].
    pub fn current() -> Option<OperationContext> {
        CURRENT.try_with(Clone::clone).ok()
    }
}
