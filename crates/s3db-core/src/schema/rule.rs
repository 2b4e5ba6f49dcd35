//! The typed rule tree one attribute definition parses into.

use regex::Regex;
use serde_json::Value;

/// A rule together with its presence modifiers (`optional`, `nullable`, `default:`).
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The type-specific checks.
    pub rule: Rule,
    /// `optional`: an absent (or `null`) value is accepted.
    pub optional: bool,
    /// `nullable`: `null` is accepted even when the field is required.
    pub nullable: bool,
    /// `default:X`: the value put in place of an absent or `null` one on insert.
    pub default: Option<Value>,
    /// s3db.js `unique` on a non-array type: no two records may hold the same value,
    /// enforced by the resource's claim objects (`s3db_core::resource::unique`). On arrays, `unique` is fastest-validator's
    /// distinct-items check ([`ArrayRule::unique`]) and this flag stays `false`.
    pub unique: bool,
    /// Modifiers this crate does not know, kept in the stored definition and not applied
    /// (fastest-validator ignores them too, e.g. `currency|symbol:$`).
    pub passthrough: Vec<String>,
}

impl RuleSpec {
    /// A rule with no presence modifiers.
    pub fn plain(rule: Rule) -> Self {
        RuleSpec {
            rule,
            optional: false,
            nullable: false,
            default: None,
            unique: false,
            passthrough: Vec::new(),
        }
    }
}

/// One node of the typed rule tree (fastest-validator types plus the s3db.js aliases).
#[derive(Debug, Clone)]
pub enum Rule {
    /// `any`, and the types s3db.js validates as anything (`buffer`, `bits`, `geo:point`).
    Any(AnyKind),
    /// `forbidden`: the field must be absent.
    Forbidden,
    /// A string-valued type (`string`, `text`, `secret`, `password`, `ip4`, `ip6`).
    String {
        /// Which string type.
        kind: StringKind,
        /// Its checks (`trim` is on by default, as in s3db.js).
        checks: StringRule,
    },
    /// A number-valued type (`number`, `money`, `crypto`, `decimal`, `geo:lat`, `geo:lon`).
    Number {
        /// Which number type.
        kind: NumberKind,
        /// Its checks (`convert` is on by default, as in s3db.js).
        checks: NumberRule,
    },
    /// `boolean` / `bool` (converts `1`, `"true"`, `"1"`, `"on"` and their opposites).
    Boolean {
        /// Convert those strings and numbers (on by default).
        convert: bool,
    },
    /// `email`.
    Email(EmailRule),
    /// `url`: must start with `http://` or `https://` and have no whitespace.
    Url {
        /// Accept the empty string.
        empty: bool,
    },
    /// `uuid` (versions 0–8, variant checked for versions 3, 4, 5, 7, 8).
    Uuid {
        /// `version:N`: the only accepted version.
        version: Option<u8>,
    },
    /// `date`: a date or date-time string (kept as given).
    Date,
    /// `enum` with `values`.
    Enum {
        /// The accepted values.
        values: Vec<Value>,
    },
    /// `array` (and `T[]`).
    Array(ArrayRule),
    /// `embedding` / `embedding:N`: an array of numbers, never empty, `N` items when given.
    Embedding(ArrayRule),
    /// `object`: stored as JSON text; with `props` (object form) its properties are checked.
    Object(ObjectRule),
    /// An s3db.js type whose validator normalizes the value (`json`, `datetime`, `mac`, …).
    Custom(CustomKind),
    /// fastest-validator's multi rule — a list of alternatives (`["string", "number"]`): a
    /// value valid for any alternative is accepted, normalized by the first that accepts it.
    Multi(Vec<RuleSpec>),
}

/// Types validated as anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyKind {
    /// `any`.
    Any,
    /// `buffer` (broken in s3db.js 21.6.2).
    Buffer,
    /// `bits` / `bits:N` (broken in s3db.js 21.6.2).
    Bits,
    /// `geo:point`.
    GeoPoint,
}

/// The string-valued types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// `string`.
    Plain,
    /// `text` (s3db.js's resource validator rejects it; here it validates as a string).
    Text,
    /// `secret`: encrypted by the mapper; the validator only checks it is a string.
    Secret,
    /// `password`: s3db.js hashes it with bcrypt/argon2 in its validator. This validator does
    /// not hash — the caller must hash before storing.
    Password,
    /// `ip4`: checked to be a dotted IPv4 address (s3db.js only checks for a string).
    Ip4,
    /// `ip6`: checked to be an IPv6 address (s3db.js only checks for a string).
    Ip6,
}

/// The number-valued types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// `number`.
    Plain,
    /// `money` / `money:D` (`min:0` unless a minimum is given), D decimals (2).
    Money {
        /// Stored decimals.
        decimals: u32,
    },
    /// `crypto` / `crypto:D` (`min:0` unless a minimum is given), D decimals (8).
    Crypto {
        /// Stored decimals.
        decimals: u32,
    },
    /// `decimal` / `decimal:P`.
    Decimal {
        /// Fixed-point precision, when given.
        precision: Option<u32>,
    },
    /// `geo:lat` / `geo:lat:P` (−90…90 unless bounds are given).
    GeoLat {
        /// Stored precision, when given.
        precision: Option<u32>,
    },
    /// `geo:lon` / `geo:lon:P` (−180…180 unless bounds are given).
    GeoLon {
        /// Stored precision, when given.
        precision: Option<u32>,
    },
}

/// The s3db.js types whose validator rewrites the value (names as in s3db.js).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomKind {
    /// `json`: non-strings become their JSON text.
    Json,
    /// `datetime`: an ISO string or epoch milliseconds → `YYYY-MM-DDTHH:MM:SS.sssZ`.
    DateTime,
    /// `dateonly`: → `YYYY-MM-DD`.
    DateOnly,
    /// `timeonly`: `HH:MM[:SS[.sss]]` → `HH:MM:SS.sss`.
    TimeOnly,
    /// `mac`: → lower-case `aa:bb:cc:dd:ee:ff`.
    Mac,
    /// `cidr`: IPv4 `a.b.c.d/p`.
    Cidr,
    /// `semver`: `[v]maj.min.patch` → `maj.min.patch`.
    Semver,
    /// `phone`: E.164, → `+digits`.
    Phone,
    /// `color`: `#rgb`/`#rrggbb` → `#rrggbb` lower case.
    Color,
    /// `duration`: ISO 8601 `P…`, `1h30m` or milliseconds → milliseconds (a number).
    Duration,
    /// `cron`: five fields, single-spaced.
    Cron,
    /// `locale`: `ll` or `ll-CC`.
    Locale,
    /// `currency`: three letters, upper-cased.
    Currency,
    /// `country`: two letters, upper-cased.
    Country,
    /// `ean`: 8, 12, 13 or 14 digits (a non-negative integer is zero-padded to 13).
    Ean,
}

/// Checks of the string types.
#[derive(Debug, Clone, Default)]
pub struct StringRule {
    /// `min`: minimum length (UTF-16 code units, like JavaScript).
    pub min: Option<usize>,
    /// `max`: maximum length.
    pub max: Option<usize>,
    /// `length`: exact length.
    pub length: Option<usize>,
    /// `pattern` (with `patternFlags` i/m/s applied).
    pub pattern: Option<Regex>,
    /// `enum`: the accepted values (shorthand: comma-separated).
    pub one_of: Option<Vec<String>>,
    /// `contains`: a required substring.
    pub contains: Option<String>,
    /// `empty`: `Some(false)` rejects `""`, `Some(true)` accepts it without further checks.
    pub empty: Option<bool>,
    /// `trim` (default on), `trimLeft`, `trimRight`.
    pub trim: Trim,
    /// `lowercase` / `uppercase`.
    pub case: Option<Case>,
    /// `convert`: non-strings become strings first.
    pub convert: bool,
    /// Character-class checks (`alpha`, `numeric`, `alphanum`, `alphadash`, `hex`,
    /// `singleLine`, `base64`).
    pub classes: Vec<CharClass>,
}

/// Which whitespace is trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trim {
    /// Trim the start.
    pub start: bool,
    /// Trim the end.
    pub end: bool,
}

/// Case folding of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `lowercase`.
    Lower,
    /// `uppercase`.
    Upper,
}

/// fastest-validator's string character-class flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// `alpha`: letters only.
    Alpha,
    /// `numeric`: a decimal number.
    Numeric,
    /// `alphanum`: letters and digits.
    Alphanum,
    /// `alphadash`: letters, digits, `_` and `-`.
    Alphadash,
    /// `hex`: an even number of hex digits.
    Hex,
    /// `singleLine`: no newline.
    SingleLine,
    /// `base64`: padded standard base64.
    Base64,
}

/// Checks of the number types.
#[derive(Debug, Clone, Default)]
pub struct NumberRule {
    /// `min`.
    pub min: Option<f64>,
    /// `max`.
    pub max: Option<f64>,
    /// `equal`.
    pub equal: Option<f64>,
    /// `notEqual`.
    pub not_equal: Option<f64>,
    /// `integer`.
    pub integer: bool,
    /// `positive` (> 0).
    pub positive: bool,
    /// `negative` (< 0).
    pub negative: bool,
    /// `convert`: strings and booleans become numbers (JavaScript `Number()`), default on.
    pub convert: bool,
}

/// Checks of `email`.
#[derive(Debug, Clone, Default)]
pub struct EmailRule {
    /// `mode:precise`: the strict pattern instead of `^\S+@\S+\.\S+$`.
    pub precise: bool,
    /// `normalize`: trim and lower-case.
    pub normalize: bool,
    /// `empty`: accept `""`.
    pub empty: bool,
    /// `min` length.
    pub min: Option<usize>,
    /// `max` length.
    pub max: Option<usize>,
}

/// Checks of `array`.
#[derive(Debug, Clone, Default)]
pub struct ArrayRule {
    /// `items`: the rule every element must satisfy.
    pub items: Option<Box<RuleSpec>>,
    /// `min` items.
    pub min: Option<usize>,
    /// `max` items.
    pub max: Option<usize>,
    /// `length`: exact number of items.
    pub length: Option<usize>,
    /// `unique`: no repeated primitive values.
    pub unique: bool,
    /// `empty:false`: at least one item.
    pub non_empty: bool,
    /// `contains`: a required element.
    pub contains: Option<Value>,
    /// `enum`: every element must be one of these.
    pub one_of: Option<Vec<Value>>,
    /// `convert`: a non-array value becomes a one-element array.
    pub convert: bool,
}

/// Checks of `object`.
#[derive(Debug, Clone, Default)]
pub struct ObjectRule {
    /// `props` / `properties` (object form only), in definition order.
    pub props: Option<Vec<(String, RuleSpec)>>,
    /// What to do with properties not in `props`.
    pub strict: Strict,
    /// `minProps`.
    pub min_props: Option<usize>,
    /// `maxProps`.
    pub max_props: Option<usize>,
}

/// Handling of unknown properties of an `object` with `props`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strict {
    /// `strict:remove` (the s3db.js default): dropped when the object is otherwise valid.
    #[default]
    Remove,
    /// `strict:true`: an `objectStrict` failure.
    Reject,
    /// `strict:false`: kept.
    Keep,
}

impl Rule {
    /// The s3db.js type name of this rule (`"string"`, `"secret"`, `"geo:lat"`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Rule::Any(kind) => match kind {
                AnyKind::Any => "any",
                AnyKind::Buffer => "buffer",
                AnyKind::Bits => "bits",
                AnyKind::GeoPoint => "geo:point",
            },
            Rule::Forbidden => "forbidden",
            Rule::String { kind, .. } => match kind {
                StringKind::Plain => "string",
                StringKind::Text => "text",
                StringKind::Secret => "secret",
                StringKind::Password => "password",
                StringKind::Ip4 => "ip4",
                StringKind::Ip6 => "ip6",
            },
            Rule::Number { kind, .. } => match kind {
                NumberKind::Plain => "number",
                NumberKind::Money { .. } => "money",
                NumberKind::Crypto { .. } => "crypto",
                NumberKind::Decimal { .. } => "decimal",
                NumberKind::GeoLat { .. } => "geo:lat",
                NumberKind::GeoLon { .. } => "geo:lon",
            },
            Rule::Boolean { .. } => "boolean",
            Rule::Email(_) => "email",
            Rule::Url { .. } => "url",
            Rule::Uuid { .. } => "uuid",
            Rule::Date => "date",
            Rule::Enum { .. } => "enum",
            Rule::Array(_) => "array",
            Rule::Embedding(_) => "embedding",
            Rule::Object(_) => "object",
            Rule::Custom(kind) => kind.type_name(),
            Rule::Multi(_) => "multi",
        }
    }

    /// True for the types whose s3db.js validator runs even on an absent value, which makes
    /// s3db.js store the literal string `undefined` for them (spec §3.3: absent optional
    /// `json`/`dateonly`/`datetime` fields; `secret` stores an encrypted `undefined`).
    pub fn writes_undefined_when_absent(&self) -> bool {
        matches!(
            self,
            Rule::Custom(_)
                | Rule::String {
                    kind: StringKind::Secret | StringKind::Password,
                    ..
                }
        )
    }
}

impl CustomKind {
    /// The s3db.js type name.
    pub fn type_name(self) -> &'static str {
        match self {
            CustomKind::Json => "json",
            CustomKind::DateTime => "datetime",
            CustomKind::DateOnly => "dateonly",
            CustomKind::TimeOnly => "timeonly",
            CustomKind::Mac => "mac",
            CustomKind::Cidr => "cidr",
            CustomKind::Semver => "semver",
            CustomKind::Phone => "phone",
            CustomKind::Color => "color",
            CustomKind::Duration => "duration",
            CustomKind::Cron => "cron",
            CustomKind::Locale => "locale",
            CustomKind::Currency => "currency",
            CustomKind::Country => "country",
            CustomKind::Ean => "ean",
        }
    }
}
