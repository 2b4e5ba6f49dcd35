//! Property tests of the schema layer: every kind round-trips over its valid domain, and decoding
//! arbitrary text never panics.

use proptest::prelude::*;
use s3db_codec::value::{self, ValueKind};
use serde_json::{Value, json};

fn round_trip(kind: ValueKind, input: &Value) -> Value {
    let stored = value::encode(&kind, input).unwrap();
    value::decode(&kind, &stored).unwrap()
}

/// Numbers compared as JavaScript sees them (`2` and `2.0` are the same number).
fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y && x.is_sign_negative() == y.is_sign_negative(),
        _ => false,
    }
}

/// JSON values compared with numbers as JavaScript numbers.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a.as_f64() == b.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same_json(v1, v2))
        }
        _ => a == b,
    }
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        (-1_000_000i64..1_000_000, 0u32..8).prop_map(|(n, p)| n as f64 / 10f64.powi(p as i32)),
        (0u32..64).prop_map(|e| 2f64.powi(e as i32 + 40) + 1.0),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        finite_f64().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z$._]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JavaScript's `Math.round(x * 10^p) / 10^p`.
fn fixed(x: f64, p: i32) -> f64 {
    let scaled = x * 10f64.powi(p);
    let floor = scaled.floor();
    let rounded = if scaled - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    };
    rounded / 10f64.powi(p)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn strings_and_secrets(s in "\\PC*") {
        for kind in [ValueKind::String, ValueKind::Secret] {
            prop_assert_eq!(round_trip(kind, &json!(s)), json!(s));
        }
    }

    #[test]
    fn decimal_numbers(x in finite_f64()) {
        let back = round_trip(ValueKind::Number, &json!(x));
        prop_assert!(same_number(&back, &json!(x)), "{x:e} -> {back}");
    }

    #[test]
    fn json_integers_stay_exact(i in any::<i64>(), u in any::<u64>()) {
        for kind in [ValueKind::Number, ValueKind::Integer] {
            prop_assert_eq!(round_trip(kind, &json!(i)), json!(i));
            prop_assert_eq!(round_trip(kind, &json!(u)), json!(u));
        }
    }

    #[test]
    fn integral_doubles(x in finite_f64()) {
        // Beyond 2^128 only s3db.js's own (float, inexact) digits exist for an integer field.
        let x = (x % 3.0e38).trunc();
        let back = round_trip(ValueKind::Integer, &json!(x));
        prop_assert!(back.as_f64() == Some(x), "{x:e} -> {back}");
    }

    #[test]
    fn booleans(b in any::<bool>()) {
        prop_assert_eq!(round_trip(ValueKind::Boolean, &json!(b)), json!(b));
    }

    #[test]
    fn string_arrays(items in prop::collection::vec("\\PC{0,6}|[|\\\\\\[{]{0,3}", 0..6)) {
        prop_assert_eq!(round_trip(ValueKind::StringArray, &json!(items)), json!(items));
    }

    #[test]
    fn number_arrays(items in prop::collection::vec(finite_f64(), 0..6), ints in prop::collection::vec(any::<i64>(), 0..6)) {
        let back = round_trip(ValueKind::NumberArray, &json!(items));
        let back = back.as_array().unwrap();
        prop_assert_eq!(back.len(), items.len());
        for (b, x) in back.iter().zip(&items) {
            prop_assert!(same_number(b, &json!(x)), "{x:e} -> {b}");
        }
        prop_assert_eq!(round_trip(ValueKind::IntegerArray, &json!(ints)), json!(ints));
    }

    #[test]
    fn fixed_point_arrays(items in prop::collection::vec(-1.0e6f64..1.0e6, 0..10)) {
        let back = round_trip(ValueKind::FixedPointArray { precision: 6 }, &json!(items));
        let back = back.as_array().unwrap();
        prop_assert_eq!(back.len(), items.len());
        for (b, x) in back.iter().zip(&items) {
            prop_assert_eq!(b.as_f64(), Some(fixed(*x, 6)));
        }
    }

    #[test]
    fn json_kinds(v in json_value()) {
        let back = round_trip(ValueKind::Json, &v);
        prop_assert!(same_json(&back, &v), "{v} -> {back}");
        if v.is_array() {
            let back = round_trip(ValueKind::JsonArray, &v);
            prop_assert!(same_json(&back, &v), "{v} -> {back}");
        }
        if v.is_object() {
            let back = round_trip(ValueKind::Object, &v);
            prop_assert!(same_json(&back, &v), "{v} -> {back}");
        }
    }

    #[test]
    fn ip_addresses(v4 in any::<[u8; 4]>(), v6 in any::<[u16; 8]>(), text in "[0-9a-fA-F:.]{0,24}") {
        let ip4 = std::net::Ipv4Addr::from(v4).to_string();
        prop_assert_eq!(round_trip(ValueKind::Ip4, &json!(ip4)), json!(ip4));
        let ip6 = std::net::Ipv6Addr::from(v6).to_string();
        prop_assert_eq!(round_trip(ValueKind::Ip6, &json!(ip6)), json!(ip6));
        for kind in [ValueKind::Ip4, ValueKind::Ip6] {
            if let Ok(stored) = value::encode(&kind, &json!(text)) {
                prop_assert_eq!(value::decode(&kind, &stored).unwrap(), json!(text));
            }
        }
    }

    #[test]
    fn uuids(n in any::<u128>(), upper in any::<bool>()) {
        let hex = format!("{n:032x}");
        let mut text = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
        if upper {
            text = text.to_uppercase();
        }
        prop_assert_eq!(round_trip(ValueKind::Uuid, &json!(text)), json!(text));
    }

    #[test]
    fn dates_and_times(y in 0i64..10000, mo in 1u32..13, d in 1u32..29, h in 0u32..24, mi in 0u32..60, s in 0u32..60, ms in 0u32..1000) {
        let date = format!("{y:04}-{mo:02}-{d:02}");
        let time = format!("{h:02}:{mi:02}:{s:02}.{ms:03}");
        let datetime = format!("{date}T{time}Z");
        prop_assert_eq!(round_trip(ValueKind::DateTime, &json!(datetime)), json!(datetime));
        prop_assert_eq!(round_trip(ValueKind::DateOnly, &json!(date)), json!(date));
        prop_assert_eq!(round_trip(ValueKind::TimeOnly, &json!(time)), json!(time));
    }

    #[test]
    fn macs_colors_semvers(mac in any::<[u8; 6]>(), rgb in 0u32..0x100_0000, upper in any::<bool>(), v in (0u64..100_000, 0u32..5000, 0u32..5000)) {
        let mut mac = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        let mut color = format!("#{rgb:06x}");
        if upper {
            mac = mac.to_uppercase();
            color = color.to_uppercase();
        }
        prop_assert_eq!(round_trip(ValueKind::Mac, &json!(mac)), json!(mac));
        prop_assert_eq!(round_trip(ValueKind::Color, &json!(color)), json!(color));
        let semver = format!("{}.{}.{}", v.0, v.1, v.2);
        prop_assert_eq!(round_trip(ValueKind::Semver, &json!(semver)), json!(semver));
    }

    #[test]
    fn scaled_numbers(cents in -1_000_000_000_000i64..1_000_000_000_000, lat in -90.0f64..=90.0, lon in -180.0f64..=180.0) {
        let money = cents.unsigned_abs() as f64 / 100.0;
        let back = round_trip(ValueKind::Money { decimals: 2 }, &json!(money));
        prop_assert_eq!(back.as_f64(), Some(fixed(money, 2)));
        let x = cents as f64 / 1e4;
        let back = round_trip(ValueKind::Decimal { precision: 4 }, &json!(x));
        prop_assert_eq!(back.as_f64(), Some(fixed(x, 4)));
        let back = round_trip(ValueKind::GeoLat { precision: 6 }, &json!(lat));
        prop_assert_eq!(back.as_f64(), Some(fixed(lat + 90.0, 6) - 90.0));
        let back = round_trip(ValueKind::GeoLon { precision: 6 }, &json!(lon));
        prop_assert_eq!(back.as_f64(), Some(fixed(lon + 180.0, 6) - 180.0));
        let back = round_trip(ValueKind::GeoPoint { precision: 6 }, &json!([lat, lon]));
        prop_assert_eq!(back["latitude"].as_f64(), Some(fixed(lat + 90.0, 6) - 90.0));
        prop_assert_eq!(back["longitude"].as_f64(), Some(fixed(lon + 180.0, 6) - 180.0));
    }

    #[test]
    fn durations(ms in 0u64..(1 << 53)) {
        let text = round_trip(ValueKind::Duration, &json!(ms));
        let stored = value::encode(&ValueKind::Duration, &text).unwrap();
        prop_assert_eq!(value::decode(&ValueKind::Duration, &stored).unwrap(), text.clone());
        if ms < 1 << 45 {
            // Below ~1100 years the ISO text packs back to the same milliseconds.
            prop_assert_eq!(stored, value::encode(&ValueKind::Duration, &json!(ms)).unwrap());
        }
    }

    #[test]
    fn eans_cidrs_phones(digits in "[0-9]{8,14}", ip in any::<[u8; 4]>(), prefix in 0u8..33, phone in "\\+[0-9]{1,15}") {
        prop_assert_eq!(round_trip(ValueKind::Ean, &json!(digits)), json!(digits));
        let cidr = format!("{}/{prefix}", std::net::Ipv4Addr::from(ip));
        prop_assert_eq!(round_trip(ValueKind::Cidr, &json!(cidr)), json!(cidr));
        prop_assert_eq!(round_trip(ValueKind::Phone, &json!(phone)), json!(phone));
    }

    #[test]
    fn decoding_never_panics(text in "\\PC{0,30}|[-0-9a-zA-Z.^\\[\\],|~$#:+P]{0,30}") {
        for def in [
            "string", "number", "number|integer:true", "boolean", "array|items:string",
            "array|items:number", "array|items:number|integer:true", "embedding:4", "array",
            "object", "json", "secret", "ip4", "ip6", "uuid", "datetime", "dateonly", "timeonly",
            "mac", "semver", "color", "money", "crypto", "decimal:3", "geo:lat", "geo:lon",
            "geo:point", "duration", "ean", "cidr", "phone",
        ] {
            let _ = value::decode(&ValueKind::from_definition(def), &text);
        }
    }
}
