//! State machine plugin: per resource, states, events, guards and actions; the record's
//! state field changes only by a transition, and a transition is a conditional write.
//!
//! A machine is configured in s3db.js's `StateMachinePlugin` shape (loosely):
//! `{resource, stateField, initialState, states: {<state>: {on: {<EVENT>: <target>},
//! guards: {<EVENT>: <guard name>}, entry, exit, type: "final"}}}`, with guards and actions
//! registered by name in Rust. [`StateMachinePlugin::send`]:
//!
//! 1. reads the record with its version ([`Resource::get_with_meta`]);
//! 2. finds the transition for the event from the record's state (else
//!    [`TransitionError::InvalidEvent`]) and runs its guard (else
//!    [`TransitionError::GuardRejected`]);
//! 3. writes the new state with [`Resource::patch_if`] at the version read: of two racing
//!    transitions from one state exactly one wins; the other gets
//!    [`TransitionError::Conflict`] naming the state it found (a write that changed only
//!    other fields is not a conflict: the transition is tried again);
//! 4. stores a history entry, runs the old state's `exit` and the new state's `entry`
//!    actions, and broadcasts a [`TransitionEvent`] to [`StateMachinePlugin::subscribe`]rs.
//!
//! Inserts get the initial state (another state is refused); updates and patches that set
//! the state field outside a transition, and replaces of a managed resource, are refused by
//! the plugin's hooks. History entries live in the plugin's area:
//! `plugin=state-machine/history/resource=<r>/id=<id>/<millis>-<nonce>`.
//!
//! The user guide, with a compiled example, is `docs/plugins-state-machine.md`.

mod config;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures::future::BoxFuture;
use s3db_core::extend::{HookPoint, OperationContext, Payload, Plugin, PluginContext, Veto};
use s3db_core::{Record, Resource};
use s3db_storage::{PutMode, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

pub use config::{MachineConfig, StateConfig};

use crate::json_object::json_payload;
use crate::{Error, Result};

/// The plugin's slug (its storage area is `plugin=state-machine/`).
pub const SLUG: &str = "state-machine";

/// The operation-context key marking the plugin's own state writes.
const MARK: &str = "plg:state-machine:transition";

/// Rounds of a transition whose record changed in fields other than the state meanwhile.
const MAX_ROUNDS: u32 = 8;

/// What guards and actions see.
#[derive(Debug, Clone)]
pub struct TransitionContext {
    /// The resource.
    pub resource: String,
    /// The record id.
    pub id: String,
    /// The event sent.
    pub event: String,
    /// The state left.
    pub from: String,
    /// The state entered.
    pub to: String,
    /// The record as read before the transition (without internal fields).
    pub record: Record,
    /// The data sent with the event.
    pub data: Value,
}

/// A guard: whether the transition may happen (`Err` refuses it with a reason).
pub type GuardFn = dyn Fn(&TransitionContext) -> std::result::Result<bool, String> + Send + Sync;

/// An action run after a transition committed (an `entry` or `exit` action).
pub type ActionFn =
    dyn Fn(TransitionContext) -> BoxFuture<'static, std::result::Result<(), String>> + Send + Sync;

/// Why a transition did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The record's state has no transition for the event.
    #[error(
        "{resource}/{id}: no transition for event {event:?} from state {state:?} (allowed: {allowed:?})"
    )]
    InvalidEvent {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The state the record is in.
        state: String,
        /// The event sent.
        event: String,
        /// The events the state accepts.
        allowed: Vec<String>,
    },
    /// The transition's guard said no.
    #[error("{resource}/{id}: guard {guard:?} refused {event:?} from {state:?}: {reason}")]
    GuardRejected {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The state the record is in.
        state: String,
        /// The event sent.
        event: String,
        /// The guard's name.
        guard: String,
        /// Its reason (`"returned false"` when it just said no).
        reason: String,
    },
    /// Another transition (or write of the state) won the race: the record is no longer in
    /// the state this one started from. Nothing was written.
    #[error(
        "{resource}/{id}: {event:?} expected state {expected:?} but found {found:?}; another transition won"
    )]
    Conflict {
        /// The resource.
        resource: String,
        /// The record id.
        id: String,
        /// The event sent.
        event: String,
        /// The state the transition started from.
        expected: String,
        /// The state found after losing the write.
        found: String,
    },
    /// The resource has no machine.
    #[error("resource {resource:?} has no state machine")]
    UnknownMachine {
        /// The resource.
        resource: String,
    },
}

/// A committed transition, as returned, stored in the history and broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionEvent {
    /// The resource.
    pub resource: String,
    /// The record id.
    pub id: String,
    /// The event.
    pub event: String,
    /// The state left (s3db.js `fromState`).
    pub from_state: String,
    /// The state entered (s3db.js `toState`).
    pub to_state: String,
    /// The data sent with the event (s3db.js `context`).
    pub context: Value,
    /// When, ISO-8601.
    pub timestamp: String,
    /// The record's version after the transition.
    pub version: String,
    /// Errors of the `exit`/`entry` actions (the transition stands regardless).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_errors: Vec<String>,
}

/// Builds a [`StateMachinePlugin`].
#[derive(Default)]
pub struct StateMachineBuilder {
    machines: Vec<MachineConfig>,
    guards: BTreeMap<String, Arc<GuardFn>>,
    actions: BTreeMap<String, Arc<ActionFn>>,
}

impl StateMachineBuilder {
    /// Adds a machine (one per resource).
    pub fn machine(mut self, machine: MachineConfig) -> Self {
        self.machines.push(machine);
        self
    }

    /// Registers a guard under `name` (named in a state's `guards`).
    pub fn guard(
        mut self,
        name: impl Into<String>,
        guard: impl Fn(&TransitionContext) -> std::result::Result<bool, String> + Send + Sync + 'static,
    ) -> Self {
        self.guards.insert(name.into(), Arc::new(guard));
        self
    }

    /// Registers an action under `name` (named in a state's `entry` or `exit`).
    pub fn action<F, Fut>(mut self, name: impl Into<String>, action: F) -> Self
    where
        F: Fn(TransitionContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), String>> + Send + 'static,
    {
        let action: Arc<ActionFn> = Arc::new(move |ctx| Box::pin(action(ctx)));
        self.actions.insert(name.into(), action);
        self
    }

    /// The plugin; [`Error::Config`] names a machine's unknown state, guard or action, or a
    /// resource with two machines.
    pub fn build(self) -> Result<StateMachinePlugin> {
        let mut machines = BTreeMap::new();
        for machine in self.machines {
            machine.check(
                |guard| self.guards.contains_key(guard),
                |action| self.actions.contains_key(action),
            )?;
            let resource = machine.resource.clone();
            if machines
                .insert(resource.clone(), Arc::new(machine))
                .is_some()
            {
                return Err(config_error(format!(
                    "resource {resource:?} has two machines"
                )));
            }
        }
        let (events, _) = broadcast::channel(1024);
        Ok(StateMachinePlugin {
            machines,
            guards: self.guards,
            actions: self.actions,
            events,
            ctx: OnceLock::new(),
        })
    }
}

fn config_error(reason: String) -> Error {
    Error::Config {
        plugin: SLUG,
        reason,
    }
}

/// The state machine plugin (see the [module](self) docs).
pub struct StateMachinePlugin {
    machines: BTreeMap<String, Arc<MachineConfig>>,
    guards: BTreeMap<String, Arc<GuardFn>>,
    actions: BTreeMap<String, Arc<ActionFn>>,
    events: broadcast::Sender<TransitionEvent>,
    ctx: OnceLock<PluginContext>,
}

impl fmt::Debug for StateMachinePlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMachinePlugin")
            .field("machines", &self.machines.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl StateMachinePlugin {
    /// A builder.
    pub fn builder() -> StateMachineBuilder {
        StateMachineBuilder::default()
    }

    /// Receives every transition committed by this plugin instance from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.events.subscribe()
    }

    fn ctx(&self) -> Result<&PluginContext> {
        self.ctx
            .get()
            .ok_or_else(|| config_error("not installed: call Database::use_plugin first".into()))
    }

    fn machine(&self, resource: &str) -> Result<&Arc<MachineConfig>> {
        self.machines.get(resource).ok_or_else(|| {
            TransitionError::UnknownMachine {
                resource: resource.to_owned(),
            }
            .into()
        })
    }

    /// The state of record `id` of `resource` (its initial state when the field is unset).
    pub async fn state(&self, resource: &str, id: &str) -> Result<String> {
        let machine = self.machine(resource)?;
        let db = self.ctx()?.database()?;
        let record = db.resource(resource)?.get(id).await?;
        Ok(machine.state_of(&record))
    }

    /// Sends `event` (with `data`) to record `id` of `resource`: the transition committed,
    /// or [`Error::Transition`] saying why none happened (see the [module](self) docs).
    pub async fn send(
        &self,
        resource: &str,
        id: &str,
        event: &str,
        data: Value,
    ) -> Result<TransitionEvent> {
        let machine = self.machine(resource)?;
        let ctx = self.ctx()?;
        let target = ctx.database()?.resource(resource)?;
        for _ in 0..MAX_ROUNDS {
            let mut record = target.get_with_meta(id).await?;
            let version = record
                .get("_etag")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            record.retain(|k, _| !k.starts_with('_'));
            let from = machine.state_of(&record);
            let to = machine
                .target(&from, event)
                .ok_or_else(|| TransitionError::InvalidEvent {
                    resource: resource.to_owned(),
                    id: id.to_owned(),
                    allowed: machine.events_of(&from),
                    state: from.clone(),
                    event: event.to_owned(),
                })?;
            let tctx = TransitionContext {
                resource: resource.to_owned(),
                id: id.to_owned(),
                event: event.to_owned(),
                from: from.clone(),
                to: to.to_owned(),
                record,
                data: data.clone(),
            };
            self.check_guard(machine, &tctx)?;
            let change: Record = [(machine.state_field.clone(), Value::from(to))]
                .into_iter()
                .collect();
            let marked = OperationContext::current()
                .unwrap_or_default()
                .with(MARK, true);
            match marked.scope(target.patch_if(id, change, &version)).await {
                Ok(written) => return Ok(self.committed(ctx, machine, tctx, &written).await),
                Err(s3db_core::Error::VersionMismatch { .. }) => {
                    let now = machine.state_of(&target.get(id).await?);
                    if now != from {
                        return Err(TransitionError::Conflict {
                            resource: resource.to_owned(),
                            id: id.to_owned(),
                            event: event.to_owned(),
                            expected: from,
                            found: now,
                        }
                        .into());
                    }
                    // Another field changed: same state, try again on the new version.
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Contended {
            key: format!("resource={resource}/data/id={id}"),
            attempts: MAX_ROUNDS,
        })
    }

    fn check_guard(&self, machine: &MachineConfig, tctx: &TransitionContext) -> Result<()> {
        let Some(name) = machine.guard_of(&tctx.from, &tctx.event) else {
            return Ok(());
        };
        let rejected = |reason: String| TransitionError::GuardRejected {
            resource: tctx.resource.clone(),
            id: tctx.id.clone(),
            state: tctx.from.clone(),
            event: tctx.event.clone(),
            guard: name.to_owned(),
            reason,
        };
        match self.guards.get(name).map(|guard| guard(tctx)) {
            Some(Ok(true)) => Ok(()),
            Some(Ok(false)) => Err(rejected("returned false".into()).into()),
            Some(Err(reason)) => Err(rejected(reason).into()),
            None => Err(config_error(format!("guard {name:?} is not registered"))),
        }
    }

    /// After the write: history, actions, event.
    async fn committed(
        &self,
        ctx: &PluginContext,
        machine: &MachineConfig,
        tctx: TransitionContext,
        written: &Record,
    ) -> TransitionEvent {
        let clock = ctx.clock();
        let mut event = TransitionEvent {
            resource: tctx.resource.clone(),
            id: tctx.id.clone(),
            event: tctx.event.clone(),
            from_state: tctx.from.clone(),
            to_state: tctx.to.clone(),
            context: tctx.data.clone(),
            timestamp: clock.now_iso(),
            version: written
                .get("_etag")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            action_errors: Vec::new(),
        };
        let names = machine
            .exit_of(&tctx.from)
            .iter()
            .chain(machine.entry_of(&tctx.to));
        for name in names {
            let outcome = match self.actions.get(name) {
                Some(action) => action(tctx.clone()).await,
                None => Err("not registered".into()),
            };
            if let Err(reason) = outcome {
                tracing::warn!(resource = %tctx.resource, id = %tctx.id, action = %name, %reason, "state machine action failed");
                event.action_errors.push(format!("{name}: {reason}"));
            }
        }
        let key = format!(
            "{}{:013}-{:016x}",
            history_prefix(&tctx.resource, &tctx.id),
            clock.now_millis(),
            ctx.random().next_u64()
        );
        let body = serde_json::to_vec(&event).unwrap_or_default();
        if let Err(error) = ctx
            .storage()
            .put(&key, json_payload(body), PutMode::Create)
            .await
        {
            tracing::warn!(%key, %error, "state machine could not store a history entry");
        }
        // No subscriber is fine.
        let _ = self.events.send(event.clone());
        event
    }

    /// The transitions of record `id` of `resource`, oldest first (by the clock's
    /// millisecond in the entry's key; entries of one millisecond are put in the order
    /// their states chain). One `LIST` page per 1000 entries and one `GET` per entry.
    pub async fn history(&self, resource: &str, id: &str) -> Result<Vec<TransitionEvent>> {
        let storage = self.ctx()?.storage();
        let prefix = history_prefix(resource, id);
        let mut entries = Vec::new();
        for key in storage.list_keys(&prefix).await? {
            let found = storage.get(&key).await?;
            let event: TransitionEvent =
                serde_json::from_slice(&found.body).map_err(|e| Error::Corrupt {
                    key: key.clone(),
                    reason: e.to_string(),
                })?;
            let millis = key[prefix.len()..]
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned();
            entries.push((millis, event));
        }
        chain_same_millisecond(&mut entries);
        Ok(entries.into_iter().map(|(_, event)| event).collect())
    }

    fn register_hooks(&self, resource: &Resource, machine: &Arc<MachineConfig>) {
        let hooks = resource.hooks();
        let m = Arc::clone(machine);
        hooks.register(HookPoint::BeforeInsert, move |_ctx, payload| {
            let checked = m.on_insert(payload);
            async move { checked }
        });
        for point in [
            HookPoint::BeforeUpdate,
            HookPoint::BeforePatch,
            HookPoint::BeforeReplace,
        ] {
            let m = Arc::clone(machine);
            hooks.register(point, move |_ctx, payload| {
                let in_transition = OperationContext::current()
                    .is_some_and(|c| c.metadata.get(MARK) == Some(&Value::Bool(true)));
                let checked = if in_transition {
                    Ok(payload)
                } else {
                    m.outside_transition(point, payload)
                };
                async move { checked }
            });
        }
    }
}

/// Orders each run of entries of one millisecond (listed in random nonce order) along the
/// chain of states: first the entry leaving the state the previous run ended in (or, for
/// the first run, an entry no other entry of the run leads to), then its successor, and so
/// on; entries that fit no chain keep their listed order.
fn chain_same_millisecond(entries: &mut [(String, TransitionEvent)]) {
    let mut run_start = 0;
    while run_start < entries.len() {
        let millis = entries[run_start].0.clone();
        let run_end = run_start
            + entries[run_start..]
                .iter()
                .take_while(|(m, _)| *m == millis)
                .count();
        for i in run_start..run_end {
            let previous = (i > 0).then(|| entries[i - 1].1.to_state.clone());
            let rest = &entries[i..run_end];
            let next = previous
                .and_then(|state| rest.iter().position(|(_, e)| e.from_state == state))
                .or_else(|| {
                    rest.iter().position(|(_, e)| {
                        !rest.iter().any(|(_, other)| other.to_state == e.from_state)
                    })
                });
            if let Some(offset) = next {
                entries[i..=i + offset].rotate_right(1);
            }
        }
        run_start = run_end;
    }
}

fn history_prefix(resource: &str, id: &str) -> String {
    format!("history/resource={resource}/id={id}/")
}

impl MachineConfig {
    /// Sets the initial state on insert; refuses another.
    fn on_insert(&self, payload: Payload) -> std::result::Result<Payload, Veto> {
        let Payload::Record(mut record) = payload else {
            return Ok(payload);
        };
        match record.get(&self.state_field) {
            None | Some(Value::Null) => {
                record.insert(self.state_field.clone(), self.initial_state.clone().into());
            }
            Some(Value::String(s)) if *s == self.initial_state => {}
            Some(other) => {
                return Err(Veto::new(format!(
                    "state-machine: {:?} must start in {:?}, not {other}; send events to change it",
                    self.state_field, self.initial_state
                )));
            }
        }
        Ok(Payload::Record(record))
    }

    /// Refuses writes of the state field (and replaces) outside a transition.
    fn outside_transition(
        &self,
        point: HookPoint,
        payload: Payload,
    ) -> std::result::Result<Payload, Veto> {
        let touches_state = match &payload {
            Payload::Change { record, .. } => record.contains_key(&self.state_field),
            _ => false,
        };
        if point == HookPoint::BeforeReplace || touches_state {
            return Err(Veto::new(format!(
                "state-machine: {:?} of resource {:?} changes only by a transition \
                 (StateMachinePlugin::send); update other fields with update or patch",
                self.state_field, self.resource
            )));
        }
        Ok(payload)
    }
}

#[async_trait]
impl Plugin for StateMachinePlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let db = ctx.database()?;
        for (name, machine) in &self.machines {
            if !db.resource_exists(name) {
                return Err(config_error(format!(
                    "resource {name:?} does not exist: create it before installing the plugin"
                ))
                .into());
            }
            self.register_hooks(&db.resource(name)?, machine);
        }
        self.ctx
            .set(ctx.clone())
            .map_err(|_| config_error("installed twice".into()))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_one_millisecond_follow_the_state_chain() {
        let entry = |millis: &str, from: &str, to: &str| {
            let event = TransitionEvent {
                resource: "r".into(),
                id: "1".into(),
                event: format!("{from}->{to}"),
                from_state: from.into(),
                to_state: to.into(),
                context: Value::Null,
                timestamp: String::new(),
                version: String::new(),
                action_errors: Vec::new(),
            };
            (millis.to_owned(), event)
        };
        let mut entries = vec![
            entry("1", "a", "b"),
            entry("2", "c", "d"),
            entry("2", "b", "c"),
            entry("3", "d", "e"),
        ];
        chain_same_millisecond(&mut entries);
        let order: Vec<_> = entries.iter().map(|(_, e)| e.event.as_str()).collect();
        assert_eq!(order, ["a->b", "b->c", "c->d", "d->e"]);

        // The first run, listed backwards: its head is the entry nothing leads to.
        let mut entries = vec![
            entry("1", "c", "d"),
            entry("1", "b", "c"),
            entry("1", "a", "b"),
            entry("2", "d", "e"),
        ];
        chain_same_millisecond(&mut entries);
        let order: Vec<_> = entries.iter().map(|(_, e)| e.event.as_str()).collect();
        assert_eq!(order, ["a->b", "b->c", "c->d", "d->e"]);
    }
}
