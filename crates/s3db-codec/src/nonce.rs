//! The write nonce: a `"_w"` entry of 16 hex digits that s3db adds to the JSON object bodies
//! it writes. S3's ETag is the MD5 of the body, so without it an object written back to an
//! earlier content would take back that content's ETag, and a conditional write holding the
//! old ETag would succeed over a change it never saw.
//!
//! ```
//! use s3db_codec::nonce::{is_nonce_only, with_nonce};
//!
//! assert_eq!(with_nonce("{}", 255), r#"{"_w":"00000000000000ff"}"#);
//! assert_eq!(with_nonce(r#"{"a":1}"#, 1), r#"{"a":1,"_w":"0000000000000001"}"#);
//! assert!(is_nonce_only(with_nonce("{}", u64::MAX).as_bytes()));
//! assert!(!is_nonce_only(with_nonce(r#"{"a":1}"#, 1).as_bytes()));
//! ```

/// The key of the nonce entry.
pub const NONCE_KEY: &str = "_w";

/// `object`, the text of a JSON object, with a `"_w"` entry holding `nonce` added last.
pub fn with_nonce(object: &str, nonce: u64) -> String {
    let inner = object.trim_end().strip_suffix('}').unwrap_or(object);
    let separator = if inner.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    // Written by hand: `format!` with `{:016x}` costs more than the rest of an update's body.
    let mut text = String::with_capacity(inner.len() + separator.len() + 26);
    text.push_str(inner);
    text.push_str(separator);
    text.push('"');
    text.push_str(NONCE_KEY);
    text.push_str("\":\"");
    for shift in (0..16).rev() {
        let digit = (nonce >> (shift * 4)) & 0xf;
        text.push(char::from(HEX_DIGITS[digit as usize]));
    }
    text.push_str("\"}");
    text
}

/// Lower-case hexadecimal digits, by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Whether `body` is exactly a nonce and nothing else (`{"_w":"<16 hex digits>"}`, what
/// [`with_nonce`] makes of `{}`): a reader needs not parse it.
pub fn is_nonce_only(body: &[u8]) -> bool {
    const HEAD: &[u8] = br#"{"_w":""#;
    const TAIL: &[u8] = br#""}"#;
    body.len() == HEAD.len() + 16 + TAIL.len()
        && body.starts_with(HEAD)
        && body.ends_with(TAIL)
        && body[HEAD.len()..HEAD.len() + 16]
            .iter()
            .all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn nonces_extend_json_objects() {
        let empty: Value = serde_json::from_str(&with_nonce("{}", 1)).unwrap();
        assert_eq!(empty["_w"], "0000000000000001");
        assert_eq!(
            with_nonce("{ } ", 1),
            with_nonce("{}", 1).replacen('{', "{ ", 1)
        );
        let full: Value = serde_json::from_str(&with_nonce(r#"{"0":"a"}"#, u64::MAX)).unwrap();
        assert_eq!(full["0"], "a");
        assert_eq!(full["_w"], "ffffffffffffffff");
        for nonce in [0, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 1 << 63] {
            assert_eq!(
                with_nonce("{}", nonce),
                format!("{{\"_w\":\"{nonce:016x}\"}}")
            );
        }
    }

    #[test]
    fn only_the_bare_nonce_is_recognized_unparsed() {
        assert!(is_nonce_only(with_nonce("{}", 1).as_bytes()));
        assert!(is_nonce_only(with_nonce("{}", u64::MAX).as_bytes()));
        assert!(is_nonce_only(br#"{"_w":"00000000000000ff"}"#));
        assert!(!is_nonce_only(br#"{"_w":"00000000000000fg"}"#));
        assert!(!is_nonce_only(br#"{"_w":"00000000000000ff","a":1}"#));
        assert!(!is_nonce_only(br#"{"_x":"00000000000000ff"}"#));
        assert!(!is_nonce_only(br#"{"_w": "00000000000000f"}"#));
    }
}
