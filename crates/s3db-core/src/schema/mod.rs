//! Resource schemas: s3db.js attribute definitions parsed once into a typed rule tree, the
//! short-key candidate paths, record validation, and dotted-path flattening.
//!
//! Definitions use fastest-validator's shorthand as s3db.js does (`type|key:value|flag`,
//! `optional`, `required`, `default:X`, nested plain objects, `$$type`), or the object form
//! `{type: 'string', min: 2}`. Differences from s3db.js 21.6.2, on purpose:
//!
//! * An object-form attribute is one field here (s3db.js flattens the definition object and
//!   maps `price.type`, `price.min`… — broken, spec §3.1). Its stored encoding is chosen from
//!   the equivalent shorthand (`number|integer:true`).
//! * `enum:a,b` in the shorthand is a comma-separated list (fastest-validator crashes on it);
//!   `default:` keeps everything up to the next `|`, colons included, typed by the rule
//!   (booleans compare with `true`, numbers go through `Number()`), like s3db.js's
//!   `applyDefaults` for top-level fields — also for nested ones.
//! * `ip4`/`ip6` values are checked to be addresses; `date` accepts ISO date strings (s3db.js
//!   can only accept a `Date` object, which JSON cannot carry); `array|items:number|integer`
//!   checks that the items are integers (s3db.js silently floors them).
//! * A date-time without offset is read as UTC (JavaScript: local time).
//! * `password` is validated as a string but **not hashed**; hashing is the caller's job.
//! * Unknown modifiers are kept, not applied and reported ([`Field::passthrough`]), as
//!   fastest-validator ignores them (`string|email`, `currency|symbol:$`). `unique` on a
//!   non-array type is [`Field::unique`], enforced by resources with one claim object per
//!   value ([`crate::resource::unique`]); s3db.js keeps the flag but does not enforce it.
//! * A stored definition always opens ([`Schema::parse_lenient`]): an attribute this crate
//!   cannot parse is read as `any|optional` and reported.
//!
//! ```
//! use s3db_core::schema::{Schema, ValidationMode};
//! use serde_json::json;
//!
//! let attributes = json!({
//!     "name": "string|min:2",
//!     "age": "number|integer:true|optional",
//!     "profile": {"city": "string"},
//! });
//! let schema = Schema::parse(attributes.as_object().unwrap()).unwrap();
//! assert_eq!(schema.mapping_paths(), ["name", "age", "profile.city", "profile"]);
//!
//! let mut record = json!({"name": "  Ana  ", "age": "41"}).as_object().unwrap().clone();
//! schema.validate(&mut record, ValidationMode::Insert).unwrap();
//! assert_eq!(record["name"], "Ana"); // trimmed
//! assert_eq!(record["age"], 41); // converted
//! ```

mod custom;
mod datetime;
mod error;
mod flatten;
mod js;
pub(crate) mod parse;
mod rule;
mod validate;

use s3db_codec::value::ValueKind;
use serde_json::{Map, Value};

pub use error::{FieldFailure, SchemaError, ValidationError};
pub(crate) use flatten::Unflattened;
pub use flatten::{MAX_UNFLATTEN_INDEX, flatten, unflatten};
pub use rule::{
    AnyKind, ArrayRule, Case, CharClass, CustomKind, EmailRule, NumberKind, NumberRule, ObjectRule,
    Rule, RuleSpec, Strict, StringKind, StringRule, Trim,
};

use parse::{Definition, object_form_type, parse_children};

/// Options of [`Schema::parse_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaOptions {
    /// s3db.js `allNestedObjectsOptional` (default `true`): plain nested objects may be absent
    /// unless their `$$type` says `required`.
    pub all_nested_objects_optional: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            all_nested_objects_optional: true,
        }
    }
}

/// Whether validation fills in defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationMode {
    /// A new record: absent (or `null`) fields with a `default:` get it.
    Insert,
    /// A whole merged record being updated: defaults are not re-applied, and an absent field
    /// that has a default is not reported as missing.
    Update,
}

/// One leaf attribute of a schema.
#[derive(Debug, Clone)]
pub struct Field {
    /// Dotted path, e.g. `profile.city`.
    pub path: String,
    /// The definition string as given (object-form definitions: the equivalent shorthand).
    pub definition: String,
    /// The typed rule.
    pub rule: Rule,
    /// How the value is stored (`ValueKind::from_definition(definition)`).
    pub kind: ValueKind,
    /// `secret` fields are encrypted before storing.
    pub secret: bool,
    /// May be absent or `null`.
    pub optional: bool,
    /// May be `null` even when required.
    pub nullable: bool,
    /// Value applied on insert when absent or `null`.
    pub default: Option<Value>,
    /// s3db.js `unique`: no two records of a resource may hold the same (non-null) value;
    /// enforced by the resource's claim objects ([`crate::resource::unique`]).
    pub unique: bool,
    /// Modifiers this crate does not know: kept in the stored definition, not applied.
    pub passthrough: Vec<String>,
}

/// One level of the schema tree: a leaf field (index into `fields`) or a plain nested object.
#[derive(Debug, Clone)]
enum Node {
    Leaf {
        name: String,
        field: usize,
    },
    Nested {
        name: String,
        path: String,
        optional: bool,
        children: Vec<Node>,
    },
}

/// A parsed resource schema. Cheap to share (`Clone`, `Send`, `Sync`).
#[derive(Debug, Clone)]
pub struct Schema {
    attributes: Map<String, Value>,
    fields: Vec<Field>,
    /// Field index by path, looked up for every field of every record read or written:
    /// foldhash hashes a short path in a few instructions (SipHash and B-tree comparisons
    /// cost several times more).
    by_path: foldhash::HashMap<String, usize>,
    tree: Vec<Node>,
    mapping_paths: Vec<String>,
}

impl Schema {
    /// Parses the attributes object (s3db.js `createResource` shape, order preserved) with the
    /// default options. An unknown type or malformed rule is a [`SchemaError`] naming the
    /// attribute.
    ///
    /// ```
    /// use s3db_core::schema::{Rule, Schema};
    /// use serde_json::json;
    ///
    /// let attributes = json!({
    ///     "email": "email",
    ///     "tags": "array|items:string|unique:true",
    ///     "vector": "embedding:8",
    ///     "address": {"$$type": "object|required", "city": "string|default:Lisboa"},
    /// });
    /// let schema = Schema::parse(attributes.as_object().unwrap()).unwrap();
    /// let city = schema.field("address.city").unwrap();
    /// assert_eq!(city.default, Some(json!("Lisboa")));
    /// assert!(matches!(schema.field("vector").unwrap().rule, Rule::Embedding(_)));
    ///
    /// let bad = json!({"profile": {"age": "numbr"}});
    /// let err = Schema::parse(bad.as_object().unwrap()).unwrap_err();
    /// assert_eq!(err.attribute, "profile.age");
    /// ```
    pub fn parse(attributes: &Map<String, Value>) -> Result<Schema, SchemaError> {
        Schema::parse_with(attributes, SchemaOptions::default())
    }

    /// [`Schema::parse`] with explicit options.
    pub fn parse_with(
        attributes: &Map<String, Value>,
        options: SchemaOptions,
    ) -> Result<Schema, SchemaError> {
        Schema::build(attributes, attributes, options)
    }

    /// Parses a stored definition that must open whatever it holds: an attribute whose
    /// definition cannot be parsed (an unknown type, a malformed modifier) is read as
    /// `any|optional` and reported in the returned list; short keys still follow the
    /// definition as stored. Unknown modifiers on known types are not errors at all (see
    /// [`Field::passthrough`]).
    ///
    /// ```
    /// use s3db_core::schema::{Rule, Schema, SchemaOptions};
    /// use serde_json::json;
    ///
    /// let stored = json!({"email": "email|unique", "shape": "hexagon|sides:6"});
    /// let (schema, problems) =
    ///     Schema::parse_lenient(stored.as_object().unwrap(), SchemaOptions::default());
    /// assert!(schema.field("email").unwrap().unique);
    /// assert!(matches!(schema.field("shape").unwrap().rule, Rule::Any(_)));
    /// assert_eq!(problems[0].attribute, "shape");
    /// ```
    pub fn parse_lenient(
        attributes: &Map<String, Value>,
        options: SchemaOptions,
    ) -> (Schema, Vec<SchemaError>) {
        let mut readable = attributes.clone();
        let mut problems = Vec::new();
        loop {
            match Schema::build(&readable, attributes, options) {
                Ok(schema) => return (schema, problems),
                Err(problem) => {
                    if !replace_unreadable(&mut readable, &problem.attribute) {
                        // Nothing left to replace (a malformed attribute name): read nothing.
                        problems.push(problem);
                        let empty = Schema::build(&Map::new(), attributes, options)
                            .unwrap_or_else(|_| Schema::empty());
                        return (empty, problems);
                    }
                    problems.push(problem);
                }
            }
        }
    }

    fn empty() -> Schema {
        Schema {
            attributes: Map::new(),
            fields: Vec::new(),
            by_path: foldhash::HashMap::default(),
            tree: Vec::new(),
            mapping_paths: Vec::new(),
        }
    }

    /// Parses `readable` into rules; `stored` is the definition as stored (short-key paths).
    fn build(
        readable: &Map<String, Value>,
        stored: &Map<String, Value>,
        options: SchemaOptions,
    ) -> Result<Schema, SchemaError> {
        let children = parse_children(readable, "", options.all_nested_objects_optional)?;
        let mut fields = Vec::new();
        let tree = build_tree(children, "", &mut fields);
        let by_path = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        Ok(Schema {
            attributes: stored.clone(),
            fields,
            by_path,
            tree,
            mapping_paths: mapping_paths_of(stored),
        })
    }

    /// The attributes object as given.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// Leaf fields with dotted paths, in definition order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The leaf field at a dotted path.
    pub fn field(&self, path: &str) -> Option<&Field> {
        self.field_index(path).and_then(|i| self.fields.get(i))
    }

    /// The index in [`Schema::fields`] of the leaf field at a dotted path.
    pub fn field_index(&self, path: &str) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// Candidate paths for short keys, in s3db.js order (spec §3.1): the leaf paths of the
    /// definition object (arrays not descended, `$$` paths excluded), then the first-level
    /// nested-object paths (deeper ones only under `$$type: 'object'`). An object-form
    /// attribute is one path here (s3db.js would list `attr.type`, `attr.min`…).
    pub fn mapping_paths(&self) -> Vec<String> {
        self.mapping_paths.clone()
    }

    /// Validates a whole record in place and reports every failing field.
    ///
    /// Mirrors what s3db.js's validator does to stored values: strings are trimmed (also
    /// `secret`, `password`, `ip4`, `ip6`), numbers and booleans converted from strings,
    /// `json` non-strings replaced by their JSON text, `datetime`/`dateonly`/`timeonly`/`mac`/
    /// `color`/… normalized, defaults applied ([`ValidationMode::Insert`]). Unknown fields are
    /// kept. Secrets are not encrypted here.
    pub fn validate(
        &self,
        record: &mut Map<String, Value>,
        mode: ValidationMode,
    ) -> Result<(), ValidationError> {
        let mut validator = validate::Validator::new(mode);
        validator.check_nodes(&self.tree, &self.fields, record);
        if validator.failures.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                failures: validator.failures,
            })
        }
    }

    /// The fields s3db.js stores as the literal `undefined` when `record` lacks them: fields
    /// whose validator runs even on absent values (`json`, `datetime`, `dateonly`, the other
    /// normalizing types, `secret` — which stores an encrypted `undefined`, and `password`),
    /// at the top level or inside a nested object the record has (spec §3.3, last rows).
    pub fn absent_written_as_undefined(&self, record: &Map<String, Value>) -> Vec<&Field> {
        let mut out = Vec::new();
        self.collect_undefined(&self.tree, record, &mut out);
        out
    }

    fn collect_undefined<'a>(
        &'a self,
        nodes: &[Node],
        object: &Map<String, Value>,
        out: &mut Vec<&'a Field>,
    ) {
        for node in nodes {
            match node {
                Node::Leaf { name, field } => {
                    if let Some(field) = self.fields.get(*field)
                        && !object.contains_key(name)
                        && field.rule.writes_undefined_when_absent()
                    {
                        out.push(field);
                    }
                }
                Node::Nested { name, children, .. } => {
                    if let Some(Value::Object(inner)) = object.get(name) {
                        self.collect_undefined(children, inner, out);
                    }
                }
            }
        }
    }
}

/// The definition read when a stored one cannot be parsed.
const UNREADABLE_AS: &str = "any|optional";

/// Replaces the definition at a failing path (`a.b`, `tags[]`) with [`UNREADABLE_AS`]: the
/// deepest plain-object level that holds it, else the top-level attribute. False when
/// nothing could be replaced.
fn replace_unreadable(attributes: &mut Map<String, Value>, path: &str) -> bool {
    let path = path.split('[').next().unwrap_or(path);
    let unreadable = || Value::String(UNREADABLE_AS.to_owned());
    let segments: Vec<&str> = path.split('.').collect();
    let mut level = &mut *attributes;
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match level.get(*segment) {
            Some(Value::String(current)) if current == UNREADABLE_AS => break,
            Some(Value::Object(_)) if !last => {}
            Some(_) => {
                level.insert((*segment).to_owned(), unreadable());
                return true;
            }
            None => break,
        }
        match level.get_mut(*segment) {
            Some(Value::Object(inner)) => level = inner,
            _ => break,
        }
    }
    match segments.first() {
        Some(top) if attributes.get(*top).and_then(Value::as_str) != Some(UNREADABLE_AS) => {
            attributes.contains_key(*top) && {
                attributes.insert((*top).to_owned(), unreadable());
                true
            }
        }
        _ => false,
    }
}

/// Turns parsed definitions into tree nodes, pushing leaves onto `fields` in order.
fn build_tree(
    children: Vec<(String, Definition)>,
    prefix: &str,
    fields: &mut Vec<Field>,
) -> Vec<Node> {
    children
        .into_iter()
        .map(|(name, definition)| {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match definition {
                Definition::Leaf(spec, definition) => {
                    let secret = matches!(
                        spec.rule,
                        Rule::String {
                            kind: StringKind::Secret,
                            ..
                        }
                    );
                    fields.push(Field {
                        kind: ValueKind::from_definition(&definition),
                        path,
                        definition,
                        rule: spec.rule,
                        secret,
                        optional: spec.optional,
                        nullable: spec.nullable,
                        default: spec.default,
                        unique: spec.unique,
                        passthrough: spec.passthrough,
                    });
                    Node::Leaf {
                        name,
                        field: fields.len() - 1,
                    }
                }
                Definition::Nested { optional, children } => Node::Nested {
                    name,
                    children: build_tree(children, &path, fields),
                    path,
                    optional,
                },
            }
        })
        .collect()
}

/// s3db.js's short-key candidates: `flatten(attributes, {safe: true})` keys without `$$`, then
/// `extractObjectKeys`, de-duplicated in that order.
fn mapping_paths_of(attributes: &Map<String, Value>) -> Vec<String> {
    let mut paths = Vec::new();
    leaf_paths(attributes, "", &mut paths);
    paths.retain(|p| !p.contains("$$"));
    object_paths(attributes, "", &mut paths);
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(p.clone()));
    paths
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn leaf_paths(object: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in object {
        let path = join(prefix, key);
        match value {
            Value::Object(inner) if !inner.is_empty() && object_form_type(inner).is_none() => {
                leaf_paths(inner, &path, out)
            }
            _ => out.push(path),
        }
    }
}

fn object_paths(object: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in object {
        if key.starts_with("$$") {
            continue;
        }
        if let Value::Object(inner) = value {
            if object_form_type(inner).is_some() {
                continue;
            }
            let path = join(prefix, key);
            out.push(path.clone());
            if inner.get("$$type").and_then(Value::as_str) == Some("object") {
                object_paths(inner, &path, out);
            }
        }
    }
}
