//! The schema layer: one typed value ⇄ one compact metadata string, wire-compatible with
//! s3db.js 21.6.2 (`Schema.mapper` / `Schema.unmapper` and their type hooks).
//!
//! [`ValueKind::from_definition`] picks the encoding from an attribute definition string,
//! [`encode`] turns a JSON value into the stored string and [`decode`] reverses it. `null` and
//! absent values never reach this layer (the client layer stores the literals `null` and
//! `undefined`).
//!
//! Our writer produces exactly what s3db.js writes, except where s3db.js loses data: there it
//! writes another form that s3db.js's reader also turns into the right value (for example `3e-7`,
//! which s3db.js stores as the empty string, is written `0.0000003`). Every such difference is
//! listed in `docs/compatibility.md`, section "Values". The decoder accepts everything s3db.js
//! writes and never panics; where s3db.js's reader passes an undecodable string through
//! unchanged, so does ours.
//!
//! ```
//! use s3db_codec::value::{self, ValueKind};
//! use serde_json::json;
//!
//! let price = ValueKind::from_definition("number");
//! assert_eq!(value::encode(&price, &json!(19.99)).unwrap(), "j.99");
//! assert_eq!(value::decode(&price, "j.99").unwrap(), json!(19.99));
//!
//! let tags = ValueKind::from_definition("array|items:string");
//! assert_eq!(value::encode(&tags, &json!(["a|b", "c"])).unwrap(), r"a\|b|c");
//!
//! let sku = ValueKind::from_definition("uuid");
//! let id = json!("550e8400-e29b-41d4-a716-446655440000");
//! assert_eq!(value::encode(&sku, &id).unwrap(), "1yzBHq49i4y833Iawe1yOjy8");
//! ```

mod array;
mod definition;
mod fixed_point;
mod json_text;
mod net;
mod number;
mod special;
mod temporal;

use serde_json::Value;

use crate::CodecError;

pub use json_text::{to_js_json, write_js_json};
pub use number::{format_js_number, parse_js_number, write_js_number};

/// Every schema-layer encoding of s3db.js 21.6.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Stored as is (also `password`, `email`, `url`, `currency`, `text`… definitions).
    String,
    /// `number`: decimal base62 (`42.5` → `G.5`).
    Number,
    /// `number|integer:true`: base62 integer (`-5` → `-5`, `62` → `10`).
    Integer,
    /// `boolean`: `1` / `0`.
    Boolean,
    /// `array|items:string`: elements escaped (`\` → `\\`, `|` → `\|`) and joined with `|`.
    StringArray,
    /// `array|items:number`: decimal-base62 elements joined with `|`.
    NumberArray,
    /// `array|items:number|integer:true`: base62 integer elements joined with `|`.
    IntegerArray,
    /// `embedding`, `embedding:N`, `array|items:number|length:N` with N ≥ 256:
    /// `^[` + fixed-point base62 elements joined with `,` + `]`.
    FixedPointArray {
        /// Decimal digits kept (6 in s3db.js).
        precision: u32,
    },
    /// Any other array (`array`, `array|items:object`…): JSON text.
    JsonArray,
    /// `object`: JSON text.
    Object,
    /// `json`: strings as they are, anything else as JSON text.
    Json,
    /// `secret`: ciphertext produced by [`crate::secret`]; passed through here.
    Secret,
    /// `ip4`: base64 of the 4 octets.
    Ip4,
    /// `ip6`: base64 of the 16 bytes.
    Ip6,
    /// `uuid`: four base62 groups of 6 characters.
    Uuid,
    /// `datetime`: base62 of epoch milliseconds.
    DateTime,
    /// `dateonly`: base62 of days since 1970-01-01.
    DateOnly,
    /// `timeonly`: base62 of milliseconds since midnight.
    TimeOnly,
    /// `mac`: base62 of the 48-bit address, padded to 9.
    Mac,
    /// `semver`: base62 of `major·10⁶ + minor·10³ + patch`.
    Semver,
    /// `color`: base62 of the 24-bit `#rrggbb` value, padded to 5.
    Color,
    /// `money` / `crypto` (`money:N`): `$` + base62 of the value in minor units.
    Money {
        /// Decimal places (2 for `money`, 8 for `crypto`).
        decimals: u32,
    },
    /// `decimal:P`: `^` + base62 of the value scaled by 10^P.
    Decimal {
        /// Decimal places kept (default 2).
        precision: u32,
    },
    /// `geo:lat`: `~` + base62 of `(lat + 90)·10^P`.
    GeoLat {
        /// Decimal places kept (default 6).
        precision: u32,
    },
    /// `geo:lon`: `~` + base62 of `(lon + 180)·10^P`.
    GeoLon {
        /// Decimal places kept (default 6).
        precision: u32,
    },
    /// `geo:point`: latitude then longitude, each in its `~` form.
    GeoPoint {
        /// Decimal places kept (default 6).
        precision: u32,
    },
    /// `duration`: base62 of milliseconds; reads back as ISO 8601 (`PT1H30M`).
    Duration,
    /// `ean`: length tag + base62 of the digits.
    Ean,
    /// `cidr`: base62 of the IPv4 address padded to 6 + base62 of the prefix length.
    Cidr,
    /// `phone`: base62 of the digits after `+`.
    Phone,
}

impl ValueKind {
    /// The encoding s3db.js 21.6.2 uses for an attribute defined by `def` (a fastest-validator
    /// definition string such as `number|integer:true|optional`).
    ///
    /// Like s3db.js, the hook-based kinds are chosen by substring tests, first match wins:
    /// `embedding`, `array` (then `items:string`, `items:number` with `integer:true`/`|integer`,
    /// `length:N` ≥ 256, else JSON), `secret`, `password`, `ip4`, `ip6`, `buffer`/`bits`,
    /// `money`/`crypto`, `decimal`, `text` (exact or `text|…`), `geo:lat`, `geo:lon`,
    /// `geo:point`, `number`, `bool`, `json`, `object`. Then the mapper's own types: `uuid`,
    /// `timeonly`, `mac`, `cidr`, `semver`, `phone`, `color`, `duration`, `ean` (exact name or
    /// name followed by `|`), `datetime`, `dateonly` (substrings); `any` is stored as JSON
    /// text (strings as they are). Anything else is a plain string. `password` and `text` are plain strings here (s3db.js hashes passwords in its
    /// validator and cannot store `text`); `buffer`/`bits`, broken in s3db.js, are kept as JSON.
    pub fn from_definition(def: &str) -> ValueKind {
        definition::kind_of(def)
    }

    /// A short lower-case name for messages, e.g. `"number"`, `"string array"`.
    pub fn name(&self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Number => "number",
            ValueKind::Integer => "integer",
            ValueKind::Boolean => "boolean",
            ValueKind::StringArray => "string array",
            ValueKind::NumberArray => "number array",
            ValueKind::IntegerArray => "integer array",
            ValueKind::FixedPointArray { .. } => "fixed-point array",
            ValueKind::JsonArray => "array",
            ValueKind::Object => "object",
            ValueKind::Json => "json",
            ValueKind::Secret => "secret",
            ValueKind::Ip4 => "ip4",
            ValueKind::Ip6 => "ip6",
            ValueKind::Uuid => "uuid",
            ValueKind::DateTime => "datetime",
            ValueKind::DateOnly => "dateonly",
            ValueKind::TimeOnly => "timeonly",
            ValueKind::Mac => "mac",
            ValueKind::Semver => "semver",
            ValueKind::Color => "color",
            ValueKind::Money { .. } => "money",
            ValueKind::Decimal { .. } => "decimal",
            ValueKind::GeoLat { .. } => "geo:lat",
            ValueKind::GeoLon { .. } => "geo:lon",
            ValueKind::GeoPoint { .. } => "geo:point",
            ValueKind::Duration => "duration",
            ValueKind::Ean => "ean",
            ValueKind::Cidr => "cidr",
            ValueKind::Phone => "phone",
        }
    }
}

/// The stored string of a non-null `value` of kind `kind`.
pub fn encode(kind: &ValueKind, value: &Value) -> Result<String, CodecError> {
    // Room for the usual stored forms, so that appending rarely regrows: a text is stored at
    // most as long as it is (or packed shorter), an array takes a few bytes per element.
    let capacity = match value {
        Value::String(s) => s.len(),
        Value::Array(items) => 2 + 8 * items.len(),
        _ => 24,
    };
    let mut out = String::with_capacity(capacity);
    encode_into(kind, value, &mut out)?;
    Ok(out)
}

/// Appends the stored string of a non-null `value` of kind `kind` to `out` (on error `out` may
/// hold a partial encoding).
pub fn encode_into(kind: &ValueKind, value: &Value, out: &mut String) -> Result<(), CodecError> {
    let fail = |reason: &str| CodecError::encode(kind.name(), &describe(value), reason);
    if let Some(packed) = PackedText::of(kind) {
        if let (ValueKind::Duration, Some(ms)) = (kind, value.as_f64()) {
            return temporal::push_duration_ms(out, ms).map_err(fail);
        }
        let text = value.as_str().ok_or_else(|| fail("expected a string"))?;
        return packed.encode(out, text).map_err(fail);
    }
    match *kind {
        ValueKind::String | ValueKind::Secret => {
            out.push_str(value.as_str().ok_or_else(|| fail("expected a string"))?)
        }
        ValueKind::Number => {
            let num = number::Num::from_value(value).ok_or_else(|| fail("expected a number"))?;
            number::push_decimal(out, num);
        }
        ValueKind::Integer => {
            let num = number::Num::from_value(value).ok_or_else(|| fail("expected a number"))?;
            number::push_integer(out, num).map_err(fail)?;
        }
        ValueKind::Boolean => out.push_str(if is_truthy(value) { "1" } else { "0" }),
        ValueKind::StringArray => array::push_strings(out, value).map_err(fail)?,
        ValueKind::NumberArray => array::push_numbers(out, value, false).map_err(fail)?,
        ValueKind::IntegerArray => array::push_numbers(out, value, true).map_err(fail)?,
        ValueKind::FixedPointArray { precision } => {
            array::push_fixed_points(out, value, precision).map_err(fail)?
        }
        ValueKind::JsonArray | ValueKind::Object => {
            let expected = if *kind == ValueKind::Object {
                value.is_object()
            } else {
                value.is_array()
            };
            if !expected {
                return Err(fail(if value.is_array() {
                    "expected an object"
                } else {
                    "expected an array"
                }));
            }
            write_js_json(out, value);
        }
        ValueKind::Json => json_text::push_json_field(out, value),
        ValueKind::DateTime => temporal::push_datetime(out, value).map_err(fail)?,
        ValueKind::DateOnly => temporal::push_dateonly(out, value).map_err(fail)?,
        ValueKind::TimeOnly => temporal::push_timeonly(out, value).map_err(fail)?,
        ValueKind::Money { decimals } => {
            fixed_point::push_money(out, value, decimals).map_err(fail)?
        }
        ValueKind::Decimal { precision } => {
            fixed_point::push_decimal_fixed(out, value, precision).map_err(fail)?
        }
        ValueKind::GeoLat { precision } => {
            fixed_point::push_geo(out, value, fixed_point::LAT, precision).map_err(fail)?
        }
        ValueKind::GeoLon { precision } => {
            fixed_point::push_geo(out, value, fixed_point::LON, precision).map_err(fail)?
        }
        ValueKind::GeoPoint { precision } => {
            fixed_point::push_geo_point(out, value, precision).map_err(fail)?
        }
        // The packed-text kinds were handled by `PackedText` above.
        _ => {}
    }
    Ok(())
}

/// The value of kind `kind` held by the stored string `stored` (client layer already undone).
pub fn decode(kind: &ValueKind, stored: &str) -> Result<Value, CodecError> {
    let name = kind.name();
    let fail = |reason: &str| CodecError::decode(name, stored, reason);
    let raw = || Value::String(stored.to_owned());
    if let Some(packed) = PackedText::of(kind) {
        return Ok((packed.unpack)(stored).unwrap_or_else(raw));
    }
    Ok(match *kind {
        ValueKind::Number => {
            if stored.is_empty() {
                // s3db.js returns the empty string as is.
                return Ok(raw());
            }
            let num = number::decode_decimal(stored)
                .ok_or_else(|| fail("not a decimal base62 number"))?;
            num.into_value(name, stored)?
        }
        ValueKind::Integer => {
            if stored.is_empty() {
                return Ok(raw());
            }
            let num = number::decode_integer_digits(stored)
                .ok_or_else(|| fail("not a base62 integer"))?;
            num.into_value(name, stored)?
        }
        ValueKind::Boolean => Value::Bool(matches!(stored, "1" | "true" | "yes" | "y")),
        ValueKind::StringArray => array::decode_strings(stored),
        ValueKind::NumberArray => array::decode_numbers(stored, false),
        ValueKind::IntegerArray => array::decode_numbers(stored, true),
        ValueKind::FixedPointArray { precision } => array::decode_fixed_points(stored, precision),
        ValueKind::JsonArray => array::decode_json_array(stored),
        ValueKind::Object | ValueKind::Json => json_text::decode_json_field(stored),
        ValueKind::DateTime => temporal::decode_datetime(stored),
        ValueKind::DateOnly => temporal::decode_dateonly(stored),
        ValueKind::TimeOnly => temporal::decode_timeonly(stored),
        ValueKind::Money { decimals } => fixed_point::decode_money(stored, decimals)?,
        ValueKind::Decimal { precision } => fixed_point::decode_decimal_fixed(stored, precision)?,
        ValueKind::GeoLat { precision } => {
            fixed_point::decode_geo(stored, fixed_point::LAT, precision)?
        }
        ValueKind::GeoLon { precision } => {
            fixed_point::decode_geo(stored, fixed_point::LON, precision)?
        }
        ValueKind::GeoPoint { precision } => fixed_point::decode_geo_point(stored, precision)?,
        // Plain strings, secrets; the packed-text kinds were handled above.
        _ => raw(),
    })
}

/// What a packer of a [`PackedText`] kind did with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    /// The text is not in a packable form; nothing was written.
    Refused,
    /// The packed form was written; whether it reads back as the text is not known.
    Packed,
    /// The packed form was written and reads back as exactly the text (a canonical form such
    /// as a lower-case hyphenated UUID), so no read-back check is needed.
    Exact,
}

/// Packer, shape test and unpacker of a [`PackedText`] kind.
type PackedFns = (
    fn(&mut String, &str) -> Packing,
    fn(&str) -> bool,
    fn(&str) -> Option<Value>,
);

/// A kind whose text values are packed into a shorter form that s3db.js's reader unpacks only
/// when the stored text has a certain shape (`form`).
struct PackedText {
    pack: fn(&mut String, &str) -> Packing,
    form: fn(&str) -> bool,
    unpack: fn(&str) -> Option<Value>,
}

impl PackedText {
    fn of(kind: &ValueKind) -> Option<PackedText> {
        let (pack, form, unpack): PackedFns = match kind {
            ValueKind::Ip4 => (
                net::push_ip4,
                |s| net::decode_ip4(s).is_some(),
                net::decode_ip4,
            ),
            ValueKind::Ip6 => (
                net::push_ip6,
                |s| net::decode_ip6(s).is_some(),
                net::decode_ip6,
            ),
            ValueKind::Mac => (net::push_mac, net::mac_form, net::decode_mac),
            ValueKind::Cidr => (net::push_cidr, net::cidr_form, net::decode_cidr),
            ValueKind::Uuid => (special::push_uuid, special::uuid_form, special::decode_uuid),
            ValueKind::Semver => (
                special::push_semver,
                special::semver_form,
                special::decode_semver,
            ),
            ValueKind::Color => (
                special::push_color,
                special::color_form,
                special::decode_color,
            ),
            ValueKind::Ean => (special::push_ean, special::ean_form, special::decode_ean),
            ValueKind::Phone => (
                special::push_phone,
                special::phone_form,
                special::decode_phone,
            ),
            ValueKind::Duration => (
                temporal::push_duration_text,
                temporal::duration_form,
                temporal::decode_duration,
            ),
            _ => return None,
        };
        Some(PackedText { pack, form, unpack })
    }

    /// The packed form when it reads back as `text`; otherwise `text` itself when s3db.js's
    /// reader leaves it alone; otherwise the packed form (normalising, e.g. `1h30m` →
    /// `PT1H30M`); an error when the text can be stored neither way.
    fn encode(&self, out: &mut String, text: &str) -> Result<(), &'static str> {
        let start = out.len();
        match (self.pack)(out, text) {
            Packing::Exact => Ok(()),
            Packing::Packed => {
                let exact = (self.unpack)(&out[start..]).is_some_and(|v| v.as_str() == Some(text));
                if !exact && !(self.form)(text) {
                    out.truncate(start);
                    out.push_str(text);
                }
                Ok(())
            }
            Packing::Refused if (self.form)(text) => {
                Err("s3db.js would read this text back as something else")
            }
            Packing::Refused => {
                out.push_str(text);
                Ok(())
            }
        }
    }
}

/// s3db.js `fromBool`: `true`, `1`, `"true"`, `"1"`, `"yes"`, `"y"` are true, anything else false.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(s.as_str(), "true" | "1" | "yes" | "y"),
        _ => false,
    }
}

/// A value rendered for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => to_js_json(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Packs `text` as `kind`; when the packer says `Exact`, the packed form must read back as
    /// `text` (the check `PackedText::encode` skips).
    fn exact_reads_back(kind: ValueKind, text: &str) -> Option<bool> {
        let packed = PackedText::of(&kind).unwrap();
        let mut out = String::new();
        match (packed.pack)(&mut out, text) {
            Packing::Exact => Some((packed.unpack)(&out) == Some(Value::String(text.to_owned()))),
            _ => None,
        }
    }

    proptest! {
        #[test]
        fn exact_uuids_read_back(n in any::<u128>(), upper in any::<bool>(), hyphen in 0usize..40) {
            let hex = format!("{n:032x}");
            let mut text = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]
            );
            // The canonical form must take the fast path.
            prop_assert_eq!(exact_reads_back(ValueKind::Uuid, &text), Some(true));
            if upper {
                text = text.to_uppercase();
            }
            if hyphen < text.len() {
                text.insert(hyphen, '-');
            }
            prop_assert_ne!(exact_reads_back(ValueKind::Uuid, &text), Some(false));
        }

        #[test]
        fn exact_ip4s_read_back(octets in any::<[u8; 4]>(), zeros in any::<[bool; 4]>()) {
            let canonical = std::net::Ipv4Addr::from(octets).to_string();
            prop_assert_eq!(exact_reads_back(ValueKind::Ip4, &canonical), Some(true));
            let padded: Vec<String> = octets
                .iter()
                .zip(zeros)
                .map(|(o, z)| if z && *o < 100 { format!("0{o}") } else { o.to_string() })
                .collect();
            prop_assert_ne!(exact_reads_back(ValueKind::Ip4, &padded.join(".")), Some(false));
        }
    }
}
