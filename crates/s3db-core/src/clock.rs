//! Wall-clock timestamps in the form s3db.js writes (`Date.prototype.toISOString`).

use time::OffsetDateTime;
use time::macros::format_description;

/// Now, as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds).
pub fn now_iso() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
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
}
