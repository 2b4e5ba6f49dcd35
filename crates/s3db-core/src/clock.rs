//! Wall-clock timestamps in the form s3db.js writes (`Date.prototype.toISOString`).

use time::OffsetDateTime;
use time::macros::format_description;

/// Now, as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds).
pub fn now_iso() -> String {
    iso(OffsetDateTime::now_utc())
}

/// A point in time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds).
pub fn time_iso(at: std::time::SystemTime) -> String {
    iso(OffsetDateTime::from(at))
}

/// The point in time an RFC 3339 timestamp (such as [`time_iso`]'s) names.
pub fn parse_iso(text: &str) -> Option<std::time::SystemTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(std::time::SystemTime::from)
}

fn iso(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_to_iso_string() {
        let now = super::now_iso();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z'));
        assert_eq!(&now[10..11], "T");
    }

    #[test]
    fn system_times_format_like_to_iso_string() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_786_299_684);
        assert_eq!(super::time_iso(at), "2026-11-27T13:31:39.684Z");
        assert_eq!(super::parse_iso("2026-11-27T13:31:39.684Z"), Some(at));
        assert_eq!(super::parse_iso("yesterday"), None);
    }
}
