//! ETags as S3 computes them for single-part writes: the quoted hex MD5 of the body.

use md5::{Digest, Md5};

/// The quoted hex MD5 of `body`, e.g. `"d41d8cd98f00b204e9800998ecf8427e"` for an empty body.
pub fn etag_of(body: &[u8]) -> String {
    let mut quoted = [b'"'; 34];
    // 16 digest bytes always fit the 32 hex digits between the quotes, all ASCII: the
    // lossy conversion never replaces anything (one copy, not a char-by-char build).
    let _ = hex::encode_to_slice(Md5::digest(body), &mut quoted[1..33]);
    String::from_utf8_lossy(&quoted).into_owned()
}

/// An ETag as a server sent it, quoted as S3 quotes it (some S3-compatible servers, e.g.
/// SeaweedFS for CopyObject, send it bare).
pub fn quoted(etag: &str) -> String {
    if etag.is_empty() || etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// Whether an `If-Match` value `expected` accepts the object version `actual`: `*` accepts
/// any, otherwise the ETags must be equal ignoring quotes, a weak `W/` marker and hex case.
pub fn etags_match(expected: &str, actual: &str) -> bool {
    fn bare(etag: &str) -> &str {
        etag.trim().trim_start_matches("W/").trim_matches('"')
    }
    // Equal as given is the common case (an ETag handed back as it was read).
    expected == actual || bare(expected) == "*" || bare(expected).eq_ignore_ascii_case(bare(actual))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_quoted_md5_hex() {
        assert_eq!(etag_of(b""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(etag_of(b"hello"), "\"5d41402abc4b2a76b9719d911017c592\"");
    }

    #[test]
    fn bare_etags_get_quotes() {
        assert_eq!(quoted("abc"), "\"abc\"");
        assert_eq!(quoted("\"abc\""), "\"abc\"");
        assert_eq!(quoted("W/\"abc\""), "W/\"abc\"");
    }

    #[test]
    fn matching_ignores_quotes() {
        assert!(etags_match("\"abc\"", "abc"));
        assert!(etags_match("W/\"abc\"", "\"abc\""));
        assert!(!etags_match("\"abc\"", "\"abd\""));
        assert!(etags_match("*", "\"abd\""));
        assert!(etags_match("ABC", "\"abc\""));
    }
}
