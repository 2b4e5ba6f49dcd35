//! ISO 8601 parsing and `Date.prototype.toISOString` formatting for the `datetime`,
//! `dateonly`, `timeonly` and `date` validators.
//!
//! Accepted: the ECMAScript date-time string format (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
//! optionally followed by `THH:MM`, `:SS`, `.fraction` and `Z` or `±HH:MM`; a space may replace
//! the `T`). JavaScript reads a date-time without offset as *local* time; here it is read as
//! UTC. JavaScript's legacy formats (`May 6 2024`) are not accepted.

use std::sync::LazyLock;

use regex::Regex;
use s3db_codec::calendar::{civil_from_days, days_from_civil};

/// Largest absolute time value a JavaScript `Date` holds (±100 000 000 days).
pub(crate) const MAX_DATE_MS: f64 = 8.64e15;

static ISO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$",
    )
    .ok()
});

/// Milliseconds since the epoch of an ISO 8601 string, `None` if it is not one.
pub(crate) fn parse_iso(text: &str) -> Option<i64> {
    let caps = ISO.as_ref()?.captures(text)?;
    let num = |i: usize, default: i64| -> Option<i64> {
        caps.get(i)
            .map_or(Some(default), |m| m.as_str().parse().ok())
    };
    let year = num(1, 0)?;
    if caps.get(1)?.as_str() == "-000000" {
        return None;
    }
    let month = num(2, 1)?;
    let day = num(3, 1)?;
    let (hour, minute, second) = (num(4, 0)?, num(5, 0)?, num(6, 0)?);
    let millis = caps.get(7).map_or(Some(0), |m| {
        let digits: String = m.as_str().chars().chain("00".chars()).take(3).collect();
        digits.parse::<i64>().ok()
    })?;
    let has_time = caps.get(4).is_some();
    let has_offset = caps.get(8).is_some() || caps.get(9).is_some();
    if has_offset && !has_time {
        return None;
    }
    let offset_minutes = match caps.get(9) {
        Some(sign) => {
            let (h, m) = (num(10, 0)?, num(11, 0)?);
            if h > 23 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            if sign.as_str() == "-" { -total } else { total }
        }
        None => 0,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (hour < 24 || (hour == 24 && minute == 0 && second == 0 && millis == 0))
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let ms =
        days * 86_400_000 + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
    ((ms as f64).abs() <= MAX_DATE_MS).then_some(ms)
}

/// `new Date(ms).toISOString()`: `YYYY-MM-DDTHH:MM:SS.sssZ` (six-digit signed years outside
/// 0000–9999).
pub(crate) fn format_iso(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!(
        "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// `new Date(n)` for a number: truncated to whole milliseconds, `None` outside the range.
pub(crate) fn ms_from_number(n: f64) -> Option<i64> {
    (n.is_finite() && n.abs() <= MAX_DATE_MS).then(|| n.trunc() as i64)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_like_javascript() {
        let ms = parse_iso("2024-05-06T07:08:09.123Z").unwrap();
        assert_eq!(ms, 1_714_979_289_123);
        assert_eq!(format_iso(ms), "2024-05-06T07:08:09.123Z");
        assert_eq!(
            format_iso(parse_iso("2024-05-06T09:08:09+02:00").unwrap()),
            "2024-05-06T07:08:09.000Z"
        );
        assert_eq!(parse_iso("2000-01-02"), Some(946_771_200_000));
        assert_eq!(parse_iso("1970"), Some(0));
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            parse_iso("2024-01-01T00:00:00.1234567Z"),
            Some(1_704_067_200_123)
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T25:00Z",
            "2024-01-01Z",
            "nope",
            "",
            "2024-1-1",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
        assert!(parse_iso("2024-02-29").is_some());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 60_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
