//! Golden tests of the client layer against s3db.js 21.6.2: the examples of the format spec
//! (§3.2, §3.4), outputs recorded from s3db.js's own `metadataEncode`/`metadataDecode`, and every
//! metadata value of the public fixture bucket.

use s3db_codec::meta::{Decoded, MetaValue, decode_meta, encode_meta, sanitize_key};
use serde_json::Value;

/// `(input, what s3db.js 21.6.2's metadataEncode stores)`, recorded under Node.js. Every one is
/// also what this writer stores.
const S3DBJS_ENCODINGS: &[(&str, &str)] = &[
    ("ñ", "b:w7E="),
    ("aaaaaaaaañ", "u:aaaaaaaaa%C3%B1"),
    ("aé", "u:a%C3%A9"),
    ("日本語テキスト", "b:5pel5pys6Kqe44OG44Kt44K544OI"),
    ("a日", "b:YeaXpQ=="),
    (
        "José Ñoño 日本 😀",
        "u:Jos%C3%A9%20%C3%91o%C3%B1o%20%E6%97%A5%E6%9C%AC%20%F0%9F%98%80",
    ),
    ("line\nbreak\ttab", "u:line%0Abreak%09tab"),
    ("u:abc", "b:dTphYmM="),
    ("application/json", "d:j"),
    ("application/octet-stream", "d:o"),
    ("image/png", "d:P"),
    ("completed", "d:c"),
    ("failed", "d:f"),
    ("text/plain", "d:T"),
    ("processing", "d:p"),
    ("https://example.com", "d:@hexample.com"),
    ("http://example.com/x", "d:@texample.com/x"),
    ("https://www.example.com", "d:@Wexample.com"),
    ("http://localhost:8080/api", "d:@L8080/api"),
    ("http://localhost:", "d:@L"),
    ("http://localhost", "d:@l"),
    ("https://", "d:@h"),
    ("/api/users", "d:@ausers"),
    ("/v1/users", "/v1/users"),
    ("/api/v1/items/42", "d:@1items/42"),
    ("https://api.example.com/v2", "d:@Av2"),
    ("https://s3.amazonaws.com/bucket/key", "d:@sbucket/key"),
    (
        "https://s3-eu-west-1.amazonaws.com",
        "d:@Seu-west-1.amazonaws.com",
    ),
    ("/products/7", "d:@p7"),
    ("/users/9", "d:@u9"),
    ("", ""),
    ("plain text", "plain text"),
    ("active", "active"),
    ("200", "200"),
    ("N/A", "N/A"),
    (
        "Café Crème — naïve façade",
        "u:Caf%C3%A9%20Cr%C3%A8me%20%E2%80%94%20na%C3%AFve%20fa%C3%A7ade",
    ),
    ("µm", "u:%C2%B5m"),
    ("東京", "b:5p2x5Lqs"),
    ("😀", "b:8J+YgA=="),
    ("ab😀", "b:YWLwn5iA"),
    ("éééa", "b:w6nDqcOpYQ=="),
    ("ééaa", "u:%C3%A9%C3%A9aa"),
    ("\u{1}", "b:AQ=="),
    ("a\u{1}bcdefgh", "u:a%01bcdefgh"),
    ("z85:xyz", "b:ejg1Onh5eg=="),
    ("z:abc", "b:ejphYmM="),
    ("d:j", "b:ZDpq"),
    ("b:", "b:Yjo="),
];

/// `(input, what s3db.js stores, what this writer stores instead)`: the documented deviations.
const DEVIATIONS: &[(&str, &str, &str)] = &[
    // s3db.js reads these back as null / undefined.
    ("null", "null", "b:bnVsbA=="),
    ("undefined", "undefined", "b:dW5kZWZpbmVk"),
    // `d:f` reads back as `failed`.
    ("font/woff2", "d:f", "font/woff2"),
    // A non-ASCII header value.
    (
        "https://exämple.com/ü",
        "d:@hexämple.com/ü",
        "u:https%3A%2F%2Fex%C3%A4mple.com%2F%C3%BC",
    ),
    // HTTP trims the spaces of header values.
    (" padded ", " padded ", "u:%20padded%20"),
    ("https:// x ", "d:@h x ", "u:https%3A%2F%2F%20x%20"),
    // JavaScript object-prototype names hit s3db.js's dictionary lookup.
    (
        "constructor",
        "d:function Object() { [native code] }",
        "constructor",
    ),
];

#[test]
fn encodes_like_s3dbjs() {
    for &(input, stored) in S3DBJS_ENCODINGS {
        assert_eq!(encode_meta(MetaValue::Str(input)), stored, "{input:?}");
        assert_eq!(
            decode_meta(stored),
            Decoded::Str(input.to_owned()),
            "{stored:?}"
        );
    }
}

#[test]
fn documented_deviations_stay_readable_by_s3dbjs() {
    for &(input, s3dbjs, ours) in DEVIATIONS {
        assert_ne!(s3dbjs, ours);
        assert_eq!(encode_meta(MetaValue::Str(input)), ours, "{input:?}");
        assert_eq!(
            decode_meta(ours),
            Decoded::Str(input.to_owned()),
            "{ours:?}"
        );
    }
    assert_eq!(decode_meta("d:f"), Decoded::Str("failed".into()));
    assert_eq!(
        decode_meta("d:@hexämple.com/ü"),
        Decoded::Str("https://exämple.com/ü".into())
    );
}

#[test]
fn null_and_undefined() {
    assert_eq!(encode_meta(MetaValue::Null), "null");
    assert_eq!(encode_meta(MetaValue::Undefined), "undefined");
    assert_eq!(decode_meta("null"), Decoded::Null);
    assert_eq!(decode_meta("undefined"), Decoded::Undefined);
}

/// `(stored, what s3db.js's metadataDecode returns)`, recorded under Node.js.
#[test]
fn decodes_like_s3dbjs() {
    let text = "Olá mundo! ".repeat(20);
    let cases: &[(&str, &str)] = &[
        ("z85:sAVI2<e,=+2/wx(c3+Vp!>", &text),
        ("z:8885vFAhtzQvJV9RwX8EsAE=", &text),
        ("b:!!!", ""),
        ("b:w7", "\u{fffd}"),
        ("b:/w==", "\u{fffd}"),
        ("b:8J+Y", "\u{fffd}"),
        ("u:%zz", "u:%zz"),
        ("d:@Zx", "d:@Zx"),
        ("z:AAAA", "z:AAAA"),
        ("z85:abc", "z85:abc"),
        ("u:", "u:"),
        ("NULL", "NULL"),
    ];
    for &(stored, value) in cases {
        assert_eq!(
            decode_meta(stored),
            Decoded::Str(value.to_owned()),
            "{stored:?}"
        );
    }
}

#[test]
fn sanitizes_keys_like_s3dbjs() {
    let cases = [
        ("$overflow", "_overflow"),
        ("$truncated", "_truncated"),
        ("_pluginMap", "_pluginmap"),
        ("_hasContent", "_hascontent"),
        ("metadata.updatedAt", "metadata_updatedat"),
        ("a-b_C9", "a-b_c9"),
        ("ü😀", "___"),
        ("", ""),
    ];
    for (key, sanitized) in cases {
        assert_eq!(sanitize_key(key), sanitized, "{key:?}");
    }
}

/// Every stored value of the fixture bucket decodes, and re-encoding the decoded value gives
/// the stored string back, except where s3db.js's choice is one of the documented deviations.
#[test]
fn fixture_metadata_round_trips() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/s3dbjs-21.6.2/objects.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (mut checked, mut prefixed) = (0, 0);
    let mut exceptions = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let object: Value = serde_json::from_str(line).unwrap();
        for (key, stored) in object["metadata"].as_object().unwrap() {
            assert_eq!(&sanitize_key(key), key, "keys are stored sanitized");
            let stored = stored.as_str().unwrap();
            let decoded = decode_meta(stored);
            let value = match &decoded {
                Decoded::Null => MetaValue::Null,
                Decoded::Undefined => MetaValue::Undefined,
                Decoded::Str(s) => MetaValue::Str(s),
            };
            checked += 1;
            if ["u:", "b:", "d:"].iter().any(|p| stored.starts_with(p)) {
                prefixed += 1;
            }
            let ours = encode_meta(value);
            if ours != stored {
                exceptions.push((decoded.clone(), stored.to_owned(), ours));
            }
        }
    }
    assert_eq!(checked, 290);
    assert_eq!(prefixed, 17);
    for (decoded, stored, ours) in &exceptions {
        let input = decoded.as_str().unwrap();
        assert!(
            DEVIATIONS.contains(&(input, stored.as_str(), ours.as_str())),
            "undocumented difference: {input:?} stored {stored:?}, we write {ours:?}"
        );
    }
    assert!(
        exceptions.is_empty(),
        "the fixtures hold no deviating value"
    );
}
