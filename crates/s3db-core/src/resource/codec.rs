//! One record ⇄ one stored object: validation, secrets, mapping, behavior placement and the
//! client metadata encoding.

use bytes::Bytes;
use s3db_codec::budget::S3_METADATA_LIMIT;
use s3db_codec::meta::{encode_meta, encode_meta_owned, sanitized_key};
use s3db_codec::nonce::with_nonce;
use s3db_codec::value::ValueKind;
use s3db_storage::{PackedGet, PackedMetadata, PutPayload};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::definition::Definition;
use super::{Loaded, ObjectFacts, Record};
use crate::behavior::{BehaviorKind, Placement, WriteContext, total_bytes};
use crate::error::{Error, Result};
use crate::extend::{Event, EventBus, Operation};
use crate::mapper::Entries;
use crate::mapper::decode::ReadContext;
use crate::mapper::entries::MappedValue;
use crate::mapper::{decode_direct, map_record, unmap_object};
use crate::schema::ValidationMode;
use crate::small_map::get_path;

const JSON_CONTENT_TYPE: &str = "application/json";

/// Validates `record` (without `id`) in place, reporting every failing field.
///
/// The validator turns non-string `json` values into JSON text, as s3db.js's does; the value
/// codec wants the value itself (it writes JSON text for non-strings and protects strings
/// that would read back as something else), so those values are put back afterwards.
pub(crate) fn validate(def: &Definition, record: &mut Record, mode: ValidationMode) -> Result<()> {
    let json_values: Vec<(String, Value)> = def
        .schema
        .fields()
        .iter()
        .filter(|f| f.kind == ValueKind::Json)
        .filter_map(|f| {
            get_path(record, &f.path)
                .filter(|v| !v.is_string() && !v.is_null())
                .map(|v| (f.path.clone(), v.clone()))
        })
        .collect();
    def.schema
        .validate(record, mode)
        .map_err(|source| Error::Validation {
            resource: def.name.clone(),
            source,
        })?;
    for (path, value) in json_values {
        set_path(record, &path, value);
    }
    Ok(())
}

/// How a record write treats the body.
#[derive(Debug, Clone)]
pub(crate) struct BodyPlan {
    /// Binary content to store as the body (records whose fields fit in metadata only).
    pub content: Option<(Bytes, Option<String>)>,
    /// Make the body unique with this `"_w"` write nonce so the ETag changes with every
    /// write.
    ///
    /// S3 ETags hash only the body, so two writes that differ only in metadata have the same
    /// ETag and an `If-Match` could not tell them apart; conditional overwrites therefore
    /// carry a random `_w` entry in a JSON body (drawn from the database's random source).
    /// Readers (ours and s3db.js's) drop `_` keys. Inserts (conditional creates) write
    /// exactly what s3db.js writes.
    pub nonce: Option<u64>,
}

impl BodyPlan {
    /// An insert: no content, no nonce.
    pub fn insert() -> Self {
        BodyPlan {
            content: None,
            nonce: None,
        }
    }

    /// A conditional overwrite keeping the content of `previous`, made unique by `nonce`.
    pub fn overwrite(previous: Option<&Loaded>, nonce: u64) -> Self {
        BodyPlan {
            content: previous.and_then(|p| p.content.clone()),
            nonce: Some(nonce),
        }
    }
}

/// Where an oversize `user-managed` record (moved to the body) is reported: an
/// `ExceedsLimit` event for the write `operation`.
#[derive(Clone, Copy)]
pub(crate) struct Oversize<'a> {
    /// The bus to emit on.
    pub events: &'a EventBus,
    /// The write being encoded.
    pub operation: Operation,
}

/// Builds the object for a validated plaintext record (without `id`). Secrets whose
/// plaintext did not change, or that hold their stored ciphertext, keep that ciphertext
/// (from `previous`).
pub(crate) fn encode_record(
    def: &Definition,
    id: &str,
    record: &Record,
    previous: Option<&Loaded>,
    plan: BodyPlan,
    oversize: Oversize<'_>,
) -> Result<PutPayload> {
    let has_secrets = def.schema.fields().iter().any(|f| f.secret);
    let encrypted;
    let stored = if has_secrets {
        let mut copy = record.clone();
        encrypt_secrets(def, &mut copy, previous)?;
        encrypted = copy;
        &encrypted
    } else {
        record
    };
    let map = || map_record(&def.schema, &def.keys, &def.version, stored);
    let (placement, metadata) = place_within_s3_limit(def, id, map, oversize)?;
    let json = |text: String| (Bytes::from(text), Some(JSON_CONTENT_TYPE.to_owned()));
    let (body, content_type) = match (placement.body, plan.content) {
        (Some(_), Some(_)) => {
            return Err(Error::Unsupported {
                resource: def.name.clone(),
                reason: format!(
                    "record {id:?} carries binary content, but its fields no longer fit in metadata"
                ),
            });
        }
        (Some(text), None) => json(match plan.nonce {
            Some(nonce) => with_nonce(&text, nonce),
            None => text,
        }),
        (None, Some((content, content_type))) => (content, content_type),
        (None, None) => match plan.nonce {
            Some(nonce) => json(with_nonce("{}", nonce)),
            None => (Bytes::new(), None),
        },
    };
    Ok(PutPayload {
        metadata,
        body,
        content_type,
    })
}

/// Places the entries `map` makes with the behavior, then checks the *encoded* metadata
/// against S3's real limit. s3db.js budgets values before the `u:`/`b:` encoding, so
/// non-ASCII data can pass its check and still be refused by S3 (a defect); when that happens
/// the placement is redone with the budget lowered by the excess (a few rounds at most), so
/// the behavior cuts or overflows more. ASCII records fit the first time and are placed
/// exactly as s3db.js places them. Each round maps the record afresh, so the common single
/// round copies no entries.
fn place_within_s3_limit(
    def: &Definition,
    id: &str,
    map: impl Fn() -> Result<Entries>,
    oversize: Oversize<'_>,
) -> Result<(Placement, PackedMetadata)> {
    let mut budget = def.metadata_limit;
    let mut total = 0;
    for _ in 0..MAX_PLACEMENT_ROUNDS {
        let ctx = WriteContext {
            resource: &def.name,
            id,
            version: &def.version,
            timestamps: def.timestamps,
            metadata_limit: budget,
            key_map_json: def.keys.json(),
        };
        let mut placement = def.behavior.strategy().place(&ctx, map()?)?;
        let stored: Vec<(String, String)> = std::mem::take(&mut placement.metadata)
            .into_iter()
            .map(|(k, v)| {
                let stored = match v {
                    MappedValue::Text(text) => encode_meta_owned(text),
                    other => encode_meta(other.as_meta()),
                };
                (sanitized_key(k), stored)
            })
            .collect();
        let metadata = PackedMetadata::from_pairs(&stored);
        total = metadata.byte_len();
        if total <= S3_METADATA_LIMIT {
            if def.behavior == BehaviorKind::UserManaged && placement.body.is_some() {
                oversize.events.emit_with(|| {
                    // The record mapped fine a moment ago; mapping is deterministic.
                    let total_size = map().map_or(0, |entries| total_bytes(&entries));
                    let limit = ctx.effective_limit();
                    Event::ExceedsLimit {
                        resource: def.name.clone(),
                        operation: oversize.operation,
                        id: Some(id.to_owned()),
                        total_size,
                        limit,
                        excess: total_size.saturating_sub(limit),
                    }
                });
            }
            return Ok((placement, metadata));
        }
        budget = budget.saturating_sub(total - S3_METADATA_LIMIT);
    }
    Err(Error::MetadataTooLarge {
        resource: def.name.clone(),
        id: id.to_owned(),
        total,
        limit: S3_METADATA_LIMIT,
        excess: total.saturating_sub(S3_METADATA_LIMIT),
    })
}

/// Placement rounds before giving up on fitting S3's limit.
const MAX_PLACEMENT_ROUNDS: usize = 8;

/// Encrypts every secret field holding a string.
fn encrypt_secrets(def: &Definition, record: &mut Record, previous: Option<&Loaded>) -> Result<()> {
    for field in def.schema.fields().iter().filter(|f| f.secret) {
        let Some(Value::String(plain)) = get_path(record, &field.path) else {
            continue;
        };
        // Unchanged: the same plaintext, or the stored ciphertext itself (as a resource
        // with `autoDecrypt: false` reads it) — kept, never encrypted twice.
        let reused = previous.and_then(|p| {
            let stored = p.ciphertexts.get(&field.path)?;
            let unchanged = stored == plain
                || get_path(&p.record, &field.path) == Some(&Value::String(plain.clone()));
            unchanged.then(|| stored.clone())
        });
        let cipher = match reused {
            Some(cipher) => cipher,
            None => def.secrets.encrypt(plain).map_err(|source| Error::Codec {
                field: field.path.clone(),
                source,
            })?,
        };
        set_path(record, &field.path, Value::String(cipher));
    }
    Ok(())
}

/// Decodes a stored object into a record with `id`.
pub(crate) fn decode_object(
    def: &Definition,
    id: &str,
    key: &str,
    found: PackedGet,
) -> Result<Loaded> {
    let (ctx, body) = read_context(def, id, key, &found);
    let is_json_body = is_json_body(&found);
    let unmapped = unmap_object(&ctx, &found.metadata, body)?;
    let mut record = unmapped.record;
    record.insert("id".into(), Value::String(id.to_owned()));
    let content = (!is_json_body && !found.body.is_empty())
        .then(|| (found.body.clone(), found.content_type.clone()));
    Ok(Loaded {
        record,
        etag: found.meta.etag,
        ciphertexts: unmapped.ciphertexts,
        content,
        version: None,
        facts: ObjectFacts {
            size: found.meta.size,
            last_modified: found.meta.last_modified,
            content_type: found.content_type,
        },
    })
}

/// A stored object of the definition's current version decoded straight into `T`, with
/// `id`; `None` when it needs the record map (see [`decode_direct`]).
pub(crate) fn decode_object_direct<T: DeserializeOwned>(
    def: &Definition,
    id: &str,
    key: &str,
    found: &PackedGet,
) -> Result<Option<T>> {
    let (ctx, body) = read_context(def, id, key, found);
    decode_direct(&ctx, &found.metadata, body)
}

/// How `found` is read: the reader's context and the body the record's fields may be in
/// (empty when the body is content of another type).
fn read_context<'a>(
    def: &'a Definition,
    id: &'a str,
    key: &'a str,
    found: &'a PackedGet,
) -> (ReadContext<'a>, &'a [u8]) {
    let is_json_body = is_json_body(found);
    let ctx = ReadContext {
        resource: &def.name,
        id,
        key,
        schema: &def.schema,
        keys: &def.keys,
        secrets: &def.secrets,
        reads_body: is_json_body && def.behavior.strategy().reads_body(),
    };
    let body: &[u8] = if is_json_body { &found.body } else { &[] };
    (ctx, body)
}

/// Whether `found`'s body is JSON (the record's own), not content of another type.
fn is_json_body(found: &PackedGet) -> bool {
    found
        .content_type
        .as_deref()
        .is_none_or(|ct| ct.starts_with(JSON_CONTENT_TYPE))
}

/// Sets the value at a dotted path, creating (or replacing non-object) intermediate objects.
pub(crate) fn set_path(record: &mut Record, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            record.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let slot = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Record::new()));
            if !slot.is_object() {
                *slot = Value::Object(Record::new());
            }
            if let Value::Object(inner) = slot {
                set_path(inner, rest, value);
            }
        }
    }
}
