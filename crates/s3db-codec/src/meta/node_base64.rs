//! Base64 decoding as Node.js's `Buffer.from(text, 'base64')` does it, which is what s3db.js
//! uses to read `b:` and `z:` values: both alphabets (`+/` and `-_`), characters outside them
//! skipped, decoding stops at the first `=`, an incomplete last group keeps its whole bytes.
//! Node reads each UTF-16 unit of the JavaScript string by its low byte, so `Ł` (U+0141)
//! counts as `A` and any astral character as `=`.

/// Decodes `text` exactly as Node.js would; never fails.
pub(crate) fn decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut group = [0u8; 4];
    let mut filled = 0;
    for unit in text.encode_utf16() {
        let byte = unit.to_le_bytes()[0];
        let Some(sextet) = sextet(byte) else {
            if byte == b'=' {
                break;
            }
            continue;
        };
        group[filled] = sextet;
        filled += 1;
        if filled == 4 {
            out.extend_from_slice(&group_bytes(group)[..3]);
            filled = 0;
        }
    }
    if filled >= 2 {
        out.extend_from_slice(&group_bytes(group)[..filled - 1]);
    }
    out
}

/// The value of one base64 character in either alphabet.
fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The three bytes four sextets stand for.
fn group_bytes([a, b, c, d]: [u8; 4]) -> [u8; 3] {
    [
        a << 2 | b >> 4,
        (b & 0x0f) << 4 | c >> 2,
        (c & 0x03) << 6 | d,
    ]
}

#[cfg(test)]
mod tests {
    use super::decode;

    /// Expected bytes were produced by Node.js (`Buffer.from(s, 'base64').toString('hex')`).
    #[test]
    fn matches_node() {
        let cases: [(&str, &[u8]); 19] = [
            ("aGVsbG8=", b"hello"),
            ("aGVsbG8", b"hello"),
            ("aGVs bG8=", b"hello"),
            ("aGVs!bG8=", b"hello"),
            ("aGVsbG8=aGVs", b"hello"),
            ("a", b""),
            ("ab", &[0x69]),
            ("abc", &[0x69, 0xb7]),
            ("aG=VsbG8", &[0x68]),
            ("-_-_", &[0xfb, 0xff, 0xbf]),
            ("+/+/", &[0xfb, 0xff, 0xbf]),
            ("aGV\nsbG8", b"hello"),
            ("=aGVs", b""),
            ("YR==", &[0x61]),
            ("/w==", &[0xff]),
            ("YQ\u{141}\u{141}", &[0x61, 0, 0]),
            ("Y\u{151}==", &[0x61]),
            ("YWJj\u{e9}ZA==", b"abcd"),
            ("\u{1F600}YWJj", b""),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode(text), bytes, "{text:?}");
        }
    }
}
