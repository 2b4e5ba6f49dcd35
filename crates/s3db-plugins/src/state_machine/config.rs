//! A machine's configuration, from JSON in s3db.js's shape or built in Rust.

use std::collections::BTreeMap;

use s3db_core::Record;
use serde_json::{Map, Value};

use super::{SLUG, config_error};
use crate::{Error, Result};

/// One state: its transitions (event → target state), their guards (event → guard name),
/// its `entry` and `exit` actions, and whether it is final (accepts no event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateConfig {
    /// Event → target state.
    pub on: BTreeMap<String, String>,
    /// Event → guard name.
    pub guards: BTreeMap<String, String>,
    /// Actions run after entering the state.
    pub entry: Vec<String>,
    /// Actions run after leaving the state.
    pub exit: Vec<String>,
    /// A final state (s3db.js `type: "final"`).
    pub final_state: bool,
}

impl StateConfig {
    /// A state whose `event` leads to `target`.
    pub fn on(mut self, event: impl Into<String>, target: impl Into<String>) -> Self {
        self.on.insert(event.into(), target.into());
        self
    }

    /// Guards `event` with the guard registered as `guard`.
    pub fn guard(mut self, event: impl Into<String>, guard: impl Into<String>) -> Self {
        self.guards.insert(event.into(), guard.into());
        self
    }

    /// Runs the action registered as `action` after entering the state.
    pub fn entry(mut self, action: impl Into<String>) -> Self {
        self.entry.push(action.into());
        self
    }

    /// Runs the action registered as `action` after leaving the state.
    pub fn exit(mut self, action: impl Into<String>) -> Self {
        self.exit.push(action.into());
        self
    }
}

/// The machine of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// The resource whose records it drives.
    pub resource: String,
    /// The record field holding the state (default `"state"`).
    pub state_field: String,
    /// The state of new records.
    pub initial_state: String,
    /// The states by name.
    pub states: BTreeMap<String, StateConfig>,
}

impl MachineConfig {
    /// A machine for `resource` starting in `initial_state`, state field `"state"`.
    pub fn new(resource: impl Into<String>, initial_state: impl Into<String>) -> Self {
        MachineConfig {
            resource: resource.into(),
            state_field: "state".into(),
            initial_state: initial_state.into(),
            states: BTreeMap::new(),
        }
    }

    /// Uses `field` as the state field.
    pub fn state_field(mut self, field: impl Into<String>) -> Self {
        self.state_field = field.into();
        self
    }

    /// Adds the state `name`.
    pub fn state(mut self, name: impl Into<String>, state: StateConfig) -> Self {
        self.states.insert(name.into(), state);
        self
    }

    /// Reads s3db.js's machine shape: `{resource, stateField, initialState, states: {<s>:
    /// {on: {<EVENT>: "<target>" | {target, guard}}, guards: {<EVENT>: "<guard>"}, entry,
    /// exit, type: "final"}}}` (`entry`/`exit` a name or a list). [`Error::Config`] names
    /// the field that is wrong.
    pub fn from_json(value: &Value) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| bad("the machine", "must be an object"))?;
        let text = |field: &str| obj.get(field).and_then(Value::as_str).map(str::to_owned);
        let resource = text("resource").ok_or_else(|| bad("resource", "must be a string"))?;
        let initial =
            text("initialState").ok_or_else(|| bad("initialState", "must be a string"))?;
        let mut machine = MachineConfig::new(resource, initial);
        if let Some(field) = obj.get("stateField") {
            machine.state_field = field
                .as_str()
                .ok_or_else(|| bad("stateField", "must be a string"))?
                .to_owned();
        }
        let states = obj
            .get("states")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("states", "must be an object of states"))?;
        for (name, state) in states {
            machine
                .states
                .insert(name.clone(), state_from_json(name, state)?);
        }
        Ok(machine)
    }

    /// Checks that every state named exists and every guard and action is registered.
    pub(super) fn check(
        &self,
        has_guard: impl Fn(&str) -> bool,
        has_action: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let fail =
            |what: String| config_error(format!("machine of resource {:?}: {what}", self.resource));
        if !self.states.contains_key(&self.initial_state) {
            return Err(fail(format!(
                "initialState {:?} is not a state",
                self.initial_state
            )));
        }
        for (name, state) in &self.states {
            for (event, target) in &state.on {
                if !self.states.contains_key(target) {
                    return Err(fail(format!(
                        "{name}.on.{event}: {target:?} is not a state"
                    )));
                }
            }
            for (event, guard) in &state.guards {
                if !has_guard(guard) {
                    return Err(fail(format!(
                        "{name}.guards.{event}: guard {guard:?} is not registered (StateMachineBuilder::guard)"
                    )));
                }
            }
            for action in state.entry.iter().chain(&state.exit) {
                if !has_action(action) {
                    return Err(fail(format!(
                        "{name}: action {action:?} is not registered (StateMachineBuilder::action)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The record's state (the initial state when the field is unset).
    pub fn state_of(&self, record: &Record) -> String {
        match record.get(&self.state_field) {
            Some(Value::String(s)) => s.clone(),
            _ => self.initial_state.clone(),
        }
    }

    /// Where `event` leads from `state`, if anywhere.
    pub fn target(&self, state: &str, event: &str) -> Option<&str> {
        let state = self.states.get(state)?;
        if state.final_state {
            return None;
        }
        state.on.get(event).map(String::as_str)
    }

    /// The events `state` accepts.
    pub fn events_of(&self, state: &str) -> Vec<String> {
        self.states
            .get(state)
            .filter(|s| !s.final_state)
            .map(|s| s.on.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn guard_of(&self, state: &str, event: &str) -> Option<&str> {
        self.states
            .get(state)?
            .guards
            .get(event)
            .map(String::as_str)
    }

    pub(super) fn entry_of(&self, state: &str) -> &[String] {
        self.states.get(state).map_or(&[], |s| &s.entry)
    }

    pub(super) fn exit_of(&self, state: &str) -> &[String] {
        self.states.get(state).map_or(&[], |s| &s.exit)
    }
}

fn bad(field: &str, reason: &str) -> Error {
    Error::Config {
        plugin: SLUG,
        reason: format!("{field} {reason}"),
    }
}

fn names(field: &str, value: Option<&Value>) -> Result<Vec<String>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(name)) => Ok(vec![name.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(field, "must be a name or a list of names"))
            })
            .collect(),
        Some(_) => Err(bad(field, "must be a name or a list of names")),
    }
}

fn state_from_json(name: &str, value: &Value) -> Result<StateConfig> {
    let empty = Map::new();
    let obj = match value {
        Value::Object(obj) => obj,
        _ => return Err(bad(&format!("states.{name}"), "must be an object")),
    };
    let mut state = StateConfig {
        entry: names(&format!("states.{name}.entry"), obj.get("entry"))?,
        exit: names(&format!("states.{name}.exit"), obj.get("exit"))?,
        final_state: obj.get("type").and_then(Value::as_str) == Some("final"),
        ..StateConfig::default()
    };
    let on = obj.get("on").and_then(Value::as_object).unwrap_or(&empty);
    for (event, edge) in on {
        let field = format!("states.{name}.on.{event}");
        let target = match edge {
            Value::String(target) => target.clone(),
            Value::Object(edge) => {
                if let Some(guard) = edge.get("guard").and_then(Value::as_str) {
                    state.guards.insert(event.clone(), guard.to_owned());
                }
                edge.get("target")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&field, "needs a target state"))?
                    .to_owned()
            }
            _ => return Err(bad(&field, "must be a state name or {target, guard}")),
        };
        state.on.insert(event.clone(), target);
    }
    let guards = obj
        .get("guards")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (event, guard) in guards {
        let guard = guard.as_str().ok_or_else(|| {
            bad(
                &format!("states.{name}.guards.{event}"),
                "must be a guard name",
            )
        })?;
        state.guards.insert(event.clone(), guard.to_owned());
    }
    Ok(state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_s3dbjs_shape_and_checks_names() {
        let machine = MachineConfig::from_json(&json!({
            "resource": "orders", "stateField": "status", "initialState": "pending",
            "states": {
                "pending": {"on": {"PAY": "paid", "CANCEL": {"target": "cancelled", "guard": "young"}}},
                "paid": {"on": {"SHIP": "shipped"}, "guards": {"SHIP": "hasAddress"}, "entry": "notify"},
                "shipped": {"type": "final"},
                "cancelled": {"type": "final", "entry": ["refund", "notify"]}
            }
        }))
        .unwrap();
        assert_eq!(machine.target("pending", "PAY"), Some("paid"));
        assert_eq!(machine.guard_of("pending", "CANCEL"), Some("young"));
        assert_eq!(machine.guard_of("paid", "SHIP"), Some("hasAddress"));
        assert_eq!(machine.entry_of("cancelled"), ["refund", "notify"]);
        assert_eq!(machine.events_of("shipped"), Vec::<String>::new());
        let known = |n: &str| ["young", "hasAddress", "notify", "refund"].contains(&n);
        machine.check(known, known).unwrap();
        let err = machine.check(|_| true, |n| n != "refund").unwrap_err();
        assert!(
            err.to_string().contains("\"refund\" is not registered"),
            "{err}"
        );
        let bad = MachineConfig::new("x", "a").state("a", StateConfig::default().on("GO", "b"));
        assert!(
            bad.check(|_| true, |_| true)
                .unwrap_err()
                .to_string()
                .contains("a.on.GO")
        );
        assert!(MachineConfig::from_json(&json!({"resource": "x"})).is_err());
    }
}
