//! JavaScript's `encodeURIComponent` / `decodeURIComponent`, used for `u:` values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The characters `encodeURIComponent` escapes: all but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `encodeURIComponent(text)`: UTF-8 bytes of escaped characters as upper-case `%XX`.
pub(crate) fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// `decodeURIComponent(text)`, or `None` where JavaScript throws `URIError`: a `%` not followed
/// by two hex digits, or escapes that do not form valid UTF-8.
pub(crate) fn decode_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let high = hex_value(*bytes.get(i + 1)?)?;
            let low = hex_value(*bytes.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of one hex digit.
fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_javascript() {
        assert_eq!(
            encode_component("a b/c?d=é😀-_.!~*'()"),
            "a%20b%2Fc%3Fd%3D%C3%A9%F0%9F%98%80-_.!~*'()"
        );
    }

    #[test]
    fn decodes_or_refuses_like_javascript() {
        assert_eq!(decode_component("a%20b%2f%C3%A9").as_deref(), Some("a b/é"));
        assert_eq!(decode_component("plain ü").as_deref(), Some("plain ü"));
        for bad in [
            "%",
            "%4",
            "%zz",
            "%C3",
            "%C3A",
            "%C3%A",
            "%ED%A0%80",
            "%C0%80",
            "%FF",
        ] {
            assert_eq!(decode_component(bad), None, "{bad:?}");
        }
    }
}
