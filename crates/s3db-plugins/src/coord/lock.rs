//! [`Lock`]: a lease lock with a fencing token, in one [`CasDoc`].
//!
//! The lock object holds `{"holder", "token", "expiresAt"}`. Acquiring reads it and writes
//! it conditionally (create when absent, `If-Match` otherwise): a free, released or expired
//! lock is taken with `token + 1`, so every acquisition has a larger token than all before
//! it. The holder renews the lease (`If-Match` on the ETag it wrote) and releases it
//! (`If-Match` again, keeping the token). A holder that stalled past its lease finds on its
//! next renewal or release that the lock moved on ([`Error::LockLost`]); the writes it still
//! tries can be refused by the token: [`Lock::check`] compares it with the lock's, and
//! [`fenced_update`] refuses a write to a document a later token already wrote
//! ([`Error::StaleToken`]).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use s3db_storage::Storage;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cas::{CasDoc, Change};
use crate::clock::{SharedClock, SystemClock};
use crate::{Error, Result};

/// Conditional write rounds of one acquisition attempt (a lost round re-reads the lock).
const ACQUIRE_ROUNDS: u32 = 4;

/// The stored lock (`{"holder": …, "token": …, "expiresAt": …}`). Every field defaults, so a
/// body of another shape reads as a free lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LockState {
    /// Who holds it (`None`: released).
    pub holder: Option<String>,
    /// The fencing token of the latest acquisition.
    pub token: u64,
    /// When the lease ends, in Unix milliseconds of the lock's clock.
    pub expires_at: i64,
}

impl LockState {
    /// Whether someone holds the lock at `now_ms`.
    pub fn is_held(&self, now_ms: i64) -> bool {
        self.holder.is_some() && self.expires_at > now_ms
    }
}

/// A named lease lock in a storage, with a fencing token. Cheap to clone.
///
/// The lock object holds `{"holder", "token", "expiresAt"}`. Acquiring reads it and
/// writes it conditionally (create when absent, `If-Match` otherwise): a free, released or
/// expired lock is taken with `token + 1`, so every acquisition has a larger token than all
/// before it. The holder renews the lease and releases it with `If-Match` on the ETag it
/// wrote (release keeps the token). A holder that stalled past its lease finds on renewal
/// that the lock moved on ([`Error::LockLost`]); its late writes are refused by the token:
/// [`Lock::check`], and [`fenced_update`] ([`Error::StaleToken`]).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use s3db_plugins::coord::Lock;
/// use s3db_storage::MemoryStorage;
///
/// let storage = Arc::new(MemoryStorage::new());
/// let a = Lock::new(storage.clone(), "locks/report", Duration::from_secs(30));
/// let b = Lock::new(storage, "locks/report", Duration::from_secs(30));
/// let mut held = a.try_acquire().await?.expect("free");
/// assert!(b.try_acquire().await?.is_none(), "held by a");
/// held.renew().await?;
/// let token = held.token();
/// held.release().await?;
/// let again = b.try_acquire().await?.expect("released");
/// assert!(again.token() > token, "every acquisition gets a larger fencing token");
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Lock {
    doc: CasDoc<LockState>,
    holder: String,
    lease: Duration,
    clock: SharedClock,
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("key", &self.doc.key())
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Lock {
    /// The lock at `key` of `storage`, held for `lease` per acquisition or renewal, by a
    /// holder name unique to this process and handle, on the system clock.
    pub fn new(storage: Arc<dyn Storage>, key: impl Into<String>, lease: Duration) -> Self {
        static HANDLES: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let holder = format!(
            "{:x}-{nanos:x}-{:x}",
            std::process::id(),
            HANDLES.fetch_add(1, Ordering::Relaxed)
        );
        Lock {
            doc: CasDoc::new(storage, key),
            holder,
            lease,
            clock: Arc::new(SystemClock),
        }
    }

    /// Names the holder (shown in the lock object; unique per holder, or two handles with
    /// one name could renew each other's lease).
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// The clock deciding when a lease ends (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The lock object's key.
    pub fn key(&self) -> &str {
        self.doc.key()
    }

    /// The lease of one acquisition or renewal.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn expiry(&self) -> i64 {
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        self.clock.now_millis().saturating_add(lease)
    }

    /// Takes the lock if it is free, released or expired: `None` when someone holds it.
    /// One `GET` and one conditional `PUT` (a `GET` only when it is held).
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>> {
        let now = self.clock.now_millis();
        let step = |current: Option<&LockState>| {
            Ok(match current {
                Some(state) if state.is_held(now) => Change::Keep(()),
                _ => Change::Write(
                    LockState {
                        holder: Some(self.holder.clone()),
                        token: current.map_or(0, |s| s.token) + 1,
                        expires_at: self.expiry(),
                    },
                    (),
                ),
            })
        };
        let written = match self.doc.update(ACQUIRE_ROUNDS, step).await {
            Ok(((), written)) => written,
            // Others kept writing it: someone else holds it now.
            Err(Error::Contended { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(written
            .filter(|v| v.value.holder.as_deref() == Some(self.holder.as_str()))
            .filter(|v| v.value.expires_at > now)
            .map(|v| LockGuard {
                lock: self.clone(),
                token: v.value.token,
                etag: v.etag,
                lost: false,
            }))
    }

    /// [`Lock::try_acquire`] again and again (pausing `retry_every` between attempts) until
    /// it succeeds or `wait` has passed: `None` then.
    pub async fn acquire(
        &self,
        wait: Duration,
        retry_every: Duration,
    ) -> Result<Option<LockGuard>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(guard) = self.try_acquire().await? {
                return Ok(Some(guard));
            }
            if tokio::time::Instant::now() + retry_every > deadline {
                return Ok(None);
            }
            tokio::time::sleep(retry_every).await;
        }
    }

    /// The lock as stored (`None`: never taken). One `GET`.
    pub async fn state(&self) -> Result<Option<LockState>> {
        Ok(self.doc.load().await?.map(|v| v.value))
    }

    /// Refuses a stale fencing token: `Ok` only if `token` is the latest acquisition's and
    /// its lease still runs; else [`Error::StaleToken`]. One `GET`. The answer can change
    /// right after; writes that must never land late use [`fenced_update`].
    pub async fn check(&self, token: u64) -> Result<()> {
        let state = self.state().await?.unwrap_or_default();
        if state.token == token && state.is_held(self.clock.now_millis()) {
            Ok(())
        } else {
            Err(Error::StaleToken {
                key: self.key().to_owned(),
                token,
                current: state.token,
            })
        }
    }
}

/// A held lock: renew it while working, release it when done (dropping it without release
/// leaves the lock taken until the lease ends).
#[derive(Debug)]
pub struct LockGuard {
    lock: Lock,
    token: u64,
    etag: String,
    lost: bool,
}

impl LockGuard {
    /// The fencing token of this acquisition (larger than every earlier one).
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The lock held.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Whether a renewal found the lock taken over.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// Extends the lease by the lock's lease from now: one conditional `PUT`.
    /// [`Error::LockLost`] when the lease had ended and another holder took the lock (or it
    /// was removed): this holder must stop and its late writes will be refused.
    pub async fn renew(&mut self) -> Result<()> {
        let state = LockState {
            holder: Some(self.lock.holder.clone()),
            token: self.token,
            expires_at: self.lock.expiry(),
        };
        match self.lock.doc.replace(&state, &self.etag).await? {
            Some(etag) => {
                self.etag = etag;
                Ok(())
            }
            None => {
                self.lost = true;
                Err(self.lost_error())
            }
        }
    }

    /// Releases the lock (one conditional `PUT` keeping the token, so the next acquisition
    /// still gets a larger one): `false` when it had been taken over already.
    pub async fn release(self) -> Result<bool> {
        if self.lost {
            return Ok(false);
        }
        let state = LockState {
            holder: None,
            token: self.token,
            expires_at: 0,
        };
        Ok(self.lock.doc.replace(&state, &self.etag).await?.is_some())
    }

    /// Releases the lock by deleting its object (one `DELETE`), for one-off locks whose key
    /// is not used again (the TTL plugin's claims): the token count starts over. A lock
    /// found lost on renewal is left to its new holder; one lost since is not detected
    /// (S3 has no conditional delete here), so use it only where a takeover is harmless.
    pub async fn remove(self) -> Result<()> {
        if self.lost {
            return Ok(());
        }
        self.lock.doc.delete().await
    }

    /// How often [`LockGuard::renewing`] renews: a third of the lease (at least 1 ms).
    pub fn renew_period(&self) -> Duration {
        (self.lock.lease / 3).max(Duration::from_millis(1))
    }

    /// Runs `work`, renewing the lease every [`LockGuard::renew_period`] meanwhile, so
    /// work longer than the lease keeps the lock. A lost lock stops the renewals (the work
    /// runs on; check [`LockGuard::is_lost`] after, and fence its writes); a failed renewal
    /// is logged and tried again next period.
    pub async fn renewing<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                () = tokio::time::sleep(self.renew_period()) => {}
            }
            match self.renew().await {
                Ok(()) => {}
                Err(Error::LockLost { .. }) => {
                    tracing::warn!(key = %self.lock.key(), token = self.token, "lock lost to another holder while working");
                    return work.await;
                }
                Err(error) => {
                    tracing::warn!(key = %self.lock.key(), %error, "could not renew a lock");
                }
            }
        }
    }

    fn lost_error(&self) -> Error {
        Error::LockLost {
            key: self.lock.key().to_owned(),
            token: self.token,
        }
    }
}

/// A document written under a lock: the value and the largest fencing token that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fenced<T> {
    /// The fencing token of the last write.
    pub token: u64,
    /// The document.
    pub value: T,
}

/// Changes `doc` on behalf of the holder of fencing token `token`: like
/// [`CasDoc::update`], but refused with [`Error::StaleToken`] when a larger token wrote
/// the document already (a holder that lost its lock and writes late). One `GET` and one
/// conditional `PUT` when uncontended.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use s3db_plugins::coord::{fenced_update, CasDoc, Change, Fenced};
/// use s3db_storage::MemoryStorage;
///
/// let doc = CasDoc::<Fenced<String>>::new(Arc::new(MemoryStorage::new()), "report");
/// fenced_update(&doc, 2, |_| Ok(Change::Write("by holder 2".to_owned(), ()))).await?;
/// let late = fenced_update(&doc, 1, |_| Ok(Change::Write("by holder 1".to_owned(), ()))).await;
/// assert!(matches!(late, Err(s3db_plugins::Error::StaleToken { token: 1, current: 2, .. })));
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub async fn fenced_update<T, R>(
    doc: &CasDoc<Fenced<T>>,
    token: u64,
    mut step: impl FnMut(Option<&T>) -> Result<Change<T, R>>,
) -> Result<R>
where
    T: Serialize + DeserializeOwned,
{
    let (result, _) = doc
        .update(16, |current: Option<&Fenced<T>>| {
            if let Some(current) = current
                && current.token > token
            {
                return Err(Error::StaleToken {
                    key: doc.key().to_owned(),
                    token,
                    current: current.token,
                });
            }
            Ok(match step(current.map(|c| &c.value))? {
                Change::Write(value, r) => Change::Write(Fenced { token, value }, r),
                Change::Keep(r) => Change::Keep(r),
            })
        })
        .await?;
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_storage::MemoryStorage;

    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn pair(clock: &ManualClock) -> (Lock, Lock) {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let lock = |name| {
            Lock::new(Arc::clone(&storage), "locks/x", Duration::from_secs(60))
                .holder(name)
                .clock(Arc::new(clock.clone()))
        };
        (lock("a"), lock("b"))
    }

    #[tokio::test]
    async fn a_stalled_holder_is_fenced_off_after_another_acquisition() {
        let clock = ManualClock::at_millis(1_000_000);
        let (a, b) = pair(&clock);
        let mut stalled = a.try_acquire().await.unwrap().unwrap();
        assert_eq!(stalled.token(), 1);
        clock.advance(Duration::from_secs(59));
        assert!(b.try_acquire().await.unwrap().is_none(), "lease still runs");
        clock.advance(Duration::from_secs(2));
        let taker = b.try_acquire().await.unwrap().expect("the lease ended");
        assert_eq!(taker.token(), 2);
        let doc = CasDoc::<Fenced<u32>>::new(Arc::clone(a.doc.storage()), "protected");
        fenced_update(&doc, taker.token(), |_| Ok(Change::Write(7, ())))
            .await
            .unwrap();
        // The stalled holder wakes up: every path refuses it.
        let late = fenced_update(&doc, stalled.token(), |_| Ok(Change::Write(1, ()))).await;
        assert!(
            matches!(
                late,
                Err(Error::StaleToken {
                    token: 1,
                    current: 2,
                    ..
                })
            ),
            "{late:?}"
        );
        assert!(matches!(
            a.check(stalled.token()).await,
            Err(Error::StaleToken { .. })
        ));
        b.check(taker.token()).await.unwrap();
        assert!(matches!(
            stalled.renew().await,
            Err(Error::LockLost { token: 1, .. })
        ));
        assert!(!stalled.release().await.unwrap(), "nothing to release");
        assert_eq!(doc.load().await.unwrap().unwrap().value.value, 7);
        assert!(
            b.state()
                .await
                .unwrap()
                .unwrap()
                .is_held(clock.now_millis())
        );
    }

    #[tokio::test]
    async fn renewal_keeps_and_release_frees_with_the_token_kept() {
        let clock = ManualClock::at_millis(0);
        let (a, b) = pair(&clock);
        let mut held = a.try_acquire().await.unwrap().unwrap();
        for _ in 0..5 {
            clock.advance(Duration::from_secs(40));
            held.renew().await.unwrap();
        }
        assert!(
            b.try_acquire().await.unwrap().is_none(),
            "renewed 200 s later"
        );
        assert!(held.release().await.unwrap());
        let state = b.state().await.unwrap().unwrap();
        assert_eq!((state.holder, state.token), (None, 1));
        assert_eq!(b.try_acquire().await.unwrap().unwrap().token(), 2);
    }
}
