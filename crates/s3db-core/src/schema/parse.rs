//! Parsing of attribute definitions — fastest-validator shorthand (`type|key:value|flag`) and
//! the object form (`{type: 'string', min: 2}`) — into [`RuleSpec`]s.

use regex::RegexBuilder;
use serde_json::{Map, Value};

use super::error::SchemaError;
use super::js::{number_value, parse_number, to_js_string};
use super::rule::{
    AnyKind, ArrayRule, Case, CharClass, CustomKind, EmailRule, NumberKind, NumberRule, ObjectRule,
    Rule, RuleSpec, Strict, StringKind, StringRule, Trim,
};

/// Keys accepted on every type and ignored (documentation only).
const IGNORED_KEYS: [&str; 3] = ["label", "messages", "description"];

/// A parsed attribute definition.
#[derive(Debug)]
pub(crate) enum Definition {
    /// A value rule, with the definition string it came from (synthesized for the object form).
    Leaf(Box<RuleSpec>, String),
    /// A plain nested object: `optional` from `$$type` / `allNestedObjectsOptional`.
    Nested {
        optional: bool,
        children: Vec<(String, Definition)>,
    },
}

/// Parses one attribute definition (`path` names it in errors).
pub(crate) fn parse_definition(
    value: &Value,
    path: &str,
    nested_optional: bool,
) -> Result<Definition, SchemaError> {
    match value {
        Value::String(text) => {
            let (type_token, params) =
                parse_shorthand(text).map_err(|reason| SchemaError::new(path, reason))?;
            let spec = build(&type_token, params, path, nested_optional)?;
            Ok(Definition::Leaf(Box::new(spec), text.clone()))
        }
        Value::Object(map) => match object_form_type(map) {
            Some(type_token) => {
                let mut params = map.clone();
                params.shift_remove("type");
                let definition = synthesize_definition(type_token, &params);
                let spec = build(type_token, params, path, nested_optional)?;
                Ok(Definition::Leaf(Box::new(spec), definition))
            }
            None => parse_nested(map, path, nested_optional),
        },
        Value::Array(alternatives) => parse_multi(alternatives, path, nested_optional),
        other => Err(SchemaError::new(
            path,
            format!("a definition must be a string or an object, got {other}"),
        )),
    }
}

/// fastest-validator's multi rule: every alternative is a string or object-form rule. The
/// field is optional only when every alternative is.
fn parse_multi(
    alternatives: &[Value],
    path: &str,
    nested_optional: bool,
) -> Result<Definition, SchemaError> {
    if alternatives.is_empty() {
        return Err(SchemaError::new(
            path,
            "a list of alternative rules needs at least one rule",
        ));
    }
    let mut specs = Vec::with_capacity(alternatives.len());
    for alternative in alternatives {
        match parse_definition(alternative, path, nested_optional)? {
            Definition::Leaf(spec, _) => specs.push(*spec),
            Definition::Nested { .. } => {
                return Err(SchemaError::new(
                    path,
                    "an alternative of a multi-type rule must be a rule, not a nested object",
                ));
            }
        }
    }
    let optional = specs.iter().all(|s| s.optional);
    let nullable = specs.iter().any(|s| s.nullable);
    let spec = RuleSpec {
        optional,
        nullable,
        ..RuleSpec::plain(Rule::Multi(specs))
    };
    // Stored like s3db.js stores a value it has no encoder for: as given (JSON for non-strings).
    Ok(Definition::Leaf(Box::new(spec), "any".to_owned()))
}

/// The children of a nested object, in definition order (`$$` keys skipped).
pub(crate) fn parse_children(
    map: &Map<String, Value>,
    prefix: &str,
    nested_optional: bool,
) -> Result<Vec<(String, Definition)>, SchemaError> {
    let mut children = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name.starts_with("$$") {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if name.is_empty() || name.contains('.') {
            return Err(SchemaError::new(
                &path,
                "attribute names must be non-empty and must not contain '.'",
            ));
        }
        children.push((
            name.clone(),
            parse_definition(value, &path, nested_optional)?,
        ));
    }
    Ok(children)
}

fn parse_nested(
    map: &Map<String, Value>,
    path: &str,
    nested_optional: bool,
) -> Result<Definition, SchemaError> {
    let optional = match map.get("$$type") {
        None => nested_optional,
        Some(Value::String(t)) if t.contains("required") => false,
        Some(Value::String(t)) => t.contains("optional") || nested_optional,
        Some(other) => {
            return Err(SchemaError::new(
                path,
                format!("$$type must be a string, got {other}"),
            ));
        }
    };
    Ok(Definition::Nested {
        optional,
        children: parse_children(map, path, nested_optional)?,
    })
}

/// The `type` of an object-form definition, when the object is one (s3db.js's test: a string
/// naming a known type, without `|`). Otherwise the object is a nested object.
pub(crate) fn object_form_type(map: &Map<String, Value>) -> Option<&str> {
    let token = map.get("type")?.as_str()?;
    (!token.contains('|') && parse_type(token).is_ok()).then_some(token)
}

/// Splits a shorthand definition into its type token and its modifiers. Modifier values are
/// typed like fastest-validator does (`true`/`false`, numbers, else strings), except
/// `default`, which keeps its text (typed later by the rule, like s3db.js's `applyDefaults`).
pub(crate) fn parse_shorthand(text: &str) -> Result<(String, Map<String, Value>), String> {
    let mut parts = text.split('|').map(str::trim);
    let type_token = parts.next().unwrap_or_default();
    if type_token.is_empty() {
        return Err(format!("'{text}' has no type"));
    }
    let mut params = Map::new();
    for part in parts {
        if part.is_empty() {
            return Err(format!("'{text}' has an empty modifier"));
        }
        let (key, value) = match part.split_once(':') {
            Some((key, raw)) => {
                let raw = raw.trim();
                let value = match raw {
                    _ if key.trim() == "default" => Value::String(raw.to_owned()),
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => parse_number(raw)
                        .and_then(number_value)
                        .unwrap_or_else(|| Value::String(raw.to_owned())),
                };
                (key.trim(), value)
            }
            None if part == "default" => {
                return Err(format!(
                    "'{text}': 'default' needs a value after a colon, e.g. 'default:x'"
                ));
            }
            None => match part.strip_prefix("no-") {
                Some(flag) => (flag, Value::Bool(false)),
                None => (part, Value::Bool(true)),
            },
        };
        if key.is_empty() {
            return Err(format!("'{text}' has a modifier without a name"));
        }
        params.insert(key.to_owned(), value);
    }
    Ok((type_token.to_owned(), params))
}

/// A type token resolved: which rule family, with the parameter carried in the token
/// (`embedding:8`, `decimal:4`, `money:2`, `geo:lat:6`, `string[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeToken {
    Simple(&'static str),
    ArrayOf(String),
    Embedding(Option<usize>),
    Number(NumberKind),
    Password,
    Any(AnyKind),
}

fn parse_type(token: &str) -> Result<TypeToken, String> {
    if let Some(item) = token.strip_suffix("[]") {
        parse_type(item)?;
        return Ok(TypeToken::ArrayOf(item.to_owned()));
    }
    const SIMPLE: [&str; 31] = [
        "string",
        "number",
        "boolean",
        "email",
        "url",
        "uuid",
        "date",
        "datetime",
        "dateonly",
        "timeonly",
        "array",
        "object",
        "json",
        "secret",
        "ip4",
        "ip6",
        "mac",
        "semver",
        "color",
        "duration",
        "ean",
        "cidr",
        "phone",
        "currency",
        "country",
        "locale",
        "cron",
        "text",
        "any",
        "enum",
        "forbidden",
    ];
    if let Some(name) = SIMPLE.iter().find(|name| **name == token) {
        return Ok(TypeToken::Simple(name));
    }
    // `name` or `name:N` (geo types also as `geo-lat`…).
    let normalized = token.replacen("geo-", "geo:", 1);
    let (name, param) = match normalized.strip_prefix("geo:") {
        Some(rest) => match rest.split_once(':') {
            Some((base, n)) => (format!("geo:{base}"), Some(n)),
            None => (normalized.clone(), None),
        },
        None => match normalized.split_once(':') {
            Some((base, n)) => (base.to_owned(), Some(n)),
            None => (normalized.clone(), None),
        },
    };
    let number = || -> Result<Option<u32>, String> {
        param
            .map(|n| {
                n.parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 20 || name == "embedding" || name == "bits")
                    .ok_or_else(|| format!("'{token}' needs a number after ':'"))
            })
            .transpose()
    };
    let no_param = |t: TypeToken| match param {
        None => Ok(t),
        Some(_) => Err(format!("unknown type '{token}'")),
    };
    match name.as_str() {
        "bool" => no_param(TypeToken::Simple("boolean")),
        "buffer" => no_param(TypeToken::Any(AnyKind::Buffer)),
        "bits" => number().map(|_| TypeToken::Any(AnyKind::Bits)),
        "geo:point" => number().map(|_| TypeToken::Any(AnyKind::GeoPoint)),
        "embedding" => Ok(TypeToken::Embedding(number()?.map(|n| n as usize))),
        "money" => Ok(TypeToken::Number(NumberKind::Money {
            decimals: number()?.unwrap_or(2),
        })),
        "crypto" => Ok(TypeToken::Number(NumberKind::Crypto {
            decimals: number()?.unwrap_or(8),
        })),
        "decimal" => Ok(TypeToken::Number(NumberKind::Decimal {
            precision: number()?,
        })),
        "geo:lat" => Ok(TypeToken::Number(NumberKind::GeoLat {
            precision: number()?,
        })),
        "geo:lon" => Ok(TypeToken::Number(NumberKind::GeoLon {
            precision: number()?,
        })),
        "password" if matches!(param, None | Some("bcrypt" | "argon2id")) => {
            Ok(TypeToken::Password)
        }
        _ => Err(format!("unknown type '{token}'")),
    }
}

/// The modifiers of one definition, consumed by name; what is left at the end is an error.
struct Params<'a> {
    map: Map<String, Value>,
    type_token: &'a str,
}

impl Params<'_> {
    fn bad(&self, key: &str, expected: &str, got: &Value) -> String {
        format!(
            "modifier '{key}' of type '{}' must be {expected}, got {got}",
            self.type_token
        )
    }

    fn flag(&mut self, key: &str) -> Result<bool, String> {
        match self.map.remove(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(self.bad(key, "true or false", &other)),
        }
    }

    fn count(&mut self, key: &str) -> Result<Option<usize>, String> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => Err(self.bad(key, "a non-negative integer", &v)),
            },
        }
    }

    fn number(&mut self, key: &str) -> Result<Option<f64>, String> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) => Ok(Some(n)),
                None => Err(self.bad(key, "a number", &v)),
            },
        }
    }

    fn text(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => match to_js_string(&v) {
                Some(s) => Ok(Some(s)),
                None => Err(self.bad(key, "a string", &v)),
            },
        }
    }

    /// A list: a JSON array, or comma-separated text in the shorthand.
    fn list(&mut self, key: &str) -> Result<Option<Vec<Value>>, String> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_owned()))
                    .collect(),
            )),
            Some(other) => Err(self.bad(key, "a list", &other)),
        }
    }

    /// The modifiers nobody consumed: kept (they stay in the stored definition) and reported,
    /// not applied — fastest-validator ignores unknown modifiers too.
    fn finish(mut self) -> Vec<String> {
        for key in IGNORED_KEYS {
            self.map.remove(key);
        }
        self.map.keys().cloned().collect()
    }
}

/// Builds the rule of a type token and its modifiers.
fn build(
    type_token: &str,
    params: Map<String, Value>,
    path: &str,
    nested_optional: bool,
) -> Result<RuleSpec, SchemaError> {
    let fail = |reason: String| SchemaError::new(path, reason);
    let token = parse_type(type_token).map_err(fail)?;
    let mut p = Params {
        map: params,
        type_token,
    };
    let optional = p.flag("optional").map_err(fail)?;
    p.flag("required").map_err(fail)?;
    let nullable = p.flag("nullable").map_err(fail)?;
    let default = p.map.remove("default");
    let rule = build_rule(&token, &mut p, path, nested_optional)?;
    // Arrays consumed `unique` as their distinct-items check; on other types it is s3db.js's
    // uniqueness flag.
    let unique = p.flag("unique").map_err(fail)?;
    let passthrough = p.finish();
    let default = default
        .map(|d| coerce_default(&rule, d))
        .transpose()
        .map_err(fail)?;
    Ok(RuleSpec {
        rule,
        optional,
        nullable,
        default,
        unique,
        passthrough,
    })
}

fn build_rule(
    token: &TypeToken,
    p: &mut Params<'_>,
    path: &str,
    nested_optional: bool,
) -> Result<Rule, SchemaError> {
    let fail = |reason: String| SchemaError::new(path, reason);
    let rule = match token {
        TypeToken::Simple(name) => match *name {
            "string" => string_rule(StringKind::Plain, p).map_err(fail)?,
            "text" => string_rule(StringKind::Text, p).map_err(fail)?,
            "secret" => string_rule(StringKind::Secret, p).map_err(fail)?,
            "ip4" => string_rule(StringKind::Ip4, p).map_err(fail)?,
            "ip6" => string_rule(StringKind::Ip6, p).map_err(fail)?,
            "number" => number_rule(NumberKind::Plain, p).map_err(fail)?,
            "boolean" => Rule::Boolean {
                convert: !matches!(p.map.remove("convert"), Some(Value::Bool(false))),
            },
            "email" => email_rule(p).map_err(fail)?,
            "url" => Rule::Url {
                empty: p.flag("empty").map_err(fail)?,
            },
            "uuid" => Rule::Uuid {
                version: uuid_version(p).map_err(fail)?,
            },
            "date" => {
                p.flag("convert").map_err(fail)?;
                Rule::Date
            }
            "array" => Rule::Array(array_rule(p, path, nested_optional)?),
            "object" => Rule::Object(object_rule(p, path, nested_optional)?),
            "enum" => Rule::Enum {
                values: p
                    .list("values")
                    .map_err(fail)?
                    .ok_or_else(|| fail("type 'enum' needs 'values'".to_owned()))?,
            },
            "any" => Rule::Any(AnyKind::Any),
            "forbidden" => Rule::Forbidden,
            custom => Rule::Custom(
                custom_kind(custom).ok_or_else(|| fail(format!("unknown type '{custom}'")))?,
            ),
        },
        TypeToken::ArrayOf(item) => {
            let items = build(item, Map::new(), &format!("{path}[]"), nested_optional)?;
            let mut rule = array_rule(p, path, nested_optional)?;
            rule.items = Some(Box::new(items));
            Rule::Array(rule)
        }
        TypeToken::Embedding(dimensions) => {
            let mut rule = array_rule(p, path, nested_optional)?;
            if rule.items.is_some() {
                return Err(fail("'embedding' items are always numbers".to_owned()));
            }
            rule.items = Some(Box::new(RuleSpec::plain(Rule::Number {
                kind: NumberKind::Plain,
                checks: NumberRule {
                    convert: true,
                    ..NumberRule::default()
                },
            })));
            rule.length = rule.length.or(*dimensions);
            rule.non_empty = true;
            Rule::Embedding(rule)
        }
        TypeToken::Number(kind) => number_rule(*kind, p).map_err(fail)?,
        TypeToken::Password => string_rule(StringKind::Password, p).map_err(fail)?,
        TypeToken::Any(kind) => Rule::Any(*kind),
    };
    Ok(rule)
}

fn custom_kind(name: &str) -> Option<CustomKind> {
    Some(match name {
        "json" => CustomKind::Json,
        "datetime" => CustomKind::DateTime,
        "dateonly" => CustomKind::DateOnly,
        "timeonly" => CustomKind::TimeOnly,
        "mac" => CustomKind::Mac,
        "cidr" => CustomKind::Cidr,
        "semver" => CustomKind::Semver,
        "phone" => CustomKind::Phone,
        "color" => CustomKind::Color,
        "duration" => CustomKind::Duration,
        "cron" => CustomKind::Cron,
        "locale" => CustomKind::Locale,
        "currency" => CustomKind::Currency,
        "country" => CustomKind::Country,
        "ean" => CustomKind::Ean,
        _ => return None,
    })
}

fn string_rule(kind: StringKind, p: &mut Params<'_>) -> Result<Rule, String> {
    // s3db.js turns on `trim` for every string-typed rule (secret, password, ip4, ip6 too).
    let trim_both = match p.map.remove("trim") {
        None => true,
        Some(Value::Bool(b)) => b,
        Some(other) => return Err(p.bad("trim", "true or false", &other)),
    };
    // Both flags are consumed even when `trim` already covers them (else they would be
    // reported as unknown modifiers).
    let (trim_left, trim_right) = (p.flag("trimLeft")?, p.flag("trimRight")?);
    let trim = Trim {
        start: trim_both || trim_left,
        end: trim_both || trim_right,
    };
    let case = match (p.flag("lowercase")?, p.flag("uppercase")?) {
        (true, true) => return Err("'lowercase' and 'uppercase' exclude each other".to_owned()),
        (true, false) => Some(Case::Lower),
        (false, true) => Some(Case::Upper),
        (false, false) => None,
    };
    let pattern = match p.text("pattern")? {
        None => None,
        Some(source) => {
            let flags = p.text("patternFlags")?.unwrap_or_default();
            let mut builder = RegexBuilder::new(&source);
            for flag in flags.chars() {
                match flag {
                    'i' => builder.case_insensitive(true),
                    'm' => builder.multi_line(true),
                    's' => builder.dot_matches_new_line(true),
                    'u' | 'g' => &mut builder,
                    other => return Err(format!("unsupported pattern flag '{other}'")),
                };
            }
            Some(
                builder
                    .build()
                    .map_err(|e| format!("invalid pattern '{source}': {e}"))?,
            )
        }
    };
    let one_of = p
        .list("enum")?
        .map(|values| {
            values
                .iter()
                .map(to_js_string)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| "'enum' of a string must list strings".to_owned())
        })
        .transpose()?;
    let empty = match p.map.remove("empty") {
        None => None,
        Some(Value::Bool(b)) => Some(b),
        Some(other) => return Err(p.bad("empty", "true or false", &other)),
    };
    let mut classes = Vec::new();
    for (key, class) in [
        ("alpha", CharClass::Alpha),
        ("numeric", CharClass::Numeric),
        ("alphanum", CharClass::Alphanum),
        ("alphadash", CharClass::Alphadash),
        ("hex", CharClass::Hex),
        ("singleLine", CharClass::SingleLine),
        ("base64", CharClass::Base64),
    ] {
        if p.flag(key)? {
            classes.push(class);
        }
    }
    let checks = StringRule {
        min: p.count("min")?,
        max: p.count("max")?,
        length: p.count("length")?,
        pattern,
        one_of,
        contains: p.text("contains")?,
        empty,
        trim,
        case,
        convert: p.flag("convert")?,
        classes,
    };
    Ok(Rule::String { kind, checks })
}

fn number_rule(kind: NumberKind, p: &mut Params<'_>) -> Result<Rule, String> {
    let (min_default, max_default) = match kind {
        NumberKind::Money { .. } | NumberKind::Crypto { .. } => (Some(0.0), None),
        NumberKind::GeoLat { .. } => (Some(-90.0), Some(90.0)),
        NumberKind::GeoLon { .. } => (Some(-180.0), Some(180.0)),
        NumberKind::Plain | NumberKind::Decimal { .. } => (None, None),
    };
    let convert = match p.map.remove("convert") {
        None => true,
        Some(Value::Bool(b)) => b,
        Some(other) => return Err(p.bad("convert", "true or false", &other)),
    };
    let checks = NumberRule {
        min: p.number("min")?.or(min_default),
        max: p.number("max")?.or(max_default),
        equal: p.number("equal")?,
        not_equal: p.number("notEqual")?,
        integer: p.flag("integer")?,
        positive: p.flag("positive")?,
        negative: p.flag("negative")?,
        convert,
    };
    Ok(Rule::Number { kind, checks })
}

fn email_rule(p: &mut Params<'_>) -> Result<Rule, String> {
    let precise = match p.text("mode")?.as_deref() {
        None | Some("quick") => false,
        Some("precise") => true,
        Some(other) => {
            return Err(format!(
                "email mode must be 'quick' or 'precise', got '{other}'"
            ));
        }
    };
    Ok(Rule::Email(EmailRule {
        precise,
        normalize: p.flag("normalize")?,
        empty: p.flag("empty")?,
        min: p.count("min")?,
        max: p.count("max")?,
    }))
}

fn uuid_version(p: &mut Params<'_>) -> Result<Option<u8>, String> {
    match p.count("version")? {
        None => Ok(None),
        Some(v) if v <= 8 => Ok(u8::try_from(v).ok()),
        Some(v) => Err(format!("uuid version must be 0 to 8, got {v}")),
    }
}

fn array_rule(
    p: &mut Params<'_>,
    path: &str,
    nested_optional: bool,
) -> Result<ArrayRule, SchemaError> {
    let fail = |reason: String| SchemaError::new(path, reason);
    let item_path = format!("{path}[]");
    let mut items = match p.map.remove("items") {
        None => None,
        Some(definition) => match parse_definition(&definition, &item_path, nested_optional)? {
            Definition::Leaf(spec, _) => Some(*spec),
            Definition::Nested { optional, children } => Some(nested_as_object(optional, children)),
        },
    };
    // `array|items:number|integer:true`: s3db.js encodes the items as integers (fastest-validator
    // ignores the flag); here the items are also checked to be integers.
    if p.flag("integer").map_err(fail)? {
        match items.as_mut().map(|spec| &mut spec.rule) {
            Some(Rule::Number { checks, .. }) => checks.integer = true,
            _ => return Err(fail("'integer' on an array needs number items".to_owned())),
        }
    }
    Ok(ArrayRule {
        items: items.map(Box::new),
        min: p.count("min").map_err(fail)?,
        max: p.count("max").map_err(fail)?,
        length: p.count("length").map_err(fail)?,
        unique: p.flag("unique").map_err(fail)?,
        non_empty: matches!(p.map.remove("empty"), Some(Value::Bool(false))),
        contains: p.map.remove("contains"),
        one_of: p.list("enum").map_err(fail)?,
        convert: p.flag("convert").map_err(fail)?,
    })
}

fn object_rule(
    p: &mut Params<'_>,
    path: &str,
    nested_optional: bool,
) -> Result<ObjectRule, SchemaError> {
    let fail = |reason: String| SchemaError::new(path, reason);
    let props_value = match (p.map.remove("props"), p.map.remove("properties")) {
        (Some(_), Some(_)) => {
            return Err(fail("give 'props' or 'properties', not both".to_owned()));
        }
        (a, b) => a.or(b),
    };
    let props = match props_value {
        None => None,
        Some(Value::Object(map)) => Some(
            parse_children(&map, path, nested_optional)?
                .into_iter()
                .map(|(name, def)| {
                    let spec = match def {
                        Definition::Leaf(spec, _) => *spec,
                        Definition::Nested { optional, children } => {
                            nested_as_object(optional, children)
                        }
                    };
                    (name, spec)
                })
                .collect(),
        ),
        Some(other) => return Err(fail(format!("'props' must be an object, got {other}"))),
    };
    let strict = match p.map.remove("strict") {
        None => Strict::Remove,
        Some(Value::Bool(true)) => Strict::Reject,
        Some(Value::Bool(false)) => Strict::Keep,
        Some(Value::String(s)) if s == "remove" => Strict::Remove,
        Some(other) => return Err(fail(p.bad("strict", "true, false or 'remove'", &other))),
    };
    Ok(ObjectRule {
        props,
        strict,
        min_props: p.count("minProps").map_err(fail)?,
        max_props: p.count("maxProps").map_err(fail)?,
    })
}

/// A plain nested object inside `props` or `items` becomes an `object` rule with its
/// properties checked and unknown ones kept (s3db.js: `strict: false`).
fn nested_as_object(optional: bool, children: Vec<(String, Definition)>) -> RuleSpec {
    let props = children
        .into_iter()
        .map(|(name, def)| {
            let spec = match def {
                Definition::Leaf(spec, _) => *spec,
                Definition::Nested { optional, children } => nested_as_object(optional, children),
            };
            (name, spec)
        })
        .collect();
    RuleSpec {
        optional,
        ..RuleSpec::plain(Rule::Object(ObjectRule {
            props: Some(props),
            strict: Strict::Keep,
            min_props: None,
            max_props: None,
        }))
    }
}

/// Types a `default:` like s3db.js's `applyDefaults`: booleans compare the text with `true`,
/// numbers go through `Number()`, everything else keeps the text (object-form defaults that are
/// not strings are kept as given).
fn coerce_default(rule: &Rule, default: Value) -> Result<Value, String> {
    let Value::String(text) = &default else {
        return Ok(default);
    };
    match rule {
        Rule::Boolean { .. } => Ok(Value::Bool(text == "true")),
        Rule::Number { .. } => parse_number(text)
            .and_then(number_value)
            .ok_or_else(|| format!("default '{text}' is not a number")),
        _ => Ok(default),
    }
}

/// The shorthand equivalent of an object-form definition, for choosing the stored encoding
/// (`{type: 'number', integer: true}` → `number|integer:true`).
fn synthesize_definition(type_token: &str, params: &Map<String, Value>) -> String {
    let mut out = type_token.to_owned();
    for (key, value) in params {
        match (key.as_str(), value) {
            ("props" | "properties" | "default" | "messages" | "label" | "description", _) => {}
            ("items", Value::Object(item)) => {
                if let Some(t) = item.get("type").and_then(Value::as_str) {
                    out.push_str("|items:");
                    out.push_str(t);
                }
                if item.get("integer") == Some(&Value::Bool(true)) {
                    out.push_str("|integer:true");
                }
            }
            (_, Value::Array(_) | Value::Object(_) | Value::Null) => {}
            ("optional", Value::Bool(true)) => out.push_str("|optional"),
            (_, scalar) => {
                if let Some(text) = to_js_string(scalar) {
                    out.push('|');
                    out.push_str(key);
                    out.push(':');
                    out.push_str(&text);
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shorthand_splits_type_and_modifiers() {
        let (t, params) =
            parse_shorthand("string | min:2 |no-trim| default:a:b |pattern:123").unwrap();
        assert_eq!(t, "string");
        assert_eq!(params.get("min"), Some(&json!(2)));
        assert_eq!(params.get("trim"), Some(&json!(false)));
        assert_eq!(params.get("default"), Some(&json!("a:b")));
        assert_eq!(params.get("pattern"), Some(&json!(123)));
        assert!(parse_shorthand("|optional").is_err());
        assert!(parse_shorthand("string||optional").is_err());
    }

    #[test]
    fn type_tokens() {
        assert_eq!(parse_type("embedding:8"), Ok(TypeToken::Embedding(Some(8))));
        assert_eq!(
            parse_type("geo:lat:4"),
            Ok(TypeToken::Number(NumberKind::GeoLat { precision: Some(4) }))
        );
        assert_eq!(
            parse_type("money"),
            Ok(TypeToken::Number(NumberKind::Money { decimals: 2 }))
        );
        assert_eq!(
            parse_type("string[]"),
            Ok(TypeToken::ArrayOf("string".to_owned()))
        );
        assert_eq!(parse_type("password:bcrypt"), Ok(TypeToken::Password));
        assert_eq!(
            parse_type("geo-lon"),
            Ok(TypeToken::Number(NumberKind::GeoLon { precision: None }))
        );
        for bad in [
            "strnig",
            "embedding:x",
            "decimal:",
            "geo:alt",
            "geo:lat:x",
            "money8",
            "bool:1",
            "password:md5",
            "decimal:99",
        ] {
            assert!(parse_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_form_is_synthesized_to_shorthand() {
        let map = json!({"integer": true, "min": 0, "optional": true, "default": 3});
        let Value::Object(map) = map else {
            unreachable!()
        };
        assert_eq!(
            synthesize_definition("number", &map),
            "number|integer:true|min:0|optional"
        );
        let items = json!({"items": {"type": "number", "integer": true}, "length": 300});
        let Value::Object(items) = items else {
            unreachable!()
        };
        assert_eq!(
            synthesize_definition("array", &items),
            "array|items:number|integer:true|length:300"
        );
    }
}
