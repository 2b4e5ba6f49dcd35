//! [`Sequence`]: an atomic counter in one object, advanced only by compare-and-swap.
//!
//! The object has s3db.js's stored shape (`concerns/incremental-sequence.js`, 21.6.2): the
//! key `resource=<name>/sequence=<field>/value` (for [`Sequence::for_resource`]) holds the
//! JSON body `{"value": <next value to hand out>, "name": <field>, "createdAt", "updatedAt"}`,
//! so s3db.js and this crate continue one sequence. Every advance reads the object (`GET`,
//! keeping its ETag) and writes the new value with `If-Match` (or `If-None-Match: *` for the
//! first value); a writer that lost the race reads again. Values are therefore unique and,
//! taken one at a time with [`Sequence::next`], gap-free across any number of processes.
//!
//! It lives in the core (not beside the plugins' `CasDoc`) because the core's `incremental`
//! id generator needs it and the core cannot depend on the plugins; the plugins re-export
//! it as `s3db_plugins::coord::Sequence`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use s3db_core::sequence::Sequence;
//! use s3db_storage::MemoryStorage;
//!
//! let orders = Sequence::for_resource(Arc::new(MemoryStorage::new()), "orders", "id");
//! assert_eq!(orders.next().await?, 1);
//! assert_eq!(orders.next().await?, 2);
//! assert_eq!(orders.reserve(10).await?, 3..13, "a batch of ten values");
//! assert_eq!(orders.peek().await?, Some(13), "the next value to hand out");
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use s3db_storage::{ErrorKind, PutMode, PutPayload, Storage};
use serde_json::{Map, Value};

use crate::clock::{SharedClock, SystemClock};
use crate::random::{RandomSource, ThreadRandom};
use crate::{Error, Result};

/// Conditional write rounds before [`Error::Conflict`] (each lost round backs off a little).
const MAX_ATTEMPTS: u32 = 200;

/// An atomic counter stored in one object (see the [module](self) docs).
#[derive(Clone)]
pub struct Sequence {
    storage: Arc<dyn Storage>,
    key: String,
    name: String,
    start: i64,
    clock: SharedClock,
    /// s3db.js's lock object for this sequence, taken around each advance.
    js_lock: Option<String>,
}

impl fmt::Debug for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sequence")
            .field("key", &self.key)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Sequence {
    /// The sequence stored at `key`, recorded under `name`, starting at 1.
    pub fn new(storage: Arc<dyn Storage>, key: impl Into<String>, name: impl Into<String>) -> Self {
        Sequence {
            storage,
            key: key.into(),
            name: name.into(),
            start: 1,
            clock: Arc::new(SystemClock),
            js_lock: None,
        }
    }

    /// The sequence s3db.js keeps for `field` of `resource`:
    /// `resource=<resource>/sequence=<field>/value`, advanced under s3db.js's lock
    /// `resource=<resource>/sequence=<field>/lock` (see [`Sequence::s3dbjs_lock`]).
    pub fn for_resource(storage: Arc<dyn Storage>, resource: &str, field: &str) -> Self {
        Sequence::new(
            storage,
            format!("resource={resource}/sequence={field}/value"),
            field,
        )
        .s3dbjs_lock(format!("resource={resource}/sequence={field}/lock"))
    }

    /// Advances only while holding s3db.js's lock object at `key`, so that s3db.js
    /// processes — which take that lock, then write the value without a condition — can
    /// share the sequence at the same time. The lock is s3db.js's
    /// (`concerns/distributed-lock.js`): created with `If-None-Match: *` as
    /// `{"workerId", "token", "acquiredAt", "_expiresAt"}` (10 s), an expired or unreadable
    /// one deleted, released by a `GET` that checks the token and a `DELETE`. It costs three
    /// more requests per advance.
    pub fn s3dbjs_lock(mut self, key: impl Into<String>) -> Self {
        self.js_lock = Some(key.into());
        self
    }

    /// The first value handed out when the object does not exist yet (default 1).
    pub fn start(mut self, start: i64) -> Self {
        self.start = start;
        self
    }

    /// The clock dating `createdAt`/`updatedAt` (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The next value (one `GET` and one conditional `PUT` when uncontended).
    pub async fn next(&self) -> Result<i64> {
        self.advance(1).await
    }

    /// Reserves `n` consecutive values at once, for the caller to hand out locally: one
    /// round trip for the whole batch. Values of a batch not used are a gap.
    pub async fn reserve(&self, n: u32) -> Result<Range<i64>> {
        let first = self.advance(i64::from(n.max(1))).await?;
        Ok(first..first + i64::from(n.max(1)))
    }

    /// Moves the stored value by `step` (not zero; negative counts down) and returns the
    /// value it held before: the one this caller owns. s3db.js's `increment` and batch
    /// reservations are such steps.
    pub async fn advance(&self, step: i64) -> Result<i64> {
        if step == 0 {
            return Err(Error::Unsupported {
                resource: self.key.clone(),
                reason: "a sequence cannot advance by 0: use a non-zero increment".into(),
            });
        }
        let Some(lock) = &self.js_lock else {
            return self.advance_unlocked(step).await;
        };
        let token = self.take_js_lock(lock).await?;
        let advanced = self.advance_unlocked(step).await;
        if let Err(error) = self.release_js_lock(lock, &token).await {
            tracing::warn!(key = %lock, %error, "could not release the s3db.js sequence lock; it expires in 10 s");
        }
        advanced
    }

    /// Takes s3db.js's lock object: its token.
    async fn take_js_lock(&self, key: &str) -> Result<String> {
        const LOCK_TTL_MS: i64 = 10_000;
        let token = format!("{:016x}", ThreadRandom.next_u64());
        for attempt in 0..MAX_ATTEMPTS {
            let now = self.clock.now_millis();
            let body = serde_json::json!({
                "workerId": "s3db-rs", "token": token, "acquiredAt": now,
                "_expiresAt": now + LOCK_TTL_MS,
            });
            let payload = json_payload(&body);
            match self.storage.put(key, payload, PutMode::Create).await {
                Ok(_) => return Ok(token),
                Err(e) if is_lost_race(e.kind()) => {}
                Err(e) => return Err(e.into()),
            }
            let held = match self.storage.get(key).await {
                Ok(found) => serde_json::from_slice::<Value>(&found.body).ok(),
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let live = held.as_ref().is_some_and(|lock| {
                let expires = lock.get("_expiresAt");
                lock["token"].is_string()
                    && lock["acquiredAt"].is_number()
                    && expires.is_none_or(|e| e.as_i64().is_some_and(|e| now <= e))
            });
            if live {
                back_off(attempt).await;
            } else {
                // Expired or unreadable: s3db.js deletes it and tries again.
                match self.storage.delete(key).await {
                    Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Err(Error::Conflict {
            what: key.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Releases s3db.js's lock object if it still holds `token`.
    async fn release_js_lock(&self, key: &str, token: &str) -> Result<()> {
        let found = match self.storage.get(key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let held: Option<Value> = serde_json::from_slice(&found.body).ok();
        if held.as_ref().and_then(|l| l["token"].as_str()) == Some(token) {
            self.storage.delete(key).await?;
        }
        Ok(())
    }

    /// The compare-and-swap advance itself.
    async fn advance_unlocked(&self, step: i64) -> Result<i64> {
        for attempt in 0..MAX_ATTEMPTS {
            let (current, etag) = self.read().await?;
            let value = match current.as_ref() {
                Some(body) => stored_value(body).ok_or_else(|| {
                    self.corrupt("the body has no integer \"value\" (expected {\"value\": N, ...})")
                })?,
                None => self.start,
            };
            let next = value
                .checked_add(step)
                .ok_or_else(|| self.corrupt("the sequence overflows an i64"))?;
            let now = Value::String(self.clock.now_iso());
            let mut body = current.unwrap_or_default();
            body.insert("value".into(), Value::from(next));
            body.entry("name")
                .or_insert_with(|| self.name.clone().into());
            let mode = match etag {
                Some(etag) => {
                    body.insert("updatedAt".into(), now);
                    PutMode::IfMatch(etag)
                }
                None => {
                    body.insert("createdAt".into(), now);
                    PutMode::Create
                }
            };
            if self.write(&body, mode).await? {
                return Ok(value);
            }
            back_off(attempt).await;
        }
        Err(Error::Conflict {
            what: self.key.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The next value to be handed out, without taking it (`None`: never advanced).
    pub async fn peek(&self) -> Result<Option<i64>> {
        match self.read().await?.0 {
            None => Ok(None),
            Some(body) => stored_value(&body)
                .map(Some)
                .ok_or_else(|| self.corrupt("the body has no integer \"value\"")),
        }
    }

    /// Sets the next value to hand out to `value` (an unconditional write, as s3db.js's
    /// `resetSequence`; an advance racing with it may hand out a value from before).
    pub async fn reset(&self, value: i64) -> Result<()> {
        let mut body = self.read().await?.0.unwrap_or_default();
        let now = Value::String(self.clock.now_iso());
        body.insert("value".into(), Value::from(value));
        body.insert("name".into(), self.name.clone().into());
        body.entry("createdAt").or_insert_with(|| now.clone());
        body.insert("updatedAt".into(), now.clone());
        body.insert("resetAt".into(), now);
        self.write(&body, PutMode::Overwrite).await?;
        Ok(())
    }

    /// The stored body and its ETag (`None`s when absent).
    async fn read(&self) -> Result<(Option<Map<String, Value>>, Option<String>)> {
        let found = match self.storage.get(&self.key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok((None, None)),
            Err(e) => return Err(e.into()),
        };
        let body = serde_json::from_slice(&found.body)
            .map_err(|e| self.corrupt(&format!("not a JSON object: {e}")))?;
        Ok((Some(body), Some(found.meta.etag)))
    }

    /// Writes `body`; `false` when the condition failed (another writer won).
    async fn write(&self, body: &Map<String, Value>, mode: PutMode) -> Result<bool> {
        let payload = json_payload(&Value::Object(body.clone()));
        match self.storage.put(&self.key, payload, mode).await {
            Ok(_) => Ok(true),
            Err(e) if is_lost_race(e.kind()) || e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn corrupt(&self, reason: &str) -> Error {
        Error::Corrupt {
            key: self.key.clone(),
            reason: reason.to_owned(),
        }
    }
}

fn json_payload(value: &Value) -> PutPayload {
    PutPayload {
        body: value.to_string().into(),
        content_type: Some("application/json".into()),
        ..PutPayload::default()
    }
}

fn is_lost_race(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
    )
}

/// The stored `value` (s3db.js writes a JSON number).
fn stored_value(body: &Map<String, Value>) -> Option<i64> {
    let value = body.get("value")?;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i64)
    })
}

/// After a lost race: a short random pause (full jitter, cap growing to 20 ms), so racing
/// processes spread out instead of colliding again.
async fn back_off(attempt: u32) {
    let cap_micros = (250u64 << attempt.min(7)).min(20_000);
    let wait = ThreadRandom.below_or_equal(cap_micros);
    tokio::time::sleep(Duration::from_micros(wait)).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_storage::MemoryStorage;

    use super::*;

    fn sequence() -> Sequence {
        Sequence::for_resource(Arc::new(MemoryStorage::new()), "orders", "id")
    }

    #[tokio::test]
    async fn stores_the_s3dbjs_shape_and_continues_its_value() {
        let seq = sequence();
        assert_eq!(seq.peek().await.unwrap(), None);
        // s3db.js wrote value 41 (the next to hand out) with its own fields.
        let js = r#"{"value":41,"name":"id","createdAt":"2024-01-01T00:00:00.000Z","x":1}"#;
        seq.storage
            .put(
                seq.key(),
                PutPayload {
                    body: js.into(),
                    ..PutPayload::default()
                },
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        assert_eq!(seq.next().await.unwrap(), 41);
        let stored = seq.storage.get(seq.key()).await.unwrap();
        let body: Value = serde_json::from_slice(&stored.body).unwrap();
        assert_eq!(body["value"], 42);
        assert_eq!(body["name"], "id");
        assert_eq!(body["x"], 1, "fields s3db.js wrote are kept");
        assert!(body["updatedAt"].is_string());
        assert_eq!(seq.key(), "resource=orders/sequence=id/value");
    }

    #[tokio::test]
    async fn concurrent_next_is_unique_and_gap_free() {
        let seq = sequence().start(100);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let seq = seq.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    for _ in 0..10 {
                        got.push(seq.next().await.unwrap());
                    }
                    got
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (100..180).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn advances_under_the_s3dbjs_lock_and_clears_an_expired_one() {
        let clock = crate::clock::ManualClock::at_millis(1_000_000);
        let seq = sequence().clock(Arc::new(clock));
        let lock = "resource=orders/sequence=id/lock";
        // An s3db.js process died holding the lock; it expired at 999 999.
        let dead = r#"{"workerId":"js","token":"t","acquiredAt":989999,"_expiresAt":999999}"#;
        let payload = PutPayload {
            body: dead.into(),
            ..PutPayload::default()
        };
        seq.storage
            .put(lock, payload, PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(seq.next().await.unwrap(), 1);
        assert_eq!(seq.next().await.unwrap(), 2);
        let left = seq.storage.get(lock).await;
        assert!(left.is_err(), "released after each advance");
        let plain = Sequence::new(Arc::clone(&seq.storage), "other", "other");
        assert_eq!(
            plain.next().await.unwrap(),
            1,
            "Sequence::new takes no lock"
        );
    }

    #[tokio::test]
    async fn reserve_reset_and_bad_steps() {
        let seq = sequence();
        assert_eq!(seq.reserve(5).await.unwrap(), 1..6);
        assert_eq!(seq.advance(-2).await.unwrap(), 6);
        seq.reset(1000).await.unwrap();
        assert_eq!(seq.next().await.unwrap(), 1000);
        assert!(matches!(
            seq.advance(0).await,
            Err(Error::Unsupported { .. })
        ));
    }
}
