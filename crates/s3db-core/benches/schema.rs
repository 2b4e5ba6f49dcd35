//! Schema costs per record: parsing the catalog fixture's attributes, validating one record,
//! and flatten/unflatten of a nested document.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use s3db_core::schema::{Schema, ValidationMode, flatten, unflatten};
use serde_json::{Map, Value, json};

fn catalog_attributes() -> Map<String, Value> {
    let attributes = json!({
        "name": "string", "description": "string|optional", "price": "number",
        "stock": "number|integer:true", "active": "boolean", "tags": "array|items:string",
        "ratings": "array|items:number",
        "dims": {"width": "number", "height": "number", "unit": "string"},
        "specs": {"material": "string|optional",
                  "origin": {"country": "string|optional", "city": "string|optional"}},
        "extra": "object|optional", "payload": "json|optional", "apiKey": "secret|optional",
        "vector": "embedding:8", "serverIp": "ip4|optional", "serverIp6": "ip6|optional",
        "sku": "uuid", "releaseDate": "dateonly|optional", "lastAudit": "datetime|optional",
        "notes": "string|optional"
    });
    attributes.as_object().unwrap().clone()
}

fn catalog_record() -> Map<String, Value> {
    let record = json!({
        "name": "  Basic Widget ", "description": "plain ascii text", "price": 19.99,
        "stock": 120, "active": true, "tags": ["red", "blue"], "ratings": [4.5, 3, 5],
        "dims": {"width": 10.5, "height": 2, "unit": "cm"},
        "specs": {"material": "steel", "origin": {"country": "BR", "city": "Curitiba"}},
        "extra": {"a": 1}, "payload": [1, "two", {"three": 3}], "apiKey": "sk-live-123456",
        "vector": [0.1, -0.2, 0.3, 0.0, 1.0, -1.0, 0.123456789, 2.0],
        "serverIp": "192.168.0.1", "serverIp6": "2001:db8::1",
        "sku": "550e8400-e29b-41d4-a716-446655440000", "releaseDate": "2024-05-06",
        "lastAudit": "2024-05-06T07:08:09.123Z", "notes": "ok"
    });
    record.as_object().unwrap().clone()
}

fn bench_schema(c: &mut Criterion) {
    let attributes = catalog_attributes();
    c.bench_function("schema/parse catalog", |b| {
        b.iter(|| Schema::parse(black_box(&attributes)).unwrap())
    });
    let schema = Schema::parse(&attributes).unwrap();
    let record = catalog_record();
    c.bench_function("schema/validate catalog record", |b| {
        b.iter(|| {
            let mut r = record.clone();
            schema
                .validate(black_box(&mut r), ValidationMode::Insert)
                .unwrap();
            r
        })
    });
    c.bench_function("schema/flatten+unflatten catalog record", |b| {
        b.iter(|| unflatten(flatten(black_box(&record))))
    });
}

criterion_group!(benches, bench_schema);
criterion_main!(benches);
