//! HTTP webhook target: each change (or batch of changes) POSTed as JSON, signed with
//! HMAC-SHA256.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ring::hmac;
use serde_json::Value;

use super::change::TargetChange;
use super::http::{Http, refused};
use super::jsonl::change_json;
use super::target::ReplicationTarget;
use crate::{Error, Result};

/// The header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-s3db-timestamp";
/// The header carrying the signature, `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-s3db-signature";

/// POSTs changes to a URL as JSON, signed so the receiver can tell they come from you.
///
/// The body is [`change_json`] of the change,
/// `{"op":"upsert","resource":"users","id":"u1","record":{..}}` (no `record` for a delete),
/// or, with [`WebhookTarget::batch`] above 1, always a JSON array of them (the changes
/// queued together, in write order, up to that many per request). Each request carries
/// `content-type: application/json`, [`TIMESTAMP_HEADER`] (Unix seconds) and
/// [`SIGNATURE_HEADER`]: `v1=` and the hex HMAC-SHA256, keyed with the secret, of
/// `"{timestamp}.{body}"` — the scheme of Stripe's and GitHub's webhooks. Receivers check
/// it with [`verify_webhook_signature`] (or the same three lines in any language) and
/// refuse old timestamps to stop replays.
///
/// A 2xx response acknowledges the change; anything else (a 500, a timeout, a refused
/// connection) is an error, retried by the replicator's [`super::RetryPolicy`] and then
/// dead-lettered. A retried request is signed again (new timestamp, same body): receivers
/// should be idempotent, e.g. by `(resource, id)` and the record's content.
///
/// ```
/// use std::time::Duration;
/// use s3db_plugins::replicator::{ReplicationTarget, WebhookTarget};
///
/// let target = WebhookTarget::new("https://hooks.example.com/s3db", "shared-secret")
///     .named("hooks")
///     .batch(50)
///     .header("authorization", "Bearer abc")
///     .timeout(Duration::from_secs(10));
/// assert_eq!((target.name(), target.max_batch()), ("hooks", 50));
/// ```
pub struct WebhookTarget {
    name: String,
    url: String,
    key: hmac::Key,
    batch: usize,
    headers: Vec<(String, String)>,
    http: Http,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a token and the headers credentials: only the name is shown.
        f.debug_struct("WebhookTarget")
            .field("name", &self.name)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl WebhookTarget {
    /// A target named `webhook` POSTing each change alone to `url`, signed with `secret`.
    pub fn new(url: impl Into<String>, secret: impl AsRef<[u8]>) -> WebhookTarget {
        WebhookTarget {
            name: "webhook".into(),
            url: url.into(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref()),
            batch: 1,
            headers: Vec::new(),
            http: Http::new(),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> WebhookTarget {
        self.name = name.into();
        self
    }

    /// Above 1: bodies are JSON arrays of up to `changes` changes (a single change too, so
    /// the receiver sees one shape). 1 (the default): one change, one object, per request.
    pub fn batch(mut self, changes: usize) -> WebhookTarget {
        self.batch = changes.max(1);
        self
    }

    /// Adds a header to every request (an `authorization` token, a tenant id…).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> WebhookTarget {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How long a request may take before it fails (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> WebhookTarget {
        self.http = Http::with_timeout(timeout);
        self
    }

    async fn post(&self, changes: &[TargetChange]) -> Result<()> {
        let body = if self.batch > 1 {
            Value::Array(changes.iter().map(change_json).collect())
        } else {
            match changes {
                [change] => change_json(change),
                _ => {
                    return Err(Error::Target {
                        target: self.name.clone(),
                        reason: format!("{} changes for an unbatched webhook", changes.len()),
                        source: None,
                    });
                }
            }
        };
        let body = body.to_string();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        let signature = sign(&self.key, &timestamp, body.as_bytes());
        let mut request = self
            .http
            .client(&self.name)?
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let what = format!("POST of {} changes", changes.len());
        let (status, response) = self
            .http
            .send(&self.name, &what, request.body(body))
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(refused(&self.name, &what, status, &response))
        }
    }
}

/// `v1=` and the hex HMAC-SHA256 of `"{timestamp}.{body}"`.
fn sign(key: &hmac::Key, timestamp: &str, body: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(timestamp.as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1={}", hex::encode(context.sign().as_ref()))
}

/// Checks a request a [`WebhookTarget`] signed with `secret`: `signature` is its
/// [`SIGNATURE_HEADER`], `timestamp` its [`TIMESTAMP_HEADER`], `body` the raw body. True when
/// the signature matches (compared in constant time) and the timestamp is within `tolerance`
/// of `now` (refuses replays of old requests).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use s3db_plugins::replicator::verify_webhook_signature;
///
/// // What a receiver got (signed at Unix time 1700000000 with "secret"):
/// let body = br#"{"op":"delete","resource":"users","id":"u1"}"#;
/// let signature = "v1=d4eb31bcab7c08c9f9bd8b8fa6be5e4dc04ea0417d960d7f069c87b749ccd152";
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_010);
/// let window = Duration::from_secs(300);
/// assert!(verify_webhook_signature(b"secret", "1700000000", signature, body, at, window));
/// // A day later the same request is a replay:
/// let later = at + Duration::from_secs(86_400);
/// assert!(!verify_webhook_signature(b"secret", "1700000000", signature, body, later, window));
/// ```
pub fn verify_webhook_signature(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> bool {
    let Ok(signed_at) = timestamp.parse::<u64>() else {
        return false;
    };
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if now.abs_diff(signed_at) > tolerance.as_secs() {
        return false;
    }
    let Some(Ok(tag)) = signature.strip_prefix("v1=").map(hex::decode) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    hmac::verify(&key, &message, &tag).is_ok()
}

#[async_trait]
impl ReplicationTarget for WebhookTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        self.post(std::slice::from_ref(change)).await
    }

    fn max_batch(&self) -> usize {
        self.batch
    }

    async fn apply_batch(&self, changes: &[TargetChange]) -> Result<()> {
        self.post(changes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_or_age_fails() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"secret");
        let body = br#"{"op":"delete","resource":"users","id":"u1"}"#;
        let signature = sign(&key, "1700000000", body);
        assert!(signature.starts_with("v1=") && signature.len() == 3 + 64);
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let window = Duration::from_secs(300);
        let check = |secret: &[u8], ts, sig: &str, body: &[u8], now| {
            verify_webhook_signature(secret, ts, sig, body, at(now), window)
        };
        assert!(check(
            b"secret",
            "1700000000",
            &signature,
            body,
            1_700_000_010
        ));
        assert!(!check(
            b"other",
            "1700000000",
            &signature,
            body,
            1_700_000_010
        ));
        assert!(!check(
            b"secret",
            "1700000001",
            &signature,
            body,
            1_700_000_010
        ));
        assert!(!check(
            b"secret",
            "1700000000",
            &signature,
            b"{}",
            1_700_000_010
        ));
        assert!(!check(
            b"secret",
            "1700000000",
            &signature,
            body,
            1_700_000_301
        ));
        assert!(!check(
            b"secret",
            "1700000000",
            "v1=zz",
            body,
            1_700_000_010
        ));
        assert!(!check(b"secret", "soon", &signature, body, 1_700_000_010));
    }
}
