//! Randomness, injected: the [`RandomSource`] a database draws record ids, write nonces and
//! conflict-backoff jitter from.
//!
//! A database takes its source from [`crate::database::DatabaseBuilder::random`]
//! ([`ThreadRandom`], the operating system-seeded generator, by default); tests give a
//! [`SeededRandom`] so two databases with the same seed produce the same ids. Plugins get
//! the same source from their [`PluginContext`](crate::extend::PluginContext::random).
//!
//! **Not for secrets.** The injected source never produces key material: the IVs of
//! encrypted `secret` fields always come from the operating system (`ring`'s
//! `SystemRandom`, in `s3db_codec::secret`), whatever source the database was given.
//!
//! A seeded source also makes the `_w` write nonce of conditional overwrites predictable:
//! give concurrent writers on one bucket different seeds (or the default source), so two
//! writers never write byte-identical bodies with the same ETag.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A source of random bytes (not for key material: see the [module docs](self)).
pub trait RandomSource: Send + Sync + Debug + 'static {
    /// Fills `dest` with random bytes.
    fn fill_bytes(&self, dest: &mut [u8]);

    /// A random `u64`.
    fn next_u64(&self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    /// A uniformly drawn integer in `0..=max`.
    fn below_or_equal(&self, max: u64) -> u64 {
        let Some(span) = max.checked_add(1) else {
            return self.next_u64();
        };
        // Rejection sampling: draws past the largest multiple of `span` would bias the result.
        let zone = u64::MAX - (u64::MAX - span + 1) % span;
        loop {
            let draw = self.next_u64();
            if draw <= zone {
                return draw % span;
            }
        }
    }
}

/// A shared random source handle.
pub type SharedRandom = Arc<dyn RandomSource>;

/// `rand`'s thread-local generator (ChaCha, seeded from the operating system): the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        rand::thread_rng().fill_bytes(dest);
    }
}

/// A deterministic source for tests: ChaCha8 seeded from a `u64`, the same sequence for the
/// same seed on every platform and `rand` version. Clones share the sequence.
///
/// ```
/// use s3db_core::random::{RandomSource, SeededRandom};
///
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert_ne!(a.next_u64(), SeededRandom::new(8).next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SeededRandom {
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl SeededRandom {
    /// A source at the start of `seed`'s sequence.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom {
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let random = SeededRandom::new(1);
        let mut seen = [false; 4];
        for _ in 0..200 {
            let n = random.below_or_equal(3);
            assert!(n <= 3);
            seen[usize::try_from(n).unwrap()] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(random.below_or_equal(0), 0);
    }

    #[test]
    fn same_seed_same_bytes() {
        let (a, b) = (SeededRandom::new(42), SeededRandom::new(42));
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_eq!(x, y);
        a.fill_bytes(&mut x);
        assert_ne!(x, y, "the sequence moves on");
    }
}
