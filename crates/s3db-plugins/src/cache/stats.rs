//! Hit/miss counters, per resource and in total.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the cache did, for one resource or all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to the database (expired entries included).
    pub misses: u64,
    /// Misses that found an entry older than the TTL.
    pub expired: u64,
    /// Results stored.
    pub stores: u64,
    /// Results not stored because a write landed while they were being read.
    pub stale_skips: u64,
    /// Writes (and write events) that invalidated the resource's entries.
    pub invalidations: u64,
    /// Driver failures (logged; the read went to the database).
    pub errors: u64,
}

impl CacheStats {
    /// Hits over reads, 0 when nothing was read.
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }

    pub(crate) fn add(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
        self.stores += other.stores;
        self.stale_skips += other.stale_skips;
        self.invalidations += other.invalidations;
        self.errors += other.errors;
    }
}

/// The live counters behind a [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) stores: AtomicU64,
    pub(crate) stale_skips: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: load(&self.hits),
            misses: load(&self.misses),
            expired: load(&self.expired),
            stores: load(&self.stores),
            stale_skips: load(&self.stale_skips),
            invalidations: load(&self.invalidations),
            errors: load(&self.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_sum() {
        assert_eq!(CacheStats::default().hit_ratio(), 0.0);
        let mut total = CacheStats {
            hits: 3,
            misses: 1,
            ..CacheStats::default()
        };
        assert_eq!(total.hit_ratio(), 0.75);
        total.add(&CacheStats {
            hits: 1,
            misses: 3,
            errors: 2,
            ..CacheStats::default()
        });
        assert_eq!((total.hits, total.misses, total.errors), (4, 4, 2));
    }
}
