//! The messages a queue carries and how each becomes a write.

use s3db_core::{ErrorKind, Record, Resource};
use serde_json::Value;

use crate::{Error, Result};

/// The write a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create the record (`data`, with its `id`); a record already stored with the same
    /// values counts as done (a redelivery), one with other values is an error.
    Insert,
    /// Merge `data` (minus `id`) into the record `id`.
    Update,
    /// Write the record whole, creating or replacing it.
    Upsert,
    /// Delete the record `id`; a missing record counts as done.
    Delete,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        match text {
            "insert" => Some(Action::Insert),
            "update" | "patch" => Some(Action::Update),
            "upsert" => Some(Action::Upsert),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// A message understood: which resource, what to do, with what.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The resource written.
    pub resource: String,
    /// The write.
    pub action: Action,
    /// The record id (from `data.id`, else the message's `id`); `None` only for an insert
    /// that lets the resource generate one.
    pub id: Option<String>,
    /// The record or the changes (`id` included when known).
    pub data: Record,
}

/// What applying a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The write was made.
    Written,
    /// Nothing was left to do: the record was already inserted with these values, or
    /// already deleted (a redelivered message).
    AlreadyDone,
}

/// Why a message could not be understood (it will never be: it is dead-lettered at once).
pub(crate) fn malformed(reason: impl Into<String>) -> Error {
    Error::Config {
        plugin: super::SLUG,
        reason: reason.into(),
    }
}

/// Parses a message body in s3db.js's shape, `{"resource":..,"action":..,"data":{..}}`
/// (also wrapped as `{"$body":{..}}`, and with the record id at the top as `"id"`).
/// `resources` are the resources the queue may write; a message naming none goes to the
/// first.
pub fn parse(body: &[u8], resources: &[String]) -> Result<Command> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("message body is not JSON: {e}")))?;
    let Value::Object(mut message) = value else {
        return Err(malformed("message body is not a JSON object"));
    };
    let wrapped = ["resource", "action", "data"]
        .iter()
        .all(|field| !message.contains_key(*field));
    if wrapped && let Some(Value::Object(inner)) = message.remove("$body") {
        message = inner;
    }
    let resource = match message.get("resource") {
        Some(Value::String(name)) => name.clone(),
        None | Some(Value::Null) => resources
            .first()
            .cloned()
            .ok_or_else(|| malformed("message names no `resource` and the queue has none"))?,
        Some(other) => return Err(malformed(format!("`resource` is not a string: {other}"))),
    };
    if !resources.contains(&resource) {
        return Err(malformed(format!(
            "message for resource {resource:?}, but this queue writes only {resources:?}; \
             add it to the queue's resources"
        )));
    }
    let action = match message.get("action") {
        Some(Value::String(text)) => Action::parse(text).ok_or_else(|| {
            malformed(format!(
                "unsupported action {text:?}: use insert, update, upsert or delete"
            ))
        })?,
        _ => {
            return Err(malformed(
                "message has no `action` (insert, update, upsert or delete)",
            ));
        }
    };
    let mut data = match message.remove("data") {
        Some(Value::Object(data)) => data,
        None | Some(Value::Null) => Record::new(),
        Some(other) => return Err(malformed(format!("`data` is not an object: {other}"))),
    };
    let id = match (data.get("id"), message.get("id")) {
        (Some(Value::String(id)), _) | (None, Some(Value::String(id))) => Some(id.clone()),
        (None, None) => None,
        (Some(other), _) | (None, Some(other)) => {
            return Err(malformed(format!("record id is not a string: {other}")));
        }
    };
    if let Some(id) = &id {
        data.insert("id".into(), Value::String(id.clone()));
    } else if action != Action::Insert {
        return Err(malformed(format!(
            "{action:?} message has no record id (`data.id` or `id`)"
        )));
    }
    Ok(Command {
        resource,
        action,
        id,
        data,
    })
}

/// Applies `command` to `resource`, treating a redelivered message as done (see [`Action`]).
pub(crate) async fn apply(resource: &Resource, command: &Command) -> Result<Applied> {
    let id = command.id.as_deref().unwrap_or_default();
    match command.action {
        Action::Insert => match resource.insert(command.data.clone()).await {
            Ok(_) => Ok(Applied::Written),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && command.id.is_some() => {
                let stored = resource.get(id).await?;
                let same = command
                    .data
                    .iter()
                    .all(|(field, value)| stored.get(field) == Some(value));
                if same {
                    Ok(Applied::AlreadyDone)
                } else {
                    Err(e.into())
                }
            }
            Err(e) => Err(e.into()),
        },
        Action::Update => {
            let mut changes = command.data.clone();
            changes.shift_remove("id");
            resource.update(id, changes).await?;
            Ok(Applied::Written)
        }
        Action::Upsert => {
            resource.upsert(command.data.clone()).await?;
            Ok(Applied::Written)
        }
        Action::Delete => match resource.delete(id).await {
            Ok(()) => Ok(Applied::Written),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Applied::AlreadyDone),
            Err(e) => Err(e.into()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resources() -> Vec<String> {
        vec!["users".into(), "orders".into()]
    }

    #[test]
    fn s3dbjs_messages_parse() {
        let command = parse(
            br#"{"resource":"orders","action":"update","data":{"id":"o1","total":3}}"#,
            &resources(),
        )
        .unwrap();
        assert_eq!(command.resource, "orders");
        assert_eq!(command.action, Action::Update);
        assert_eq!(command.id.as_deref(), Some("o1"));
        let wrapped = parse(br#"{"$body":{"action":"delete","id":"u1"}}"#, &resources()).unwrap();
        assert_eq!(wrapped.resource, "users", "the queue's first resource");
        assert_eq!(wrapped.action, Action::Delete);
        assert_eq!(wrapped.data["id"], "u1");
    }

    #[test]
    fn bad_messages_name_the_problem() {
        for (body, expected) in [
            (&b"nope"[..], "not JSON"),
            (
                br#"{"action":"drop","data":{"id":"u1"}}"#,
                "unsupported action \"drop\"",
            ),
            (br#"{"data":{"id":"u1"}}"#, "no `action`"),
            (br#"{"resource":"other","action":"upsert"}"#, "writes only"),
            (br#"{"action":"delete","data":{}}"#, "no record id"),
        ] {
            let error = parse(body, &resources()).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
