//! Parsing of the `#[s3db(...)]` and `#[serde(...)]` attributes the derive reads.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitBool, LitInt, LitStr, Token};

/// The behaviors s3db.js stores (and the two legacy names), with their `BehaviorKind` variant.
pub const BEHAVIORS: [(&str, &str); 7] = [
    ("user-managed", "UserManaged"),
    ("enforce-limits", "EnforceLimits"),
    ("truncate-data", "TruncateData"),
    ("body-overflow", "BodyOverflow"),
    ("body-only", "BodyOnly"),
    ("user-management", "UserManaged"),
    ("data-truncate", "TruncateData"),
];

const CONTAINER_KEYS: &str = "name, behavior, timestamps, paranoid, id_size, partition";
const FIELD_KEYS: &str = "rule, secret, modifiers, definition, id, skip";

/// `#[s3db(...)]` and `#[serde(rename_all)]` on the struct.
#[derive(Debug, Default)]
pub struct Container {
    /// `name = "..."`.
    pub name: Option<String>,
    /// `behavior = "..."`: the `BehaviorKind` variant.
    pub behavior: Option<String>,
    /// `timestamps` / `timestamps = bool`.
    pub timestamps: Option<bool>,
    /// `paranoid = bool`.
    pub paranoid: Option<bool>,
    /// `id_size = N`.
    pub id_size: Option<usize>,
    /// `partition(name = "...", fields(path = "rule", ...))`, in order.
    pub partitions: Vec<Partition>,
    /// `#[serde(rename_all = "...")]`.
    pub rename_all: Option<RenameAll>,
}

/// One `partition(...)`.
#[derive(Debug)]
pub struct Partition {
    /// Partition name.
    pub name: String,
    /// `(path, rule)` in order.
    pub fields: Vec<(String, String)>,
}

/// How the definition of one field is given.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// From the field's type.
    #[default]
    Type,
    /// `rule = "..."` (or `secret`, which is `rule = "secret"`).
    Rule(String),
    /// `definition = "<JSON>"`, as is.
    Definition(String),
}

/// `#[s3db(...)]` and `#[serde(...)]` on a field.
#[derive(Debug, Default)]
pub struct FieldAttrs {
    /// Where the definition comes from.
    pub source: Source,
    /// `modifiers = "..."`.
    pub modifiers: Option<String>,
    /// `id`: the record id.
    pub id: bool,
    /// `#[s3db(skip)]`, `#[serde(skip)]` or `#[serde(skip_serializing)]`.
    pub skip: bool,
    /// `#[serde(rename = "...")]`.
    pub rename: Option<String>,
}

/// serde's `rename_all` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameAll {
    /// `lowercase`.
    Lower,
    /// `UPPERCASE`.
    Upper,
    /// `PascalCase`.
    Pascal,
    /// `camelCase`.
    Camel,
    /// `snake_case`.
    Snake,
    /// `SCREAMING_SNAKE_CASE`.
    ScreamingSnake,
    /// `kebab-case`.
    Kebab,
    /// `SCREAMING-KEBAB-CASE`.
    ScreamingKebab,
}

impl RenameAll {
    fn parse(text: &str) -> Option<RenameAll> {
        Some(match text {
            "lowercase" => RenameAll::Lower,
            "UPPERCASE" => RenameAll::Upper,
            "PascalCase" => RenameAll::Pascal,
            "camelCase" => RenameAll::Camel,
            "snake_case" => RenameAll::Snake,
            "SCREAMING_SNAKE_CASE" => RenameAll::ScreamingSnake,
            "kebab-case" => RenameAll::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameAll::ScreamingKebab,
            _ => return None,
        })
    }

    /// The serialized name of a snake_case field, as serde computes it.
    pub fn apply(self, field: &str) -> String {
        match self {
            RenameAll::Lower | RenameAll::Snake => field.to_owned(),
            RenameAll::Upper | RenameAll::ScreamingSnake => field.to_ascii_uppercase(),
            RenameAll::Pascal | RenameAll::Camel => {
                let mut out = String::with_capacity(field.len());
                let mut capitalize = self == RenameAll::Pascal;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        out.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
            RenameAll::Kebab => field.replace('_', "-"),
            RenameAll::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

fn error(span: Span, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, message)
}

fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<(String, Span)> {
    let lit: LitStr = meta.value()?.parse()?;
    Ok((lit.value(), lit.span()))
}

/// `key` or `key = true|false`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) {
        let lit: LitBool = meta.value()?.parse()?;
        Ok(lit.value)
    } else {
        Ok(true)
    }
}

/// Consumes the value of a serde key this derive does not read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string)
}

/// Checks a shorthand rule: a type word, then non-empty `|`-separated modifiers.
pub fn check_rule(rule: &str, span: Span, what: &str) -> syn::Result<()> {
    let mut parts = rule.split('|').map(str::trim);
    if parts.next().is_none_or(str::is_empty) {
        return Err(error(
            span,
            format!("{what} {rule:?} has no type: write e.g. \"email\" or \"string|min:2\""),
        ));
    }
    check_modifier_parts(parts, rule, span, what)
}

fn check_modifier_parts<'a>(
    mut parts: impl Iterator<Item = &'a str>,
    text: &str,
    span: Span,
    what: &str,
) -> syn::Result<()> {
    if parts.any(|part| part.is_empty() || part.starts_with(':')) {
        return Err(error(
            span,
            format!("{what} {text:?} has an empty modifier (remove the extra '|')"),
        ));
    }
    Ok(())
}

/// Reads the struct's attributes.
pub fn container(attrs: &[Attribute]) -> syn::Result<Container> {
    let mut out = Container::default();
    for attr in attrs {
        if attr.path().is_ident("s3db") {
            attr.parse_nested_meta(|meta| container_key(&mut out, &meta))?;
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    let lit: LitStr = if meta.input.peek(Token![=]) {
                        meta.value()?.parse()?
                    } else {
                        let mut serialize = None;
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("serialize") {
                                serialize = Some(inner.value()?.parse::<LitStr>()?);
                            } else {
                                skip_value(&inner)?;
                            }
                            Ok(())
                        })?;
                        match serialize {
                            Some(lit) => lit,
                            None => return Ok(()),
                        }
                    };
                    out.rename_all = Some(RenameAll::parse(&lit.value()).ok_or_else(|| {
                        error(
                            lit.span(),
                            format!("unknown rename_all rule {:?}", lit.value()),
                        )
                    })?);
                    Ok(())
                } else {
                    skip_value(&meta)
                }
            })?;
        }
    }
    Ok(out)
}

fn container_key(out: &mut Container, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let key = key_name(meta);
    match key.as_str() {
        "name" => {
            let (name, span) = string(meta)?;
            if name.is_empty() || name.contains('/') {
                return Err(error(
                    span,
                    "a resource name must be non-empty, without '/'",
                ));
            }
            out.name = Some(name);
        }
        "behavior" => {
            let (name, span) = string(meta)?;
            let variant = BEHAVIORS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, variant)| (*variant).to_owned())
                .ok_or_else(|| {
                    error(
                        span,
                        format!(
                            "unknown behavior {name:?}: expected one of user-managed, \
                             enforce-limits, truncate-data, body-overflow, body-only"
                        ),
                    )
                })?;
            out.behavior = Some(variant);
        }
        "timestamps" => out.timestamps = Some(flag(meta)?),
        "paranoid" => out.paranoid = Some(flag(meta)?),
        "id_size" => {
            let lit: LitInt = meta.value()?.parse()?;
            let size: usize = lit.base10_parse()?;
            if size == 0 {
                return Err(error(lit.span(), "id_size must be positive"));
            }
            out.id_size = Some(size);
        }
        "partition" => out.partitions.push(partition(meta)?),
        _ => {
            return Err(meta.error(format!(
                "unknown s3db attribute `{key}` on a struct; expected one of: {CONTAINER_KEYS}"
            )));
        }
    }
    Ok(())
}

/// `partition(name = "byRegion", fields(region = "string", "address.city" = "string"))`.
fn partition(meta: &ParseNestedMeta<'_>) -> syn::Result<Partition> {
    let mut name = None;
    let mut fields = Vec::new();
    let span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, Ident::span);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("name") {
            let (value, span) = string(&inner)?;
            if value.is_empty() {
                return Err(error(span, "a partition name must be non-empty"));
            }
            name = Some(value);
            Ok(())
        } else if inner.path.is_ident("fields") {
            let content;
            syn::parenthesized!(content in inner.input);
            while !content.is_empty() {
                let path = if content.peek(LitStr) {
                    content.parse::<LitStr>()?.value()
                } else {
                    content.parse::<Ident>()?.to_string()
                };
                content.parse::<Token![=]>()?;
                let rule: LitStr = content.parse()?;
                check_rule(&rule.value(), rule.span(), "partition rule")?;
                fields.push((path, rule.value()));
                if !content.is_empty() {
                    content.parse::<Token![,]>()?;
                }
            }
            Ok(())
        } else {
            Err(inner.error(format!(
                "unknown partition key `{}`; expected name = \"...\", fields(path = \"rule\", ...)",
                key_name(&inner)
            )))
        }
    })?;
    let name = name.ok_or_else(|| error(span, "partition(...) needs name = \"...\""))?;
    if fields.is_empty() {
        return Err(error(
            span,
            format!("partition {name:?} needs fields(path = \"rule\", ...)"),
        ));
    }
    Ok(Partition { name, fields })
}

/// Reads a field's attributes.
pub fn field(attrs: &[Attribute], span: Span) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("s3db") {
            attr.parse_nested_meta(|meta| {
                let key = key_name(&meta);
                let set_source = |out: &mut FieldAttrs, source: Source| {
                    if out.source != Source::Type {
                        return Err(meta.error(
                            "give only one of rule = \"...\", secret, definition = \"...\"",
                        ));
                    }
                    out.source = source;
                    Ok(())
                };
                match key.as_str() {
                    "rule" => {
                        let (rule, span) = string(&meta)?;
                        check_rule(&rule, span, "rule")?;
                        set_source(&mut out, Source::Rule(rule))?;
                    }
                    "secret" => {
                        set_source(&mut out, Source::Rule("secret".into()))?;
                    }
                    "definition" => {
                        let (text, span) = string(&meta)?;
                        match serde_json::from_str::<serde_json::Value>(&text) {
                            Ok(serde_json::Value::String(rule)) => {
                                check_rule(&rule, span, "definition")?;
                            }
                            Ok(serde_json::Value::Object(_) | serde_json::Value::Array(_)) => {}
                            Ok(other) => {
                                return Err(error(
                                    span,
                                    format!(
                                        "definition must be a JSON string, object or array, \
                                         not {other}"
                                    ),
                                ));
                            }
                            Err(e) => {
                                return Err(error(
                                    span,
                                    format!("definition is not JSON ({e}): write e.g. r#\"{{\"type\": \"string\", \"min\": 2}}\"#"),
                                ));
                            }
                        }
                        set_source(&mut out, Source::Definition(text))?;
                    }
                    "modifiers" => {
                        let (text, span) = string(&meta)?;
                        let trimmed = text.trim().trim_start_matches('|');
                        check_modifier_parts(trimmed.split('|').map(str::trim), &text, span, "modifiers")?;
                        out.modifiers = Some(trimmed.to_owned());
                    }
                    "id" => out.id = true,
                    "skip" => out.skip = true,
                    _ => {
                        return Err(meta.error(format!(
                            "unknown s3db attribute `{key}` on a field; expected one of: {FIELD_KEYS}"
                        )));
                    }
                }
                Ok(())
            })?;
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if meta.input.peek(Token![=]) {
                        out.rename = Some(string(&meta)?.0);
                    } else {
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("serialize") {
                                out.rename = Some(string(&inner)?.0);
                            } else {
                                skip_value(&inner)?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    out.skip = true;
                    Ok(())
                } else if meta.path.is_ident("flatten") {
                    Err(meta.error(
                        "#[serde(flatten)] is not supported by #[derive(Document)]: use a \
                         nested struct field, or #[s3db(skip)]",
                    ))
                } else {
                    skip_value(&meta)
                }
            })?;
        }
    }
    if out.skip && (out.id || out.source != Source::Type || out.modifiers.is_some()) {
        return Err(error(span, "a skipped field takes no other s3db attribute"));
    }
    if out.id && (out.source != Source::Type || out.modifiers.is_some()) {
        return Err(error(
            span,
            "the id field is not an attribute: it takes no rule, secret, definition or modifiers",
        ));
    }
    if out.modifiers.is_some() && matches!(out.source, Source::Definition(_)) {
        return Err(error(
            span,
            "modifiers do not combine with definition = \"...\": write them in the definition",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn field_error(attr: Attribute) -> String {
        match field(&[attr], Span::call_site()) {
            Ok(parsed) => panic!("accepted: {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn container_error(attr: Attribute) -> String {
        match container(&[attr]) {
            Ok(parsed) => panic!("accepted: {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn container_attributes_parse() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[s3db(name = "users", behavior = "body-overflow", timestamps)]),
            parse_quote!(#[s3db(paranoid = false, id_size = 12)]),
            parse_quote!(#[s3db(partition(name = "byRegion", fields(region = "string", "address.city" = "string|maxlength:2")))]),
            parse_quote!(#[serde(rename_all = "camelCase", deny_unknown_fields)]),
        ];
        let parsed = container(&attrs).unwrap();
        assert_eq!(parsed.name.as_deref(), Some("users"));
        assert_eq!(parsed.behavior.as_deref(), Some("BodyOverflow"));
        assert_eq!(parsed.timestamps, Some(true));
        assert_eq!(parsed.paranoid, Some(false));
        assert_eq!(parsed.id_size, Some(12));
        assert_eq!(parsed.partitions[0].name, "byRegion");
        assert_eq!(
            parsed.partitions[0].fields,
            [
                ("region".to_owned(), "string".to_owned()),
                ("address.city".to_owned(), "string|maxlength:2".to_owned())
            ]
        );
        assert_eq!(parsed.rename_all, Some(RenameAll::Camel));
    }

    #[test]
    fn bad_container_attributes_say_what_to_write() {
        assert!(
            container_error(parse_quote!(#[s3db(behaviour = "x")]))
                .contains("unknown s3db attribute `behaviour`")
        );
        assert!(
            container_error(parse_quote!(#[s3db(behavior = "overflow")]))
                .contains("unknown behavior \"overflow\"")
        );
        assert!(container_error(parse_quote!(#[s3db(id_size = 0)])).contains("positive"));
        assert!(container_error(parse_quote!(#[s3db(name = "")])).contains("non-empty"));
        assert!(
            container_error(parse_quote!(#[s3db(partition(fields(a = "string")))]))
                .contains("needs name")
        );
        assert!(
            container_error(parse_quote!(#[s3db(partition(name = "byA"))]))
                .contains("needs fields")
        );
        assert!(
            container_error(parse_quote!(#[s3db(partition(name = "byA", fields(a = "")))]))
                .contains("has no type")
        );
        assert!(
            container_error(parse_quote!(#[serde(rename_all = "Camel")]))
                .contains("unknown rename_all")
        );
    }

    #[test]
    fn field_attributes_parse() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[s3db(rule = "email|unique", modifiers = "|max:100")]),
            parse_quote!(#[serde(rename = "eMail", default, skip_serializing_if = "Option::is_none")]),
        ];
        let parsed = field(&attrs, Span::call_site()).unwrap();
        assert_eq!(parsed.source, Source::Rule("email|unique".into()));
        assert_eq!(parsed.modifiers.as_deref(), Some("max:100"));
        assert_eq!(parsed.rename.as_deref(), Some("eMail"));
        let secret = field(&[parse_quote!(#[s3db(secret)])], Span::call_site()).unwrap();
        assert_eq!(secret.source, Source::Rule("secret".into()));
        let skipped = field(&[parse_quote!(#[serde(skip)])], Span::call_site()).unwrap();
        assert!(skipped.skip);
        let renamed = field(
            &[parse_quote!(#[serde(rename(serialize = "a", deserialize = "b"))])],
            Span::call_site(),
        )
        .unwrap();
        assert_eq!(renamed.rename.as_deref(), Some("a"));
    }

    #[test]
    fn bad_field_attributes_say_what_to_write() {
        assert!(
            field_error(parse_quote!(#[s3db(rules = "email")]))
                .contains("unknown s3db attribute `rules`")
        );
        assert!(field_error(parse_quote!(#[s3db(rule = "email", secret)])).contains("only one of"));
        assert!(field_error(parse_quote!(#[s3db(rule = "|email")])).contains("has no type"));
        assert!(
            field_error(parse_quote!(#[s3db(rule = "email||unique")])).contains("empty modifier")
        );
        assert!(
            field_error(parse_quote!(#[s3db(modifiers = "min:2|")])).contains("empty modifier")
        );
        assert!(field_error(parse_quote!(#[s3db(definition = "{nope")])).contains("not JSON"));
        assert!(
            field_error(parse_quote!(#[s3db(definition = "12")]))
                .contains("JSON string, object or array")
        );
        assert!(
            field_error(parse_quote!(#[s3db(skip, rule = "string")])).contains("skipped field")
        );
        assert!(
            field_error(parse_quote!(#[s3db(id, secret)])).contains("id field is not an attribute")
        );
        assert!(field_error(parse_quote!(#[serde(flatten)])).contains("flatten"));
        let both: Vec<Attribute> = vec![
            parse_quote!(#[s3db(definition = r#"{"type":"string"}"#)]),
            parse_quote!(#[s3db(modifiers = "min:1")]),
        ];
        assert!(
            field(&both, Span::call_site())
                .unwrap_err()
                .to_string()
                .contains("do not combine")
        );
    }

    #[test]
    fn rename_all_matches_serde() {
        assert_eq!(RenameAll::Camel.apply("created_at_ms"), "createdAtMs");
        assert_eq!(RenameAll::Pascal.apply("created_at"), "CreatedAt");
        assert_eq!(RenameAll::ScreamingKebab.apply("created_at"), "CREATED-AT");
        assert_eq!(RenameAll::Kebab.apply("created_at"), "created-at");
        assert_eq!(RenameAll::Upper.apply("a_b"), "A_B");
    }
}
