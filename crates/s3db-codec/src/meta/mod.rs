//! The client layer of s3db.js 21.6.2 (`concerns/metadata-encoding.js`): metadata keys are
//! sanitized, metadata values are made safe for HTTP headers with a prefix scheme, and read
//! back by undoing it.
//!
//! | stored form | meaning |
//! | --- | --- |
//! | `null` / `undefined` | JavaScript `null` / `undefined` |
//! | `d:` + code | a dictionary word or URL prefix ([`dictionary`](self) tables of s3db.js) |
//! | `u:` + text | `encodeURIComponent` of the value |
//! | `b:` + text | base64 of the value's UTF-8 bytes |
//! | `z:` / `z85:` + text | raw deflate, base64 / base85 (read only) |
//! | anything else | the value as is (printable ASCII) |
//!
//! ```
//! use s3db_codec::meta::{decode_meta, encode_meta, Decoded, MetaValue};
//!
//! assert_eq!(encode_meta(MetaValue::Str("ñ")), "b:w7E=");
//! assert_eq!(encode_meta(MetaValue::Str("aaaaaaaaañ")), "u:aaaaaaaaa%C3%B1");
//! assert_eq!(encode_meta(MetaValue::Str("application/json")), "d:j");
//! assert_eq!(decode_meta("u:a%C3%A9"), Decoded::Str("aé".into()));
//! assert_eq!(decode_meta("null"), Decoded::Null);
//! ```
//!
//! Where s3db.js would write a value it cannot read back or that is not a valid header, this
//! writer picks another encoding s3db.js still reads correctly (see `docs/compatibility.md`):
//! the strings `null` and `undefined`, values with a leading or trailing space, dictionary
//! forms whose rest is not printable ASCII, and `font/woff2` (whose code reads back as `failed`).

use std::borrow::Cow;
mod compressed;
mod dictionary;
mod node_base64;
mod uri;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Prefixes that mark an encoded value; a plain string starting with one is base64-encoded.
const RESERVED_PREFIXES: [&str; 5] = ["d:", "u:", "b:", "z:", "z85:"];

/// Rewrites a metadata key as every s3db.js client does before a write: each UTF-16 unit that
/// is not `[a-zA-Z0-9_-]` becomes `_` (so an emoji becomes `__`), then everything is
/// lower-cased.
///
/// ```
/// use s3db_codec::meta::sanitize_key;
/// assert_eq!(sanitize_key("$overflow"), "_overflow");
/// assert_eq!(sanitize_key("metadata.updatedAt"), "metadata_updatedat");
/// assert_eq!(sanitize_key("a😀"), "a__");
/// ```
pub fn sanitize_key(key: &str) -> String {
    if is_sanitized(key) {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(std::iter::repeat_n('_', c.len_utf16()));
        }
    }
    out
}

/// [`sanitize_key`] of an owned key, keeping its allocation when it is already clean (the
/// short keys s3db writes always are).
///
/// ```
/// use s3db_codec::meta::sanitized_key;
/// assert_eq!(sanitized_key("_v".to_owned()), "_v");
/// assert_eq!(sanitized_key("$overflow".to_owned()), "_overflow");
/// ```
pub fn sanitized_key(key: String) -> String {
    if is_sanitized(&key) {
        key
    } else {
        sanitize_key(&key)
    }
}

/// Whether `key` is already what [`sanitize_key`] makes of it.
fn is_sanitized(key: &str) -> bool {
    key.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A metadata value before client encoding, as s3db.js sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaValue<'a> {
    /// JavaScript `null`, stored as `null`.
    Null,
    /// JavaScript `undefined` (a present key without value), stored as `undefined`.
    Undefined,
    /// A string value.
    Str(&'a str),
}

impl<'a> From<&'a str> for MetaValue<'a> {
    fn from(value: &'a str) -> Self {
        MetaValue::Str(value)
    }
}

impl<'a> From<&'a String> for MetaValue<'a> {
    fn from(value: &'a String) -> Self {
        MetaValue::Str(value)
    }
}

impl<'a> From<Option<&'a str>> for MetaValue<'a> {
    /// `None` is `null`.
    fn from(value: Option<&'a str>) -> Self {
        value.map_or(MetaValue::Null, MetaValue::Str)
    }
}

/// A metadata value after client decoding. Its string is a `String`, or with
/// [`decode_meta_cow`] a `Cow` borrowing the stored value when that is the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<S = String> {
    /// The stored value was `null`.
    Null,
    /// The stored value was `undefined`.
    Undefined,
    /// A string value.
    Str(S),
}

impl<S: AsRef<str>> Decoded<S> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Decoded::Str(s) => Some(s.as_ref()),
            Decoded::Null | Decoded::Undefined => None,
        }
    }
}

/// Encodes a metadata value for an HTTP header, choosing what s3db.js chooses wherever that is
/// readable and header-safe. The result is always printable ASCII without leading or trailing
/// spaces, and [`decode_meta`] (like s3db.js's reader) gives the value back.
///
/// ```
/// use s3db_codec::meta::{encode_meta, MetaValue};
/// assert_eq!(encode_meta(MetaValue::Null), "null");
/// assert_eq!(encode_meta(MetaValue::Str("plain text")), "plain text");
/// assert_eq!(encode_meta(MetaValue::Str("u:abc")), "b:dTphYmM=");
/// assert_eq!(encode_meta(MetaValue::Str("https://example.com")), "d:@hexample.com");
/// assert_eq!(encode_meta(MetaValue::Str("日本語テキスト")), "b:5pel5pys6Kqe44OG44Kt44K544OI");
/// // Deviations from s3db.js, which cannot read these back:
/// assert_eq!(encode_meta(MetaValue::Str("null")), "b:bnVsbA==");
/// assert_eq!(encode_meta(MetaValue::Str(" padded ")), "u:%20padded%20");
/// ```
pub fn encode_meta(value: MetaValue<'_>) -> String {
    match value {
        MetaValue::Null => "null".to_owned(),
        MetaValue::Undefined => "undefined".to_owned(),
        MetaValue::Str(text) => encoded_form(text).unwrap_or_else(|| text.to_owned()),
    }
}

/// [`encode_meta`] of an owned string, handed back as it is when it needs no encoding (as
/// most values do), without a copy.
///
/// ```
/// use s3db_codec::meta::encode_meta_owned;
/// assert_eq!(encode_meta_owned("Alice".to_owned()), "Alice");
/// assert_eq!(encode_meta_owned("null".to_owned()), "b:bnVsbA==");
/// ```
pub fn encode_meta_owned(text: String) -> String {
    encoded_form(&text).unwrap_or(text)
}

/// The stored form of `text`, or `None` when it is stored as it is.
fn encoded_form(text: &str) -> Option<String> {
    if text == "null"
        || text == "undefined"
        || RESERVED_PREFIXES.iter().any(|p| text.starts_with(p))
    {
        return Some(base64_form(text));
    }
    if let Some(short) = dictionary::encode(text)
        && short.len() < text.len()
        && is_header_safe(&short)
    {
        return Some(short);
    }
    if is_printable_ascii(text) {
        return (!is_header_safe(text)).then(|| url_form(text));
    }
    Some(if prefers_base64(text) {
        base64_form(text)
    } else {
        url_form(text)
    })
}

/// Decodes a stored metadata value exactly as s3db.js's reader does, including its fallbacks:
/// an unknown `d:` code, a `u:` value that is not valid percent-encoding, or a `z:`/`z85:` value
/// that does not inflate are returned as stored; `b:` and `z:` decode base64 leniently as
/// Node.js does and replace invalid UTF-8 with U+FFFD. Never fails.
///
/// ```
/// use s3db_codec::meta::{decode_meta, Decoded};
/// assert_eq!(decode_meta("undefined"), Decoded::Undefined);
/// assert_eq!(decode_meta("d:c"), Decoded::Str("completed".into()));
/// assert_eq!(decode_meta("d:@L3000/x"), Decoded::Str("http://localhost:3000/x".into()));
/// assert_eq!(decode_meta("b:w7E="), Decoded::Str("ñ".into()));
/// assert_eq!(decode_meta("u:%E0%A4"), Decoded::Str("u:%E0%A4".into()));
/// ```
pub fn decode_meta(stored: &str) -> Decoded {
    match decode_meta_cow(stored) {
        Decoded::Null => Decoded::Null,
        Decoded::Undefined => Decoded::Undefined,
        Decoded::Str(text) => Decoded::Str(text.into_owned()),
    }
}

/// [`decode_meta`] that borrows a value stored as it is (most are) instead of copying it.
///
/// ```
/// use std::borrow::Cow;
/// use s3db_codec::meta::{Decoded, decode_meta_cow};
/// assert_eq!(decode_meta_cow("Alice"), Decoded::Str(Cow::Borrowed("Alice")));
/// assert_eq!(decode_meta_cow("d:c").as_str(), Some("completed"));
/// ```
pub fn decode_meta_cow(stored: &str) -> Decoded<Cow<'_, str>> {
    match stored {
        "null" => Decoded::Null,
        "undefined" => Decoded::Undefined,
        text => Decoded::Str(decode_prefixed(text).map_or(Cow::Borrowed(text), Cow::Owned)),
    }
}

/// The value a prefixed stored string stands for, or `None` where s3db.js keeps the stored
/// string: no known prefix, an empty payload, or a payload that does not decode.
fn decode_prefixed(stored: &str) -> Option<String> {
    if let Some(payload) = stored.strip_prefix("d:") {
        return dictionary::decode(payload);
    }
    let (prefix, payload) = ["z85:", "z:", "u:", "b:"]
        .into_iter()
        .find_map(|prefix| stored.strip_prefix(prefix).map(|rest| (prefix, rest)))?;
    if payload.is_empty() {
        return None;
    }
    match prefix {
        "z85:" => compressed::decode_base85_deflate(payload),
        "z:" => compressed::decode_base64_deflate(payload),
        "u:" => uri::decode_component(payload),
        _ => Some(String::from_utf8_lossy(&node_base64::decode(payload)).into_owned()),
    }
}

/// `b:` + base64 of the UTF-8 bytes.
fn base64_form(text: &str) -> String {
    format!("b:{}", BASE64.encode(text))
}

/// `u:` + `encodeURIComponent(text)`.
fn url_form(text: &str) -> String {
    format!("u:{}", uri::encode_component(text))
}

/// Every character in 0x20–0x7E.
fn is_printable_ascii(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Printable ASCII that HTTP keeps intact: no leading or trailing space (header values are
/// trimmed of them).
fn is_header_safe(text: &str) -> bool {
    is_printable_ascii(text) && !text.starts_with(' ') && !text.ends_with(' ')
}

/// s3db.js's choice between `b:` and `u:` for a value that is not printable ASCII, counted in
/// UTF-16 units: with any "multibyte" unit (control characters, DEL, anything above U+00FF),
/// base64 when they are more than 30 % of the value; with only Latin-1 (U+0080–U+00FF) beyond
/// ASCII, base64 when those are more than half.
fn prefers_base64(text: &str) -> bool {
    let (mut length, mut latin1, mut multibyte) = (0usize, 0usize, 0usize);
    for unit in text.encode_utf16() {
        length += 1;
        match unit {
            0x20..=0x7e => {}
            0x80..=0xff => latin1 += 1,
            _ => multibyte += 1,
        }
    }
    if multibyte > 0 {
        multibyte * 10 > length * 3
    } else {
        latin1 * 2 > length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(text: &str) -> String {
        encode_meta(MetaValue::Str(text))
    }

    #[test]
    fn dictionary_is_used_only_when_it_saves_and_stays_ascii() {
        assert_eq!(enc("/v1/users"), "/v1/users");
        assert_eq!(enc("/v1/users/x"), "/v1/users/x");
        assert_eq!(enc("/api/v1/x"), "d:@1x");
        assert_eq!(enc("completed"), "d:c");
        assert_eq!(enc("font/woff2"), "font/woff2");
        assert_eq!(
            enc("https://exämple.com/ü"),
            "u:https%3A%2F%2Fex%C3%A4mple.com%2F%C3%BC"
        );
        assert_eq!(enc("https://x.io/ "), "u:https%3A%2F%2Fx.io%2F%20");
    }

    #[test]
    fn control_characters_count_as_multibyte() {
        assert_eq!(enc("line\nbreak\ttab"), "u:line%0Abreak%09tab");
        assert_eq!(enc("\u{7f}"), "b:fw==");
    }

    #[test]
    fn short_prefix_only_values_are_kept() {
        for stored in ["u:", "b:", "z:", "z85:", "d:", "d:zz"] {
            assert_eq!(decode_meta(stored), Decoded::Str(stored.to_owned()));
        }
    }
}
