//! Decrypts every secret ciphertext s3db.js 21.6.2 wrote into the fixture bucket — in metadata
//! (under the attribute's short key) and in JSON bodies (short key for body-only/overflow
//! bodies, plain attribute name for the bodies user-managed updates write) — and compares with
//! the plaintext s3db.js's own `get()` returned.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use s3db_codec::meta::decode_meta;
use s3db_codec::secret::Secrets;
use serde_json::{Map, Value};
use std::collections::HashMap;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/s3dbjs-21.6.2");

/// A stored ciphertext and the plaintext expected from it.
struct Case {
    place: String,
    stored: String,
    plaintext: String,
}

/// Paths (dotted) of the attributes whose definition names the `secret` type.
fn secret_paths(attributes: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (name, definition) in attributes {
        let path = format!("{prefix}{name}");
        match definition {
            Value::String(def) if def.split('|').next() == Some("secret") => out.push(path),
            Value::Object(nested) => secret_paths(nested, &format!("{path}."), out),
            _ => {}
        }
    }
}

/// The value at a dotted path of a JSON document.
fn at_path<'a>(document: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(document, |value, part| value.get(part))
}

/// Every secret ciphertext of the fixture bucket with its expected plaintext. An absent
/// optional secret (`{"$special":"undefined"}`) is the encryption of the string `undefined`.
fn cases() -> Vec<Case> {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap(),
    )
    .unwrap();
    let objects: HashMap<String, Value> =
        std::fs::read_to_string(format!("{FIXTURES}/objects.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let o: Value = serde_json::from_str(l).unwrap();
                (o["key"].as_str().unwrap().to_owned(), o)
            })
            .collect();
    let mut cases = Vec::new();
    for database in expected["databases"].as_array().unwrap() {
        for (resource, spec) in database["resources"].as_object().unwrap() {
            let mut paths = Vec::new();
            secret_paths(spec["attributes"].as_object().unwrap(), "", &mut paths);
            for (id, record) in spec["records"].as_object().unwrap() {
                let object = &objects[record["key"].as_str().unwrap()];
                let body_bytes = STANDARD
                    .decode(object["body_base64"].as_str().unwrap())
                    .unwrap();
                let body: Value = serde_json::from_slice(&body_bytes).unwrap_or(Value::Null);
                for path in &paths {
                    let plaintext = match at_path(&record["document"], path).unwrap() {
                        Value::String(s) => s.clone(),
                        special if special["$special"] == "undefined" => "undefined".to_owned(),
                        other => panic!("unexpected plaintext {other}"),
                    };
                    let short = spec["schema_map"][path.as_str()].as_str().unwrap();
                    let mut found = Vec::new();
                    if let Some(stored) = object["metadata"][short].as_str() {
                        let decoded = decode_meta(stored);
                        found.push(("metadata", decoded.as_str().unwrap().to_owned()));
                    }
                    if let Some(stored) = body.get(short).and_then(Value::as_str) {
                        found.push(("body short key", stored.to_owned()));
                    }
                    if let Some(stored) = at_path(&body, path).and_then(Value::as_str) {
                        found.push(("body attribute", stored.to_owned()));
                    }
                    assert!(
                        !found.is_empty(),
                        "no ciphertext for {resource}/{id}.{path}"
                    );
                    for (place, stored) in found {
                        cases.push(Case {
                            place: format!("{resource}/{id}.{path} ({place})"),
                            stored,
                            plaintext: plaintext.clone(),
                        });
                    }
                }
            }
        }
    }
    cases
}

#[test]
fn decrypts_every_fixture_secret() {
    let secrets = Secrets::new("fixture-passphrase");
    let cases = cases();
    for case in &cases {
        let stored_len = STANDARD.decode(&case.stored).unwrap().len();
        assert_eq!(stored_len, 44 + case.plaintext.len(), "{}", case.place);
        assert_eq!(
            secrets.decrypt(&case.stored).unwrap(),
            case.plaintext,
            "{}",
            case.place
        );
    }
    let places: Vec<&str> = cases.iter().map(|c| c.place.as_str()).collect();
    assert_eq!(cases.len(), 15, "{places:#?}");
    assert!(places.iter().any(|p| p.ends_with("(metadata)")));
    assert!(places.iter().any(|p| p.ends_with("(body short key)")));
    assert!(places.iter().any(|p| p.ends_with("(body attribute)")));
}

#[test]
fn a_wrong_passphrase_is_an_error() {
    let case = cases().into_iter().next().unwrap();
    let err = Secrets::new("not-the-passphrase")
        .decrypt(&case.stored)
        .unwrap_err();
    assert_eq!((err.action, err.kind), ("decode", "secret"));
    assert!(err.reason.contains("wrong passphrase"), "{err}");
}

#[test]
fn malformed_values_are_errors() {
    let secrets = Secrets::new("fixture-passphrase");
    let not_base64 = secrets.decrypt("sk-live-123456!").unwrap_err();
    assert!(not_base64.reason.starts_with("not base64"), "{not_base64}");
    let short = secrets.decrypt(&STANDARD.encode([0u8; 43])).unwrap_err();
    assert!(short.reason.starts_with("too short"), "{short}");
    let garbage = secrets.decrypt(&STANDARD.encode([0u8; 60])).unwrap_err();
    assert!(garbage.reason.contains("not a ciphertext"), "{garbage}");
}

#[test]
fn our_ciphertexts_have_the_fixture_layout() {
    let secrets = Secrets::new("fixture-passphrase");
    for plaintext in ["", "undefined", "pässwörd-ü-😀", &"x".repeat(3000)] {
        let stored = secrets.encrypt(plaintext).unwrap();
        assert_eq!(
            STANDARD.decode(&stored).unwrap().len(),
            44 + plaintext.len()
        );
        assert_eq!(secrets.clone().decrypt(&stored).unwrap(), plaintext);
    }
}
