//! Structs as resource definitions.
//!
//! [`Document`] is what `#[derive(s3db::Document)]` implements: a struct's fields become the
//! attributes of a resource, in field order. The attribute of each field comes from its type
//! through [`AttributeType`] (implemented here for the standard types, and for every
//! [`Document`], which becomes a nested object), or from the field's `#[s3db(...)]`
//! attribute. The helpers below ([`optional`], [`array_of`], [`nested`], [`with_modifiers`])
//! are the whole mapping, shared by the derive and by [`crate::codegen`], so a struct
//! generated from a definition derives that same definition back.
//!
//! | Rust type | attribute |
//! |---|---|
//! | `String`, `char` | `"string"` |
//! | `bool` | `"boolean"` |
//! | `i8` … `i128`, `isize` | `"number\|integer"` |
//! | `u8` … `u128`, `usize` | `"number\|integer\|min:0"` |
//! | `f32`, `f64` | `"number"` |
//! | `serde_json::Value` | `"any"` |
//! | `serde_json::Map`, `HashMap<String, V>`, `BTreeMap<String, V>` | `"object"` |
//! | `Vec<T>` (`T` a plain type word) | `"array\|items:T"` |
//! | `Vec<T>` (otherwise) | `{"type": "array", "items": <T>}` |
//! | `Option<T>` | `<T>` with `\|optional` |
//! | a struct deriving `Document` | nested object, `"$$type": "object\|required"` first |
//! | `Option<` that struct `>` | nested object without `$$type` (optional, as s3db.js) |

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::resource::config::ResourceConfig;
use crate::schema::parse::{object_form_type, parse_shorthand};

/// Attribute definitions by name, in definition order (s3db.js's `attributes` object).
pub type Attributes = Map<String, Value>;

/// `"string"`.
pub const STRING: &str = "string";
/// `"boolean"`.
pub const BOOLEAN: &str = "boolean";
/// `"number"`.
pub const NUMBER: &str = "number";
/// A signed integer: `"number|integer"`.
pub const INTEGER: &str = "number|integer";
/// An unsigned integer: `"number|integer|min:0"`.
pub const UNSIGNED: &str = "number|integer|min:0";
/// Any JSON value: `"any"`.
pub const ANY: &str = "any";
/// A JSON object: `"object"`.
pub const OBJECT: &str = "object";
/// The `$$type` of a nested object that must be present.
pub const REQUIRED_NESTED: &str = "object|required";

/// A struct that defines a resource: implemented by `#[derive(s3db::Document)]`.
///
/// ```
/// use s3db_core::document::{Attributes, Document};
/// use s3db_core::ResourceConfig;
///
/// struct Tag;
///
/// impl Document for Tag {
///     fn attributes() -> Attributes {
///         let mut attributes = Attributes::new();
///         attributes.insert("label".into(), "string".into());
///         attributes
///     }
///     fn resource_config() -> ResourceConfig {
///         ResourceConfig::new("tags").attributes(Self::attributes())
///     }
/// }
///
/// assert_eq!(Tag::resource_config().attributes["label"], "string");
/// ```
pub trait Document {
    /// The attributes of every serialized field, in field order (an `id` field included:
    /// [`Document::resource_config`] leaves it out, a nested object keeps it).
    fn attributes() -> Attributes;

    /// The resource definition: name, attributes (without the record id) and options.
    fn resource_config() -> ResourceConfig;
}

/// A field type with an attribute definition of its own (see the table in [`self`]).
///
/// Implement it for your own types to use them as fields without `#[s3db(rule = ...)]`:
///
/// ```
/// use s3db_core::document::AttributeType;
/// use serde_json::Value;
///
/// struct Email(String);
///
/// impl AttributeType for Email {
///     fn definition() -> Value {
///         "email".into()
///     }
/// }
/// assert_eq!(<Option<Email>>::definition(), "email|optional");
/// ```
pub trait AttributeType {
    /// The attribute definition of a field of this type.
    fn definition() -> Value;
}

macro_rules! attribute_types {
    ($rule:expr => $($ty:ty),+) => {
        $(impl AttributeType for $ty {
            fn definition() -> Value {
                Value::String($rule.to_owned())
            }
        })+
    };
}

attribute_types!(STRING => String, char);
attribute_types!(BOOLEAN => bool);
attribute_types!(INTEGER => i8, i16, i32, i64, i128, isize);
attribute_types!(UNSIGNED => u8, u16, u32, u64, u128, usize);
attribute_types!(NUMBER => f32, f64);
attribute_types!(ANY => Value);
attribute_types!(OBJECT => Map<String, Value>);

impl<V> AttributeType for HashMap<String, V> {
    fn definition() -> Value {
        Value::String(OBJECT.to_owned())
    }
}

impl<V> AttributeType for BTreeMap<String, V> {
    fn definition() -> Value {
        Value::String(OBJECT.to_owned())
    }
}

impl<T: AttributeType> AttributeType for Vec<T> {
    fn definition() -> Value {
        array_of(T::definition())
    }
}

impl<T: AttributeType> AttributeType for Option<T> {
    fn definition() -> Value {
        optional(T::definition())
    }
}

impl<T: Document> AttributeType for T {
    fn definition() -> Value {
        nested(T::attributes())
    }
}

/// Whether a shorthand rule carries the modifier `name` (as a flag or `name:value`).
pub fn has_modifier(rule: &str, name: &str) -> bool {
    rule.split('|')
        .skip(1)
        .map(str::trim)
        .any(|part| part == name || part.split_once(':').is_some_and(|(key, _)| key == name))
}

/// The definition made optional: `|optional` appended to a rule (unless it has it),
/// `optional: true` on an object-form rule, the `required` dropped from a nested object's
/// `$$type` (and `$$type` removed when only `object` is left), every alternative of a
/// multi-type rule made optional.
pub fn optional(definition: Value) -> Value {
    match definition {
        Value::String(rule) if has_modifier(&rule, "optional") => Value::String(rule),
        Value::String(rule) => Value::String(format!("{rule}|optional")),
        Value::Object(mut map) if object_form_type(&map).is_some() => {
            map.insert("optional".into(), Value::Bool(true));
            Value::Object(map)
        }
        Value::Object(mut map) => {
            if let Some(Value::String(rule)) = map.get("$$type") {
                let kept: Vec<&str> = rule
                    .split('|')
                    .map(str::trim)
                    .filter(|part| *part != "required")
                    .collect();
                if kept == ["object"] {
                    map.shift_remove("$$type");
                } else {
                    let mut rule = kept.join("|");
                    if !has_modifier(&rule, "optional") {
                        rule.push_str("|optional");
                    }
                    map.insert("$$type".into(), Value::String(rule));
                }
            }
            Value::Object(map)
        }
        Value::Array(alternatives) => {
            Value::Array(alternatives.into_iter().map(optional).collect())
        }
        other => other,
    }
}

/// An array of `item`: `array|items:<item>` when the item is a plain type word
/// (`string`, `email`, `embedding:8`), else the object form `{type: "array", items: <item>}`.
pub fn array_of(item: Value) -> Value {
    match item {
        Value::String(rule) if !rule.contains('|') => Value::String(format!("array|items:{rule}")),
        item => {
            let mut map = Map::new();
            map.insert("type".into(), Value::String("array".into()));
            map.insert("items".into(), item);
            Value::Object(map)
        }
    }
}

/// A required nested object: `$$type: "object|required"`, then the attributes.
pub fn nested(attributes: Attributes) -> Value {
    let mut map = Map::with_capacity(attributes.len() + 1);
    map.insert("$$type".into(), Value::String(REQUIRED_NESTED.into()));
    map.extend(attributes);
    Value::Object(map)
}

/// The definition with shorthand `modifiers` (`"min:2|max:100"`) added: appended to a rule,
/// set as keys of an object-form rule, appended to a nested object's `$$type`, added to every
/// alternative of a multi-type rule. Malformed modifiers (an empty one) leave the definition
/// unchanged (the derive refuses them at compile time).
pub fn with_modifiers(definition: Value, modifiers: &str) -> Value {
    let modifiers = modifiers.trim().trim_start_matches('|');
    if modifiers.is_empty() {
        return definition;
    }
    match definition {
        Value::String(rule) => Value::String(format!("{rule}|{modifiers}")),
        Value::Object(mut map) if object_form_type(&map).is_some() => {
            if let Ok((_, params)) = parse_shorthand(&format!("any|{modifiers}")) {
                map.extend(params);
            }
            Value::Object(map)
        }
        Value::Object(mut map) => {
            let rule = match map.get("$$type") {
                Some(Value::String(rule)) => format!("{rule}|{modifiers}"),
                _ => format!("{OBJECT}|{modifiers}"),
            };
            map.insert("$$type".into(), Value::String(rule));
            Value::Object(map)
        }
        Value::Array(alternatives) => Value::Array(
            alternatives
                .into_iter()
                .map(|alternative| with_modifiers(alternative, modifiers))
                .collect(),
        ),
        other => other,
    }
}

/// The definition of a field with `#[s3db(rule = "...")]`: the rule, made optional for an
/// `Option` field.
pub fn rule(rule: &str, is_option: bool) -> Value {
    let definition = Value::String(rule.to_owned());
    if is_option {
        optional(definition)
    } else {
        definition
    }
}

/// The definition of a field with `#[s3db(definition = "<JSON>")]`, taken as is. The derive
/// checks the JSON at compile time; text that is not JSON is kept as a rule string.
pub fn definition_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Address;

    impl Document for Address {
        fn attributes() -> Attributes {
            let mut attributes = Attributes::new();
            attributes.insert("city".into(), String::definition());
            attributes
        }
        fn resource_config() -> ResourceConfig {
            ResourceConfig::new("addresses").attributes(Self::attributes())
        }
    }

    #[test]
    fn types_map_to_rules() {
        assert_eq!(String::definition(), json!("string"));
        assert_eq!(
            <Option<u32>>::definition(),
            json!("number|integer|min:0|optional")
        );
        assert_eq!(<Vec<String>>::definition(), json!("array|items:string"));
        assert_eq!(
            <Vec<i64>>::definition(),
            json!({"type": "array", "items": "number|integer"})
        );
        assert_eq!(
            <Option<Vec<i64>>>::definition(),
            json!({"type": "array", "items": "number|integer", "optional": true})
        );
        assert_eq!(
            Address::definition(),
            json!({"$$type": "object|required", "city": "string"})
        );
        assert_eq!(<Option<Address>>::definition(), json!({"city": "string"}));
        assert_eq!(
            <Vec<Address>>::definition(),
            json!({"type": "array", "items": {"$$type": "object|required", "city": "string"}})
        );
    }

    #[test]
    fn optional_keeps_an_existing_optional_and_extra_nested_modifiers() {
        assert_eq!(optional(json!("email|optional")), json!("email|optional"));
        assert_eq!(
            optional(json!("email|optional:true")),
            json!("email|optional:true")
        );
        assert_eq!(
            optional(json!({"$$type": "object|required|minProps:1", "a": "string"})),
            json!({"$$type": "object|minProps:1|optional", "a": "string"})
        );
        assert_eq!(
            optional(json!(["string", "number"])),
            json!(["string|optional", "number|optional"])
        );
    }

    #[test]
    fn modifiers_go_where_each_form_keeps_them() {
        assert_eq!(
            with_modifiers(json!("string"), "min:2|max:10"),
            json!("string|min:2|max:10")
        );
        assert_eq!(
            with_modifiers(
                json!({"type": "array", "items": "number|integer"}),
                "|min:1|unique"
            ),
            json!({"type": "array", "items": "number|integer", "min": 1, "unique": true})
        );
        assert_eq!(
            with_modifiers(json!({"city": "string"}), "minProps:1"),
            json!({"city": "string", "$$type": "object|minProps:1"})
        );
        assert_eq!(with_modifiers(json!("string"), " "), json!("string"));
    }

    #[test]
    fn rule_overrides_and_json_definitions() {
        assert_eq!(rule("email|unique", true), json!("email|unique|optional"));
        assert_eq!(rule("email|optional", true), json!("email|optional"));
        assert_eq!(rule("email", false), json!("email"));
        assert_eq!(
            definition_json(r#"["string","number"]"#),
            json!(["string", "number"])
        );
    }
}
