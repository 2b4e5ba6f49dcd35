//! Time for plugins that depend on it (cache TTL, TTL sweeps, audit timestamps), injected so
//! tests move time forward instead of sleeping.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Now as milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64 {
        let nanos = self.now().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(nanos).unwrap_or(i64::MAX)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to: for tests.
///
/// ```
/// use std::time::Duration;
/// use s3db_plugins::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_millis(1_000);
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now_millis(), 3_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// A clock stopped `millis` milliseconds after the Unix epoch.
    pub fn at_millis(millis: i64) -> ManualClock {
        let nanos = i128::from(millis) * 1_000_000;
        ManualClock::new(
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        )
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by.try_into().unwrap_or(time::Duration::MAX));
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `at` in UTC as s3db.js writes timestamps (`Date.toISOString`: always three fraction
/// digits, `2024-01-02T03:04:05.000Z`), so timestamps sort as text.
pub fn iso(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Parses an RFC 3339 / ISO-8601 timestamp such as `2024-01-02T03:04:05.678Z`.
pub fn parse_iso(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_milliseconds_and_round_trips() {
        let clock = ManualClock::at_millis(1_700_000_000_123);
        let text = iso(clock.now());
        assert_eq!(text, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_iso(&text), Some(clock.now()));
        assert_eq!(parse_iso("yesterday"), None);
        let whole = ManualClock::at_millis(1_700_000_000_000);
        assert_eq!(iso(whole.now()), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_millis(0);
        assert_eq!(clock.now_millis(), 0);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_millis(), 1_500);
    }
}
