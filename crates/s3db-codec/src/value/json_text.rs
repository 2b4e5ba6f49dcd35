//! JSON text as JavaScript's `JSON.stringify` writes it (numbers in `String(n)` form: `1e+21`,
//! not `1e21`), and the `json`/`object` field codecs.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::number::write_js_number;

/// JavaScript's `JSON.stringify(value)`: no whitespace, keys in map order, numbers formatted
/// like `String(n)`, the same string escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
/// `\u00XX` for other control characters; everything else literal). JSON integers are written
/// exactly.
///
/// ```
/// use serde_json::json;
/// assert_eq!(s3db_codec::value::to_js_json(&json!({"a": [1e21, 0.5, "x\n"]})), r#"{"a":[1e+21,0.5,"x\n"]}"#);
/// ```
pub fn to_js_json(value: &Value) -> String {
    let mut out = String::new();
    write_js_json(&mut out, value);
    out
}

/// Appends [`to_js_json`] of `value` to `out`.
pub fn write_js_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else {
                write_js_number(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => write_js_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_js_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_js_string(out, key);
        out.push(':');
        write_js_json(out, item);
    }
    out.push('}');
}

fn write_js_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether JavaScript's `JSON.parse` could turn `s` into something else than the string itself:
/// it parses as JSON, or it looks like a number (a number too large for `serde_json` still
/// parses in JavaScript, as `Infinity`).
pub(super) fn reads_as_json(s: &str) -> bool {
    let trimmed = s.trim_start_matches([' ', '\t', '\n', '\r']);
    let numeric_start = trimmed
        .bytes()
        .next()
        .is_some_and(|c| c == b'-' || c.is_ascii_digit());
    numeric_start || serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

/// Appends a `json` field: strings as they are (s3db.js `toJSON`), anything else as JSON text.
/// A string that s3db.js's reader would parse into something else (`"123"`, `"[1]"`,
/// `"[object Object]"`) is written as a JSON string literal instead, which both readers decode
/// back to the string.
pub(super) fn push_json_field(out: &mut String, value: &Value) {
    match value {
        Value::String(s) if s.is_empty() || !(s == "[object Object]" || reads_as_json(s)) => {
            out.push_str(s)
        }
        other => write_js_json(out, other),
    }
}

/// Reads a `json`/`object` field like s3db.js: `` stays ``, `[object Object]` is `{}`, JSON text
/// is parsed, anything else is the string itself.
pub(super) fn decode_json_field(stored: &str) -> Value {
    if stored == "[object Object]" {
        return Value::Object(Map::new());
    }
    if stored.is_empty() {
        return Value::String(String::new());
    }
    serde_json::from_str(stored).unwrap_or_else(|_| Value::String(stored.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stringify_like_javascript() {
        assert_eq!(
            to_js_json(&json!({"x": 1, "y": [1, 2], "z": null, "w": true})),
            r#"{"x":1,"y":[1,2],"z":null,"w":true}"#
        );
        assert_eq!(
            to_js_json(&json!("a\u{1}\u{7f}ü\"\\")),
            "\"a\\u0001\u{7f}ü\\\"\\\\\""
        );
        assert_eq!(to_js_json(&json!(1e21)), "1e+21");
        assert_eq!(to_js_json(&json!(100.0)), "100");
        assert_eq!(to_js_json(&json!(-5)), "-5");
    }

    #[test]
    fn json_fields() {
        let mut out = String::new();
        push_json_field(&mut out, &json!("hello"));
        assert_eq!(out, "hello");
        out.clear();
        push_json_field(&mut out, &json!("123"));
        assert_eq!(out, "\"123\"");
        assert_eq!(decode_json_field("\"123\""), json!("123"));
        assert_eq!(decode_json_field("hello"), json!("hello"));
        assert_eq!(decode_json_field(""), json!(""));
        assert_eq!(decode_json_field("[object Object]"), json!({}));
        assert_eq!(
            decode_json_field(r#"{"k":"v","n":null}"#),
            json!({"k":"v","n":null})
        );
    }
}
