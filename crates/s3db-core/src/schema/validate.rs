//! Record validation: fastest-validator's checks as s3db.js configures them (strings trimmed,
//! numbers and booleans converted, unknown top-level fields kept), collecting every failure.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use s3db_codec::value::format_js_number;
use serde_json::{Map, Value};

use super::custom::normalize;
use super::datetime::parse_iso;
use super::error::FieldFailure;
use super::js::{number_value, parse_number, to_js_string};
use super::rule::{
    ArrayRule, Case, CharClass, CustomKind, EmailRule, NumberRule, ObjectRule, Rule, RuleSpec,
    Strict, StringKind, StringRule,
};
use super::{Field, Node, ValidationMode};
use crate::small_map;

static EMAIL_PRECISE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$"#,
    )
    .ok()
});
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^https?://\S+").ok());
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12})$",
    )
    .ok()
});
static NUMERIC: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^-?[0-9]\d*(\.\d+)?$").ok());
static BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$").ok()
});

fn is_match(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// JavaScript `String.prototype.trim` whitespace (Unicode White_Space plus the BOM).
fn is_js_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// JavaScript string length (UTF-16 code units).
fn js_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// The quick e-mail check, `^\S+@\S+\.\S+$`, without a regex: no whitespace, and an `@` after
/// the first character, then at least one character, a `.`, and at least one more. The
/// earliest such `@` and the latest such `.` leave the most room, so they decide.
fn is_quick_email(text: &str) -> bool {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return false;
    }
    // `@` and `.` are single bytes that never occur inside a multi-byte character.
    let at = text.bytes().skip(1).position(|b| b == b'@').map(|i| i + 1);
    let dot = text.as_bytes()[..text.len() - 1]
        .iter()
        .rposition(|&b| b == b'.');
    matches!((at, dot), (Some(at), Some(dot)) if dot > at + 1)
}

/// Presence modifiers of one slot (a record field, an object property, an array item).
#[derive(Clone, Copy)]
struct Presence<'a> {
    optional: bool,
    nullable: bool,
    default: Option<&'a Value>,
}

impl<'a> From<&'a RuleSpec> for Presence<'a> {
    fn from(spec: &'a RuleSpec) -> Self {
        Presence {
            optional: spec.optional,
            nullable: spec.nullable,
            default: spec.default.as_ref(),
        }
    }
}

impl<'a> From<&'a Field> for Presence<'a> {
    fn from(field: &'a Field) -> Self {
        Presence {
            optional: field.optional,
            nullable: field.nullable,
            default: field.default.as_ref(),
        }
    }
}

/// The path of the value being checked, joined into text only when a failure names it
/// (`address.city`, `tags[2]`, `meta.sizes[0].w`).
#[derive(Clone, Copy)]
pub(crate) enum FieldPath<'a> {
    /// A schema field's dotted path.
    Root(&'a str),
    /// An item of the array at the parent path.
    Item(&'a FieldPath<'a>, usize),
    /// A property of the object at the parent path.
    Prop(&'a FieldPath<'a>, &'a str),
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldPath::Root(path) => f.write_str(path),
            FieldPath::Item(parent, i) => write!(f, "{parent}[{i}]"),
            FieldPath::Prop(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

/// Walks a record and collects failures.
pub(crate) struct Validator {
    mode: ValidationMode,
    pub(crate) failures: Vec<FieldFailure>,
}

impl Validator {
    pub(crate) fn new(mode: ValidationMode) -> Self {
        Validator {
            mode,
            failures: Vec::new(),
        }
    }

    fn fail(&mut self, path: FieldPath<'_>, rule: &str, message: String) {
        self.failures.push(FieldFailure {
            path: path.to_string(),
            rule: rule.to_owned(),
            message,
        });
    }

    /// Validates the nodes of one object level of the schema tree.
    pub(crate) fn check_nodes(
        &mut self,
        nodes: &[Node],
        fields: &[Field],
        object: &mut Map<String, Value>,
    ) {
        for node in nodes {
            match node {
                Node::Leaf { name, field } => {
                    if let Some(field) = fields.get(*field) {
                        let presence = Presence::from(field);
                        let path = FieldPath::Root(&field.path);
                        self.check_entry(object, name, path, presence, &field.rule);
                    }
                }
                Node::Nested {
                    name,
                    path,
                    optional,
                    children,
                } => match small_map::get_mut(object, name) {
                    None | Some(Value::Null) if *optional => {}
                    None | Some(Value::Null) => self.required(FieldPath::Root(path)),
                    Some(Value::Object(inner)) => self.check_nodes(children, fields, inner),
                    Some(_) => {
                        let path = FieldPath::Root(path);
                        self.fail(path, "object", format!("The '{path}' must be an Object."))
                    }
                },
            }
        }
    }

    fn required(&mut self, path: FieldPath<'_>) {
        self.fail(path, "required", format!("The '{path}' field is required."));
    }

    /// One named slot of an object: presence, default, then the rule.
    fn check_entry(
        &mut self,
        object: &mut Map<String, Value>,
        name: &str,
        path: FieldPath<'_>,
        presence: Presence<'_>,
        rule: &Rule,
    ) {
        match small_map::get_mut(object, name) {
            Some(value) if !value.is_null() => self.check_value(rule, value, path),
            found => {
                let is_null = found.is_some();
                match presence.default {
                    Some(default)
                        if self.mode == ValidationMode::Insert
                            && !(is_null && presence.nullable) =>
                    {
                        let value = self.checked_default(rule, default, path);
                        object.insert(name.to_owned(), value);
                    }
                    Some(_) if !is_null => {} // Update: the merged record keeps what it has.
                    _ if is_null && (presence.optional || presence.nullable) => {
                        if matches!(rule, Rule::Custom(CustomKind::Json)) {
                            // s3db.js's json validator runs on null too: JSON.stringify(null).
                            object.insert(name.to_owned(), Value::String("null".to_owned()));
                        }
                    }
                    _ if !is_null && presence.optional => {}
                    _ => self.required(path),
                }
            }
        }
    }

    /// One array item: there is no absent item, only `null`.
    fn check_item(&mut self, spec: &RuleSpec, value: &mut Value, path: FieldPath<'_>) {
        if !value.is_null() {
            return self.check_value(&spec.rule, value, path);
        }
        match &spec.default {
            Some(default) if self.mode == ValidationMode::Insert && !spec.nullable => {
                *value = self.checked_default(&spec.rule, default, path);
            }
            _ if spec.optional || spec.nullable => {}
            _ => self.required(path),
        }
    }

    /// A default about to be inserted, checked (and converted) by its rule like a given
    /// value: an object-form default of the wrong type is a validation failure, not a
    /// stored value the schema rejects.
    fn checked_default(&mut self, rule: &Rule, default: &Value, path: FieldPath<'_>) -> Value {
        let mut value = default.clone();
        if !value.is_null() {
            self.check_value(rule, &mut value, path);
        }
        value
    }

    /// A present, non-null value.
    fn check_value(&mut self, rule: &Rule, value: &mut Value, path: FieldPath<'_>) {
        match rule {
            Rule::Any(_) => {}
            Rule::Forbidden => self.fail(
                path,
                "forbidden",
                format!("The '{path}' field is forbidden."),
            ),
            Rule::String { kind, checks } => self.check_string(*kind, checks, value, path),
            Rule::Number { checks, .. } => self.check_number(checks, value, path),
            Rule::Boolean { convert } => self.check_boolean(*convert, value, path),
            Rule::Email(checks) => self.check_email(checks, value, path),
            Rule::Url { empty } => self.check_url(*empty, value, path),
            Rule::Uuid { version } => self.check_uuid(*version, value, path),
            Rule::Date => {
                if value.as_str().is_none_or(|s| parse_iso(s).is_none()) {
                    self.fail(path, "date", format!("The '{path}' field must be a Date."));
                }
            }
            Rule::Enum { values } => {
                if !values.iter().any(|v| js_equal(v, value)) {
                    let expected = join_values(values);
                    self.fail(
                        path,
                        "enumValue",
                        format!(
                            "The '{path}' field value '{expected}' does not match any of the allowed values."
                        ),
                    );
                }
            }
            Rule::Array(checks) | Rule::Embedding(checks) => self.check_array(checks, value, path),
            Rule::Object(checks) => self.check_object(checks, value, path),
            Rule::Custom(kind) => match normalize(*kind, value) {
                Ok(rewritten) => *value = rewritten,
                Err((rule, message)) => {
                    self.fail(path, rule, message.replace("{field}", &path.to_string()))
                }
            },
            Rule::Multi(alternatives) => self.check_multi(alternatives, value, path),
        }
    }

    /// The first alternative that accepts the value normalizes it; when none does, the
    /// failures of every alternative are reported.
    fn check_multi(&mut self, alternatives: &[RuleSpec], value: &mut Value, path: FieldPath<'_>) {
        let mut failures = Vec::new();
        for spec in alternatives {
            let mut attempt = Validator::new(self.mode);
            let mut candidate = value.clone();
            attempt.check_item(spec, &mut candidate, path);
            if attempt.failures.is_empty() {
                *value = candidate;
                return;
            }
            failures.append(&mut attempt.failures);
        }
        self.failures.append(&mut failures);
    }

    fn check_string(
        &mut self,
        kind: StringKind,
        checks: &StringRule,
        value: &mut Value,
        path: FieldPath<'_>,
    ) {
        if checks.convert
            && !value.is_string()
            && let Some(text) = to_js_string(value)
        {
            *value = Value::String(text);
        }
        let Value::String(text) = value else {
            return self.fail(
                path,
                "string",
                format!("The '{path}' field must be a string."),
            );
        };
        let mut s: &str = text;
        if checks.trim.start {
            s = s.trim_start_matches(is_js_space);
        }
        if checks.trim.end {
            s = s.trim_end_matches(is_js_space);
        }
        // A new string only when trimming or the case rule changes the value.
        let rewritten = match checks.case {
            Some(Case::Lower) => Some(s.to_lowercase()),
            Some(Case::Upper) => Some(s.to_uppercase()),
            None => (s.len() != text.len()).then(|| s.to_owned()),
        };
        let s = rewritten.as_deref().unwrap_or(s);
        let len = js_len(s);
        let mut fails: Vec<(&str, String)> = Vec::new();
        let empty_ok = checks.empty == Some(true) && len == 0;
        if checks.empty == Some(false) && len == 0 {
            fails.push((
                "stringEmpty",
                format!("The '{path}' field must not be empty."),
            ));
        }
        if !empty_ok {
            string_checks(checks, s, len, path, &mut fails);
            match kind {
                StringKind::Ip4 if s.parse::<Ipv4Addr>().is_err() => fails.push((
                    "ip4",
                    format!("The '{path}' field must be a valid IPv4 address."),
                )),
                StringKind::Ip6 if s.parse::<Ipv6Addr>().is_err() => fails.push((
                    "ip6",
                    format!("The '{path}' field must be a valid IPv6 address."),
                )),
                _ => {}
            }
        }
        if let Some(rewritten) = rewritten {
            *text = rewritten;
        }
        for (rule, message) in fails {
            self.fail(path, rule, message);
        }
    }

    fn check_number(&mut self, checks: &NumberRule, value: &mut Value, path: FieldPath<'_>) {
        let original = value.clone();
        let number = match value {
            Value::Number(n) => n.as_f64(),
            _ if !checks.convert => None,
            Value::String(s) => parse_number(s),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        let Some(n) = number.filter(|n| n.is_finite()) else {
            return self.fail(
                path,
                "number",
                format!("The '{path}' field must be a number."),
            );
        };
        if !value.is_number()
            && let Some(converted) = number_value(n)
        {
            *value = converted;
        }
        let actual = to_js_string(&original).unwrap_or_default();
        let bound = |x: f64| format_js_number(x);
        if let Some(min) = checks.min.filter(|min| n < *min) {
            self.fail(
                path,
                "numberMin",
                format!(
                    "The '{path}' field must be greater than or equal to {}.",
                    bound(min)
                ),
            );
        }
        if let Some(max) = checks.max.filter(|max| n > *max) {
            self.fail(
                path,
                "numberMax",
                format!(
                    "The '{path}' field must be less than or equal to {}.",
                    bound(max)
                ),
            );
        }
        if let Some(eq) = checks.equal.filter(|eq| n != *eq) {
            self.fail(
                path,
                "numberEqual",
                format!("The '{path}' field must be equal to {}.", bound(eq)),
            );
        }
        if let Some(ne) = checks.not_equal.filter(|ne| n == *ne) {
            self.fail(
                path,
                "numberNotEqual",
                format!("The '{path}' field can't be equal to {}.", bound(ne)),
            );
        }
        if checks.integer && n.fract() != 0.0 {
            self.fail(
                path,
                "numberInteger",
                format!("The '{path}' field must be an integer (got {actual})."),
            );
        }
        if checks.positive && n <= 0.0 {
            self.fail(
                path,
                "numberPositive",
                format!("The '{path}' field must be a positive number."),
            );
        }
        if checks.negative && n >= 0.0 {
            self.fail(
                path,
                "numberNegative",
                format!("The '{path}' field must be a negative number."),
            );
        }
    }

    fn check_boolean(&mut self, convert: bool, value: &mut Value, path: FieldPath<'_>) {
        if convert {
            let converted = match &*value {
                Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
                Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
                Value::String(s) if matches!(s.as_str(), "true" | "1" | "on") => Some(true),
                Value::String(s) if matches!(s.as_str(), "false" | "0" | "off") => Some(false),
                _ => None,
            };
            if let Some(b) = converted {
                *value = Value::Bool(b);
            }
        }
        if !value.is_boolean() {
            self.fail(
                path,
                "boolean",
                format!("The '{path}' field must be a boolean."),
            );
        }
    }

    fn check_email(&mut self, checks: &EmailRule, value: &mut Value, path: FieldPath<'_>) {
        let Value::String(text) = value else {
            return self.fail(
                path,
                "string",
                format!("The '{path}' field must be a string."),
            );
        };
        if text.is_empty() {
            if !checks.empty {
                self.fail(
                    path,
                    "emailEmpty",
                    format!("The '{path}' field must not be empty."),
                );
            }
            return;
        }
        if checks.normalize {
            *text = text.trim_matches(is_js_space).to_lowercase();
        }
        let len = js_len(text);
        let mut fails: Vec<(&str, String)> = Vec::new();
        if let Some(min) = checks.min.filter(|min| len < *min) {
            fails.push((
                "emailMin",
                format!("The '{path}' field length must be greater than or equal to {min} characters long."),
            ));
        }
        if let Some(max) = checks.max.filter(|max| len > *max) {
            fails.push((
                "emailMax",
                format!(
                    "The '{path}' field length must be less than or equal to {max} characters long."
                ),
            ));
        }
        let valid = if checks.precise {
            is_match(&EMAIL_PRECISE, text)
        } else {
            is_quick_email(text)
        };
        if !valid {
            fails.push((
                "email",
                format!("The '{path}' field must be a valid e-mail."),
            ));
        }
        for (rule, message) in fails {
            self.fail(path, rule, message);
        }
    }

    fn check_url(&mut self, empty: bool, value: &Value, path: FieldPath<'_>) {
        let Value::String(text) = value else {
            return self.fail(
                path,
                "string",
                format!("The '{path}' field must be a string."),
            );
        };
        if text.is_empty() {
            if !empty {
                self.fail(
                    path,
                    "urlEmpty",
                    format!("The '{path}' field must not be empty."),
                );
            }
        } else if !is_match(&URL, text) {
            self.fail(
                path,
                "url",
                format!("The '{path}' field must be a valid URL."),
            );
        }
    }

    fn check_uuid(&mut self, version: Option<u8>, value: &Value, path: FieldPath<'_>) {
        let Value::String(text) = value else {
            return self.fail(
                path,
                "string",
                format!("The '{path}' field must be a string."),
            );
        };
        let lower = text.to_lowercase();
        let invalid = |v: &mut Self| {
            v.fail(
                path,
                "uuid",
                format!("The '{path}' field must be a valid UUID."),
            );
        };
        if !is_match(&UUID, &lower) {
            return invalid(self);
        }
        let at = |i: usize| lower.as_bytes().get(i).copied().unwrap_or(b'0');
        let actual = at(14) - b'0';
        if let Some(expected) = version.filter(|v| *v != actual) {
            return self.fail(
                path,
                "uuidVersion",
                format!("The '{path}' field must be a valid UUID version provided (expected {expected})."),
            );
        }
        if matches!(actual, 3 | 4 | 5 | 7 | 8) && !matches!(at(19), b'8' | b'9' | b'a' | b'b') {
            invalid(self);
        }
    }

    fn check_array(&mut self, checks: &ArrayRule, value: &mut Value, path: FieldPath<'_>) {
        if checks.convert && !value.is_array() {
            *value = Value::Array(vec![value.take()]);
        }
        let Value::Array(items) = value else {
            return self.fail(
                path,
                "array",
                format!("The '{path}' field must be an array."),
            );
        };
        let len = items.len();
        if checks.non_empty && len == 0 {
            self.fail(
                path,
                "arrayEmpty",
                format!("The '{path}' field must not be an empty array."),
            );
        }
        if let Some(min) = checks.min.filter(|min| len < *min) {
            self.fail(
                path,
                "arrayMin",
                format!("The '{path}' field must contain at least {min} items."),
            );
        }
        if let Some(max) = checks.max.filter(|max| len > *max) {
            self.fail(
                path,
                "arrayMax",
                format!("The '{path}' field must contain less than or equal to {max} items."),
            );
        }
        if let Some(length) = checks.length.filter(|length| len != *length) {
            self.fail(
                path,
                "arrayLength",
                format!("The '{path}' field must contain {length} items."),
            );
        }
        if let Some(needle) = &checks.contains
            && !items.iter().any(|item| js_strict_equal(item, needle))
        {
            self.fail(
                path,
                "arrayContains",
                format!(
                    "The '{path}' field must contain the '{}' item.",
                    join_values(std::slice::from_ref(needle))
                ),
            );
        }
        if checks.unique {
            let mut seen = HashSet::new();
            let repeated: Vec<String> = items
                .iter()
                .filter_map(primitive_key)
                .filter(|key| !seen.insert(key.clone()))
                .collect();
            if !repeated.is_empty() {
                self.fail(
                    path,
                    "arrayUnique",
                    format!(
                        "The '{path}' field has repeated values: {}.",
                        repeated.join(", ")
                    ),
                );
            }
        }
        if let Some(allowed) = &checks.one_of {
            for item in items.iter() {
                if !allowed.iter().any(|a| js_strict_equal(a, item)) {
                    self.fail(
                        path,
                        "arrayEnum",
                        format!(
                            "The '{}' value in '{path}' field does not match any of the '{}' values.",
                            to_js_string(item).unwrap_or_else(|| item.to_string()),
                            join_values(allowed)
                        ),
                    );
                }
            }
        }
        if let Some(spec) = &checks.items {
            for (i, item) in items.iter_mut().enumerate() {
                self.check_item(spec, item, FieldPath::Item(&path, i));
            }
        }
    }

    fn check_object(&mut self, checks: &ObjectRule, value: &mut Value, path: FieldPath<'_>) {
        let Value::Object(object) = value else {
            return self.fail(path, "object", format!("The '{path}' must be an Object."));
        };
        if let Some(props) = &checks.props {
            for (name, spec) in props {
                let prop_path = FieldPath::Prop(&path, name);
                self.check_entry(object, name, prop_path, Presence::from(spec), &spec.rule);
            }
            let extra: Vec<String> = object
                .keys()
                .filter(|k| !props.iter().any(|(name, _)| name == *k))
                .cloned()
                .collect();
            if !extra.is_empty() {
                match checks.strict {
                    Strict::Keep => {}
                    // fastest-validator removes them only when nothing has failed so far.
                    Strict::Remove if self.failures.is_empty() => {
                        for key in &extra {
                            object.shift_remove(key);
                        }
                    }
                    Strict::Remove => {}
                    Strict::Reject => self.fail(
                        path,
                        "objectStrict",
                        format!(
                            "The object '{path}' contains forbidden keys: '{}'.",
                            extra.join(", ")
                        ),
                    ),
                }
            }
        }
        let count = object.len();
        if let Some(min) = checks.min_props.filter(|min| count < *min) {
            self.fail(
                path,
                "objectMinProps",
                format!("The object '{path}' must contain at least {min} properties."),
            );
        }
        if let Some(max) = checks.max_props.filter(|max| count > *max) {
            self.fail(
                path,
                "objectMaxProps",
                format!("The object '{path}' must contain {max} properties at most."),
            );
        }
    }
}

/// The checks after trimming and case folding, in fastest-validator's order.
fn string_checks(
    checks: &StringRule,
    s: &str,
    len: usize,
    path: FieldPath<'_>,
    fails: &mut Vec<(&'static str, String)>,
) {
    if let Some(min) = checks.min.filter(|min| len < *min) {
        fails.push((
            "stringMin",
            format!(
                "The '{path}' field length must be greater than or equal to {min} characters long."
            ),
        ));
    }
    if let Some(max) = checks.max.filter(|max| len > *max) {
        fails.push((
            "stringMax",
            format!(
                "The '{path}' field length must be less than or equal to {max} characters long."
            ),
        ));
    }
    if let Some(length) = checks.length.filter(|length| len != *length) {
        fails.push((
            "stringLength",
            format!("The '{path}' field length must be {length} characters long."),
        ));
    }
    if checks.pattern.as_ref().is_some_and(|re| !re.is_match(s)) {
        fails.push((
            "stringPattern",
            format!("The '{path}' field fails to match the required pattern."),
        ));
    }
    if let Some(needle) = checks.contains.as_ref().filter(|n| !s.contains(n.as_str())) {
        fails.push((
            "stringContains",
            format!("The '{path}' field must contain the '{needle}' text."),
        ));
    }
    if checks
        .one_of
        .as_ref()
        .is_some_and(|values| !values.iter().any(|v| v == s))
    {
        fails.push((
            "stringEnum",
            format!("The '{path}' field does not match any of the allowed values."),
        ));
    }
    for class in &checks.classes {
        let (ok, rule, what) = match class {
            CharClass::Numeric => (is_match(&NUMERIC, s), "stringNumeric", "a numeric"),
            CharClass::Alpha => (
                !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()),
                "stringAlpha",
                "an alphabetic",
            ),
            CharClass::Alphanum => (
                !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()),
                "stringAlphanum",
                "an alphanumeric",
            ),
            CharClass::Alphadash => (
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "stringAlphadash",
                "an alphadash",
            ),
            CharClass::Hex => (
                !s.is_empty()
                    && s.len().is_multiple_of(2)
                    && s.chars().all(|c| c.is_ascii_hexdigit()),
                "stringHex",
                "a hex",
            ),
            CharClass::SingleLine => (!s.contains('\n'), "stringSingleLine", "a single line"),
            CharClass::Base64 => (is_match(&BASE64, s), "stringBase64", "a base64"),
        };
        if !ok {
            fails.push((rule, format!("The '{path}' field must be {what} string.")));
        }
    }
}

/// JavaScript `===` on JSON values: primitives by value, arrays and objects never equal
/// (they would be distinct objects).
fn js_strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}

/// Equality for `enum` values given in the schema (structural, numbers numerically).
fn js_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A key identifying a primitive for `unique` (`None` for arrays and objects, which a
/// JavaScript `Set` never merges).
fn primitive_key(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_f64().map(format_js_number),
        Value::String(s) => Some(format!("{s:?}")),
        Value::Bool(_) | Value::Null => Some(value.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn join_values(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| to_js_string(v).unwrap_or_else(|| v.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_email_check_answers_as_its_regex_does() {
        let regex = Regex::new(r"^\S+@\S+\.\S+$").unwrap();
        let cases = [
            "",
            "a@b.c",
            "person42@example.com",
            "@b.c",
            "a@.c",
            "a@b.",
            "a@b",
            "ab.c",
            "a@@b.c",
            "a@b@c.d",
            "a@b.c.",
            "a@b..",
            "a@b.c d",
            " a@b.c",
            "a@b.c\n",
            "a\u{a0}@b.c",
            "a@b\u{2003}.c",
            "é@ü.ñ",
            "é@ü.",
            "a@é.ñ",
            "a@.é",
            "aé@b.ç",
            "@@.",
            "a@b.é",
            ".@a.b",
            "a.b@c",
            "a@bc.",
            "a@b.\u{feff}",
            "日本@例え.jp",
            "a@b.c@",
            "a@b.c.d.e",
        ];
        for case in cases {
            assert_eq!(is_quick_email(case), regex.is_match(case), "{case:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_quick_email_check_agrees_with_its_regex_on_any_mix(text in "[a@.é \u{a0}日]{0,9}") {
            let regex = Regex::new(r"^\S+@\S+\.\S+$").unwrap();
            proptest::prop_assert_eq!(is_quick_email(&text), regex.is_match(&text));
        }
    }

    #[test]
    fn js_length_counts_utf16_units() {
        assert_eq!(js_len("abc"), 3);
        assert_eq!(js_len("é😀"), 3);
        assert_eq!(js_len(""), 0);
    }
}
