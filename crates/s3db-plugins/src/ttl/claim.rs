//! Claims: a sweeper handles an index entry only after creating `claims/<entry key>` with a
//! conditional create (`If-None-Match: *`), so of several sweepers exactly one wins it.
//!
//! The winner deletes the entry before releasing (deleting) its claim; a sweeper that claims
//! afterwards then finds the entry gone and backs off. While it works, the winner renews its
//! claim (an `If-Match` write on its ETag) every third of the timeout, so a claim older than
//! the timeout belongs to a sweeper that died or stalled: it may be taken over with an
//! `If-Match` write on the claim's ETag, which again only one sweeper wins.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use s3db_storage::{ErrorKind, PutMode, PutPayload, Storage};
use serde_json::json;

use super::index::Entry;
use crate::error::{Error, Result};
use crate::json_object::json_payload;

const CLAIM_PREFIX: &str = "claims/";

/// The outcome of a claim attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This sweeper holds the claim (to renew and release).
    Won(HeldClaim),
    /// Another sweeper holds it.
    Taken,
}

/// A claim this sweeper holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaim {
    /// The claim object's key.
    pub key: String,
    /// Its ETag as this sweeper last wrote it.
    etag: String,
    /// Another sweeper took it over: releasing it must not delete their claim.
    lost: bool,
}

/// Makes claims on behalf of one sweeper.
#[derive(Debug)]
pub struct Claimer {
    owner: String,
    serial: AtomicU64,
    timeout: Duration,
}

impl Claimer {
    /// A claimer whose claims expire after `timeout`. Its owner tag is unique per process
    /// and claimer, so two claims never have the same body.
    pub fn new(timeout: Duration) -> Claimer {
        static CLAIMERS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let owner = format!(
            "{:x}-{nanos:x}-{:x}",
            std::process::id(),
            CLAIMERS.fetch_add(1, Ordering::Relaxed)
        );
        Claimer {
            owner,
            serial: AtomicU64::new(0),
            timeout,
        }
    }

    fn body(&self, now_ms: i64) -> PutPayload {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let body = json!({"claimedAt": now_ms, "owner": self.owner, "serial": serial});
        json_payload(body.to_string())
    }

    /// Tries to claim `entry` in `storage` at `now_ms`.
    pub async fn claim(
        &self,
        storage: &Arc<dyn Storage>,
        entry: &Entry,
        now_ms: i64,
    ) -> Result<Claim> {
        let key = format!("{CLAIM_PREFIX}{}", entry.key);
        match storage.put(&key, self.body(now_ms), PutMode::Create).await {
            Ok(etag) => {
                return Ok(Claim::Won(HeldClaim {
                    key,
                    etag,
                    lost: false,
                }));
            }
            Err(e) if is_lost_race(e.kind()) => {}
            Err(e) => return Err(e.into()),
        }
        let held = match storage.get(&key).await {
            Ok(held) => held,
            // Released meanwhile: its holder finished; the next sweep sees what is left.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Claim::Taken),
            Err(e) => return Err(e.into()),
        };
        let claimed_at = serde_json::from_slice::<serde_json::Value>(&held.body)
            .ok()
            .and_then(|v| v.get("claimedAt").and_then(serde_json::Value::as_i64))
            .ok_or_else(|| Error::Corrupt {
                key: key.clone(),
                reason: "a TTL claim without a numeric claimedAt".into(),
            })?;
        let age = u64::try_from(now_ms.saturating_sub(claimed_at)).unwrap_or(0);
        let stale = Duration::from_millis(age) > self.timeout;
        if !stale || !storage.capabilities().conditional_update {
            return Ok(Claim::Taken);
        }
        let mode = PutMode::IfMatch(held.meta.etag);
        match storage.put(&key, self.body(now_ms), mode).await {
            Ok(etag) => {
                tracing::warn!(%key, claimed_at, "TTL sweep takes over a stale claim");
                Ok(Claim::Won(HeldClaim {
                    key,
                    etag,
                    lost: false,
                }))
            }
            Err(e) if is_lost_race(e.kind()) || e.kind() == ErrorKind::NotFound => Ok(Claim::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// How often a held claim is renewed: a third of the timeout (at least 1 ms).
    pub fn renew_period(&self) -> Duration {
        (self.timeout / 3).max(Duration::from_millis(1))
    }

    /// Renews a held claim as of `now_ms`: `Ok(false)` when another sweeper took it over
    /// (or it is gone), so this sweeper no longer holds it.
    pub async fn renew(
        &self,
        storage: &Arc<dyn Storage>,
        held: &mut HeldClaim,
        now_ms: i64,
    ) -> Result<bool> {
        let mode = PutMode::IfMatch(held.etag.clone());
        match storage.put(&held.key, self.body(now_ms), mode).await {
            Ok(etag) => {
                held.etag = etag;
                Ok(true)
            }
            Err(e) if is_lost_race(e.kind()) || e.kind() == ErrorKind::NotFound => {
                held.lost = true;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Releases a claim this sweeper won; a claim found lost on renewal is left to the
    /// sweeper holding it now.
    pub async fn release(&self, storage: &Arc<dyn Storage>, held: &HeldClaim) -> Result<()> {
        if held.lost {
            return Ok(());
        }
        Ok(storage.delete(&held.key).await?)
    }
}

fn is_lost_race(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_storage::MemoryStorage;

    use super::*;

    #[tokio::test]
    async fn a_renewed_claim_stays_fresh() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let entry = Entry::new(5, "a");
        let (first, second) = (
            Claimer::new(Duration::from_secs(60)),
            Claimer::new(Duration::from_secs(60)),
        );
        let Claim::Won(mut held) = first.claim(&storage, &entry, 1_000).await.unwrap() else {
            panic!("an unclaimed entry is won")
        };
        assert!(first.renew(&storage, &mut held, 50_000).await.unwrap());
        assert!(first.renew(&storage, &mut held, 100_000).await.unwrap());
        // 99 s after the first claim, 0 s after the last renewal: still held.
        assert_eq!(
            second.claim(&storage, &entry, 100_000).await.unwrap(),
            Claim::Taken
        );
        assert_eq!(first.renew_period(), Duration::from_secs(20));
    }

    #[tokio::test]
    async fn one_claim_wins_until_released_or_stale() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let entry = Entry::new(5, "a");
        let (first, second) = (
            Claimer::new(Duration::from_secs(60)),
            Claimer::new(Duration::from_secs(60)),
        );
        let won = first.claim(&storage, &entry, 1_000).await.unwrap();
        assert!(matches!(won, Claim::Won(_)));
        assert_eq!(
            second.claim(&storage, &entry, 2_000).await.unwrap(),
            Claim::Taken
        );
        // Past the timeout the claim is taken over, once.
        let late = 1_000 + 61_000;
        let taken_over = second.claim(&storage, &entry, late).await.unwrap();
        assert!(matches!(taken_over, Claim::Won(_)));
        assert_eq!(
            first.claim(&storage, &entry, late).await.unwrap(),
            Claim::Taken
        );
        // The taken-over claim cannot be renewed by its former holder, whose release then
        // leaves the new holder's claim in place.
        let Claim::Won(mut held) = won else {
            panic!("the first claim was won")
        };
        assert!(!first.renew(&storage, &mut held, late).await.unwrap());
        first.release(&storage, &held).await.unwrap();
        assert_eq!(
            first.claim(&storage, &entry, late).await.unwrap(),
            Claim::Taken
        );
        let Claim::Won(taken_over) = taken_over else {
            panic!("the stale claim was taken over")
        };
        second.release(&storage, &taken_over).await.unwrap();
        assert!(matches!(
            first.claim(&storage, &entry, late).await.unwrap(),
            Claim::Won(_)
        ));
    }
}
