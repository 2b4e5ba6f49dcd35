//! Cost of one representative 12-field record through the schema layer (`value::encode` /
//! `value::decode`) and through the schema plus client layers (`meta::encode_meta` /
//! `meta::decode_meta`). Target: schema-layer encode + decode under 2 µs.
#![allow(clippy::unwrap_used)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use s3db_codec::meta::{MetaValue, decode_meta, encode_meta};
use s3db_codec::value::{self, ValueKind};
use serde_json::{Value, json};
use std::hint::black_box;

/// (definition, value) pairs of a typical catalog record.
fn record() -> Vec<(ValueKind, Value)> {
    [
        ("string", json!("Café Crème — naïve façade")),
        ("string|optional", json!("plain ascii description text")),
        ("number", json!(19.99)),
        ("number|integer:true", json!(120)),
        ("boolean", json!(true)),
        ("array|items:string", json!(["red", "blue", "a|b"])),
        ("array|items:number", json!([4.5, 3, 5])),
        ("uuid", json!("550e8400-e29b-41d4-a716-446655440000")),
        ("datetime", json!("2024-05-06T07:08:09.123Z")),
        ("ip4", json!("192.168.0.1")),
        ("json", json!({"k": "v", "n": null})),
        (
            "embedding:8",
            json!([0.1, -0.2, 0.3, 0, 1, -1, 0.123457, 2.5]),
        ),
    ]
    .into_iter()
    .map(|(def, v)| (ValueKind::from_definition(def), v))
    .collect()
}

fn schema_layer(c: &mut Criterion) {
    let fields = record();
    let stored: Vec<String> = fields
        .iter()
        .map(|(kind, v)| value::encode(kind, v).unwrap())
        .collect();
    c.bench_function("record12/encode", |b| {
        b.iter(|| {
            for (kind, v) in &fields {
                black_box(value::encode(kind, black_box(v)).unwrap());
            }
        })
    });
    c.bench_function("record12/decode", |b| {
        b.iter(|| {
            for ((kind, _), s) in fields.iter().zip(&stored) {
                black_box(value::decode(kind, black_box(s)).unwrap());
            }
        })
    });
    c.bench_function("record12/encode_decode", |b| {
        let mut buf = String::with_capacity(64);
        b.iter(|| {
            for (kind, v) in &fields {
                buf.clear();
                value::encode_into(kind, black_box(v), &mut buf).unwrap();
                black_box(value::decode(kind, &buf).unwrap());
            }
        })
    });
}

/// Encode + decode of each field alone, to see where the record's time goes.
fn per_field(c: &mut Criterion) {
    let mut group = c.benchmark_group("field");
    for (i, (kind, v)) in record().into_iter().enumerate() {
        group.bench_function(format!("{i:02}-{}", kind.name()), |b| {
            let mut buf = String::with_capacity(64);
            b.iter(|| {
                buf.clear();
                value::encode_into(&kind, black_box(&v), &mut buf).unwrap();
                black_box(value::decode(&kind, &buf).unwrap());
            })
        });
    }
    group.finish();
}

fn with_client_layer(c: &mut Criterion) {
    let fields = record();
    c.bench_function("record12/encode_decode_with_meta", |b| {
        b.iter(|| {
            for (kind, v) in &fields {
                let stored =
                    encode_meta(MetaValue::Str(&value::encode(kind, black_box(v)).unwrap()));
                let read = decode_meta(&stored);
                black_box(value::decode(kind, read.as_str().unwrap()).unwrap());
            }
        })
    });
}

criterion_group!(benches, schema_layer, per_field, with_client_layer);
criterion_main!(benches);
