//! Cache keys: `resource=<name>/gen=<generation>/<operation>-<md5 of the canonical arguments>`.
//!
//! The generation is bumped by every write to the resource, so a write makes every earlier
//! key of the resource unreachable at once (partition-scoped listings included) and a read
//! that started before the write stores its result under a key nobody asks for any more.

use md5::{Digest, Md5};
use s3db_core::extend::{Operation, Payload};
use s3db_core::metadata::hash::stable_stringify;

use super::entry::payload_to_json;

/// The prefix of every key of `resource`, whatever the generation (`resource=<name>/`).
pub(crate) fn resource_prefix(resource: &str) -> String {
    format!("resource={}/", escape(resource))
}

/// The key of `operation` called with `args` on `resource` at `generation`; `None` when the
/// arguments cannot be written as JSON (binary content).
pub(crate) fn cache_key(
    resource: &str,
    generation: u64,
    operation: Operation,
    args: &Payload,
) -> Option<String> {
    let (kind, value) = payload_to_json(args)?;
    // Object keys sorted at every level: equal arguments give equal keys whatever the
    // order their options were built in.
    let canonical = format!("{kind}:{}", stable_stringify(&value));
    let digest = hex::encode(Md5::digest(canonical.as_bytes()));
    Some(format!(
        "{}gen={generation}/{}-{digest}",
        resource_prefix(resource),
        operation.as_str()
    ))
}

/// A resource name as one safe path segment: `[A-Za-z0-9_-]` kept, every other byte `%XX`.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn options(value: Value) -> Payload {
        Payload::Options(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn key_order_does_not_matter_but_values_operation_and_generation_do() {
        let a = options(json!({"partition": "byRegion", "values": {"x": 1, "y": [2, 3]}}));
        let b = options(json!({"values": {"y": [2, 3], "x": 1}, "partition": "byRegion"}));
        let key = |args: &Payload, generation, op| cache_key("users", generation, op, args);
        assert_eq!(key(&a, 0, Operation::List), key(&b, 0, Operation::List));
        let c = options(json!({"values": {"y": [3, 2], "x": 1}, "partition": "byRegion"}));
        assert_ne!(key(&a, 0, Operation::List), key(&c, 0, Operation::List));
        assert_ne!(key(&a, 0, Operation::List), key(&a, 1, Operation::List));
        assert_ne!(key(&a, 0, Operation::List), key(&a, 0, Operation::Count));
        let listed = key(&a, 3, Operation::List).unwrap();
        assert!(listed.starts_with("resource=users/gen=3/list-"), "{listed}");
    }

    #[test]
    fn an_id_and_a_name_with_the_same_text_differ() {
        let id = cache_key("r", 0, Operation::Get, &Payload::Id("a".into()));
        let name = cache_key("r", 0, Operation::Get, &Payload::Name("a".into()));
        assert_ne!(id, name);
    }

    #[test]
    fn resource_names_become_one_safe_segment() {
        assert_eq!(resource_prefix("users_v2-x"), "resource=users_v2-x/");
        assert_eq!(resource_prefix("../a/b"), "resource=%2E%2E%2Fa%2Fb/");
    }
}
