//! Record validation: every failure reported with its path and rule, defaults, the value
//! rewrites s3db.js's validator performs, the fixture documents, and flatten/unflatten.

use std::path::PathBuf;

use proptest::prelude::*;
use s3db_core::schema::{Schema, ValidationError, ValidationMode, flatten, unflatten};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

fn schema(attributes: Value) -> Schema {
    Schema::parse(&object(attributes)).unwrap()
}

/// `(path, rule)` of every failure.
fn failures(err: &ValidationError) -> Vec<(&str, &str)> {
    err.failures
        .iter()
        .map(|f| (f.path.as_str(), f.rule.as_str()))
        .collect()
}

#[test]
fn every_failure_is_reported_with_its_path_and_rule() {
    let s = schema(json!({
        "name": "string|min:2",
        "age": "number|integer:true|positive",
        "email": "email",
        "site": "url|optional",
        "profile": {"city": "string", "zip": "string|length:5"},
        "tags": "array|items:string|max:3|unique:true",
        "scores": "array|items:number",
        "code": "string|pattern:^[A-Z]{3}$",
        "level": "string|enum:low,high",
        "sku": "uuid",
        "missing": "string",
        "vector": "embedding:3",
    }));
    let mut record = object(json!({
        "name": "A",
        "age": -1.5,
        "email": "not-an-email",
        "site": "ftp://x",
        "profile": {"city": 7, "zip": "123"},
        "tags": ["a", 1, "a", "b"],
        "scores": [1, "two", null],
        "code": "abc",
        "level": "mid",
        "sku": "not-a-uuid",
        "vector": [0.1, 0.2],
    }));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(
        failures(&err),
        [
            ("name", "stringMin"),
            ("age", "numberInteger"),
            ("age", "numberPositive"),
            ("email", "email"),
            ("site", "url"),
            ("profile.city", "string"),
            ("profile.zip", "stringLength"),
            ("tags", "arrayMax"),
            ("tags", "arrayUnique"),
            ("tags[1]", "string"),
            ("scores[1]", "number"),
            ("scores[2]", "required"),
            ("code", "stringPattern"),
            ("level", "stringEnum"),
            ("sku", "uuid"),
            ("missing", "required"),
            ("vector", "arrayLength"),
        ]
    );
    let message = &err.at("profile.city").next().unwrap().message;
    assert_eq!(message, "The 'profile.city' field must be a string.");
    assert!(
        err.to_string()
            .starts_with("validation failed: name (stringMin)")
    );
}

#[test]
fn values_are_rewritten_like_s3dbjs_does_before_writing() {
    let s = schema(json!({
        "name": "string",
        "secret": "secret",
        "count": "number",
        "flag": "boolean",
        "payload": "json",
        "text": "json",
        "when": "datetime",
        "day": "dateonly",
        "mac": "mac",
        "color": "color",
        "tags": "array|items:string",
        "nums": "array|items:number",
        "ip": "ip4",
    }));
    let mut record = object(json!({
        "name": "  padded  ",
        "secret": " s3cr3t\n",
        "count": "42.5",
        "flag": "on",
        "payload": {"k": "v", "n": [1.0, 2.5]},
        "text": "hello",
        "when": "2024-05-06T09:08:09+02:00",
        "day": "2000-01-02",
        "mac": "AA-BB-CC-DD-EE-FF",
        "color": "#F57",
        "tags": [" a ", "b"],
        "nums": ["1", 2],
        "ip": " 10.0.0.1 ",
        "extra": "kept as is  ",
    }));
    s.validate(&mut record, ValidationMode::Insert).unwrap();
    assert_eq!(
        Value::Object(record),
        json!({
            "name": "padded",
            "secret": "s3cr3t",
            "count": 42.5,
            "flag": true,
            "payload": "{\"k\":\"v\",\"n\":[1,2.5]}",
            "text": "hello",
            "when": "2024-05-06T07:08:09.000Z",
            "day": "2000-01-02",
            "mac": "aa:bb:cc:dd:ee:ff",
            "color": "#ff5577",
            "tags": ["a", "b"],
            "nums": [1, 2],
            "ip": "10.0.0.1",
            "extra": "kept as is  ",
        })
    );
}

#[test]
fn defaults_apply_on_insert_only() {
    let s = schema(json!({
        "status": "string|default:draft",
        "views": "number|default:0",
        "public": "boolean|default:false",
        "meta": {"lang": "string|default:en"},
        "note": "string|optional",
    }));
    let mut record = object(json!({"status": null, "meta": {}}));
    s.validate(&mut record, ValidationMode::Insert).unwrap();
    assert_eq!(
        Value::Object(record),
        json!({"status": "draft", "meta": {"lang": "en"}, "views": 0, "public": false})
    );

    // Update validates the merged record as it is: nothing filled in, nothing required.
    let mut record = object(json!({"meta": {}}));
    s.validate(&mut record, ValidationMode::Update).unwrap();
    assert_eq!(Value::Object(record), json!({"meta": {}}));

    // Values that are present are kept and checked.
    let mut record = object(json!({"status": 5}));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(failures(&err), [("status", "string")]);
}

/// Found by the `schema_shorthand` fuzz target: `string|default` (no value) inserted `true`
/// into a string field, a record that then failed its own validation.
#[test]
fn defaults_must_fit_their_rule() {
    let err = Schema::parse(&object(json!({"f": "string|default"}))).unwrap_err();
    assert!(err.to_string().contains("'default' needs a value"), "{err}");

    // An object-form default of the wrong type fails on insert instead of being stored.
    let s = schema(json!({"f": {"type": "string", "default": 5}, "n": "number|default:7"}));
    let mut record = object(json!({}));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(failures(&err), [("f", "string")]);
    // A default that fits is converted like a given value and validates again.
    let s = schema(json!({"f": {"type": "string", "default": "  x ", "trim": true}}));
    let mut record = object(json!({}));
    s.validate(&mut record, ValidationMode::Insert).unwrap();
    assert_eq!(record["f"], "x");
    s.validate(&mut record, ValidationMode::Update).unwrap();
}

#[test]
fn optional_nullable_and_required() {
    let s = schema(json!({
        "a": "string|optional",
        "b": "string|nullable",
        "c": "string",
        "d": "json|optional",
    }));
    let mut record = object(json!({"a": null, "b": null, "c": null, "d": null}));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(failures(&err), [("c", "required")]);
    // s3db.js's json validator turns a null into the text `null`.
    assert_eq!(record["d"], "null");

    let mut record = object(json!({}));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(failures(&err), [("b", "required"), ("c", "required")]);
}

#[test]
fn object_form_props_are_checked_recursively() {
    let s = schema(json!({
        "meta": {"type": "object", "strict": true, "optional": true, "props": {
            "a": "string",
            "b": {"c": "number|max:5"},
        }},
        "loose": {"type": "object", "props": {"x": "string"}},
        "items": {"type": "array", "optional": true, "items": {"type": "object", "props": {"n": "number"}}},
    }));
    let mut record = object(json!({
        "meta": {"a": "ok", "b": {"c": 9}, "zzz": 1},
        "loose": {"x": "y", "dropped": true},
        "items": [{"n": 1}, {"n": "x"}],
    }));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(
        failures(&err),
        [
            ("meta.b.c", "numberMax"),
            ("meta", "objectStrict"),
            ("items[1].n", "number"),
        ]
    );
    // Unknown props of a `strict: remove` object are dropped only when nothing failed.
    let mut record = object(json!({"loose": {"x": "y", "dropped": true}}));
    s.validate(&mut record, ValidationMode::Insert).unwrap();
    assert_eq!(record["loose"], json!({"x": "y"}));
}

#[test]
fn special_types_report_their_s3dbjs_error_types() {
    let s = schema(json!({
        "when": "datetime", "day": "dateonly", "at": "timeonly", "mac": "mac",
        "net": "cidr", "ver": "semver", "tel": "phone", "col": "color", "dur": "duration",
        "cron": "cron", "loc": "locale", "cur": "currency", "ean": "ean", "lat": "geo:lat",
        "price": "money", "ip": "ip6",
    }));
    let mut record = object(json!({
        "when": "soon", "day": "2023-02-30", "at": "25:00", "mac": "xx", "net": "1.2.3.4",
        "ver": "1.2", "tel": "12", "col": "red", "dur": "forever", "cron": "* *",
        "loc": "english", "cur": "dollars", "ean": "12", "lat": 91, "price": -1, "ip": "1.2.3.4",
    }));
    let err = s.validate(&mut record, ValidationMode::Insert).unwrap_err();
    assert_eq!(
        failures(&err),
        [
            ("when", "datetime"),
            ("day", "date"),
            ("at", "timeonly"),
            ("mac", "mac"),
            ("net", "cidr"),
            ("ver", "semver"),
            ("tel", "phone"),
            ("col", "color"),
            ("dur", "duration"),
            ("cron", "cron"),
            ("loc", "locale"),
            ("cur", "currency"),
            ("ean", "ean"),
            ("lat", "numberMax"),
            ("price", "numberMin"),
            ("ip", "ip6"),
        ]
    );
}

fn expected_json() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/s3dbjs-21.6.2/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Drops `{"$special": "undefined"}` entries and unwraps `{"$date": …}` tags.
fn untag(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.get("$special") == Some(&json!("undefined")) => None,
        Value::Object(map) if map.contains_key("$date") => map.get("$date").cloned(),
        Value::Object(map) => Some(Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| untag(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

#[test]
fn every_fixture_document_validates() {
    // What s3db.js accepted and returns from get() passes our validator too.
    for db in expected_json()["databases"].as_array().unwrap() {
        for (name, resource) in db["resources"].as_object().unwrap() {
            let schema = Schema::parse(resource["attributes"].as_object().unwrap()).unwrap();
            for (id, record) in resource["records"].as_object().unwrap() {
                let mut document = object(untag(record["document"].clone()).unwrap());
                document.remove("id");
                schema
                    .validate(&mut document, ValidationMode::Update)
                    .unwrap_or_else(|e| panic!("{name}/{id}: {e}"));
            }
        }
    }
}

#[test]
fn absent_fields_written_as_undefined_match_the_fixture() {
    // Fixture record catalog/LCN5zFeEHmhMMtrf7SyO93 was inserted without description, specs,
    // extra, payload, apiKey, releaseDate, lastAudit, notes; s3db.js wrote `undefined` for
    // payload (e), releaseDate (k), lastAudit (l) and an encrypted `undefined` for apiKey (f).
    let expected = expected_json();
    let catalog = &expected["databases"][0]["resources"]["catalog"];
    let schema = Schema::parse(catalog["attributes"].as_object().unwrap()).unwrap();
    let record = &catalog["records"]["LCN5zFeEHmhMMtrf7SyO93"]["document"];
    let document = object(untag(record.clone()).unwrap());
    let paths: Vec<&str> = schema
        .absent_written_as_undefined(&document)
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(paths, ["payload", "apiKey", "releaseDate", "lastAudit"]);
    let map = catalog["schema_map"].as_object().unwrap();
    let keys: Vec<&str> = paths.iter().map(|p| map[*p].as_str().unwrap()).collect();
    assert_eq!(keys, ["e", "f", "k", "l"]);
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9 .|\\\\]{0,8}".prop_map(Value::String),
    ]
}

fn json_document() -> impl Strategy<Value = Map<String, Value>> {
    let value = json_leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-z]{1,6}", value, 0..6).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn unflatten_inverts_flatten(doc in json_document()) {
        let flat = flatten(&doc);
        prop_assert!(flat.iter().all(|(_, v)| !matches!(v, Value::Object(m) if !m.is_empty())));
        prop_assert_eq!(unflatten(flat), doc);
    }
}
