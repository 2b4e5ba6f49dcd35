//! Extension points: hooks, events, middleware, the operation context and plugins.
//!
//! Plugins and applications reach into resource and database operations only through these
//! three doors (see `DESIGN.md` §1):
//!
//! - [`Hooks`]: async functions run before/after an operation that receive its data, may
//!   rewrite it, or veto the operation with a reason ([`HookError::Vetoed`]).
//! - [`EventBus`]: typed [`Event`]s broadcast to every subscriber after the fact; writers
//!   never wait for readers.
//! - [`Middlewares`]: a `(ctx, next)` chain wrapped around a whole method call, able to
//!   short-circuit it, time it or rewrite its arguments.
//!
//! [`OperationContext`] tells hooks who performs an operation (set it with
//! [`OperationContext::scope`]), and a [`Plugin`] packages hooks, events, middleware and
//! background work, installed with `Database::use_plugin` and given its own storage area by
//! its [`PluginContext`].
//!
//! All three cost nothing when unused: hooks and middleware keep a bitmask of the points
//! that have something registered and the bus counts its subscribers, so the "nobody
//! registered" check is one atomic load — no lock, no allocation, no boxing — and the
//! caller skips the machinery entirely.
//!
//! # Integration guide (for `Resource` and `Database`)
//!
//! A `Resource` holds a [`Hooks`] and a [`Middlewares`] built with its name
//! (`Hooks::for_resource(name)`, `Middlewares::new(name)`) and a clone of the database's
//! [`EventBus`]; the `Database` holds `Hooks::for_database()` and the [`EventBus`]. All
//! three are `Arc` handles: cloning a `Resource` shares them, so a hook registered through
//! one handle is seen by every clone. Build them once per resource name (not per handle
//! returned by `db.resource(name)`), e.g. in the database's resource registry, and expose
//! them as `resource.hooks()`, `resource.middlewares()`, `db.hooks()`, `db.events()`.
//!
//! The core error wraps the two extension errors: `Hook(#[from] HookError)` (a veto keeps
//! its reason) and `Payload(#[from] PayloadMismatch)`.
//!
//! **Middleware** wraps the public method; the method body moves into an inner function
//! that runs the hooks and emits the events. Check [`Middlewares::has`] first so nothing
//! is cloned or boxed when no middleware is registered:
//!
//! ```ignore
//! pub async fn get(&self, id: &str) -> Result<Record> {
//!     if !self.middlewares.has(Operation::Get) {
//!         return self.get_inner(id.to_owned()).await;
//!     }
//!     let this = self.clone();
//!     let out = self
//!         .middlewares
//!         .run(Operation::Get, Payload::Id(id.to_owned()), move |args| async move {
//!             Ok(Payload::Record(this.get_inner(args.into_id()?).await?))
//!         })
//!         .await?;
//!     Ok(out.into_record()?)
//! }
//! ```
//!
//! Arguments and results per [`Operation`] (the terminal takes the arguments back out
//! with `into_*`, the wrapper does the same with the result):
//!
//! | operation | arguments | result |
//! |---|---|---|
//! | `Insert`, `Upsert` | `Record` | `Record` |
//! | `Update`, `Patch`, `Replace` | `Change { id, record }` (`update_with`: empty `record`) | `Record` |
//! | `Get` | `Id` | `Record` |
//! | `GetFromPartition` | `Options` (`{"partition", "partitionValues", "id"}`) | `Record` |
//! | `Exists`, `HasContent` | `Id` | `Flag` |
//! | `Delete`, `DeleteContent` | `Id` | `None` |
//! | `GetMany` | `Ids` | `Records` |
//! | `DeleteMany` | `Ids` | `Count` |
//! | `DeleteAll` | `None` | `Count` |
//! | `InsertMany` | not run: each record goes through `Insert` | |
//! | `List`, `GetAll`, `Query` | `Options` (filter, limit, offset, partition…) | `Records` |
//! | `Page` | `Options` (`size`, `cursor`, `page`, `partition`, `partitionValues`) | `Options` (`items`, `nextCursor`, `pageSize`) |
//! | `ListIds` | `Options` | `Ids` |
//! | `Count` | `Options` | `Count` |
//! | `Content` | `Id` | `Content { .. }`, or `None` when there is none |
//! | `SetContent` | `Content { id, body, content_type }` | `None` |
//!
//! **Hooks** run inside the inner function; [`Hooks::run`] hands back the (possibly
//! rewritten) data, at the cost of one atomic load when nothing is registered:
//!
//! ```ignore
//! async fn insert_inner(&self, record: Record) -> Result<Record> {
//!     let record = self.hooks.run(HookPoint::BeforeInsert, Payload::Record(record)).await?.into_record()?;
//!     /* id, timestamps, validate, encode, put, partition references */
//!     let record = self.hooks.run(HookPoint::AfterInsert, Payload::Record(record)).await?.into_record()?;
//!     self.events.emit_with(|| Event::Inserted {
//!         resource: self.name().to_owned(),
//!         id: id.clone(),
//!         record: record.clone(),
//!     });
//!     Ok(record)
//! }
//! ```
//!
//! The data each point receives (a hook must hand back the same variant):
//!
//! | point | [`Payload`] |
//! |---|---|
//! | `BeforeInsert` / `AfterInsert` | `Record` (before id generation and validation / as stored, with `id`) |
//! | `BeforeUpdate`, `BeforePatch`, `BeforeReplace` | `Change { id, record }` (the changes, or the whole record) |
//! | `AfterUpdate`, `AfterPatch`, `AfterReplace` | `Record` (as stored) |
//! | `BeforeDelete` / `AfterDelete` | `Id` / `Record` (the deleted record; `Id` if it was not read) |
//! | `BeforeGet` / `AfterGet` | `Id` / `Record` |
//! | `BeforeExists` / `AfterExists` | `Id` / `Flag` |
//! | `BeforeList`, `BeforeQuery`, `BeforeCount` | `Options` (filter, limit, offset, partition…) |
//! | `AfterList`, `AfterQuery`, `AfterGetMany` | `Records` |
//! | `AfterCount`, `AfterDeleteMany` | `Count` |
//! | `BeforeGetMany`, `BeforeDeleteMany` | `Ids` |
//! | `BeforeConnect`, `BeforeDisconnect`, `AfterDisconnect`, `BeforeUploadMetadata` | `None` |
//! | `AfterConnect`, `AfterUploadMetadata` | `Options` (the `s3db.json` document) |
//! | `BeforeCreateResource` / `AfterCreateResource` | `Options` (the config, s3db.js shape) / `Name` |
//!
//! Rewritten data is used: a `BeforeGet` hook may redirect to another id, a
//! `BeforeQuery` hook may narrow the filter. A before-hook veto aborts the operation before
//! anything is written; an after-hook veto turns a completed operation into an error (the
//! write stays, as in s3db.js). `update`'s conditional retry loop runs `BeforeUpdate`
//! once, on the changes, not on every retry.
//!
//! **Events** are emitted after success and built only when someone listens
//! ([`EventBus::emit_with`]): `Inserted` (insert, upsert that created), `Updated` (update,
//! patch, replace, upsert that updated, with the record before and after), `Deleted`,
//! `Fetched` (get), `Listed`, `ListedIds`, `Counted`, `InsertedMany`, `DeletedMany`,
//! `FetchedMany`, `DeletedAll`, `ContentSet`, `ContentFetched`, `ContentDeleted`;
//! `ExceedsLimit` from the user-managed behavior; `PartitionIndexError` when a partition
//! reference write fails after the record was written; `VersionUpdated` and
//! `ResourceCreated` / `ResourceUpdated` from `create_resource`; `MetadataUploaded` after
//! `s3db.json` is saved; `Connected` / `Disconnected` from the database; `Error` for
//! failures the caller does not see directly (one item of a bulk operation).

mod context;
mod events;
mod hooks;
mod middleware;
mod operation;
mod payload;
mod plugin;

pub use context::OperationContext;

pub use events::{DEFAULT_EVENT_CAPACITY, Event, EventBus, Subscription};
pub use hooks::{HookContext, HookError, HookId, HookPoint, Hooks, Veto};
pub use middleware::{MiddlewareContext, Middlewares, Next};
pub use operation::Operation;
pub use payload::{Payload, PayloadMismatch};
pub use plugin::{Plugin, PluginContext};
