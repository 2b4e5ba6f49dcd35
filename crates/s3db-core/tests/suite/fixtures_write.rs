//! For deterministic inputs, what our insert writes (keys, metadata, body, content type)
//! equals what s3db.js 21.6.2 wrote. Secrets are compared after decryption (their
//! ciphertexts are random); s3db.js's `undefined` placeholders for absent optional fields are
//! not written by us (docs/compatibility.md, "Records").

use crate::common;

use common::{PASSPHRASE, body_of, expected, fixture_database, metadata_of, normalize, objects};
use futures::TryStreamExt;
use s3db_codec::secret::Secrets;
use s3db_storage::{ListOptions, MemoryStorage, PutMode, PutPayload, Storage, StorageExt};
use serde_json::Value;

/// (database prefix, resource, id) of every record inserted once and never touched again.
const CASES: &[(&str, &str, &str)] = &[
    ("", "catalog", "c1"),
    ("", "catalog", "c2"),
    ("", "catalog", "c3"),
    ("", "events", "ev2"),
    ("", "events", "ev3"),
    ("", "documents", "d3"),
    ("", "snippets", "t1"),
    ("", "quotas", "q2"),
    ("", "tickets", "k1"),
    ("", "tickets", "k2"),
    ("", "tickets", "k3"),
    ("", "tickets", "k4"),
    ("versioned", "authors", "w1"),
    ("versioned", "articles", "a3"),
];

fn full_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Whether `key` is the record object or a partition reference of `resource`/`id`.
fn belongs_to(key: &str, prefix: &str, resource: &str, id: &str) -> bool {
    let record = full_key(prefix, &format!("resource={resource}/data/id={id}"));
    let refs = full_key(prefix, &format!("resource={resource}/partition="));
    key == record || (key.starts_with(&refs) && key.ends_with(&format!("/id={id}")))
}

fn same_value(secrets: &Secrets, ours: &str, theirs: &str) -> bool {
    match (secrets.decrypt(ours), secrets.decrypt(theirs)) {
        (Ok(a), Ok(b)) => a == b,
        _ => ours == theirs,
    }
}

/// s3db.js's placeholder for an absent field: `undefined`, or a secret encrypting it.
fn is_undefined(secrets: &Secrets, value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s == "undefined" || secrets.decrypt(s).is_ok_and(|p| p == "undefined"))
}

fn same_json(secrets: &Secrets, ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::String(a), Value::String(b)) => same_value(secrets, a, b),
        (Value::Object(a), Value::Object(b)) => {
            let present: Vec<_> = b
                .iter()
                .filter(|(_, w)| !is_undefined(secrets, w))
                .collect();
            a.len() == present.len()
                && present
                    .into_iter()
                    .all(|(k, w)| a.get(k).is_some_and(|v| same_json(secrets, v, w)))
        }
        _ => ours == theirs,
    }
}

#[tokio::test]
async fn inserts_write_what_s3dbjs_wrote() {
    let expected = expected();
    let secrets = Secrets::new(PASSPHRASE);
    let all = objects();
    for (prefix, resource, id) in CASES {
        let store = MemoryStorage::new();
        let mut theirs = Vec::new();
        for object in &all {
            let key = object["key"].as_str().unwrap();
            if belongs_to(key, prefix, resource, id) {
                theirs.push(object.clone());
                continue;
            }
            let payload = PutPayload {
                metadata: metadata_of(object).into(),
                body: body_of(object).into(),
                content_type: object["content_type"].as_str().map(str::to_owned),
            };
            store.put(key, payload, PutMode::Overwrite).await.unwrap();
        }
        assert!(!theirs.is_empty(), "{resource}/{id}: fixture objects");
        let db = fixture_database(store.clone(), prefix).await;
        let database = expected["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["key_prefix"] == *prefix)
            .unwrap();
        let document = normalize(&database["resources"][resource]["records"][id]["document"]);
        let record = document.as_object().unwrap().clone();
        db.resource(resource).unwrap().insert(record).await.unwrap();

        let written: Vec<String> = store
            .list(ListOptions::default())
            .map_ok(|m| m.key)
            .try_filter(|k| futures::future::ready(belongs_to(k, prefix, resource, id)))
            .try_collect()
            .await
            .unwrap();
        let mut their_keys: Vec<String> = theirs
            .iter()
            .map(|o| o["key"].as_str().unwrap().to_owned())
            .collect();
        their_keys.sort();
        assert_eq!(written, their_keys, "{resource}/{id}: keys");

        for object in &theirs {
            let key = object["key"].as_str().unwrap();
            let ours = store.get(key).await.unwrap();
            let their_meta = metadata_of(object);
            for (name, value) in &their_meta {
                if is_undefined(&secrets, &Value::String(value.clone())) {
                    assert!(
                        !ours.metadata.contains_key(name),
                        "{key}: {name} written for an absent field"
                    );
                    continue;
                }
                let mine = ours
                    .metadata
                    .get(name)
                    .unwrap_or_else(|| panic!("{key}: missing {name}"));
                assert!(
                    same_value(&secrets, mine, value),
                    "{key}: {name}: ours {mine:?}, s3db.js {value:?}"
                );
            }
            for name in ours.metadata.keys() {
                assert!(
                    their_meta.contains_key(name),
                    "{key}: extra metadata {name}"
                );
            }
            let their_body = body_of(object);
            if their_body.is_empty() {
                assert!(ours.body.is_empty(), "{key}: unexpected body");
            } else if their_body != ours.body.as_ref() {
                let a: Value = serde_json::from_slice(&ours.body).unwrap();
                let b: Value = serde_json::from_slice(&their_body).unwrap();
                assert!(same_json(&secrets, &a, &b), "{key}: body {a} vs {b}");
            }
            assert_eq!(
                ours.content_type.as_deref(),
                object["content_type_sent"].as_str(),
                "{key}: content type"
            );
        }
        let _ = store.exists("s3db.json").await.unwrap();
    }
}
