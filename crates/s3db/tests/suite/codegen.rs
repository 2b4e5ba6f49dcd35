//! `s3db_core::codegen::rust` on a database holding every attribute type: the generated
//! file is checked in (`generated/all_types.rs`, regenerated here so it cannot go stale),
//! compiled into this test binary, and its structs define the same resource and carry its
//! records.
//!
//! After a deliberate change of the generator: `S3DB_BLESS=1 cargo test -p s3db --test suite
//! codegen` rewrites the file.

use s3db::Document;
use s3db::core::{Database, ResourceConfig};
use serde_json::json;

use crate::all_types::{AllTypes, AllTypesAddress, AllTypesAddressGeo, AllTypesProfile};
use crate::stored_entry;

const GOLDEN: &str = "tests/suite/generated/all_types.rs";

/// Every attribute type, as an s3db.js `createResource` definition.
const ALL_TYPES: &str = r#"{
    "name": "all_types",
    "behavior": "body-overflow",
    "timestamps": true,
    "paranoid": false,
    "idSize": 12,
    "partitions": {"byCountry": {"fields": {"country": "string"}}},
    "attributes": {
        "title": "string|min:1|max:200",
        "body": "string|optional",
        "text": "text|optional",
        "count": "number",
        "rank": "number|integer",
        "hits": "number|integer|min:0",
        "active": "boolean",
        "email": "email|unique",
        "homepage": "url|optional",
        "birthday": "date",
        "uid": "uuid",
        "ipv4": "ip4",
        "ipv6": "ip6|optional",
        "apiKey": "secret",
        "pin": "password|optional",
        "price": "money",
        "ratio": "decimal:4",
        "lat": "geo:lat",
        "lon": "geo:lon",
        "vector": "embedding:4",
        "tags": "array|items:string",
        "scores": "array|items:number",
        "levels": {"type": "array", "items": "number|integer"},
        "meta": "json",
        "extra": "any",
        "settings": "object",
        "seenAt": "datetime",
        "day": "dateonly|optional",
        "mac": "mac|optional",
        "color": "color|optional",
        "country": "string",
        "type": "string|optional",
        "choice": ["string", "number"],
        "code": {"type": "string", "min": 2},
        "address": {
            "$$type": "object|required",
            "city": "string",
            "zip": "string|optional",
            "geo": {"lat": "geo:lat", "lon": "geo:lon"}
        },
        "profile": {"bio": "string|optional"}
    }
}"#;

fn all_types() -> ResourceConfig {
    ResourceConfig::from_json(&serde_json::from_str(ALL_TYPES).unwrap()).unwrap()
}

fn generate(db: &Database) -> String {
    let document = db.document();
    s3db::core::codegen::rust(
        document
            .resources
            .iter()
            .map(|(name, entry)| (name.as_str(), entry)),
    )
    .unwrap()
}

#[tokio::test]
async fn the_checked_in_file_is_what_codegen_writes() {
    let db = Database::connect("memory://codegen-golden").await.unwrap();
    db.create_resource(all_types()).await.unwrap();
    let code = generate(&db);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("S3DB_BLESS").is_some() {
        std::fs::write(&path, &code).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        code,
        "{GOLDEN} is stale: rerun with S3DB_BLESS=1"
    );
}

#[tokio::test]
async fn the_generated_structs_define_the_same_resource() {
    let original = Database::connect("memory://codegen-original")
        .await
        .unwrap();
    original.create_resource(all_types()).await.unwrap();
    let derived = Database::connect("memory://codegen-derived").await.unwrap();
    derived
        .create_resource(AllTypes::resource_config())
        .await
        .unwrap();
    assert_eq!(
        stored_entry(&derived, "all_types"),
        stored_entry(&original, "all_types")
    );
}

fn record() -> AllTypes {
    AllTypes {
        id: Some("rec-1".into()),
        title: "Every type".into(),
        body: Some("body".into()),
        text: None,
        count: 1.5,
        rank: -3,
        hits: 42,
        active: true,
        email: "ana@example.com".into(),
        homepage: Some("https://example.com".into()),
        birthday: "1990-05-17".into(),
        uid: "0b9b7f8e-2c4e-4a8f-9a63-3f1f0d1f2a44".into(),
        ipv4: "10.0.0.1".into(),
        ipv6: Some("2001:db8::1".into()),
        api_key: "k-123".into(),
        pin: None,
        price: 19.99,
        ratio: 0.1234,
        lat: 38.75,
        lon: -9.125,
        vector: vec![0.5, -0.25, 1.0, 0.0],
        tags: vec!["a".into(), "b".into()],
        scores: vec![1.0, 2.5],
        levels: vec![1, 2],
        meta: json!({"source": "import"}),
        extra: json!([1, "two"]),
        settings: json!({"theme": "dark"}).as_object().cloned().unwrap(),
        seen_at: "2024-01-02T03:04:05.000Z".into(),
        day: Some("2024-01-02".into()),
        mac: Some("aa:bb:cc:dd:ee:ff".into()),
        color: Some("#aabbcc".into()),
        country: "PT".into(),
        r#type: Some("kind".into()),
        choice: json!("either"),
        code: "AB".into(),
        address: AllTypesAddress {
            city: "Lisboa".into(),
            zip: None,
            geo: Some(AllTypesAddressGeo {
                lat: 38.5,
                lon: -9.25,
            }),
        },
        profile: Some(AllTypesProfile {
            bio: Some("hi".into()),
        }),
        created_at: None,
        updated_at: None,
    }
}

#[tokio::test]
async fn generated_structs_carry_records_both_ways() {
    let db = Database::connect("memory://codegen-records").await.unwrap();
    let typed = db
        .create_resource(AllTypes::resource_config())
        .await
        .unwrap()
        .typed::<AllTypes>();
    let inserted = typed.insert(&record()).await.unwrap();
    let mut got = typed.get("rec-1").await.unwrap();
    assert_eq!(got, inserted);
    assert!(got.created_at.is_some() && got.updated_at.is_some());
    got.created_at = None;
    got.updated_at = None;
    assert_eq!(got, record());
    // A record written without the struct (as s3db.js would) reads into it.
    db.resource("all_types")
        .unwrap()
        .insert(
            serde_json::to_value(record())
                .unwrap()
                .as_object()
                .cloned()
                .map(|mut r| {
                    r.insert("id".into(), json!("rec-2"));
                    // `email` is unique: another record needs another address.
                    r.insert("email".into(), json!("bea@example.com"));
                    r
                })
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(typed.get("rec-2").await.unwrap().title, "Every type");
}
