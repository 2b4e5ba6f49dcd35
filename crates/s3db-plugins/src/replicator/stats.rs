//! Counters and the replication lag window.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many recent lag samples the percentiles are computed over.
pub const LAG_WINDOW: usize = 10_000;

/// A snapshot of the replicator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicatorStats {
    /// Changes a target acknowledged (one per change and target).
    pub replicated: u64,
    /// Changes a route's transform skipped.
    pub skipped: u64,
    /// Failed attempts (each retry that failed counts).
    pub failures: u64,
    /// Batches of several changes a target applied in one call.
    pub batches: u64,
    /// Batches a target refused as a whole (their changes were then applied one by one).
    pub batch_failures: u64,
    /// Changes given up on and written as dead letters.
    pub dead_letters: u64,
    /// Dead letters replayed successfully by `retry_dead_letters`.
    pub dead_letters_replayed: u64,
    /// Records replayed at start from journal entries other (dead) instances left.
    pub recovered: u64,
    /// Changes whose journal entry could not be written (they were queued in memory only).
    pub journal_failures: u64,
    /// Changes captured but not processed yet, added up over the targets' queues.
    pub queue_len: usize,
    /// Median time from the write to the target's acknowledgement (recent window).
    pub lag_p50: Option<Duration>,
    /// 95th percentile of the same.
    pub lag_p95: Option<Duration>,
    /// Number of lag samples the percentiles were computed from.
    pub lag_samples: usize,
}

/// Live counters, shared by the hooks and the workers.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub replicated: AtomicU64,
    pub skipped: AtomicU64,
    pub failures: AtomicU64,
    pub batches: AtomicU64,
    pub batch_failures: AtomicU64,
    pub dead_letters: AtomicU64,
    pub dead_letters_replayed: AtomicU64,
    pub recovered: AtomicU64,
    pub journal_failures: AtomicU64,
    lags: Mutex<VecDeque<Duration>>,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one acknowledged change and its lag.
    pub fn acknowledged(&self, lag: Duration) {
        Counters::bump(&self.replicated);
        let mut lags = self.lags.lock().unwrap_or_else(PoisonError::into_inner);
        if lags.len() == LAG_WINDOW {
            lags.pop_front();
        }
        lags.push_back(lag);
    }

    /// The snapshot, with the given queue length.
    pub fn snapshot(&self, queue_len: usize) -> ReplicatorStats {
        let mut lags: Vec<Duration> = self
            .lags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        lags.sort_unstable();
        ReplicatorStats {
            replicated: self.replicated.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            batch_failures: self.batch_failures.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            dead_letters_replayed: self.dead_letters_replayed.load(Ordering::Relaxed),
            recovered: self.recovered.load(Ordering::Relaxed),
            journal_failures: self.journal_failures.load(Ordering::Relaxed),
            queue_len,
            lag_p50: percentile(&lags, 50),
            lag_p95: percentile(&lags, 95),
            lag_samples: lags.len(),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 95), Some(Duration::from_millis(95)));
        assert_eq!(
            percentile(&samples[..1], 95),
            Some(Duration::from_millis(1))
        );
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn the_window_keeps_the_latest_samples() {
        let counters = Counters::default();
        for _ in 0..LAG_WINDOW {
            counters.acknowledged(Duration::from_secs(1));
        }
        for _ in 0..LAG_WINDOW {
            counters.acknowledged(Duration::from_millis(1));
        }
        let stats = counters.snapshot(0);
        assert_eq!(stats.replicated, 2 * LAG_WINDOW as u64);
        assert_eq!(stats.lag_samples, LAG_WINDOW);
        assert_eq!(stats.lag_p95, Some(Duration::from_millis(1)));
    }
}
