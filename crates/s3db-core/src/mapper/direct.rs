//! Records decoded straight into the caller's type: the fields of a short-key object are
//! handed to serde as the nested map they stand for, without building that map (no key
//! copies, no hashing, no map to drop).

use serde::de::value::StrDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_json::{Error, Value};

/// One field of a record: its dotted path and its decoded value (taken, `None`, once read:
/// dropping the read leaves then costs no call per value).
#[derive(Debug)]
pub(crate) struct Leaf<'k> {
    pub path: &'k str,
    pub value: Option<Value>,
}

/// The key at `offset` in `path`, and the offset of the rest when the path goes deeper.
fn split_key(path: &str, offset: usize) -> (&str, Option<usize>) {
    let tail = path.get(offset..).unwrap_or_default();
    match tail.bytes().position(|b| b == b'.') {
        Some(dot) => (&tail[..dot], Some(offset + dot + 1)),
        None => (tail, None),
    }
}

/// Moves the leaves under `key` at `offset` (as a nested object) to the front of `leaves`,
/// keeping their order and the others', and says how many there are. The first leaf is one.
fn gather(leaves: &mut [Leaf<'_>], offset: usize, key: &str) -> usize {
    let under = |leaf: &Leaf<'_>| {
        let tail = leaf.path.as_bytes().get(offset..).unwrap_or_default();
        tail.starts_with(key.as_bytes()) && tail.get(key.len()) == Some(&b'.')
    };
    let mut run = 1;
    for at in 1..leaves.len() {
        if under(&leaves[at]) {
            leaves[run..=at].rotate_right(1);
            run += 1;
        }
    }
    run
}

/// Deserializes `T` from leaves with distinct paths, none inside another's value (see
/// `Target::leaf`), as `serde_json::from_value` would from the object they unflatten
/// to: the fields of a nested object need not be adjacent.
pub(crate) fn from_leaves<'de, T: Deserialize<'de>>(
    leaves: &mut [Leaf<'_>],
) -> std::result::Result<T, Error> {
    T::deserialize(Object { leaves, offset: 0 })
}

/// The object of `leaves`, whose keys start `offset` bytes into their paths.
struct Object<'a, 'k> {
    leaves: &'a mut [Leaf<'k>],
    offset: usize,
}

impl<'de> Deserializer<'de> for Object<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Entries {
            leaves: self.leaves,
            offset: self.offset,
            next: None,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// An object read as an enum is a one-key map naming the variant: the object's own
    /// [`Value`] reads it, as `from_value` would.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        Value::deserialize(self)?.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The entries of an [`Object`], key by key; `next` is what the last key's value is.
struct Entries<'a, 'k> {
    leaves: &'a mut [Leaf<'k>],
    offset: usize,
    next: Option<Next>,
}

/// The value after a key: the first leaf's own, or an object of the first `run` leaves.
enum Next {
    Leaf,
    Object { run: usize, offset: usize },
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(first) = self.leaves.first() else {
            return Ok(None);
        };
        let (key, nested) = split_key(first.path, self.offset);
        self.next = Some(match nested {
            Some(offset) => Next::Object {
                run: gather(self.leaves, self.offset, key),
                offset,
            },
            None => Next::Leaf,
        });
        seed.deserialize(StrDeserializer::<Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let leaves = std::mem::take(&mut self.leaves);
        match self.next.take() {
            Some(Next::Object { run, offset }) => {
                let (object, rest) = leaves.split_at_mut(run);
                self.leaves = rest;
                seed.deserialize(Object {
                    leaves: object,
                    offset,
                })
            }
            _ => {
                let (first, rest) = leaves.split_at_mut(1.min(leaves.len()));
                self.leaves = rest;
                let value = first.first_mut().and_then(|leaf| leaf.value.take());
                seed.deserialize(value.unwrap_or(Value::Null))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use std::borrow::Cow;

    use serde::de::DeserializeOwned;

    use super::{Leaf, from_leaves};
    use crate::schema::Unflattened;

    fn leaves(fields: &[(&'static str, Value)]) -> Vec<Leaf<'static>> {
        fields
            .iter()
            .map(|(path, value)| Leaf {
                path,
                value: Some(value.clone()),
            })
            .collect()
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Address {
        city: String,
        zip: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Kind {
        Plain,
        Tagged { level: u8 },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Person {
        id: String,
        name: String,
        age: u32,
        address: Option<Address>,
        tags: Vec<String>,
        kind: Kind,
        #[serde(default)]
        missing: Option<bool>,
    }

    /// The object the general decoder builds from the same fields.
    fn unflattened(fields: &[(&'static str, Value)]) -> Value {
        let mut doc = Unflattened::with_capacity(fields.len());
        for (path, value) in fields {
            doc.insert(Cow::Borrowed(*path), value.clone());
        }
        Value::Object(doc.finish())
    }

    /// Reads `fields` directly as `T` and as `Value`, and checks both against
    /// `from_value` of the object they unflatten to (for `Value`, key order included).
    fn reads_as_from_value<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        fields: &[(&'static str, Value)],
    ) -> T {
        let object = unflattened(fields);
        let expected: T = serde_json::from_value(object.clone()).unwrap();
        assert_eq!(from_leaves::<T>(&mut leaves(fields)).unwrap(), expected);
        let value = from_leaves::<Value>(&mut leaves(fields)).unwrap();
        assert_eq!(value, object);
        let keys = |v: &Value| serde_json::to_string(v).unwrap();
        assert_eq!(keys(&value), keys(&object), "key order");
        expected
    }

    #[test]
    fn nested_leaves_read_as_from_value_reads_their_object() {
        let person: Person = reads_as_from_value(&[
            ("name", json!("Ana")),
            ("address.city", json!("porto")),
            ("address.zip", json!("4000")),
            ("kind.Tagged.level", json!(3)),
            ("age", json!(31)),
            ("tags", json!(["a", "b"])),
            ("id", json!("ana")),
        ]);
        assert_eq!(person.kind, Kind::Tagged { level: 3 });
        assert_eq!(person.address.unwrap().city, "porto");
    }

    #[test]
    fn scattered_fields_of_a_nested_object_read_as_one_object() {
        let person: Person = reads_as_from_value(&[
            ("address.zip", json!(null)),
            ("name", json!("Ana")),
            ("kind", json!("Plain")),
            ("address.city", json!("braga")),
            ("tags", json!([])),
            ("age", json!(7)),
            ("id", json!("ana")),
        ]);
        assert_eq!(
            person.address,
            Some(Address {
                city: "braga".into(),
                zip: None
            })
        );
        let deep: Value = reads_as_from_value(&[
            ("a.b.c", json!(1)),
            ("x", json!(0)),
            ("a.d", json!(2)),
            ("a.b.e", json!(3)),
        ]);
        assert_eq!(deep, json!({"a": {"b": {"c": 1, "e": 3}, "d": 2}, "x": 0}));
    }

    #[test]
    fn errors_name_what_from_value_names() {
        let fields = [("name", json!("Ana")), ("age", json!("old"))];
        let mut object = serde_json::Map::new();
        for (path, value) in &fields {
            object.insert((*path).to_owned(), value.clone());
        }
        let expected = serde_json::from_value::<Person>(Value::Object(object)).unwrap_err();
        let got = from_leaves::<Person>(&mut leaves(&fields)).unwrap_err();
        assert_eq!(got.to_string(), expected.to_string());
        assert!(got.to_string().contains("invalid type"), "{got}");
    }
}
