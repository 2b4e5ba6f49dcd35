//! Escaping of partition values into key segments.
//!
//! s3db.js writes values raw, so a `/` adds key segments and `..` can be normalized away by
//! `path.join`. We percent-encode only what cannot live in one segment — `%` itself, `/`,
//! `\`, control characters, and every `.` of a value that contains `..` — so every ordinary
//! value (spaces, accents, CJK, emoji included) is byte-identical to what s3db.js writes.

use std::fmt::Write as _;

/// The key-segment form of a partition value.
pub fn escape(value: &str) -> String {
    if is_plain(value) {
        return value.to_owned();
    }
    let dots = value.contains("..");
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if needs_escape(c) || (dots && c == '.') {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `value` is its own key-segment form (nothing to escape).
pub(crate) fn is_plain(value: &str) -> bool {
    let dots = value.contains("..");
    !value.chars().any(|c| needs_escape(c) || (dots && c == '.'))
}

/// The value of an escaped segment (inverse of [`escape`]; s3db.js's raw values come back
/// unchanged unless they contain `%`).
pub fn unescape(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn needs_escape(c: char) -> bool {
    matches!(c, '%' | '/' | '\\') || c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_values_are_untouched() {
        for value in [
            "open",
            "São Paulo",
            "東京",
            "a b+c?",
            "🚀",
            "v1.2",
            "2026-11-21",
            "",
        ] {
            assert_eq!(escape(value), value);
        }
    }

    #[test]
    fn separators_and_climbers_are_escaped() {
        assert_eq!(escape("a/b"), "a%2Fb");
        assert_eq!(escape("../x"), "%2E%2E%2Fx");
        assert_eq!(escape("50%"), "50%25");
        assert_eq!(escape("a\nb"), "a%0Ab");
        assert_eq!(escape("a\\b"), "a%5Cb");
    }

    proptest! {
        #[test]
        fn escaped_values_round_trip_and_stay_one_segment(value in "\\PC*|[./%\\\\a\n]*") {
            let escaped = escape(&value);
            prop_assert!(!escaped.contains('/'));
            prop_assert!(!escaped.contains(".."));
            prop_assert!(!escaped.chars().any(char::is_control));
            prop_assert_eq!(unescape(&escaped), value);
        }
    }
}
