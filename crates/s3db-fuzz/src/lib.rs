//! Fuzz harnesses for every s3db decoder of outside data.
//!
//! Each harness is a `pub fn NAME(data: &[u8])` that feeds the bytes to one decoder and checks
//! the invariants that are cheap to check (no panic, typed errors, decode → encode → decode
//! round trips). The same functions serve two callers:
//!
//! * the cargo-fuzz targets in `fuzz/fuzz_targets/` (one line each, run with
//!   `cargo +nightly fuzz run NAME`), and
//! * this crate's integration test `replay`, which runs every file of `fuzz/corpus/NAME/` and
//!   `fuzz/regressions/NAME/` through [`TARGETS`] on stable, in `cargo test --workspace`.
//!
//! A harness panics only when it finds a bug: a decoder that panicked, or a broken invariant.
//! See `docs/fuzzing.md`.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use s3db_codec::base62;
use s3db_codec::meta::{Decoded, MetaValue, decode_meta, encode_meta};
use s3db_codec::secret::{SALT_LEN, Secrets};
use s3db_codec::value::{self, ValueKind};
use s3db_core::ResourceConfig;
use s3db_core::filter::Filter;
use s3db_core::metadata::DatabaseDocument;
use s3db_core::partition::Partition;
use s3db_core::resource::decode_cursor;
use s3db_core::resource::definition::{Definition, LocalSettings, config_hash, normalized};
use s3db_core::schema::{Schema, ValidationMode};
use s3db_storage::ErrorKind;
use s3db_storage::connection::StorageConfig;
use s3db_storage::fs::decode_object_file;
use serde_json::{Map, Value, json};

/// A fuzz harness: feeds one input to a decoder, panics only on a bug.
pub type Harness = fn(&[u8]);

/// Every harness by target name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus
/// directories).
pub const TARGETS: &[(&str, Harness)] = &[
    ("value_decode", value_decode),
    ("meta_decode", meta_decode),
    ("secret_decrypt", secret_decrypt),
    ("page_cursor", page_cursor),
    ("connection_string", connection_string),
    ("filter", filter),
    ("schema_shorthand", schema_shorthand),
    ("object_header", object_header),
    ("s3db_json", s3db_json),
    ("resource_config", resource_config),
];

/// The passphrase of the golden fixtures, so their secrets decrypt.
pub const FIXTURE_PASSPHRASE: &str = "fixture-passphrase";

/// Attribute definitions covering every [`ValueKind`]; the first input byte of
/// [`value_decode`] picks one.
pub const VALUE_DEFINITIONS: &[&str] = &[
    "string",
    "number",
    "number|integer:true",
    "boolean",
    "array|items:string",
    "array|items:number",
    "array|items:number|integer:true",
    "embedding:4",
    "array",
    "object",
    "json",
    "secret",
    "ip4",
    "ip6",
    "uuid",
    "datetime",
    "dateonly",
    "timeonly",
    "mac",
    "semver",
    "color",
    "money",
    "crypto",
    "decimal:4",
    "geo:lat",
    "geo:lon",
    "geo:point",
    "duration",
    "ean",
    "cidr",
    "phone",
    "any",
];

/// The text of `data`, if it is UTF-8 (every decoder here reads text: S3 metadata, JSON,
/// connection strings).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Schema-layer value decoding (`s3db_codec::value::decode`) and the base62 readers.
///
/// Input: one byte choosing a definition of [`VALUE_DEFINITIONS`], then the stored string.
/// Invariant: a value the decoder understood (not passed through as text) that encodes again
/// decodes to the same value (integers beyond 128 bits and fixed-point elements beyond 2^53
/// excepted, see `docs/fuzzing.md`).
pub fn value_decode(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Some(stored) = text(rest) else {
        return;
    };
    let definition = VALUE_DEFINITIONS[usize::from(pick) % VALUE_DEFINITIONS.len()];
    let kind = ValueKind::from_definition(definition);
    let _ = ValueKind::from_definition(stored);
    let _ = base62::decode_u64(stored);
    let _ = base62::decode_u128(stored);
    let _ = base62::decode_js_f64(stored);
    let _ = base62::decode_base36_key(stored);
    let _ = value::parse_js_number(stored);
    let Ok(decoded) = value::decode(&kind, stored) else {
        return;
    };
    // `null`, or a text the decoder passed through as s3db.js does (the writer may read such
    // a text leniently, like s3db.js: `…7d…` is a 7-day duration).
    if decoded.is_null() || decoded.as_str() == Some(stored) {
        return;
    }
    // Integers beyond 128 bits have no exact integer form, and fixed-point values (scalars
    // and array elements) whose scaled value is beyond 2^53 none either: the writer uses
    // s3db.js's float digits, which s3db.js's float arithmetic may read back one unit in the
    // last place off.
    let beyond_2_53 = |places: u32| 9_007_199_254_740_992.0 / 10f64.powi(places as i32);
    let limit = match kind {
        ValueKind::Integer | ValueKind::IntegerArray => 3.0e38,
        ValueKind::FixedPointArray { precision } | ValueKind::Decimal { precision } => {
            beyond_2_53(precision)
        }
        ValueKind::Money { decimals } => beyond_2_53(decimals),
        _ => f64::INFINITY,
    };
    let inexact = |v: &Value| v.as_f64().is_some_and(|f| f.abs() >= limit);
    if inexact(&decoded) || decoded.as_array().is_some_and(|a| a.iter().any(inexact)) {
        return;
    }
    if let Ok(again) = value::encode(&kind, &decoded) {
        let back = value::decode(&kind, &again);
        assert!(
            back.as_ref().is_ok_and(|b| same_value(b, &decoded)),
            "{definition}: {stored:?} decodes to {decoded}, which encodes to {again:?}, \
             which decodes to {back:?}"
        );
    }
}

/// JSON equality that compares numbers by value (`-7e7` and `-70000000` are one number).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// Client-layer metadata decoding (`s3db_codec::meta::decode_meta`).
///
/// Input: the stored header value. Invariant: a decoded string encodes to printable ASCII
/// without outer spaces that decodes back to it.
pub fn meta_decode(data: &[u8]) {
    let Some(stored) = text(data) else {
        return;
    };
    let decoded = decode_meta(stored);
    let Decoded::Str(value) = &decoded else {
        return;
    };
    let again = encode_meta(MetaValue::Str(value));
    assert!(
        again.bytes().all(|b| (b' '..=b'~').contains(&b))
            && !again.starts_with(' ')
            && !again.ends_with(' '),
        "{value:?} encodes to {again:?}, not a header-safe value"
    );
    assert_eq!(
        decode_meta(&again),
        decoded,
        "{stored:?} decodes to {value:?}, which encodes to {again:?}"
    );
}

/// One [`Secrets`] for every run, so derived keys are cached across inputs.
fn secrets() -> &'static (Secrets, [u8; SALT_LEN]) {
    static SECRETS: OnceLock<(Secrets, [u8; SALT_LEN])> = OnceLock::new();
    SECRETS.get_or_init(|| {
        let secrets = Secrets::new(FIXTURE_PASSPHRASE);
        let stored = secrets.encrypt("").unwrap_or_default();
        let mut salt = [0; SALT_LEN];
        if let Ok(bytes) = STANDARD.decode(stored)
            && let Some(head) = bytes.get(..SALT_LEN)
        {
            salt.copy_from_slice(head);
        }
        (secrets, salt)
    })
}

/// Secret decryption (`s3db_codec::secret::Secrets::decrypt`) under [`FIXTURE_PASSPHRASE`].
///
/// The first input byte picks a mode: 0, the rest is the stored text (each new salt costs a
/// PBKDF2 derivation, about 50 ms); 1, the rest is the binary value after this instance's
/// own salt (cached key, so every run reaches AES-GCM); 2, the rest is a plaintext that must
/// come back from encrypt → decrypt.
pub fn secret_decrypt(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (secrets, salt) = secrets();
    match mode % 3 {
        0 => {
            if let Some(stored) = text(rest) {
                let _ = secrets.decrypt(stored);
            }
        }
        1 => {
            let stored = STANDARD.encode([salt.as_slice(), rest].concat());
            let _ = secrets.decrypt(&stored);
        }
        _ => {
            if let Some(plaintext) = text(rest) {
                let stored = secrets.encrypt(plaintext);
                let back = stored.as_ref().map(|s| secrets.decrypt(s));
                assert!(
                    matches!(&back, Ok(Ok(p)) if p == plaintext),
                    "{plaintext:?} encrypts to {stored:?}, which decrypts to {back:?}"
                );
            }
        }
    }
}

/// The listing prefixes [`page_cursor`] decodes cursors for.
const CURSOR_LISTING: [&str; 2] = [
    "resource=users/data",
    "resource=users/partition=byStatus/status=open",
];

/// Page cursor decoding (`s3db_core::resource::decode_cursor`).
///
/// Input: the cursor text. Invariants: failures are `InvalidCursor`; a key found starts with
/// one of the listing's prefixes.
pub fn page_cursor(data: &[u8]) {
    let Some(cursor) = text(data) else {
        return;
    };
    match decode_cursor("users", cursor, CURSOR_LISTING) {
        Ok(Some(key)) => assert!(
            CURSOR_LISTING.iter().any(|p| key.starts_with(p)),
            "{cursor:?} resumes after {key:?}, outside the listing"
        ),
        Ok(None) => {}
        Err(e) => assert!(
            matches!(e, s3db_core::Error::InvalidCursor { .. }),
            "{cursor:?}: {e:?}"
        ),
    }
}

/// Connection string parsing (`s3db_storage::connection::StorageConfig::parse`).
///
/// Input: the connection string. Invariants: the secret key shows neither in `Display` nor
/// in `Debug`; the `Display` form parses again, to the same configuration when it holds no
/// secret.
pub fn connection_string(data: &[u8]) {
    let Some(conn) = text(data) else {
        return;
    };
    let Ok(config) = StorageConfig::parse(conn) else {
        return;
    };
    let shown = config.to_string();
    let debug = format!("{config:?}");
    let mut public = config.clone();
    let mut secret = None;
    let mut conn_key = String::new();
    if let StorageConfig::S3 { config: s3, .. } = &mut public
        && let Some(c) = s3.credentials.take()
    {
        conn_key = c.access_key_id;
        secret = Some(c.secret_access_key.expose().to_owned());
    }
    if let Some(secret) = secret {
        // A secret that is also part of another field, or of the text around a redacted one
        // (`secret_access_key: SecretString(***)`), shows legitimately.
        let mut redacted = config.clone();
        if let StorageConfig::S3 { config: s3, .. } = &mut redacted
            && let Some(c) = s3.credentials.as_mut()
        {
            c.secret_access_key = "\u{0}".into();
        }
        let elsewhere = format!("{redacted:?}{redacted}{conn_key}").contains(&secret);
        if secret.len() >= 4 && !elsewhere {
            assert!(
                !shown.contains(&secret) && !debug.contains(&secret),
                "{conn:?} shows its secret key: {shown:?} / {debug}"
            );
        }
    }
    let reparsed = StorageConfig::parse(&shown);
    assert!(
        reparsed.is_ok(),
        "{conn:?} displays as {shown:?}: {reparsed:?}"
    );
    if public == config {
        assert_eq!(
            reparsed.ok(),
            Some(config),
            "{conn:?} displays as {shown:?}, which parses differently"
        );
    }
}

/// Records [`filter`] matches every parsed filter against, besides the input's own.
fn sample_records() -> &'static [Map<String, Value>] {
    static RECORDS: OnceLock<Vec<Map<String, Value>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        [
            json!({"id": "a", "status": "open", "n": 3, "tags": ["x", "y"], "profile": {"age": 30}}),
            json!({"id": "b", "status": null, "n": "3", "f": 1.5, "profile": {"age": "x"}}),
            json!({}),
        ]
        .into_iter()
        .filter_map(|v| v.as_object().cloned())
        .collect()
    })
}

/// Query filter parsing and matching (`s3db_core::filter::Filter`).
///
/// Input: JSON, either a filter or `[filter, record]`.
pub fn filter(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (filter, own) = match &input {
        Value::Array(pair) if pair.len() == 2 => (&pair[0], pair[1].as_object()),
        other => (other, None),
    };
    let Ok(filter) = Filter::parse(filter) else {
        return;
    };
    let _ = filter.choices();
    let _ = filter.fields();
    for record in own.into_iter().chain(sample_records()) {
        let _ = filter.matches(record);
    }
}

/// Schema parsing (the fastest-validator shorthand and object forms,
/// `s3db_core::schema::Schema::parse`) and validation.
///
/// Input: the first line is an attributes object (JSON) or one shorthand definition (of the
/// attribute `field`); the rest is a record (JSON object, or the value of `field`).
/// Invariant: a record that validated (and was converted) validates again.
pub fn schema_shorthand(data: &[u8]) {
    let Some(input) = text(data) else {
        return;
    };
    let (definition, record) = input.split_once('\n').unwrap_or((input, ""));
    let attributes = match serde_json::from_str::<Value>(definition) {
        Ok(Value::Object(attributes)) => attributes,
        _ => Map::from_iter([("field".to_owned(), Value::String(definition.to_owned()))]),
    };
    let Ok(schema) = Schema::parse(&attributes) else {
        return;
    };
    let _ = schema.mapping_paths();
    let mut record = match serde_json::from_str::<Value>(record) {
        Ok(Value::Object(record)) => record,
        Ok(value) => Map::from_iter([("field".to_owned(), value)]),
        Err(_) => Map::new(),
    };
    if schema.validate(&mut record, ValidationMode::Insert).is_ok() {
        let before = record.clone();
        let again = schema.validate(&mut record, ValidationMode::Update);
        assert!(
            again.is_ok(),
            "{attributes:?}: {before:?} validated, then failed: {again:?}"
        );
    }
}

/// Filesystem object file decoding (`s3db_storage::fs::decode_object_file`).
///
/// Input: the whole file. Invariants: failures are `Corrupt`; the body has the header's size.
pub fn object_header(data: &[u8]) {
    match decode_object_file(data, "fuzz/key") {
        Ok((header, body)) => assert_eq!(
            u64::try_from(body.len()).ok(),
            Some(header.size),
            "body length disagrees with {header:?}"
        ),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{e:?}"),
    }
}

/// `s3db.json` parsing (`s3db_core::metadata::DatabaseDocument::parse`) and compiling every
/// resource version it holds (`Definition::compile`, `Definition::at_version`).
///
/// Input: the document bytes. Invariant: a parsed document serializes to one that parses to
/// the same serialization.
pub fn s3db_json(data: &[u8]) {
    let Ok(doc) = DatabaseDocument::parse("s3db.json", data) else {
        return;
    };
    let local = LocalSettings::with_passphrase(FIXTURE_PASSPHRASE);
    for (name, entry) in &doc.resources {
        if let Ok(definition) = Definition::compile(name, entry, &local) {
            for version in entry.versions.keys() {
                let _ = definition.at_version(version);
            }
        }
    }
    let Ok(text) = doc.to_pretty_json() else {
        return;
    };
    let again = DatabaseDocument::parse("s3db.json", text.as_bytes()).map(|d| d.to_pretty_json());
    assert!(
        matches!(&again, Ok(Ok(t)) if *t == text),
        "the document serializes to {text}, which reads back as {again:?}"
    );
}

/// Resource definitions in s3db.js's `createResource` shape
/// (`s3db_core::ResourceConfig::from_json`), then what defining the resource checks: the
/// normalized attributes and partitions, their hash, the schema and the partitions.
///
/// Input: the JSON config.
pub fn resource_config(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(config) = ResourceConfig::from_json(&input) else {
        return;
    };
    let (attributes, partitions) = normalized(&config, true);
    let _ = config_hash(&config, &attributes, &partitions);
    let _ = Schema::parse(&attributes);
    let _ = Partition::parse_all(&config.name, &partitions);
}
