//! Property tests of the client layer: every string survives encode → decode, every encoded
//! value is a safe header value, and decoding arbitrary input never panics.

use proptest::prelude::*;
use s3db_codec::meta::{Decoded, MetaValue, decode_meta, encode_meta};

/// Strings that stress the encoder: arbitrary Unicode, reserved prefixes, the special words,
/// dictionary words and URL prefixes, control characters, edge spaces, Latin-1 mixes.
fn tricky_string() -> impl Strategy<Value = String> {
    let head = prop_oneof![
        Just(String::new()),
        Just("u:".to_owned()),
        Just("b:".to_owned()),
        Just("d:".to_owned()),
        Just("z:".to_owned()),
        Just("z85:".to_owned()),
        Just("null".to_owned()),
        Just("undefined".to_owned()),
        Just("https://".to_owned()),
        Just("http://localhost:".to_owned()),
        Just("/api/v1/".to_owned()),
        Just("font/woff2".to_owned()),
        Just("completed".to_owned()),
        Just(" ".to_owned()),
    ];
    let body = prop_oneof![
        Just(String::new()),
        any::<String>(),
        "[ -~]{0,40}",
        "[\\x00-\\x1f\\x7f ]{0,6}",
        "[a-zé日😀 ]{0,12}",
        "[\\x{80}-\\x{ff}a]{0,12}",
    ];
    let tail = prop_oneof![Just(""), Just(" "), Just("\t"), Just("é")];
    (head, body, tail).prop_map(|(h, b, t)| format!("{h}{b}{t}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn strings_round_trip(text in tricky_string()) {
        let stored = encode_meta(MetaValue::Str(&text));
        prop_assert_eq!(decode_meta(&stored), Decoded::Str(text));
    }

    #[test]
    fn encoded_values_are_safe_headers(text in tricky_string()) {
        let stored = encode_meta(MetaValue::Str(&text));
        prop_assert!(stored.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{:?}", stored);
        prop_assert!(!stored.starts_with(' ') && !stored.ends_with(' '), "{:?}", stored);
    }

    #[test]
    fn arbitrary_strings_round_trip(text in any::<String>()) {
        let stored = encode_meta(MetaValue::Str(&text));
        prop_assert_eq!(decode_meta(&stored), Decoded::Str(text));
    }

    #[test]
    fn decoding_never_panics(
        prefix in prop_oneof![Just(""), Just("u:"), Just("b:"), Just("d:"), Just("d:@"), Just("z:"), Just("z85:")],
        payload in prop_oneof![any::<String>(), "[%0-9A-Fa-f@!-~]{0,40}"],
    ) {
        let stored = format!("{prefix}{payload}");
        let _ = decode_meta(&stored);
    }
}

#[test]
fn null_and_undefined_round_trip() {
    assert_eq!(decode_meta(&encode_meta(MetaValue::Null)), Decoded::Null);
    assert_eq!(
        decode_meta(&encode_meta(MetaValue::Undefined)),
        Decoded::Undefined
    );
}
