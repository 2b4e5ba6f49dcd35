//! Id generation (s3db.js nanoid alphabet, sizes, custom closures) and id validation.

use std::collections::HashSet;

use s3db_core::id::{
    DEFAULT_ID_ALPHABET, DEFAULT_ID_SIZE, IdGenerator, MAX_ID_BYTES, nanoid, validate_id,
};
use s3db_core::random::ThreadRandom;
use serde_json::{Map, Value, json};

#[test]
fn default_ids_are_22_url_alphabet_characters() {
    let generator = IdGenerator::default();
    assert_eq!(generator.label(), "default");
    assert_eq!(generator.size(), DEFAULT_ID_SIZE);
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        let id = generator.generate(&Map::new(), &ThreadRandom).unwrap();
        assert_eq!(id.len(), 22);
        assert!(id.chars().all(|c| DEFAULT_ID_ALPHABET.contains(c)), "{id}");
        validate_id(&id).unwrap();
        assert!(seen.insert(id));
    }
    // 44 000 characters from 64 symbols: every symbol shows up.
    let used: HashSet<char> = seen.iter().flat_map(|id| id.chars()).collect();
    assert_eq!(used.len(), 64);
}

#[test]
fn id_size_is_honoured() {
    for size in [1, 8, 36, 100] {
        let id = IdGenerator::Nanoid { size }
            .generate(&Map::new(), &ThreadRandom)
            .unwrap();
        assert_eq!(id.chars().count(), size);
    }
    assert_eq!(nanoid(0, &ThreadRandom), "");
}

#[test]
fn custom_generators_see_the_record_and_fall_back_when_blank() {
    let by_email = IdGenerator::custom(|record: &Map<String, Value>| {
        record
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('@', "-at-")
    });
    assert_eq!(by_email.label(), "custom");
    let record = json!({"email": "ana@example.com"});
    assert_eq!(
        by_email.generate(record.as_object().unwrap(), &ThreadRandom),
        Some("ana-at-example.com".to_owned())
    );
    // s3db.js replaces an empty custom id by a default nanoid.
    let fallback = by_email.generate(&Map::new(), &ThreadRandom).unwrap();
    assert_eq!(fallback.len(), DEFAULT_ID_SIZE);
    assert_eq!(format!("{by_email:?}"), "Custom(..)");
}

#[test]
fn hostile_ids_are_rejected_with_a_reason() {
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let cases: [(&str, &str); 12] = [
        ("", "is empty"),
        ("a/b", "contains '/'"),
        ("../../s3db.json", "contains '/'"),
        ("a\\b", "contains '\\'"),
        ("id=7", "contains '='"),
        ("50%", "contains '%'"),
        ("a..b", "contains '..'"),
        ("..", "contains '..'"),
        ("line\nbreak", "contains a control character"),
        ("nul\0", "contains a control character"),
        ("del\u{7f}", "contains a control character"),
        (&long, "is longer than 768 bytes"),
    ];
    for (id, reason) in cases {
        let err = validate_id(id).unwrap_err();
        assert_eq!(err.reason, reason, "{id:?}");
        assert_eq!(err.id, id);
    }
    // The message quotes the id with control characters escaped.
    let err = validate_id("bad\r\nid").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid id \"bad\\r\\nid\": contains a control character"
    );
}

#[test]
fn ordinary_ids_pass() {
    for id in [
        "8nmK_V45r7PYVV6-MTnu7V",
        "u1",
        "INV-0001",
        "ana@example.com",
        "São Paulo",
        "a.b",
        "日本",
        &"x".repeat(MAX_ID_BYTES),
    ] {
        validate_id(id).unwrap();
    }
}
