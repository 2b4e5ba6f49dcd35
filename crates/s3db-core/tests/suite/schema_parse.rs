//! Schema parsing against the s3db.js 21.6.2 fixtures, the typed rule tree, and schema errors.

use std::path::PathBuf;

use base64::Engine as _;
use s3db_codec::value::ValueKind;
use s3db_core::schema::{CustomKind, NumberKind, Rule, Schema, SchemaOptions, Strict, StringKind};
use serde_json::{Map, Value, json};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/s3dbjs-21.6.2")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

/// `(database prefix, resource name, resource entry)` of every `s3db.json` in the fixtures.
fn stored_resources() -> Vec<(String, String, Value)> {
    let text = std::fs::read_to_string(fixture_dir().join("objects.jsonl")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let object: Value = serde_json::from_str(line).unwrap();
        let key = object["key"].as_str().unwrap();
        if !key.ends_with("s3db.json") {
            continue;
        }
        let body = base64::engine::general_purpose::STANDARD
            .decode(object["body_base64"].as_str().unwrap())
            .unwrap();
        let meta: Value = serde_json::from_slice(&body).unwrap();
        for (name, resource) in meta["resources"].as_object().unwrap() {
            out.push((key.to_owned(), name.clone(), resource.clone()));
        }
    }
    assert_eq!(out.len(), 9, "two databases, nine resources");
    out
}

fn expected_resources() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for db in expected["databases"].as_array().unwrap() {
        for (name, resource) in db["resources"].as_object().unwrap() {
            out.push((name.clone(), resource.clone()));
        }
    }
    out
}

fn base36(key: &str) -> u64 {
    u64::from_str_radix(key, 36).unwrap()
}

#[test]
fn every_stored_version_of_every_fixture_resource_parses() {
    for (key, name, resource) in stored_resources() {
        for (version, def) in resource["versions"].as_object().unwrap() {
            let attributes = def["attributes"].as_object().unwrap();
            let schema =
                Schema::parse(attributes).unwrap_or_else(|e| panic!("{key} {name} {version}: {e}"));
            assert!(!schema.fields().is_empty());
            assert_eq!(schema.attributes(), attributes);
        }
    }
}

#[test]
fn first_versions_number_their_paths_in_mapping_order() {
    // s3db.js assigns registry indices 0, 1, 2… in mapping_paths order when a resource is
    // created; later versions keep old indices and append.
    for (key, name, resource) in stored_resources() {
        let v1 = resource["versions"]["v1"]["attributes"]
            .as_object()
            .unwrap();
        let registry = &resource["schemaRegistry"];
        let mut indexed = registry["mapping"].as_object().unwrap().clone();
        for burned in registry["burned"].as_array().unwrap() {
            indexed.insert(
                burned["attribute"].as_str().unwrap().to_owned(),
                burned["index"].clone(),
            );
        }
        let paths = Schema::parse(v1).unwrap().mapping_paths();
        for (i, path) in paths.iter().enumerate() {
            assert_eq!(
                indexed.get(path).and_then(Value::as_u64),
                Some(i as u64),
                "{key} {name}: {path}"
            );
        }
    }
}

#[test]
fn mapping_paths_match_each_schema_map() {
    for (name, resource) in expected_resources() {
        let schema = Schema::parse(resource["attributes"].as_object().unwrap()).unwrap();
        let map = resource["schema_map"].as_object().unwrap();
        let paths = schema.mapping_paths();
        let mut expected: Vec<(&String, u64)> = map
            .iter()
            .map(|(path, key)| (path, base36(key.as_str().unwrap())))
            .collect();
        expected.sort_by_key(|(_, index)| *index);
        let expected: Vec<&String> = expected.into_iter().map(|(path, _)| path).collect();
        assert_eq!(paths.iter().collect::<Vec<_>>(), expected, "{name}");
    }
}

#[test]
fn catalog_fields_have_typed_rules_and_kinds() {
    let (_, catalog) = expected_resources()
        .into_iter()
        .find(|(name, _)| name == "catalog")
        .unwrap();
    let schema = Schema::parse(catalog["attributes"].as_object().unwrap()).unwrap();
    let paths: Vec<&str> = schema.fields().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        &paths[..10],
        [
            "name",
            "description",
            "price",
            "stock",
            "active",
            "tags",
            "ratings",
            "dims.width",
            "dims.height",
            "dims.unit",
        ]
    );
    let field = |p: &str| schema.field(p).unwrap();
    assert!(matches!(
        field("name").rule,
        Rule::String {
            kind: StringKind::Plain,
            ..
        }
    ));
    assert!(!field("name").optional && field("description").optional);
    match &field("stock").rule {
        Rule::Number {
            kind: NumberKind::Plain,
            checks,
        } => assert!(checks.integer),
        other => panic!("{other:?}"),
    }
    assert_eq!(field("stock").kind, ValueKind::Integer);
    assert_eq!(field("tags").kind, ValueKind::StringArray);
    match &field("vector").rule {
        Rule::Embedding(array) => {
            assert_eq!(array.length, Some(8));
            assert!(array.non_empty);
        }
        other => panic!("{other:?}"),
    }
    assert!(field("apiKey").secret && field("apiKey").optional);
    assert_eq!(field("apiKey").kind, ValueKind::Secret);
    assert!(matches!(
        field("payload").rule,
        Rule::Custom(CustomKind::Json)
    ));
    assert!(matches!(
        field("lastAudit").rule,
        Rule::Custom(CustomKind::DateTime)
    ));
    assert!(matches!(
        field("serverIp").rule,
        Rule::String {
            kind: StringKind::Ip4,
            ..
        }
    ));
    assert!(matches!(field("sku").rule, Rule::Uuid { version: None }));
    assert!(matches!(field("extra").rule, Rule::Object(_)));
    assert_eq!(field("specs.origin.city").definition, "string|optional");
    assert!(
        schema.field("dims").is_none(),
        "nested objects are not leaf fields"
    );
}

#[test]
fn special_types_parse() {
    let attributes = object(json!({
        "mac": "mac", "semver": "semver", "color": "color|optional", "money": "money",
        "btc": "crypto:8", "dec": "decimal:4", "lat": "geo:lat", "lon": "geo:lon:4",
        "point": "geo:point", "duration": "duration", "ean": "ean", "cidr": "cidr",
        "phone": "phone", "currency": "currency", "locale": "locale", "cron": "cron",
        "time": "timeonly", "day": "dateonly", "when": "datetime", "date": "date",
        "pw": "password", "v": "embedding", "mail": "email|normalize", "site": "url",
        "id4": "uuid|version:4", "ip": "ip6", "country": "country", "flags": "boolean",
        "list": "string[]", "any": "any", "text": "text",
    }));
    let schema = Schema::parse(&attributes).unwrap();
    assert_eq!(schema.fields().len(), attributes.len());
    let rule = |p: &str| &schema.field(p).unwrap().rule;
    match rule("money") {
        Rule::Number {
            kind: NumberKind::Money { decimals: 2 },
            checks,
        } => {
            assert_eq!(checks.min, Some(0.0))
        }
        other => panic!("{other:?}"),
    }
    match rule("lat") {
        Rule::Number {
            kind: NumberKind::GeoLat { precision: None },
            checks,
        } => {
            assert_eq!((checks.min, checks.max), (Some(-90.0), Some(90.0)))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        rule("lon"),
        Rule::Number {
            kind: NumberKind::GeoLon { precision: Some(4) },
            ..
        }
    ));
    assert!(matches!(rule("id4"), Rule::Uuid { version: Some(4) }));
    assert_eq!(rule("cron").type_name(), "cron");
    assert_eq!(rule("point").type_name(), "geo:point");
    assert_eq!(
        schema.field("dec").unwrap().kind,
        ValueKind::Decimal { precision: 4 }
    );
    match rule("list") {
        Rule::Array(array) => assert!(matches!(
            array.items.as_deref().map(|i| &i.rule),
            Some(Rule::String { .. })
        )),
        other => panic!("{other:?}"),
    }
}

#[test]
fn string_and_array_modifiers_build_the_rule() {
    let attributes = object(json!({
        "code": "string|min:2|max:5|pattern:^[a-z]+$|patternFlags:i|enum:ab,cd|no-trim",
        "tags": "array|items:string|min:1|max:3|unique:true",
        "nums": "array|items:number|integer:true",
        "deflt": "number|default:7",
        "on": "boolean|default:true",
        "label": "string|default:a:b",
    }));
    let schema = Schema::parse(&attributes).unwrap();
    match &schema.field("code").unwrap().rule {
        Rule::String { checks, .. } => {
            assert_eq!((checks.min, checks.max), (Some(2), Some(5)));
            assert!(checks.pattern.as_ref().unwrap().is_match("AB"));
            assert_eq!(
                checks.one_of.as_deref(),
                Some(&["ab".to_owned(), "cd".to_owned()][..])
            );
            assert!(!checks.trim.start && !checks.trim.end);
        }
        other => panic!("{other:?}"),
    }
    match &schema.field("tags").unwrap().rule {
        Rule::Array(a) => assert!(a.unique && a.min == Some(1) && a.max == Some(3)),
        other => panic!("{other:?}"),
    }
    match &schema.field("nums").unwrap().rule {
        Rule::Array(a) => match a.items.as_deref().map(|i| &i.rule) {
            Some(Rule::Number { checks, .. }) => assert!(checks.integer),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(schema.field("nums").unwrap().kind, ValueKind::IntegerArray);
    assert_eq!(schema.field("deflt").unwrap().default, Some(json!(7)));
    assert_eq!(schema.field("on").unwrap().default, Some(json!(true)));
    assert_eq!(schema.field("label").unwrap().default, Some(json!("a:b")));
}

#[test]
fn trim_side_flags_are_known_beside_the_default_trim() {
    // `trim` is on by default, so `trimLeft` adds nothing, but it is a known modifier:
    // the strict parser accepts it instead of reporting it as unknown.
    let attributes = object(json!({"a": "string|trimLeft", "b": "string|no-trim|trimRight"}));
    let schema = Schema::parse(&attributes).unwrap();
    let trim = |name: &str| match &schema.field(name).unwrap().rule {
        Rule::String { checks, .. } => (checks.trim.start, checks.trim.end),
        other => panic!("{other:?}"),
    };
    assert_eq!(trim("a"), (true, true));
    assert_eq!(trim("b"), (false, true));
}

#[test]
fn object_form_is_one_field() {
    let attributes = object(json!({
        "price": {"type": "number", "integer": true, "min": 0},
        "meta": {"type": "object", "props": {"a": "string", "b": {"c": "number"}}, "strict": true},
        "items": {"type": "array", "items": {"type": "string", "min": 2}},
        "kind": {"type": "enum", "values": ["a", "b"]},
        // `type` that is not a validator type: a nested object with a field named `type`.
        "event": {"type": "string|optional", "at": "datetime"},
    }));
    let schema = Schema::parse(&attributes).unwrap();
    let price = schema.field("price").unwrap();
    assert_eq!(price.definition, "number|integer:true|min:0");
    assert_eq!(price.kind, ValueKind::Integer);
    match &schema.field("meta").unwrap().rule {
        Rule::Object(o) => {
            assert_eq!(o.strict, Strict::Reject);
            let props = o.props.as_ref().unwrap();
            assert_eq!(props.len(), 2);
            assert!(
                matches!(&props[1].1.rule, Rule::Object(inner) if inner.strict == Strict::Keep)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(schema.field("event.type").is_some());
    assert!(schema.field("event.at").is_some());
    assert_eq!(
        schema.mapping_paths(),
        [
            "price",
            "meta",
            "items",
            "kind",
            "event.type",
            "event.at",
            "event"
        ]
    );
}

#[test]
fn nested_objects_follow_dollar_type_and_options() {
    let attributes = object(json!({
        "a": {"x": "string"},
        "b": {"$$type": "object|required", "y": "string"},
        "c": {"$$type": "object", "d": {"z": "string"}},
    }));
    let schema = Schema::parse(&attributes).unwrap();
    // `$$type: 'object'` makes s3db.js list deeper nested objects too.
    assert_eq!(
        schema.mapping_paths(),
        ["a.x", "b.y", "c.d.z", "a", "b", "c", "c.d"]
    );

    let mut empty = Map::new();
    let err = schema
        .validate(&mut empty, s3db_core::schema::ValidationMode::Insert)
        .unwrap_err();
    let paths: Vec<&str> = err.failures.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["b"], "only the $$type-required object is missing");

    let strict = SchemaOptions {
        all_nested_objects_optional: false,
    };
    let schema = Schema::parse_with(&attributes, strict).unwrap();
    let err = schema
        .validate(&mut Map::new(), s3db_core::schema::ValidationMode::Insert)
        .unwrap_err();
    let paths: Vec<&str> = err.failures.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["a", "b", "c"]);
}

#[test]
fn unknown_types_and_malformed_rules_name_the_attribute() {
    let cases = [
        (json!({"name": "strin"}), "name", "unknown type"),
        (
            json!({"p": {"q": {"r": "numbr|optional"}}}),
            "p.q.r",
            "unknown type",
        ),
        (json!({"n": "number|min:abc"}), "n", "must be a number"),
        (json!({"s": "string|min:-1"}), "s", "non-negative integer"),
        (
            json!({"s": "string|pattern:(unclosed"}),
            "s",
            "invalid pattern",
        ),
        (json!({"s": ""}), "s", "no type"),
        (json!({"s": "string||optional"}), "s", "empty modifier"),
        (json!({"e": "embedding:many"}), "e", "needs a number"),
        (json!({"d": "decimal:x"}), "d", "needs a number"),
        (json!({"t": "array|items:strnig"}), "t[]", "unknown type"),
        (json!({"n": "number|default:abc"}), "n", "not a number"),
        (json!({"x": 42}), "x", "string or an object"),
        (json!({"x": []}), "x", "at least one rule"),
        (json!({"a.b": "string"}), "a.b", "must not contain '.'"),
        (
            json!({"o": {"type": "object", "props": "nope"}}),
            "o",
            "'props' must be an object",
        ),
        (json!({"u": "string|unique:maybe"}), "u", "true or false"),
        (json!({"b": "boolean|optional:maybe"}), "b", "true or false"),
    ];
    for (attributes, attribute, reason) in cases {
        let err = Schema::parse(&object(attributes.clone())).unwrap_err();
        assert_eq!(err.attribute, attribute, "{attributes}");
        assert!(err.reason.contains(reason), "{attributes}: {}", err.reason);
        assert!(err.to_string().contains(attribute));
    }
}

#[test]
fn unknown_modifiers_are_kept_and_unique_is_a_flag() {
    // fastest-validator ignores modifiers it does not know, and so does s3db.js: a typo
    // (`mni`) is kept and reported (`Field::passthrough`), not refused.
    let schema = Schema::parse(&object(json!({
        "s": "string|mni:3|email",
        "e": "email|unique",
        "tags": "array|items:string|unique",
    })))
    .unwrap();
    assert_eq!(schema.field("s").unwrap().passthrough, ["mni", "email"]);
    assert!(schema.field("e").unwrap().unique);
    let tags = schema.field("tags").unwrap();
    assert!(!tags.unique, "on arrays `unique` means distinct items");
    assert!(matches!(&tags.rule, Rule::Array(a) if a.unique));
}
