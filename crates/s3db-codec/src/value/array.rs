//! Arrays: pipe-joined strings and numbers, fixed-point embeddings, JSON arrays.

use serde_json::Value;

use super::fixed_point::{push_fixed_digits, scale_of};
use super::json_text::write_js_json;
use super::number::{self, Num, float_value};
use crate::base62;

const SEPARATOR: char = '|';

// Splitting with these per-character tests rather than `char` patterns (a memchr search) is
// measurably cheaper on short stored texts.
fn is_separator(c: char) -> bool {
    c == SEPARATOR
}

fn is_comma(c: char) -> bool {
    c == ','
}

fn items(value: &Value) -> Result<&[Value], &'static str> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or("expected an array")
}

/// `array|items:string` (s3db.js `fromArray`): `\` → `\\`, `|` → `\|`, joined with `|`.
///
/// Where s3db.js's reader would not get the array back — `['']` (stored as the empty string,
/// read as `[]`) or a joined text starting with `[` or `{` (which it parses as JSON) — the array
/// is written as JSON text instead, which both readers return as the array.
pub(super) fn push_strings(out: &mut String, value: &Value) -> Result<(), &'static str> {
    let items = items(value)?;
    let start = out.len();
    for (i, item) in items.iter().enumerate() {
        let s = item.as_str().ok_or("expected an array of strings")?;
        if i > 0 {
            out.push(SEPARATOR);
        }
        for c in s.chars() {
            if c == '\\' || c == SEPARATOR {
                out.push('\\');
            }
            out.push(c);
        }
    }
    let joined = &out[start..];
    let misread = (joined.is_empty() && !items.is_empty())
        || joined.starts_with('[')
        || joined.starts_with('{');
    if misread {
        out.truncate(start);
        write_js_json(out, value);
    }
    Ok(())
}

/// Splits on unescaped `|`; `\` + any character is that character (s3db.js `toArray`). Each
/// part goes through `make` (so callers build their element type in one pass).
fn split_pipes<T>(stored: &str, mut make: impl FnMut(String) -> T) -> Vec<T> {
    let bytes = stored.as_bytes();
    // One byte scan (texts are short): the separators, and whether anything is escaped.
    let (mut separators, mut escaped) = (0, false);
    for &b in bytes {
        separators += usize::from(b == SEPARATOR as u8);
        escaped |= b == b'\\';
    }
    if !escaped {
        // Each part is a slice, copied once into a string of its size.
        let mut parts = Vec::with_capacity(separators + 1);
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == SEPARATOR as u8 {
                parts.push(make(stored[start..i].to_owned()));
                start = i + 1;
            }
        }
        parts.push(make(stored[start..].to_owned()));
        return parts;
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    // Start of the text not yet copied into `current`; `i` only stops on ASCII bytes and
    // after whole characters, so every slice below is on character boundaries.
    let mut run = 0;
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' {
            current.push_str(&stored[run..i]);
            i += 1;
            match stored[i..].chars().next() {
                Some(next) => {
                    current.push(next);
                    i += next.len_utf8();
                }
                None => current.push('\\'),
            }
            run = i;
        } else if c == SEPARATOR as u8 {
            current.push_str(&stored[run..i]);
            parts.push(make(std::mem::take(&mut current)));
            i += 1;
            run = i;
        } else {
            i += 1;
        }
    }
    current.push_str(&stored[run..]);
    parts.push(make(current));
    parts
}

/// `read` of each part of [`split_pipes`], without copying the parts when nothing is escaped.
fn map_pipe_parts<T>(stored: &str, mut read: impl FnMut(&str) -> T) -> Vec<T> {
    if stored.contains('\\') {
        split_pipes(stored, |part| read(&part))
    } else {
        stored.split(is_separator).map(read).collect()
    }
}

/// A JSON array at the start of `stored`, as s3db.js's reader parses it.
fn json_array(stored: &str) -> Option<Vec<Value>> {
    if !stored.starts_with('[') {
        return None;
    }
    match serde_json::from_str(stored) {
        Ok(Value::Array(items)) => Some(items),
        _ => None,
    }
}

/// Reads `array|items:string`. A JSON array of strings (what our writer uses for the cases
/// s3db.js loses) is returned as is; everything else is split on `|` — including JSON-looking
/// text written by s3db.js from a one-element array such as `['[1]']`.
pub(super) fn decode_strings(stored: &str) -> Value {
    if stored.is_empty() {
        return Value::Array(Vec::new());
    }
    if let Some(items) = json_array(stored).filter(|items| items.iter().all(Value::is_string)) {
        return Value::Array(items);
    }
    Value::Array(split_pipes(stored, Value::String))
}

/// `array|items:number` (decimal base62) or, with `integer`, `…|integer:true` (base62
/// integers), joined with `|`.
pub(super) fn push_numbers(
    out: &mut String,
    value: &Value,
    integer: bool,
) -> Result<(), &'static str> {
    for (i, item) in items(value)?.iter().enumerate() {
        let num = Num::from_value(item).ok_or("expected an array of numbers")?;
        if i > 0 {
            out.push(SEPARATOR);
        }
        if integer {
            number::push_integer(out, num)?;
        } else {
            number::push_decimal(out, num);
        }
    }
    Ok(())
}

/// Reads a pipe-joined number array; an element s3db.js reads as NaN comes back as `null`.
pub(super) fn decode_numbers(stored: &str, integer: bool) -> Value {
    if stored.is_empty() {
        return Value::Array(Vec::new());
    }
    if let Some(items) = json_array(stored) {
        return Value::Array(items.into_iter().map(keep_numbers).collect());
    }
    Value::Array(map_pipe_parts(stored, |part| {
        let num = if part.is_empty() {
            None
        } else if integer {
            number::decode_integer_digits(part)
        } else {
            number::decode_decimal(part)
        };
        num.and_then(|n| n.into_value("number array", part).ok())
            .unwrap_or(Value::Null)
    }))
}

fn keep_numbers(item: Value) -> Value {
    if item.is_number() { item } else { Value::Null }
}

/// Fixed-point arrays (s3db.js `encodeFixedPointBatch`): `^[` + elements joined with `,` + `]`,
/// each element base62 of `round(x·10^precision)` with `-` for negatives and `0` for zero.
pub(super) fn push_fixed_points(
    out: &mut String,
    value: &Value,
    precision: u32,
) -> Result<(), &'static str> {
    let scale = scale_of(precision);
    out.push_str("^[");
    for (i, item) in items(value)?.iter().enumerate() {
        let x = item.as_f64().ok_or("expected an array of numbers")?;
        if i > 0 {
            out.push(',');
        }
        push_fixed_digits(out, x, scale)?;
    }
    out.push(']');
    Ok(())
}

/// Reads a fixed-point array like s3db.js `toArrayOfEmbeddings` (NaN elements as `null`).
pub(super) fn decode_fixed_points(stored: &str, precision: u32) -> Value {
    let scale = scale_of(precision);
    if stored.is_empty() || stored == "^[]" {
        return Value::Array(Vec::new());
    }
    if let Some(items) = json_array(stored) {
        return Value::Array(items.into_iter().map(keep_numbers).collect());
    }
    let element = |x: f64| float_value(x, "fixed-point array", stored).unwrap_or(Value::Null);
    if let Some(rest) = stored.strip_prefix("^[") {
        // s3db.js drops the last character, whatever it is.
        let mut chars = rest.chars();
        chars.next_back();
        let inner = chars.as_str();
        if inner.is_empty() {
            return Value::Array(Vec::new());
        }
        let mut items = Vec::with_capacity(inner.bytes().filter(|&b| b == b',').count() + 1);
        items.extend(
            inner
                .split(is_comma)
                .map(|part| element(fixed_element(part) / scale)),
        );
        return Value::Array(items);
    }
    Value::Array(map_pipe_parts(stored, |part| {
        match part.strip_prefix('^') {
            Some("0") => Value::from(0),
            Some(digits) if !part.is_empty() => element(fixed_element(digits) / scale),
            _ => Value::Null,
        }
    }))
}

/// One scaled element: `0`, `-`digits or digits in float base62; NaN for `` or a bad character.
fn fixed_element(part: &str) -> f64 {
    if part.is_empty() {
        return f64::NAN;
    }
    base62::decode_js_f64(part)
}

/// Reads any other array like s3db.js's unmapper: JSON text if it parses (an object becomes
/// `["[object Object]"]`, as in s3db.js), otherwise pipe-split strings.
pub(super) fn decode_json_array(stored: &str) -> Value {
    let object_marker = || Value::Array(vec![Value::String("[object Object]".to_owned())]);
    if stored == "[object Object]" {
        return object_marker();
    }
    if stored.starts_with('{') || stored.trim_start().starts_with('[') {
        match serde_json::from_str::<Value>(stored) {
            Ok(array @ Value::Array(_)) => return array,
            Ok(Value::Object(_)) => return object_marker(),
            _ => {}
        }
    }
    if stored.is_empty() {
        return Value::Array(Vec::new());
    }
    Value::Array(split_pipes(stored, Value::String))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(v: Value) -> String {
        let mut out = String::new();
        push_strings(&mut out, &v).unwrap();
        out
    }

    #[test]
    fn string_arrays_match_s3dbjs() {
        assert_eq!(strings(json!(["a|b", "c\\d", ""])), r"a\|b|c\\d|");
        assert_eq!(
            strings(json!(["x|y", "a\\b", "ü", "", "\\"])),
            r"x\|y|a\\b|ü||\\"
        );
        assert_eq!(strings(json!([])), "");
        assert_eq!(
            decode_strings(r"x\|y|a\\b|ü||\\"),
            json!(["x|y", "a\\b", "ü", "", "\\"])
        );
        assert_eq!(decode_strings(""), json!([]));
        assert_eq!(decode_strings("a\\"), json!(["a\\"]));
    }

    #[test]
    fn string_array_deviations() {
        assert_eq!(strings(json!([""])), r#"[""]"#);
        assert_eq!(decode_strings(r#"[""]"#), json!([""]));
        assert_eq!(strings(json!(["[1]"])), r#"["[1]"]"#);
        assert_eq!(decode_strings(r#"["[1]"]"#), json!(["[1]"]));
        // As s3db.js writes it: JSON-looking text from a one-element array.
        assert_eq!(decode_strings("[1]"), json!(["[1]"]));
        assert_eq!(decode_strings(r#"{"a":1}"#), json!([r#"{"a":1}"#]));
    }

    #[test]
    fn number_arrays() {
        let mut out = String::new();
        push_numbers(&mut out, &json!([1.5, -2, 3e-7]), false).unwrap();
        assert_eq!(out, "1.5|-2|0.0000003");
        assert_eq!(decode_numbers(&out, false), json!([1.5, -2, 3e-7]));
        assert_eq!(decode_numbers("1.5|-2|", false), json!([1.5, -2, null]));
        out.clear();
        push_numbers(&mut out, &json!([0, 61, 62, -7]), true).unwrap();
        assert_eq!(out, "0|Z|10|-7");
        assert_eq!(decode_numbers("0|Z|10|-7", true), json!([0, 61, 62, -7]));
        assert_eq!(decode_numbers("", true), json!([]));
    }

    #[test]
    fn fixed_point_arrays() {
        let mut out = String::new();
        let v = json!([0.1, -0.2, 0.3, 0, 1, -1, 0.123456789, 2]);
        push_fixed_points(&mut out, &v, 6).unwrap();
        assert_eq!(out, "^[q0U,-Q1O,1g2I,0,4c92,-4c92,w7f,8oi4]");
        assert_eq!(
            decode_fixed_points(&out, 6),
            json!([0.1, -0.2, 0.3, 0, 1, -1, 0.123457, 2])
        );
        out.clear();
        push_fixed_points(&mut out, &json!([]), 6).unwrap();
        assert_eq!(out, "^[]");
        assert_eq!(decode_fixed_points("^[]", 6), json!([]));
        assert_eq!(decode_fixed_points("^[,x!]", 6), json!([null, null]));
    }

    #[test]
    fn json_arrays() {
        assert_eq!(
            decode_json_array(r#"[{"a":1},"x",2]"#),
            json!([{"a":1},"x",2])
        );
        assert_eq!(decode_json_array(""), json!([]));
        assert_eq!(decode_json_array("a|b"), json!(["a", "b"]));
        assert_eq!(decode_json_array("{}"), json!(["[object Object]"]));
    }
}
