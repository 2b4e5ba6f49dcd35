//! Stored object → record. Handles every state s3db.js leaves objects in: metadata only,
//! body-overflow bodies, body-only bodies with their own `_map`, user-managed bodies with
//! short keys (oversize insert) or plain names and leaked internal fields (after an update),
//! burned keys of removed attributes, `null`/`undefined` literals.

use std::borrow::Cow;
use std::collections::HashSet;

use s3db_codec::meta::{Decoded, decode_meta, decode_meta_cow};
use s3db_codec::nonce::is_nonce_only;
use s3db_codec::secret::Secrets;
use s3db_codec::value::{self, ValueKind};
use s3db_storage::PackedMetadata;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::direct::{Leaf, from_leaves};
use super::keymap::{KeyMap, Target};
use crate::error::{Error, Result};
use crate::schema::{Field, Schema, Unflattened};

/// What the reader needs to know about the resource.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    /// Resource name (for errors).
    pub resource: &'a str,
    /// Record id (for errors).
    pub id: &'a str,
    /// Object key (for errors).
    pub key: &'a str,
    /// Current schema.
    pub schema: &'a Schema,
    /// Current short-key map.
    pub keys: &'a KeyMap,
    /// Decrypts secret fields.
    pub secrets: &'a Secrets,
    /// Whether the behavior merges the body under the metadata.
    pub reads_body: bool,
}

impl<'a> ReadContext<'a> {
    /// The schema field at an index a [`KeyMap`] resolved.
    fn field_at(&self, index: Option<usize>) -> Option<&'a Field> {
        self.schema.fields().get(index?)
    }
}

/// A decoded record plus the stored ciphertext of each secret field (so an update that does
/// not change a secret can keep its bytes).
#[derive(Debug, Clone, Default)]
pub struct Unmapped {
    /// The record, without `id`.
    pub record: Map<String, Value>,
    /// Secret path → stored ciphertext.
    pub ciphertexts: Ciphertexts,
}

/// Secret path → stored ciphertext, of one record. A list: a record has few secret fields,
/// most have none, and an empty list costs nothing to make.
#[derive(Debug, Clone, Default)]
pub struct Ciphertexts(Vec<(String, String)>);

impl Ciphertexts {
    /// Records the ciphertext stored for `path` (replacing an earlier one).
    pub fn insert(&mut self, path: &str, ciphertext: String) {
        match self.0.iter_mut().find(|(p, _)| p == path) {
            Some(slot) => slot.1 = ciphertext,
            None => self.0.push((path.to_owned(), ciphertext)),
        }
    }

    /// The ciphertext stored for `path`.
    pub fn get(&self, path: &str) -> Option<&String> {
        self.0.iter().find(|(p, _)| p == path).map(|(_, c)| c)
    }
}

impl IntoIterator for Ciphertexts {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// One entry before type decoding: a metadata string (borrowed where it is stored as it
/// is), or a value from a JSON body.
enum Raw<'m> {
    Meta(Decoded<Cow<'m, str>>),
    Body(Value),
}

/// Where an entry's path comes from: the short-key map (borrowed from it) or the entry's
/// own key (an unknown or plain-named key, kept as stored).
enum EntryPath<'k, 'm> {
    Mapped(&'k str, Option<&'k Field>),
    Plain(Cow<'m, str>),
}

/// Decodes a stored object. Internal keys (`_*`, `$*`) are dropped; unknown keys keep their
/// (sanitized) names; short keys win over plain names for the same attribute. The metadata
/// is read in place: only the values the record keeps as strings are copied out of it.
pub fn unmap_object(
    ctx: &ReadContext<'_>,
    metadata: &PackedMetadata,
    body: &[u8],
) -> Result<Unmapped> {
    let body_entries = record_body_fields(ctx, body);
    if body_entries.is_none()
        && let Some(unmapped) = unmap_short_keys(ctx, metadata)?
    {
        return Ok(unmapped);
    }
    let mut raw: Vec<(Cow<'_, str>, Raw)> = Vec::with_capacity(metadata.len());
    if let Some(fields) = body_entries {
        raw.extend(
            fields
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Raw::Body(v))),
        );
    }
    let from_body = raw.len();
    // A body-only object's own key map, seen while the entries are collected.
    let mut own_map = None;
    for (key, stored) in metadata.iter() {
        if is_internal(key) {
            if key == "_map" {
                own_map = Some(parse_own_map(ctx, stored)?);
            }
            continue;
        }
        let decoded = Raw::Meta(decode_meta_cow(stored));
        // Metadata keys are unique; only body keys can repeat one.
        match raw[..from_body].iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = decoded,
            None => raw.push((Cow::Borrowed(key), decoded)),
        }
    }

    let keys = own_map.as_ref().unwrap_or(ctx.keys);
    // Resolve keys first: a value under a short key wins over the same attribute under its
    // plain name (s3db.js updates leave plain-named copies in user-managed bodies).
    let resolved: Vec<(EntryPath<'_, '_>, Raw)> = raw
        .into_iter()
        .filter(|(key, _)| !is_internal(key))
        .map(|(key, entry)| match keys.resolve(&key) {
            Some(target) => (
                EntryPath::Mapped(&target.path, ctx.field_at(target.field)),
                entry,
            ),
            None => (EntryPath::Plain(key), entry),
        })
        .collect();
    // Only objects mixing short keys and plain names need the set (s3db.js-updated ones).
    let mixed = resolved
        .iter()
        .any(|(path, _)| matches!(path, EntryPath::Plain(_)));
    let mapped_paths: HashSet<&str> = if mixed {
        resolved
            .iter()
            .filter_map(|(path, _)| match path {
                EntryPath::Mapped(path, _) => Some(*path),
                EntryPath::Plain(_) => None,
            })
            .collect()
    } else {
        HashSet::new()
    };
    let mut doc = Unflattened::with_capacity(resolved.len());
    let mut out = Unmapped::default();
    for (path, entry) in resolved {
        let (path, field, short) = match &path {
            EntryPath::Mapped(path, field) => (*path, *field, true),
            EntryPath::Plain(key) if mapped_paths.contains(key.as_ref()) => continue,
            EntryPath::Plain(key) => (key.as_ref(), ctx.schema.field(key), false),
        };
        let value = match entry {
            Raw::Meta(decoded) => meta_value(ctx, path, field, decoded, &mut out.ciphertexts)?,
            Raw::Body(Value::String(text)) if short => value_or_absent(decode_text(
                ctx,
                path,
                field,
                Cow::Owned(text),
                &mut out.ciphertexts,
            )?),
            Raw::Body(plain) => {
                plain_body_value(
                    ctx,
                    path,
                    plain,
                    &mapped_paths,
                    &mut out.ciphertexts,
                    &mut doc,
                )?;
                continue;
            }
        };
        if let Some(value) = value {
            doc.insert(Cow::Borrowed(path), value);
        }
    }
    out.record = doc.finish();
    Ok(out)
}

/// The common object, decoded in one pass: no body to merge, and every metadata key a short
/// key of the resource's map (or internal). `None` when a key needs [`unmap_object`]'s
/// general path: a plain name (a short key of the same attribute outranks it) or a body-only
/// object's own `_map`.
fn unmap_short_keys(ctx: &ReadContext<'_>, metadata: &PackedMetadata) -> Result<Option<Unmapped>> {
    let mut doc = Unflattened::with_capacity(metadata.len());
    let mut ciphertexts = Ciphertexts::default();
    let complete = each_short_key(ctx, metadata, &mut ciphertexts, |target, value| {
        doc.insert(Cow::Borrowed(&target.path), value);
        true
    })?;
    Ok(complete.then(|| Unmapped {
        record: doc.finish(),
        ciphertexts,
    }))
}

/// Hands each field of a short-key object (see [`unmap_short_keys`]) to `field`: its key's
/// target and decoded value. `false` when a key needs the general path, or `field` says so
/// (the fields handed so far are then incomplete).
fn each_short_key<'a>(
    ctx: &ReadContext<'a>,
    metadata: &PackedMetadata,
    ciphertexts: &mut Ciphertexts,
    mut field: impl FnMut(&'a Target, Value) -> bool,
) -> Result<bool> {
    for (key, stored) in metadata.iter() {
        if is_internal(key) {
            if key == "_map" {
                return Ok(false);
            }
            continue;
        }
        let Some(target) = ctx.keys.resolve(key) else {
            return Ok(false);
        };
        let (path, schema_field) = (target.path.as_str(), ctx.field_at(target.field));
        let decoded = decode_meta_cow(stored);
        if let Some(value) = meta_value(ctx, path, schema_field, decoded, ciphertexts)?
            && !field(target, value)
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A stored object decoded straight into `T`, with its `id` (see [`direct`]): no record map
/// is built. `None` when the object needs [`unmap_object`]'s general path or has a field
/// that is not a [leaf](Target::leaf) (its fields would clash); secrets are decrypted.
///
/// [`direct`]: super::direct
pub fn decode_direct<T: DeserializeOwned>(
    ctx: &ReadContext<'_>,
    metadata: &PackedMetadata,
    body: &[u8],
) -> Result<Option<T>> {
    if record_body_fields(ctx, body).is_some() {
        return Ok(None);
    }
    let mut leaves = Vec::with_capacity(metadata.len() + 1);
    let complete = each_short_key(
        ctx,
        metadata,
        &mut Ciphertexts::default(),
        |target, value| {
            leaves.push(Leaf {
                path: &target.path,
                value: Some(value),
            });
            target.leaf
        },
    )?;
    if !complete {
        return Ok(None);
    }
    leaves.push(Leaf {
        path: "id",
        value: Some(Value::String(ctx.id.to_owned())),
    });
    from_leaves(&mut leaves)
        .map(Some)
        .map_err(|e| Error::Serialization {
            resource: ctx.resource.to_owned(),
            reason: e.to_string(),
        })
}

/// The record fields of an object's body, when the behavior reads bodies and it has some.
/// Bodies of records in metadata hold only internal keys (the `_w` of an overwrite).
fn record_body_fields(ctx: &ReadContext<'_>, body: &[u8]) -> Option<Vec<(String, Value)>> {
    (ctx.reads_body && !body.is_empty() && !is_nonce_only(body))
        .then(|| body_fields(body))
        .flatten()
        .filter(|fields| !fields.is_empty())
}

/// The fields of a JSON object body, in order, without its internal ones (`_w`, `_v`, …),
/// which are skipped unparsed; `None` when the body is not a JSON object. No map is built:
/// the entries go straight into the decoder's list.
fn body_fields(body: &[u8]) -> Option<Vec<(String, Value)>> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(String, Value)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(BodyKey(key)) = map.next_key()? {
                if is_internal(&key) {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    fields.push((key.into_owned(), map.next_value::<Value>()?));
                }
            }
            Ok(fields)
        }
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let fields = reader.deserialize_map(Fields).ok()?;
    reader.end().ok()?;
    Some(fields)
}

/// A key of a JSON body, borrowed from the body unless it has escapes (internal keys are
/// skipped without a copy).
struct BodyKey<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for BodyKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Key;
        impl<'de> Visitor<'de> for Key {
            type Value = BodyKey<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(BodyKey(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> std::result::Result<Self::Value, E> {
                Ok(BodyKey(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(Key)
    }
}

/// Keys s3db.js keeps for itself (`_v`, `_map`, `$…`), never record fields.
fn is_internal(key: &str) -> bool {
    key.starts_with('_') || key.starts_with('$')
}

/// A plain-named value from a user-managed body (written unmapped by s3db.js's update):
/// taken as is, secrets decrypted, objects that are not fields expanded into their leaves
/// (so they merge with mapped leaves of the same object).
fn plain_body_value(
    ctx: &ReadContext<'_>,
    path: &str,
    value: Value,
    mapped_paths: &HashSet<&str>,
    ciphertexts: &mut Ciphertexts,
    doc: &mut Unflattened,
) -> Result<()> {
    if mapped_paths.contains(path) {
        return Ok(());
    }
    match (ctx.schema.field(path), value) {
        (Some(field), Value::String(text)) if field.secret => {
            let decrypted = decode_text(ctx, path, Some(field), Cow::Owned(text), ciphertexts)?;
            if let Some(v) = value_or_absent(decrypted) {
                doc.insert(Cow::Borrowed(path), v);
            }
        }
        (None, Value::Object(inner)) if !inner.is_empty() => {
            for (key, v) in inner {
                plain_body_value(
                    ctx,
                    &format!("{path}.{key}"),
                    v,
                    mapped_paths,
                    ciphertexts,
                    doc,
                )?;
            }
        }
        (_, v) => doc.insert(Cow::Borrowed(path), v),
    }
    Ok(())
}

/// A metadata value decoded by the kind of `field`, the schema's field at `path`; `None` when
/// it stands for an absent field.
fn meta_value(
    ctx: &ReadContext<'_>,
    path: &str,
    field: Option<&Field>,
    decoded: Decoded<Cow<'_, str>>,
    ciphertexts: &mut Ciphertexts,
) -> Result<Option<Value>> {
    let value = match decoded {
        Decoded::Undefined => return Ok(None),
        Decoded::Null => Value::Null,
        Decoded::Str(text) => decode_text(ctx, path, field, text, ciphertexts)?,
    };
    Ok(value_or_absent(value))
}

/// `undefined` markers (a decrypted `"undefined"`) mean the field is absent.
fn value_or_absent(value: Value) -> Option<Value> {
    match value {
        Value::String(s) if s == UNDEFINED => None,
        other => Some(other),
    }
}

const UNDEFINED: &str = "undefined";

/// Decodes one stored string by the kind of `field`, the schema's field at `path`.
fn decode_text(
    ctx: &ReadContext<'_>,
    path: &str,
    field: Option<&Field>,
    text: Cow<'_, str>,
    ciphertexts: &mut Ciphertexts,
) -> Result<Value> {
    let Some(field) = field else {
        return Ok(decode_untyped(text));
    };
    if field.secret {
        let plain = ctx.secrets.decrypt(&text).map_err(|_| Error::Decryption {
            resource: ctx.resource.to_owned(),
            id: ctx.id.to_owned(),
            field: path.to_owned(),
        })?;
        ciphertexts.insert(path, text.into_owned());
        return Ok(match plain.as_str() {
            "null" => Value::Null,
            _ => Value::String(plain),
        });
    }
    if field.kind == ValueKind::String {
        return Ok(Value::String(text.into_owned()));
    }
    value::decode(&field.kind, &text)
        .map_err(|e| Error::corrupt(ctx.key, format!("field {path:?}: {e}")))
}

/// Values of paths the schema does not know: JSON-looking strings are parsed (as s3db.js
/// does), anything else stays a string.
fn decode_untyped(text: Cow<'_, str>) -> Value {
    if (text.starts_with('{') || text.starts_with('['))
        && let Ok(parsed) = serde_json::from_str(&text)
    {
        return parsed;
    }
    Value::String(text.into_owned())
}

/// A body-only object's `_map` (attribute → short key).
fn parse_own_map(ctx: &ReadContext<'_>, text: &str) -> Result<KeyMap> {
    let text = match decode_meta(text) {
        Decoded::Str(s) => s,
        _ => return Err(Error::corrupt(ctx.key, "_map is not a JSON object")),
    };
    let map: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| Error::corrupt(ctx.key, format!("_map is not a JSON object: {e}")))?;
    let pairs = map
        .into_iter()
        .map(|(path, key)| match key {
            Value::String(k) => Ok((path, k)),
            other => Err(Error::corrupt(
                ctx.key,
                format!("_map entry {path:?} is {other}, not a string"),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(KeyMap::from_pairs(pairs, ctx.schema))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Runs `read` with the context of a `user-managed` resource with `name` (key `0`), `age`
    /// (key `1`), `address` (key `2`, kept by the registry) and `address.city` (key `3`).
    fn with_context<R>(
        metadata: &[(&str, &str)],
        read: impl FnOnce(&ReadContext<'_>, &PackedMetadata) -> R,
    ) -> R {
        let schema = Schema::parse(
            json!({"name": "string", "age": "number", "address": {"city": "string"}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let assigned = [
            ("name".into(), 0),
            ("age".into(), 1),
            ("address".into(), 2),
            ("address.city".into(), 3),
        ];
        let keys = KeyMap::from_indices(&assigned, &schema);
        let ctx = ReadContext {
            resource: "people",
            id: "p1",
            key: "resource=people/data/id=p1",
            schema: &schema,
            keys: &keys,
            secrets: &Secrets::new("secret"),
            reads_body: true,
        };
        let metadata: s3db_storage::Metadata = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        read(&ctx, &PackedMetadata::from(metadata))
    }

    /// Decodes `metadata` and `body` into a record (see [`with_context`]).
    fn decode(metadata: &[(&str, &str)], body: &str) -> Map<String, Value> {
        with_context(metadata, |ctx, metadata| {
            unmap_object(ctx, metadata, body.as_bytes()).unwrap().record
        })
    }

    /// Decodes `metadata` and `body` straight into a `Value` (see [`with_context`]).
    fn decode_straight(metadata: &[(&str, &str)], body: &str) -> Option<Value> {
        with_context(metadata, |ctx, metadata| {
            decode_direct(ctx, metadata, body.as_bytes()).unwrap()
        })
    }

    #[test]
    fn short_key_objects_decode_straight_into_the_type_and_others_do_not() {
        let short_only = [("_v", "v1"), ("3", "porto"), ("0", "Ann"), ("1", "1e")];
        let want = json!({"address": {"city": "porto"}, "name": "Ann", "age": 76, "id": "p1"});
        assert_eq!(decode_straight(&short_only, ""), Some(want.clone()));
        assert_eq!(
            decode_straight(&short_only, r#"{"_w":"0000000000000001"}"#),
            Some(want)
        );
        // The record map's path: fields in the body, a plain name, a body-only `_map`, and
        // a key whose path holds another's (`address` beside `address.city`).
        assert_eq!(decode_straight(&short_only, r#"{"1":"1f"}"#), None);
        assert_eq!(decode_straight(&[("0", "Ann"), ("nick", "A")], ""), None);
        assert_eq!(decode_straight(&[("_map", "{}"), ("0", "Ann")], ""), None);
        assert_eq!(decode_straight(&[("2", "null"), ("3", "porto")], ""), None);
    }

    #[test]
    fn short_keys_outrank_plain_names_with_or_without_a_body() {
        let short_only = [("_v", "v1"), ("0", "Ann"), ("1", "1e")];
        let want = json!({"name": "Ann", "age": 76});
        assert_eq!(Value::Object(decode(&short_only, "")), want);
        // An overwrite's body holds only its nonce: the same record.
        assert_eq!(
            Value::Object(decode(&short_only, r#"{"_w":"0000000000000001"}"#)),
            want
        );
        // A plain name of a mapped attribute loses to its short key, in metadata or body;
        // a plain name of an unknown attribute is kept.
        let mixed = [("0", "Ann"), ("name", "Old"), ("1", "1e"), ("nick", "A")];
        let want = json!({"name": "Ann", "age": 76, "nick": "A"});
        assert_eq!(Value::Object(decode(&mixed, "")), want);
        assert_eq!(
            Value::Object(decode(&short_only[1..], r#"{"name":"Old"}"#)),
            json!({"name": "Ann", "age": 76})
        );
        // A plain name alone is read.
        assert_eq!(
            Value::Object(decode(&[("name", "Bob")], "")),
            json!({"name": "Bob"})
        );
    }

    #[test]
    fn body_fields_skip_internal_keys_and_refuse_what_is_not_an_object() {
        let body = br#"{"_w": 5, "a": 1, "$x": [1], "b": {"c": "d"}, "_v": "v1"}"#;
        assert_eq!(
            body_fields(body),
            Some(vec![
                ("a".into(), json!(1)),
                ("b".into(), json!({"c": "d"}))
            ])
        );
        assert_eq!(body_fields(br#"{"_w": 5}"#), Some(vec![]));
        assert_eq!(body_fields(b"[1, 2]"), None);
        assert_eq!(body_fields(br#"{"a": 1} trailing"#), None);
        assert_eq!(body_fields(b"{\"a\": "), None);
    }
}
