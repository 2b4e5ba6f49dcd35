//! `#[derive(s3db::Document)]` defines exactly the resource its JSON twin defines.

use s3db::Document;
use s3db::core::{Database, ResourceConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::stored_entry;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Document)]
#[s3db(
    name = "customers",
    behavior = "body-overflow",
    timestamps,
    paranoid = false,
    id_size = 12,
    partition(name = "byCountry", fields(country = "string")),
    partition(name = "byCity", fields("address.city" = "string", country = "string"))
)]
#[serde(rename_all = "camelCase")]
struct Customer {
    #[s3db(id)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    display_name: String,
    #[s3db(rule = "email|unique")]
    email: String,
    #[s3db(rule = "url")]
    homepage: Option<String>,
    age: Option<u8>,
    balance: i64,
    score: f64,
    active: bool,
    country: String,
    tags: Vec<String>,
    levels: Vec<i32>,
    #[s3db(secret)]
    api_key: String,
    #[s3db(modifiers = "min:2|max:40")]
    nickname: Option<String>,
    #[s3db(rule = "embedding:3")]
    vector: Vec<f64>,
    #[s3db(definition = r#"{"type": "string", "min": 3}"#)]
    code: String,
    #[serde(rename = "kind")]
    r#type: String,
    meta: serde_json::Value,
    address: Address,
    billing: Option<Address>,
    contacts: Vec<Contact>,
    #[serde(skip)]
    cached: u32,
    #[s3db(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Document)]
struct Address {
    city: String,
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Document)]
struct Contact {
    name: String,
    phone: String,
}

fn same_as_json() -> ResourceConfig {
    ResourceConfig::from_json(&json!({
        "name": "customers",
        "behavior": "body-overflow",
        "timestamps": true,
        "paranoid": false,
        "idSize": 12,
        "partitions": {
            "byCountry": {"fields": {"country": "string"}},
            "byCity": {"fields": {"address.city": "string", "country": "string"}}
        },
        "attributes": {
            "displayName": "string",
            "email": "email|unique",
            "homepage": "url|optional",
            "age": "number|integer|min:0|optional",
            "balance": "number|integer",
            "score": "number",
            "active": "boolean",
            "country": "string",
            "tags": "array|items:string",
            "levels": {"type": "array", "items": "number|integer"},
            "apiKey": "secret",
            "nickname": "string|optional|min:2|max:40",
            "vector": "embedding:3",
            "code": {"type": "string", "min": 3},
            "kind": "string",
            "meta": "any",
            "address": {"$$type": "object|required", "city": "string", "zip": "string|optional"},
            "billing": {"city": "string", "zip": "string|optional"},
            "contacts": {
                "type": "array",
                "items": {"$$type": "object|required", "name": "string", "phone": "string"}
            }
        }
    }))
    .unwrap()
}

fn ana() -> Customer {
    Customer {
        id: Some("ana".into()),
        display_name: "Ana".into(),
        email: "ana@example.com".into(),
        homepage: None,
        age: Some(31),
        balance: -120,
        score: 4.5,
        active: true,
        country: "PT".into(),
        tags: vec!["vip".into()],
        levels: vec![1, 2, 3],
        api_key: "k-123".into(),
        nickname: Some("aninha".into()),
        vector: vec![0.5, 0.25, -1.0],
        code: "A-001".into(),
        r#type: "person".into(),
        meta: json!({"source": "import"}),
        address: Address {
            city: "Lisboa".into(),
            zip: Some("1100".into()),
        },
        billing: None,
        contacts: vec![Contact {
            name: "Rui".into(),
            phone: "+351000".into(),
        }],
        cached: 0,
        note: None,
    }
}

#[tokio::test]
async fn the_derived_definition_is_stored_exactly_like_its_json_twin() {
    let derived = Database::connect("memory://derive-struct").await.unwrap();
    let written = Database::connect("memory://derive-json").await.unwrap();
    derived
        .create_resource(Customer::resource_config())
        .await
        .unwrap();
    written.create_resource(same_as_json()).await.unwrap();
    let entry = stored_entry(&derived, "customers");
    assert_eq!(entry, stored_entry(&written, "customers"));
    let hash = &entry.current().unwrap().hash;
    assert!(hash.starts_with("sha256:"), "{hash}");
    // Nothing of the definition is reported as kept but not applied (`unique` is enforced).
    let warnings = derived
        .resource("customers")
        .unwrap()
        .definition_warnings()
        .to_vec();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[tokio::test]
async fn typed_records_round_trip_through_the_derived_resource() {
    let db = Database::connect("memory://derive-typed").await.unwrap();
    let customers = db
        .create_resource(Customer::resource_config())
        .await
        .unwrap()
        .typed::<Customer>();
    customers.insert(&ana()).await.unwrap();
    let got = customers.get("ana").await.unwrap();
    assert_eq!(got, ana());
    // The secret is encrypted at rest, the partition serves the country.
    let raw = db.resource("customers").unwrap();
    let untyped = raw.get("ana").await.unwrap();
    assert_eq!(untyped["apiKey"], "k-123");
    // Validation uses the derived rules: a bad email is refused, naming the field.
    let mut bad = ana();
    bad.id = Some("bad".into());
    bad.email = "not-an-email".into();
    let err = customers.insert(&bad).await.unwrap_err().to_string();
    assert!(err.contains("email"), "{err}");
}

#[test]
fn nested_structs_keep_an_id_field_and_the_resource_drops_it() {
    #[derive(Serialize, Deserialize, Document)]
    struct Line {
        id: String,
        qty: u32,
    }
    assert_eq!(
        serde_json::Value::Object(<Line as Document>::attributes()),
        json!({"id": "string", "qty": "number|integer|min:0"})
    );
    assert_eq!(
        serde_json::Value::Object(Line::resource_config().attributes),
        json!({"qty": "number|integer|min:0"})
    );
    assert_eq!(Line::resource_config().name, "line");
}
