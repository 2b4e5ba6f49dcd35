//! The counters: one series per (resource, operation), with a fixed-bucket latency histogram.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use s3db_core::extend::Operation;

/// Upper bounds (seconds) of the latency histogram buckets; a last `+Inf` bucket is implied.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What was observed for one operation of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationStats {
    /// The resource.
    pub resource: String,
    /// The operation (s3db.js method name, `getMany`).
    pub operation: &'static str,
    /// Calls completed (successful or not).
    pub count: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Cumulative bucket counts: `buckets[i]` calls took at most `LATENCY_BUCKETS[i]`
    /// seconds (the `+Inf` bucket is [`OperationStats::count`]).
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    /// Total time of all calls, in seconds.
    pub sum_seconds: f64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Series {
    count: u64,
    errors: u64,
    /// Per-bucket (not cumulative) counts; calls slower than the last bound count in none.
    buckets: [u64; LATENCY_BUCKETS.len()],
    sum_seconds: f64,
}

/// Every series, sorted by resource then operation name.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    series: Mutex<BTreeMap<(String, &'static str), Series>>,
}

impl Registry {
    /// Records one call of `operation` on `resource` that took `took`.
    pub(crate) fn observe(&self, resource: &str, operation: Operation, took: Duration, ok: bool) {
        let seconds = took.as_secs_f64();
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = series
            .entry((resource.to_owned(), operation.as_str()))
            .or_default();
        entry.count += 1;
        if !ok {
            entry.errors += 1;
        }
        entry.sum_seconds += seconds;
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|le| seconds <= *le) {
            entry.buckets[bucket] += 1;
        }
    }

    /// A copy of every series, sorted by resource then operation name.
    pub(crate) fn stats(&self) -> Vec<OperationStats> {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series
            .iter()
            .map(|((resource, operation), s)| {
                let mut buckets = s.buckets;
                let mut running = 0;
                for bucket in &mut buckets {
                    running += *bucket;
                    *bucket = running;
                }
                OperationStats {
                    resource: resource.clone(),
                    operation,
                    count: s.count,
                    errors: s.errors,
                    buckets,
                    sum_seconds: s.sum_seconds,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let registry = Registry::default();
        let ms = Duration::from_millis;
        registry.observe("users", Operation::Get, ms(1), true);
        registry.observe("users", Operation::Get, ms(30), false);
        registry.observe("users", Operation::Get, ms(9_000), true);
        registry.observe("a", Operation::Insert, ms(0), true);
        let stats = registry.stats();
        assert_eq!(stats.len(), 2);
        assert_eq!(
            (stats[0].resource.as_str(), stats[0].operation),
            ("a", "insert")
        );
        let get = &stats[1];
        assert_eq!((get.count, get.errors), (3, 1));
        assert_eq!(get.buckets, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
        assert!((get.sum_seconds - 9.031).abs() < 1e-9);
    }
}
