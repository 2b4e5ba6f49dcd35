//! When a job's ticks fall: a cron expression or a fixed interval.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use time::OffsetDateTime;

use crate::{Error, Result};

use super::SLUG;

/// A job's schedule. Every process computes the same tick times from it (cron times in
/// UTC; intervals counted from the Unix epoch), which is what lets them agree on which
/// run object a tick is.
#[derive(Clone)]
pub enum Schedule {
    /// A cron expression (5 fields, or 6 with seconds first; `@hourly`, `L`, `#` and
    /// the rest of [croner](https://docs.rs/croner)'s syntax), evaluated in UTC.
    Cron(Box<croner::Cron>),
    /// Every `Duration`, at whole multiples of it since the Unix epoch (`every(1h)` ticks on
    /// the hour).
    Every(Duration),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(cron) => write!(f, "Cron({:?})", cron.as_str()),
            Schedule::Every(every) => write!(f, "Every({every:?})"),
        }
    }
}

impl Schedule {
    /// A cron schedule; [`Error::Config`] quotes the expression and croner's reason.
    pub fn cron(expression: &str) -> Result<Schedule> {
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(expression)
            .map_err(|e| Error::Config {
                plugin: SLUG,
                reason: format!("cron expression {expression:?}: {e}"),
            })?;
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// A fixed interval of at least one millisecond.
    pub fn every(interval: Duration) -> Result<Schedule> {
        if interval < Duration::from_millis(1) {
            return Err(Error::Config {
                plugin: SLUG,
                reason: format!("interval {interval:?}: must be at least 1ms"),
            });
        }
        Ok(Schedule::Every(interval))
    }

    /// The latest tick at or before `at` (`None` when there is none, e.g. a cron date
    /// that never comes).
    pub fn latest_at_or_before(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
        let tick = match self {
            Schedule::Every(every) => {
                let every = i64::try_from(every.as_millis()).ok()?;
                millis.div_euclid(every) * every
            }
            Schedule::Cron(cron) => {
                let at = DateTime::<Utc>::from_timestamp_millis(millis)?;
                cron.find_previous_occurrence(&at, true)
                    .ok()?
                    .timestamp_millis()
            }
        };
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(tick) * 1_000_000).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::clock::iso;

    fn at(text: &str) -> OffsetDateTime {
        crate::clock::parse_iso(text).unwrap()
    }

    #[test]
    fn cron_and_interval_ticks() {
        let hourly = Schedule::cron("0 * * * *").unwrap();
        let tick = hourly
            .latest_at_or_before(at("2025-01-01T10:59:59Z"))
            .unwrap();
        assert_eq!(iso(tick), "2025-01-01T10:00:00.000Z");
        let tick = hourly
            .latest_at_or_before(at("2025-01-01T11:00:00Z"))
            .unwrap();
        assert_eq!(iso(tick), "2025-01-01T11:00:00.000Z", "inclusive");
        let seconds = Schedule::cron("*/10 * * * * *").unwrap();
        let tick = seconds
            .latest_at_or_before(at("2025-01-01T10:00:19Z"))
            .unwrap();
        assert_eq!(iso(tick), "2025-01-01T10:00:10.000Z");
        let every = Schedule::every(Duration::from_secs(300)).unwrap();
        let tick = every
            .latest_at_or_before(at("2025-01-01T10:07:00Z"))
            .unwrap();
        assert_eq!(iso(tick), "2025-01-01T10:05:00.000Z");
    }

    #[test]
    fn bad_schedules_name_the_problem() {
        let err = Schedule::cron("61 * * * *").unwrap_err().to_string();
        assert!(err.contains("\"61 * * * *\""), "{err}");
        assert!(Schedule::every(Duration::ZERO).is_err());
    }
}
