//! Hooks: async functions run before and after an operation that may rewrite its data or
//! veto it.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use futures::future::BoxFuture;

use super::operation::Operation;
use super::payload::{Payload, PayloadMismatch};

/// Where a hook runs: s3db.js's resource and database hook names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookPoint {
    /// `beforeInsert`.
    BeforeInsert,
    /// `afterInsert`.
    AfterInsert,
    /// `beforeUpdate`.
    BeforeUpdate,
    /// `afterUpdate`.
    AfterUpdate,
    /// `beforePatch`.
    BeforePatch,
    /// `afterPatch`.
    AfterPatch,
    /// `beforeReplace`.
    BeforeReplace,
    /// `afterReplace`.
    AfterReplace,
    /// `beforeDelete`.
    BeforeDelete,
    /// `afterDelete`.
    AfterDelete,
    /// `beforeGet`.
    BeforeGet,
    /// `afterGet`.
    AfterGet,
    /// `beforeList`.
    BeforeList,
    /// `afterList`.
    AfterList,
    /// `beforeQuery`.
    BeforeQuery,
    /// `afterQuery`.
    AfterQuery,
    /// `beforeCount`.
    BeforeCount,
    /// `afterCount`.
    AfterCount,
    /// `beforeExists`.
    BeforeExists,
    /// `afterExists`.
    AfterExists,
    /// `beforeGetMany`.
    BeforeGetMany,
    /// `afterGetMany`.
    AfterGetMany,
    /// `beforeDeleteMany`.
    BeforeDeleteMany,
    /// `afterDeleteMany`.
    AfterDeleteMany,
    /// `beforeConnect` (database).
    BeforeConnect,
    /// `afterConnect` (database).
    AfterConnect,
    /// `beforeCreateResource` (database).
    BeforeCreateResource,
    /// `afterCreateResource` (database).
    AfterCreateResource,
    /// `beforeUploadMetadata` (database).
    BeforeUploadMetadata,
    /// `afterUploadMetadata` (database).
    AfterUploadMetadata,
    /// `beforeDisconnect` (database).
    BeforeDisconnect,
    /// `afterDisconnect` (database).
    AfterDisconnect,
}

/// The operations with resource hooks, in the order of their `Before*`/`After*` pairs.
const HOOKED_OPERATIONS: [Operation; 12] = [
    Operation::Insert,
    Operation::Update,
    Operation::Patch,
    Operation::Replace,
    Operation::Delete,
    Operation::Get,
    Operation::List,
    Operation::Query,
    Operation::Count,
    Operation::Exists,
    Operation::GetMany,
    Operation::DeleteMany,
];

impl HookPoint {
    /// Number of hook points.
    pub const COUNT: usize = 32;

    /// Every hook point, before/after pairs in declaration order.
    pub const ALL: [HookPoint; HookPoint::COUNT] = [
        HookPoint::BeforeInsert,
        HookPoint::AfterInsert,
        HookPoint::BeforeUpdate,
        HookPoint::AfterUpdate,
        HookPoint::BeforePatch,
        HookPoint::AfterPatch,
        HookPoint::BeforeReplace,
        HookPoint::AfterReplace,
        HookPoint::BeforeDelete,
        HookPoint::AfterDelete,
        HookPoint::BeforeGet,
        HookPoint::AfterGet,
        HookPoint::BeforeList,
        HookPoint::AfterList,
        HookPoint::BeforeQuery,
        HookPoint::AfterQuery,
        HookPoint::BeforeCount,
        HookPoint::AfterCount,
        HookPoint::BeforeExists,
        HookPoint::AfterExists,
        HookPoint::BeforeGetMany,
        HookPoint::AfterGetMany,
        HookPoint::BeforeDeleteMany,
        HookPoint::AfterDeleteMany,
        HookPoint::BeforeConnect,
        HookPoint::AfterConnect,
        HookPoint::BeforeCreateResource,
        HookPoint::AfterCreateResource,
        HookPoint::BeforeUploadMetadata,
        HookPoint::AfterUploadMetadata,
        HookPoint::BeforeDisconnect,
        HookPoint::AfterDisconnect,
    ];

    /// The s3db.js hook name (`"beforeInsert"`).
    pub fn name(self) -> &'static str {
        match self {
            HookPoint::BeforeInsert => "beforeInsert",
            HookPoint::AfterInsert => "afterInsert",
            HookPoint::BeforeUpdate => "beforeUpdate",
            HookPoint::AfterUpdate => "afterUpdate",
            HookPoint::BeforePatch => "beforePatch",
            HookPoint::AfterPatch => "afterPatch",
            HookPoint::BeforeReplace => "beforeReplace",
            HookPoint::AfterReplace => "afterReplace",
            HookPoint::BeforeDelete => "beforeDelete",
            HookPoint::AfterDelete => "afterDelete",
            HookPoint::BeforeGet => "beforeGet",
            HookPoint::AfterGet => "afterGet",
            HookPoint::BeforeList => "beforeList",
            HookPoint::AfterList => "afterList",
            HookPoint::BeforeQuery => "beforeQuery",
            HookPoint::AfterQuery => "afterQuery",
            HookPoint::BeforeCount => "beforeCount",
            HookPoint::AfterCount => "afterCount",
            HookPoint::BeforeExists => "beforeExists",
            HookPoint::AfterExists => "afterExists",
            HookPoint::BeforeGetMany => "beforeGetMany",
            HookPoint::AfterGetMany => "afterGetMany",
            HookPoint::BeforeDeleteMany => "beforeDeleteMany",
            HookPoint::AfterDeleteMany => "afterDeleteMany",
            HookPoint::BeforeConnect => "beforeConnect",
            HookPoint::AfterConnect => "afterConnect",
            HookPoint::BeforeCreateResource => "beforeCreateResource",
            HookPoint::AfterCreateResource => "afterCreateResource",
            HookPoint::BeforeUploadMetadata => "beforeUploadMetadata",
            HookPoint::AfterUploadMetadata => "afterUploadMetadata",
            HookPoint::BeforeDisconnect => "beforeDisconnect",
            HookPoint::AfterDisconnect => "afterDisconnect",
        }
    }

    /// The hook point of an s3db.js hook name, if there is one. The legacy names
    /// `preInsert`, `preUpdate` and `preDelete` are aliases of `beforeInsert`,
    /// `beforeUpdate` and `beforeDelete`.
    ///
    /// ```
    /// use s3db_core::extend::HookPoint;
    /// assert_eq!(HookPoint::from_name("preInsert"), Some(HookPoint::BeforeInsert));
    /// assert_eq!(HookPoint::from_name("afterGet"), Some(HookPoint::AfterGet));
    /// ```
    pub fn from_name(name: &str) -> Option<HookPoint> {
        match name {
            "preInsert" => Some(HookPoint::BeforeInsert),
            "preUpdate" => Some(HookPoint::BeforeUpdate),
            "preDelete" => Some(HookPoint::BeforeDelete),
            _ => HookPoint::ALL
                .into_iter()
                .find(|point| point.name() == name),
        }
    }

    /// The `before*` point of a resource operation (`None` for operations without hooks,
    /// such as `upsert` or `listIds`).
    pub fn before(operation: Operation) -> Option<HookPoint> {
        let pair = HOOKED_OPERATIONS.iter().position(|op| *op == operation)?;
        Some(HookPoint::ALL[2 * pair])
    }

    /// The `after*` point of a resource operation (`None` for operations without hooks).
    pub fn after(operation: Operation) -> Option<HookPoint> {
        let pair = HOOKED_OPERATIONS.iter().position(|op| *op == operation)?;
        Some(HookPoint::ALL[2 * pair + 1])
    }

    /// The resource operation of this point; `None` for database points.
    pub fn operation(self) -> Option<Operation> {
        HOOKED_OPERATIONS.get(self as usize / 2).copied()
    }

    /// Whether this is a `before*` point.
    pub fn is_before(self) -> bool {
        (self as usize).is_multiple_of(2)
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a hook returns to stop an operation, with the reason given to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Veto {
    /// Why the operation was refused.
    pub reason: String,
}

impl Veto {
    /// A veto with this reason.
    pub fn new(reason: impl Into<String>) -> Veto {
        Veto {
            reason: reason.into(),
        }
    }
}

/// A hook stopped an operation. The core error wraps it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// A hook vetoed the operation.
    #[error("{}: {point} hook #{position} vetoed the operation: {reason}", scope(.resource))]
    Vetoed {
        /// The hook point.
        point: HookPoint,
        /// The resource, `None` for database hooks.
        resource: Option<String>,
        /// The hook's position among those registered at the point (0 = first).
        position: usize,
        /// The reason the hook gave.
        reason: String,
    },
    /// A hook handed back a different kind of data than it received.
    #[error("{}: {point} hook #{position} returned the wrong data: {source}", scope(.resource))]
    WrongPayload {
        /// The hook point.
        point: HookPoint,
        /// The resource, `None` for database hooks.
        resource: Option<String>,
        /// The hook's position among those registered at the point.
        position: usize,
        /// What was expected and found.
        #[source]
        source: PayloadMismatch,
    },
}

impl HookError {
    /// The veto reason, if a hook vetoed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            HookError::Vetoed { reason, .. } => Some(reason),
            HookError::WrongPayload { .. } => None,
        }
    }
}

fn scope(resource: &Option<String>) -> String {
    match resource {
        Some(name) => format!("resource {name:?}"),
        None => "database".to_owned(),
    }
}

/// What a hook is told besides its data.
#[derive(Debug, Clone)]
pub struct HookContext {
    /// The point the hook runs at.
    pub point: HookPoint,
    /// The resource, `None` for database hooks.
    pub resource: Option<Arc<str>>,
}

/// Identifies a registered hook, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

type HookFn =
    Arc<dyn Fn(HookContext, Payload) -> BoxFuture<'static, Result<Payload, Veto>> + Send + Sync>;

/// The hooks of one point: copy-on-write, so a run works on a snapshot without the lock.
type HookList = Arc<[(HookId, HookFn)]>;

/// The hook registry of a resource or of the database.
///
/// Several hooks may be registered per [`HookPoint`]; they run one after the other in
/// registration order, each receiving the data the previous one returned. A hook that
/// returns `Err(Veto)` stops the chain and the operation with [`HookError::Vetoed`], which
/// keeps the reason. A hook must return the [`Payload`] variant it received (it may change
/// the contents); anything else is [`HookError::WrongPayload`].
///
/// `Hooks` is a cheap `Arc` handle: clones share the registry. When nothing is registered
/// at a point, [`Hooks::run`] costs one atomic load and returns the data untouched (no lock,
/// no allocation, no boxing). Registering while operations run is safe: a run uses the
/// hooks registered when it started.
///
/// ```
/// use s3db_core::extend::{HookError, HookPoint, Hooks, Payload, Veto};
/// use serde_json::{Map, Value};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let hooks = Hooks::for_resource("users");
/// // Normalise emails before they are validated and written…
/// hooks.register(HookPoint::BeforeInsert, |_ctx, mut data: Payload| async move {
///     if let Some(record) = data.record_mut() {
///         if let Some(Value::String(email)) = record.get_mut("email") {
///             *email = email.to_lowercase();
///         }
///     }
///     Ok(data)
/// });
/// // …and refuse records without one.
/// hooks.register(HookPoint::BeforeInsert, |_ctx, data: Payload| async move {
///     match &data {
///         Payload::Record(record) if record.contains_key("email") => Ok(data),
///         _ => Err(Veto::new("an email is required")),
///     }
/// });
///
/// let mut record = Map::new();
/// record.insert("email".into(), Value::from("Ana@Example.COM"));
/// let out = hooks.run(HookPoint::BeforeInsert, Payload::Record(record)).await?;
/// assert_eq!(out.into_record()?["email"], "ana@example.com");
///
/// let refused = hooks.run(HookPoint::BeforeInsert, Payload::Record(Map::new())).await;
/// assert_eq!(refused.unwrap_err().reason(), Some("an email is required"));
///
/// // Nothing registered: the data comes back as it went in.
/// assert!(!hooks.has(HookPoint::AfterInsert));
/// assert_eq!(hooks.run(HookPoint::AfterInsert, Payload::Count(3)).await?, Payload::Count(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Hooks {
    shared: Arc<Shared>,
}

struct Shared {
    resource: Option<Arc<str>>,
    /// Bit `point as u32` is set when the point has at least one hook.
    registered: AtomicU64,
    next_id: AtomicU64,
    table: RwLock<[Option<HookList>; HookPoint::COUNT]>,
}

impl Hooks {
    /// An empty registry for the resource `name`.
    pub fn for_resource(name: impl Into<Arc<str>>) -> Hooks {
        Hooks::with_scope(Some(name.into()))
    }

    /// An empty registry for database hooks.
    pub fn for_database() -> Hooks {
        Hooks::with_scope(None)
    }

    fn with_scope(resource: Option<Arc<str>>) -> Hooks {
        Hooks {
            shared: Arc::new(Shared {
                resource,
                registered: AtomicU64::new(0),
                next_id: AtomicU64::new(0),
                table: RwLock::new(std::array::from_fn(|_| None)),
            }),
        }
    }

    /// The resource these hooks belong to (`None` for the database).
    pub fn resource(&self) -> Option<&str> {
        self.shared.resource.as_deref()
    }

    /// Adds a hook at `point`, after those already there.
    pub fn register<F, Fut>(&self, point: HookPoint, hook: F) -> HookId
    where
        F: Fn(HookContext, Payload) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Payload, Veto>> + Send + 'static,
    {
        let id = HookId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        let hook: HookFn = Arc::new(move |ctx, data| Box::pin(hook(ctx, data)));
        let mut table = self
            .shared
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = &mut table[point as usize];
        let mut hooks: Vec<(HookId, HookFn)> = slot.as_deref().unwrap_or_default().to_vec();
        hooks.push((id, hook));
        *slot = Some(hooks.into());
        self.shared
            .registered
            .fetch_or(point.bit(), Ordering::Release);
        id
    }

    /// Removes the hook `id` from `point`; whether it was there.
    pub fn remove(&self, point: HookPoint, id: HookId) -> bool {
        let mut table = self
            .shared
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = &mut table[point as usize];
        let Some(current) = slot.as_deref() else {
            return false;
        };
        let kept: Vec<(HookId, HookFn)> = current
            .iter()
            .filter(|(hook_id, _)| *hook_id != id)
            .cloned()
            .collect();
        if kept.len() == current.len() {
            return false;
        }
        if kept.is_empty() {
            *slot = None;
            self.shared
                .registered
                .fetch_and(!point.bit(), Ordering::Release);
        } else {
            *slot = Some(kept.into());
        }
        true
    }

    /// Removes every hook at `point`.
    pub fn clear(&self, point: HookPoint) {
        let mut table = self
            .shared
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        table[point as usize] = None;
        self.shared
            .registered
            .fetch_and(!point.bit(), Ordering::Release);
    }

    /// Whether any hook is registered at `point` (one atomic load).
    pub fn has(&self, point: HookPoint) -> bool {
        self.shared.registered.load(Ordering::Acquire) & point.bit() != 0
    }

    /// Whether no hook is registered at any point.
    pub fn is_empty(&self) -> bool {
        self.shared.registered.load(Ordering::Acquire) == 0
    }

    /// How many hooks are registered at `point`.
    pub fn len(&self, point: HookPoint) -> usize {
        self.snapshot(point).map_or(0, |hooks| hooks.len())
    }

    /// Runs the hooks of `point` in registration order over `data` and returns what the
    /// last one handed back; `data` itself when there are none.
    pub async fn run(&self, point: HookPoint, data: Payload) -> Result<Payload, HookError> {
        if !self.has(point) {
            return Ok(data);
        }
        let Some(hooks) = self.snapshot(point) else {
            return Ok(data);
        };
        let ctx = HookContext {
            point,
            resource: self.shared.resource.clone(),
        };
        let mut data = data;
        for (position, (_, hook)) in hooks.iter().enumerate() {
            let expected = data.kind();
            data = hook(ctx.clone(), data)
                .await
                .map_err(|veto| HookError::Vetoed {
                    point,
                    resource: self.resource().map(str::to_owned),
                    position,
                    reason: veto.reason,
                })?;
            if data.kind() != expected {
                return Err(HookError::WrongPayload {
                    point,
                    resource: self.resource().map(str::to_owned),
                    position,
                    source: PayloadMismatch {
                        expected,
                        found: data.kind(),
                    },
                });
            }
        }
        Ok(data)
    }

    fn snapshot(&self, point: HookPoint) -> Option<HookList> {
        let table = self
            .shared
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        table[point as usize].clone()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered: Vec<(&str, usize)> = HookPoint::ALL
            .into_iter()
            .filter(|point| self.has(*point))
            .map(|point| (point.name(), self.len(point)))
            .collect();
        f.debug_struct("Hooks")
            .field("resource", &self.resource())
            .field("registered", &registered)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_pair_with_their_operations() {
        for op in HOOKED_OPERATIONS {
            let (Some(before), Some(after)) = (HookPoint::before(op), HookPoint::after(op)) else {
                panic!("{op} has no hook pair");
            };
            assert!(before.is_before() && !after.is_before());
            assert_eq!(before.operation(), Some(op));
            assert_eq!(after.operation(), Some(op));
            let suffix = before.name().trim_start_matches("before");
            assert_eq!(suffix.to_lowercase(), op.as_str().to_lowercase());
            assert_eq!(after.name(), format!("after{suffix}"));
        }
        assert_eq!(HookPoint::before(Operation::Upsert), None);
        assert_eq!(HookPoint::BeforeConnect.operation(), None);
        for point in HookPoint::ALL {
            assert_eq!(HookPoint::from_name(point.name()), Some(point));
        }
    }
}
