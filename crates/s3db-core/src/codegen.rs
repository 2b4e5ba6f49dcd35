//! Rust structs from stored resource definitions: the other direction of
//! `#[derive(s3db::Document)]`, behind `s3db codegen rust`.
//!
//! [`rust`] writes one struct per resource (named like s3db.js's TypeScript interfaces:
//! `user_profiles` → `UserProfiles`) and one per nested object (`UserProfilesAddress`), each
//! deriving `Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, s3db::Document`.
//! Field types follow the table of [`crate::document`]; where the type alone would not derive
//! the stored definition back, the field carries `#[s3db(rule = "...")]` (or
//! `definition = "<JSON>"`), so the struct's `resource_config()` has exactly the stored
//! attributes, behavior, timestamps, `paranoid`, id size and partitions.
//!
//! | stored rule | Rust type |
//! |---|---|
//! | `string`, `text`, `email`, `url`, `uuid`, `date`, `ip4`, `ip6`, `secret`, `password`, `datetime`, `dateonly`, `timeonly`, `mac`, `cidr`, `semver`, `phone`, `color`, `cron`, `locale`, `currency`, `country`, `ean` | `String` |
//! | `number` (also `money`, `crypto`, `decimal`, `geo:lat`, `geo:lon`, `duration`) | `f64` |
//! | `number\|integer` | `i64` (`u64` with `min:0`) |
//! | `boolean` | `bool` |
//! | `array\|items:T`, `embedding:N` | `Vec<T>`, `Vec<f64>` |
//! | `object` | `serde_json::Map<String, serde_json::Value>` |
//! | `json`, `any`, `enum`, multi-type lists, `buffer`, `bits`, `geo:point` | `serde_json::Value` |
//! | a nested object | a nested struct |
//! | `optional` / `nullable` | `Option<T>` |

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::behavior::BehaviorKind;
use crate::document::{self, Attributes};
use crate::error::{Error, Result};
use crate::id::DEFAULT_ID_SIZE;
use crate::metadata::document::ResourceEntry;
use crate::schema::parse::{Definition, object_form_type, parse_definition};
use crate::schema::{CustomKind, NumberKind, Rule, RuleSpec};

/// The Rust type of a field, and the definition the derive gives it.
#[derive(Debug, Clone)]
enum Ty {
    String,
    Bool,
    Int,
    Unsigned,
    Float,
    Json,
    JsonMap,
    Vec(Box<Ty>),
    Option(Box<Ty>),
    /// A generated struct and the attributes its derive produces.
    Struct(String, Attributes),
}

impl Ty {
    /// What `#[derive(Document)]` gives a field of this type without attributes.
    fn definition(&self) -> Value {
        match self {
            Ty::String => document::STRING.into(),
            Ty::Bool => document::BOOLEAN.into(),
            Ty::Int => document::INTEGER.into(),
            Ty::Unsigned => document::UNSIGNED.into(),
            Ty::Float => document::NUMBER.into(),
            Ty::Json => document::ANY.into(),
            Ty::JsonMap => document::OBJECT.into(),
            Ty::Vec(item) => document::array_of(item.definition()),
            Ty::Option(inner) => document::optional(inner.definition()),
            Ty::Struct(_, attributes) => document::nested(attributes.clone()),
        }
    }

    fn rust(&self) -> String {
        match self {
            Ty::String => "String".into(),
            Ty::Bool => "bool".into(),
            Ty::Int => "i64".into(),
            Ty::Unsigned => "u64".into(),
            Ty::Float => "f64".into(),
            Ty::Json => "serde_json::Value".into(),
            Ty::JsonMap => "serde_json::Map<String, serde_json::Value>".into(),
            Ty::Vec(item) => format!("Vec<{}>", item.rust()),
            Ty::Option(inner) => format!("Option<{}>", inner.rust()),
            Ty::Struct(name, _) => name.clone(),
        }
    }

    fn is_option(&self) -> bool {
        matches!(self, Ty::Option(_))
    }
}

/// The type of a parsed rule (without its optionality).
fn rule_type(rule: &Rule) -> Ty {
    match rule {
        Rule::String { .. }
        | Rule::Email(_)
        | Rule::Url { .. }
        | Rule::Uuid { .. }
        | Rule::Date => Ty::String,
        Rule::Number { kind, checks } => match kind {
            NumberKind::Plain if checks.integer && checks.min == Some(0.0) => Ty::Unsigned,
            NumberKind::Plain if checks.integer => Ty::Int,
            _ => Ty::Float,
        },
        Rule::Boolean { .. } => Ty::Bool,
        Rule::Custom(CustomKind::Duration) => Ty::Float,
        Rule::Custom(CustomKind::Json) => Ty::Json,
        Rule::Custom(_) => Ty::String,
        Rule::Array(array) => Ty::Vec(Box::new(array.items.as_deref().map_or(Ty::Json, spec_type))),
        Rule::Embedding(_) => Ty::Vec(Box::new(Ty::Float)),
        Rule::Object(_) => Ty::JsonMap,
        Rule::Any(_) | Rule::Forbidden | Rule::Enum { .. } | Rule::Multi(_) => Ty::Json,
    }
}

fn spec_type(spec: &RuleSpec) -> Ty {
    let ty = rule_type(&spec.rule);
    if spec.optional || spec.nullable {
        Ty::Option(Box::new(ty))
    } else {
        ty
    }
}

/// One generated field.
struct FieldOut {
    attribute: String,
    ident: String,
    ty: Ty,
    /// The `#[s3db(...)]` content, when the type alone does not give the definition.
    s3db: Option<String>,
    /// The stored definition (shown in the field's doc comment).
    stored: Value,
}

/// One generated struct.
struct StructOut {
    name: String,
    doc: String,
    s3db: Option<String>,
    id_field: bool,
    fields: Vec<FieldOut>,
}

/// Generates the structs of `resources` (name and `s3db.json` entry), in the given order, as
/// one Rust source file.
///
/// ```
/// use s3db_core::{Database, ResourceConfig};
/// use serde_json::json;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = Database::connect("memory://codegen-doc").await?;
/// db.create_resource(ResourceConfig::from_json(&json!({
///     "name": "user_profiles",
///     "attributes": {"email": "email|unique", "age": "number|integer|optional"}
/// }))?).await?;
/// let document = db.document();
/// let code = s3db_core::codegen::rust(document.resources.iter().map(|(n, e)| (n.as_str(), e)))?;
/// assert!(code.contains("pub struct UserProfiles {"));
/// assert!(code.contains("#[s3db(rule = \"email|unique\")]\n    pub email: String,"));
/// assert!(code.contains("pub age: Option<i64>,"));
/// # Ok::<(), s3db_core::Error>(())
/// # }).unwrap();
/// ```
pub fn rust<'a>(
    resources: impl IntoIterator<Item = (&'a str, &'a ResourceEntry)>,
) -> Result<String> {
    let mut out = String::from(
        "// Generated by `s3db codegen rust` from the current version of each resource.\n\
         // Regenerate it instead of editing it.\n",
    );
    let mut names = HashSet::new();
    for (name, entry) in resources {
        for generated in resource_structs(name, entry, &mut names)? {
            out.push('\n');
            write_struct(&mut out, &generated);
        }
    }
    Ok(out)
}

fn resource_structs(
    name: &str,
    entry: &ResourceEntry,
    names: &mut HashSet<String>,
) -> Result<Vec<StructOut>> {
    let version = entry
        .current()
        .ok_or_else(|| Error::schema(name, "", "no current version in s3db.json"))?;
    let attributes = version.attributes.clone().unwrap_or_default();
    let struct_name = unique(pascal_case(name), names);
    let mut structs = Vec::new();
    let mut fields = Vec::new();
    let mut idents = HashSet::new();
    let has_id = attributes.contains_key("id");
    idents.insert("id".to_owned());
    for (attribute, stored) in attributes.iter().filter(|(k, _)| !k.starts_with("$$")) {
        let timestamp = version.timestamps
            && matches!(attribute.as_str(), "createdAt" | "updatedAt")
            && stored.as_str() == Some("datetime|optional");
        let mut field = field(name, &struct_name, attribute, stored, names, &mut structs)?;
        if timestamp {
            field.s3db = Some("skip".into());
        }
        field.ident = unique(field.ident, &mut idents);
        fields.push(field);
    }
    let mut options = vec![format!("name = {}", quoted(name))];
    if let Some(kind) = BehaviorKind::parse(&version.behavior)
        && kind != BehaviorKind::UserManaged
    {
        options.push(format!("behavior = {}", quoted(kind.as_str())));
    }
    if version.timestamps {
        options.push("timestamps".into());
    }
    if !version.paranoid {
        options.push("paranoid = false".into());
    }
    if version.id_size != DEFAULT_ID_SIZE as u64 && version.id_size > 0 {
        options.push(format!("id_size = {}", version.id_size));
    }
    let partitions = entry
        .partitions
        .as_ref()
        .or(version.partitions.as_ref())
        .cloned()
        .unwrap_or_default();
    for (partition, definition) in &partitions {
        if is_automatic(partition, definition, version.timestamps) {
            continue;
        }
        let fields: Option<Vec<String>> = definition
            .get("fields")
            .and_then(Value::as_object)
            .filter(|_| definition.as_object().is_some_and(|d| d.len() == 1))
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|(path, rule)| {
                        Some(format!("{} = {}", quoted(path), quoted(rule.as_str()?)))
                    })
                    .collect()
            })
            .filter(|list: &Vec<String>| !list.is_empty());
        match fields {
            Some(fields) => options.push(format!(
                "partition(name = {}, fields({}))",
                quoted(partition),
                fields.join(", ")
            )),
            None => {
                return Err(Error::schema(
                    name,
                    format!("partitions.{partition}"),
                    "only partitions of the form {fields: {path: rule}} can be generated",
                ));
            }
        }
    }
    structs.insert(
        0,
        StructOut {
            name: struct_name,
            doc: format!(
                "Resource `{name}` (s3db.json version {}).",
                entry.current_version
            ),
            s3db: Some(options.join(", ")),
            id_field: !has_id,
            fields,
        },
    );
    Ok(structs)
}

/// The partitions `timestamps` and versioning add by themselves.
fn is_automatic(name: &str, definition: &Value, timestamps: bool) -> bool {
    let only = |path: &str, rule: &str| *definition == serde_json::json!({"fields": {path: rule}});
    match name {
        "byCreatedDate" => timestamps && only("createdAt", "date|maxlength:10"),
        "byUpdatedDate" => timestamps && only("updatedAt", "date|maxlength:10"),
        "byVersion" => only("_v", "string"),
        _ => false,
    }
}

fn field(
    resource: &str,
    parent: &str,
    attribute: &str,
    stored: &Value,
    names: &mut HashSet<String>,
    structs: &mut Vec<StructOut>,
) -> Result<FieldOut> {
    let path = attribute;
    let ty = match stored {
        Value::Object(map) if object_form_type(map).is_none() => {
            let optional = match map.get("$$type").and_then(Value::as_str) {
                Some(rule) => !document::has_modifier(rule, "required"),
                None => true,
            };
            let ty = nested_struct(resource, parent, attribute, map, names, structs)?;
            if optional {
                Ty::Option(Box::new(ty))
            } else {
                ty
            }
        }
        Value::Object(map)
            if map.get("type").and_then(Value::as_str) == Some("array")
                && map
                    .get("items")
                    .and_then(Value::as_object)
                    .is_some_and(|items| object_form_type(items).is_none()) =>
        {
            let items = map
                .get("items")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let item = nested_struct(
                resource,
                parent,
                &format!("{attribute}Item"),
                &items,
                names,
                structs,
            )?;
            let ty = Ty::Vec(Box::new(item));
            if map.get("optional") == Some(&Value::Bool(true)) {
                Ty::Option(Box::new(ty))
            } else {
                ty
            }
        }
        _ => match parse_definition(stored, path, true) {
            Ok(Definition::Leaf(spec, _)) => spec_type(&spec),
            Ok(Definition::Nested { .. }) => Ty::JsonMap,
            Err(e) => return Err(Error::schema(resource, e.attribute, e.reason)),
        },
    };
    let s3db = if ty.definition() == *stored {
        None
    } else {
        match stored {
            Value::String(rule) if document::rule(rule, ty.is_option()) == *stored => {
                Some(format!("rule = {}", quoted(rule)))
            }
            other => Some(format!("definition = {}", raw_string(&other.to_string()))),
        }
    };
    Ok(FieldOut {
        attribute: attribute.to_owned(),
        ident: snake_ident(attribute),
        ty,
        s3db,
        stored: stored.clone(),
    })
}

/// Generates the struct of a nested object; returns its type.
fn nested_struct(
    resource: &str,
    parent: &str,
    attribute: &str,
    map: &Map<String, Value>,
    names: &mut HashSet<String>,
    structs: &mut Vec<StructOut>,
) -> Result<Ty> {
    let name = unique(format!("{parent}{}", pascal_case(attribute)), names);
    let mut fields = Vec::new();
    let mut idents = HashSet::new();
    let mut derived = Attributes::new();
    for (child, stored) in map.iter().filter(|(k, _)| !k.starts_with("$$")) {
        let mut field = field(resource, &name, child, stored, names, structs)?;
        field.ident = unique(field.ident, &mut idents);
        derived.insert(child.clone(), stored.clone());
        fields.push(field);
    }
    structs.push(StructOut {
        name: name.clone(),
        doc: format!("The `{attribute}` object of `{parent}`."),
        s3db: None,
        id_field: false,
        fields,
    });
    Ok(Ty::Struct(name, derived))
}

fn write_struct(out: &mut String, generated: &StructOut) {
    let _ = writeln!(out, "/// {}", generated.doc);
    out.push_str(
        "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, s3db::Document)]\n",
    );
    if let Some(options) = &generated.s3db {
        let _ = writeln!(out, "#[s3db({options})]");
    }
    let _ = writeln!(out, "pub struct {} {{", generated.name);
    if generated.id_field {
        out.push_str("    /// Record id (generated on insert when `None`).\n");
        out.push_str("    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
        out.push_str("    pub id: Option<String>,\n");
    }
    for field in &generated.fields {
        let shown = match &field.stored {
            Value::String(rule) => rule.clone(),
            Value::Object(map) if object_form_type(map).is_none() => "nested object".into(),
            other => other.to_string(),
        };
        let _ = writeln!(
            out,
            "    /// `{}`: `{}`",
            field.attribute,
            shown.replace('`', "'")
        );
        if let Some(s3db) = &field.s3db {
            let _ = writeln!(out, "    #[s3db({s3db})]");
        }
        let mut serde = Vec::new();
        if field.ident.trim_start_matches("r#") != field.attribute {
            serde.push(format!("rename = {}", quoted(&field.attribute)));
        }
        if field.ty.is_option() {
            serde.push("default, skip_serializing_if = \"Option::is_none\"".into());
        }
        if !serde.is_empty() {
            let _ = writeln!(out, "    #[serde({})]", serde.join(", "));
        }
        let _ = writeln!(out, "    pub {}: {},", field.ident, field.ty.rust());
    }
    out.push_str("}\n");
}

/// A Rust string literal.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// A raw string literal holding `text` (`r#"..."#`, with enough `#`).
fn raw_string(text: &str) -> String {
    let mut hashes = 1;
    while text.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let fence = "#".repeat(hashes);
    format!("r{fence}\"{text}\"{fence}")
}

/// `user_profiles` / `user-profiles` → `UserProfiles` (s3db.js's `toPascalCase`), made a
/// valid identifier.
fn pascal_case(name: &str) -> String {
    let joined: String = name
        .split(['_', '-'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    let cleaned: String = joined.chars().filter(char::is_ascii_alphanumeric).collect();
    match cleaned.chars().next() {
        None => "Resource".into(),
        Some(first) if first.is_ascii_digit() => format!("R{cleaned}"),
        Some(_) => cleaned,
    }
}

/// `displayName` → `display_name`; keywords become raw identifiers.
fn snake_ident(attribute: &str) -> String {
    let mut out = String::with_capacity(attribute.len() + 4);
    let mut previous_lower = false;
    for ch in attribute.chars() {
        if ch.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
            previous_lower = false;
        } else if ch.is_ascii_alphanumeric() {
            out.push(ch);
            previous_lower = true;
        } else {
            out.push('_');
            previous_lower = false;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    const RESERVED: [&str; 5] = ["self", "Self", "super", "crate", "_"];
    const KEYWORDS: [&str; 46] = [
        "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
        "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async",
        "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
        "typeof", "unsized", "virtual", "yield",
    ];
    if RESERVED.contains(&out.as_str()) {
        out.push('_');
    } else if KEYWORDS.contains(&out.as_str()) || out == "try" || out == "gen" {
        out.insert_str(0, "r#");
    }
    out
}

/// `name`, or `name2`, `name3`… when taken.
fn unique(name: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.trim_start_matches("r#").to_owned()) {
        candidate = format!("{}{n}", name.trim_start_matches("r#"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_s3dbjs_and_stay_identifiers() {
        assert_eq!(pascal_case("user_profiles"), "UserProfiles");
        assert_eq!(pascal_case("audit-log"), "AuditLog");
        assert_eq!(pascal_case("2fa"), "R2fa");
        assert_eq!(snake_ident("displayName"), "display_name");
        assert_eq!(snake_ident("type"), "r#type");
        assert_eq!(snake_ident("self"), "self_");
        assert_eq!(snake_ident("my-field"), "my_field");
        assert_eq!(snake_ident("2fa"), "_2fa");
        assert_eq!(raw_string(r##"{"a":"#"}"##), r###"r##"{"a":"#"}"##"###);
    }
}
