//! The JavaScript conversions the validator reproduces: `Number(text)` and `String(value)`
//! (`Number(text)`, `JSON.stringify` and number formatting come from `s3db_codec::value`).

use s3db_codec::value::format_js_number;
use serde_json::{Number, Value};

/// JavaScript `Number(text)` (`None` where JavaScript gives `NaN`).
pub(crate) use s3db_codec::value::parse_js_number as parse_number;

/// A finite `f64` as a JSON number, integral values as integers (JavaScript has one number
/// type, so `42` must not become `42.0`). `None` for NaN and infinities.
pub(crate) fn number_value(n: f64) -> Option<Value> {
    const SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() < SAFE {
        // Exact: |n| < 2^53 and integral.
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}

/// JavaScript `String(value)` for a JSON scalar (`None` for arrays and objects, which the
/// validator never converts).
pub(crate) fn to_js_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_owned()),
        Value::Number(n) => Some(number_text(n)),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn number_text(n: &Number) -> String {
    if n.is_f64() {
        n.as_f64()
            .map(format_js_number)
            .unwrap_or_else(|| n.to_string())
    } else {
        n.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_javascript_number() {
        assert_eq!(parse_number(" 42 "), Some(42.0));
        assert_eq!(parse_number(""), Some(0.0));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("5."), Some(5.0));
        assert_eq!(parse_number("0x1F"), Some(31.0));
        assert_eq!(parse_number("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("12abc"), None);
        assert_eq!(parse_number("."), None);
        assert_eq!(parse_number("1e"), None);
    }

    #[test]
    fn js_string_of_scalars() {
        assert_eq!(to_js_string(&serde_json::json!(1.5e21)).unwrap(), "1.5e+21");
        assert_eq!(to_js_string(&serde_json::json!(true)).unwrap(), "true");
        assert_eq!(to_js_string(&serde_json::json!([1])), None);
    }

    #[test]
    fn integral_numbers_become_integers() {
        assert_eq!(number_value(42.0), Some(Value::from(42)));
        assert_eq!(number_value(2.5), Some(Value::from(2.5)));
        assert_eq!(number_value(f64::NAN), None);
    }
}
