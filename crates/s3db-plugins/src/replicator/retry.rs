//! Bounded retries with exponential backoff.

use std::time::Duration;

use super::change::TargetChange;
use super::target::ReplicationTarget;
use crate::Error;

/// How often and how patiently a change is retried before it becomes a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub initial_backoff: Duration,
    /// Upper bound of a wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, waiting 100 ms, 200 ms, 400 ms, 800 ms in between (at most 5 s each).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait after the failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A change that failed every attempt.
#[derive(Debug)]
pub(crate) struct Exhausted {
    /// How many attempts were made.
    pub attempts: u32,
    /// The last error.
    pub error: Error,
}

/// Applies `change` to `target`, retrying with backoff; calls `on_failure` after each
/// failed attempt. Returns the number of attempts made on success.
pub(crate) async fn apply_with_retry(
    policy: &RetryPolicy,
    target: &dyn ReplicationTarget,
    change: &TargetChange,
    on_failure: impl Fn(&Error),
) -> Result<u32, Exhausted> {
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        match target.apply(change).await {
            Ok(()) => return Ok(attempt),
            Err(error) => {
                on_failure(&error);
                tracing::debug!(target = target.name(), id = %change.id, attempt, %error, "replication attempt failed");
                if attempt >= max_attempts {
                    return Err(Exhausted {
                        attempts: attempt,
                        error,
                    });
                }
                tokio::time::sleep(policy.backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let waits: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
    }
}
