//! Claims: a sweeper handles an index entry only while it holds the [`Lock`] at
//! `claims/<entry key>`, so of several sweepers exactly one works on an entry at a time.
//!
//! The winner deletes the entry before removing its claim; a sweeper that claims afterwards
//! then finds the entry gone and backs off. While it works, the winner renews its claim
//! every third of the timeout ([`LockGuard::renewing`]), so a claim older than the timeout
//! belongs to a sweeper that died or stalled: the lock's lease has ended and another
//! sweeper takes it over with a conditional write only one of them wins.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use s3db_storage::Storage;

use super::index::Entry;
use crate::clock::SharedClock;
use crate::coord::{Lock, LockGuard};
use crate::error::Result;

const CLAIM_PREFIX: &str = "claims/";

/// The outcome of a claim attempt.
#[derive(Debug)]
pub enum Claim {
    /// This sweeper holds the claim (to renew while working, then remove).
    Won(LockGuard),
    /// Another sweeper holds it.
    Taken,
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
    /// and claimer, and each claim's holder name adds a serial number.
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

    /// Tries to claim `entry` in `storage`, leases dated by `clock`.
    pub async fn claim(
        &self,
        storage: &Arc<dyn Storage>,
        entry: &Entry,
        clock: &SharedClock,
    ) -> Result<Claim> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let lock = Lock::new(
            Arc::clone(storage),
            format!("{CLAIM_PREFIX}{}", entry.key),
            self.timeout,
        )
        .holder(format!("{}-{serial:x}", self.owner))
        .clock(Arc::clone(clock));
        Ok(match lock.try_acquire().await? {
            Some(guard) => {
                if guard.token() > 1 {
                    tracing::warn!(key = %lock.key(), "TTL sweep takes over a stale claim");
                }
                Claim::Won(guard)
            }
            None => Claim::Taken,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_storage::MemoryStorage;

    use super::*;
    use crate::Error;
    use crate::clock::ManualClock;

    fn setup() -> (Arc<dyn Storage>, Entry, ManualClock, SharedClock) {
        let clock = ManualClock::at_millis(1_000);
        let shared: SharedClock = Arc::new(clock.clone());
        (
            Arc::new(MemoryStorage::new()),
            Entry::new(5, "a"),
            clock,
            shared,
        )
    }

    #[tokio::test]
    async fn a_renewed_claim_stays_fresh() {
        let (storage, entry, clock, shared) = setup();
        let (first, second) = (
            Claimer::new(Duration::from_secs(60)),
            Claimer::new(Duration::from_secs(60)),
        );
        let Claim::Won(mut held) = first.claim(&storage, &entry, &shared).await.unwrap() else {
            panic!("an unclaimed entry is won")
        };
        clock.advance(Duration::from_secs(49));
        held.renew().await.unwrap();
        clock.advance(Duration::from_secs(50));
        held.renew().await.unwrap();
        // 99 s after the first claim, 0 s after the last renewal: still held.
        assert!(matches!(
            second.claim(&storage, &entry, &shared).await.unwrap(),
            Claim::Taken
        ));
        assert_eq!(held.renew_period(), Duration::from_secs(20));
    }

    #[tokio::test]
    async fn one_claim_wins_until_released_or_stale() {
        let (storage, entry, clock, shared) = setup();
        let (first, second) = (
            Claimer::new(Duration::from_secs(60)),
            Claimer::new(Duration::from_secs(60)),
        );
        let won = first.claim(&storage, &entry, &shared).await.unwrap();
        assert!(matches!(won, Claim::Won(_)));
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            second.claim(&storage, &entry, &shared).await.unwrap(),
            Claim::Taken
        ));
        // Past the timeout the claim is taken over, once.
        clock.advance(Duration::from_secs(61));
        let taken_over = second.claim(&storage, &entry, &shared).await.unwrap();
        assert!(matches!(taken_over, Claim::Won(_)));
        assert!(matches!(
            first.claim(&storage, &entry, &shared).await.unwrap(),
            Claim::Taken
        ));
        // The taken-over claim cannot be renewed by its former holder, whose removal then
        // leaves the new holder's claim in place.
        let Claim::Won(mut held) = won else {
            panic!("the first claim was won")
        };
        assert!(matches!(held.renew().await, Err(Error::LockLost { .. })));
        held.remove().await.unwrap();
        assert!(matches!(
            first.claim(&storage, &entry, &shared).await.unwrap(),
            Claim::Taken
        ));
        let Claim::Won(taken_over) = taken_over else {
            panic!("the stale claim was taken over")
        };
        taken_over.remove().await.unwrap();
        assert!(matches!(
            first.claim(&storage, &entry, &shared).await.unwrap(),
            Claim::Won(_)
        ));
    }
}
