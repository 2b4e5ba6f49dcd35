//! Time, injected: the one [`Clock`] trait the core and the plugins read "now" from, and
//! timestamps in the form s3db.js writes (`Date.prototype.toISOString`).
//!
//! A database takes its clock from [`crate::database::DatabaseBuilder::clock`] (the
//! [`SystemClock`] by default) and dates records (`createdAt`/`updatedAt`), definitions and
//! `s3db.json` with it; plugins get the same clock from their
//! [`PluginContext`](crate::extend::PluginContext::clock). Tests give a [`ManualClock`] and
//! move time forward instead of sleeping.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Now as milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64 {
        let millis = self.now().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).unwrap_or(i64::MAX)
    }

    /// Now as s3db.js writes timestamps ([`iso`]).
    fn now_iso(&self) -> String {
        iso(self.now())
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

/// A clock that only moves when told to: for tests. Clones share the time.
///
/// ```
/// use std::time::Duration;
/// use s3db_core::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_millis(1_000);
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now_millis(), 3_000);
/// assert_eq!(clock.now_iso(), "1970-01-01T00:00:03.000Z");
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

/// A point in time as [`iso`] writes it.
pub fn time_iso(at: SystemTime) -> String {
    iso(OffsetDateTime::from(at))
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
        let text = clock.now_iso();
        assert_eq!(text, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_iso(&text), Some(clock.now()));
        assert_eq!(parse_iso("yesterday"), None);
        let whole = ManualClock::at_millis(1_700_000_000_000);
        assert_eq!(iso(whole.now()), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn system_times_format_like_to_iso_string() {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(1_795_786_299_684);
        assert_eq!(time_iso(at), "2026-11-27T13:31:39.684Z");
        assert_eq!(
            parse_iso("2026-11-27T13:31:39.684Z").map(SystemTime::from),
            Some(at)
        );
    }

    #[test]
    fn system_clock_looks_like_to_iso_string() {
        let now = SystemClock.now_iso();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z'));
        assert_eq!(&now[10..11], "T");
    }

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::at_millis(0);
        let shared = clock.clone();
        assert_eq!(clock.now_millis(), 0);
        shared.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_millis(), 1_500);
        clock.set(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(shared.now_millis(), 0);
    }
}
