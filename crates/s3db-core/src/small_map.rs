//! Lookups in the small JSON objects records are made of. `serde_json`'s map hashes every
//! key it looks up with SipHash (about 200 instructions for a short key); in an object of a
//! few entries, comparing the keys in turn costs less.

use serde_json::{Map, Value};

/// Objects up to this many entries are scanned instead of hashed.
const SCAN_LIMIT: usize = 12;

/// The value under `key`.
pub(crate) fn get<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if object.len() <= SCAN_LIMIT {
        object.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        object.get(key)
    }
}

/// The value at a dotted path (`address.city`).
pub(crate) fn get_path<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = get(object, parts.next()?)?;
    for part in parts {
        current = get(current.as_object()?, part)?;
    }
    Some(current)
}

/// The value under `key`, mutable.
pub(crate) fn get_mut<'a>(object: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    if object.len() <= SCAN_LIMIT {
        object.iter_mut().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        object.get_mut(key)
    }
}

/// The value under `key`, inserted as `null` when missing. `None` only if the map loses an
/// entry it just listed, which it does not.
pub(crate) fn slot_or_null<'a>(
    object: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Value> {
    let found = if object.len() <= SCAN_LIMIT {
        object.keys().position(|k| k == key)
    } else {
        None
    };
    match found {
        Some(index) => object.values_mut().nth(index),
        None => Some(object.entry(key.to_owned()).or_insert(Value::Null)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_and_large_objects_find_the_same_values() {
        for size in [0, 1, SCAN_LIMIT, SCAN_LIMIT + 1, 40] {
            let mut object: Map<String, Value> =
                (0..size).map(|i| (format!("k{i}"), json!(i))).collect();
            for i in 0..size {
                let key = format!("k{i}");
                assert_eq!(get(&object, &key), Some(&json!(i)));
                *get_mut(&mut object, &key).unwrap() = json!(-1);
                assert_eq!(object[&key], json!(-1));
            }
            assert_eq!(get(&object, "missing"), None);
            assert!(slot_or_null(&mut object, "k0").is_some());
            assert_eq!(object.len(), size.max(1));
            assert_eq!(slot_or_null(&mut object, "new"), Some(&mut Value::Null));
            assert_eq!(object.len(), size.max(1) + 1);
            assert_eq!(get_mut(&mut object, "k"), None);
        }
    }
}
