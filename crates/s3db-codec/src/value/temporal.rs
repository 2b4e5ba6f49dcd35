//! Dates and times: `datetime` (base62 of epoch ms), `dateonly` (base62 of days since the
//! epoch), `timeonly` (base62 of ms since midnight), `duration` (base62 of ms, read back as
//! ISO 8601).
//!
//! Date texts are parsed like JavaScript's `new Date(text)` for the ISO forms (`YYYY`,
//! `YYYY-MM`, `YYYY-MM-DD`, `±YYYYYY…`, then `THH:mm[:ss[.fff…]]` with `Z` or `±HH:mm`/`±HHmm`;
//! day numbers up to 31 roll over into the next month as in V8). A date-time without offset is
//! read as UTC (JavaScript uses the writer's local time zone). Other texts are refused.

use std::fmt::Write as _;

use serde_json::Value;

use super::Packing;
use super::number::{format_js_number, js_round};
use crate::base62;
use crate::calendar::{civil_from_days, days_from_civil};

const MS_PER_DAY: i64 = 86_400_000;
const MAX_MS: i64 = 8_640_000_000_000_000;

/// A cursor over ASCII text.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let slice = self.b.get(self.i..self.i + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(
            slice
                .iter()
                .fold(0, |acc, &c| acc * 10 + i64::from(c - b'0')),
        )
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, set: &[u8]) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        set.contains(&c).then(|| {
            self.i += 1;
            c
        })
    }

    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// JavaScript's `new Date(text).getTime()` for ISO texts; `None` where it is NaN or the text is
/// not in an ISO form.
pub(crate) fn parse_iso_ms(text: &str) -> Option<i64> {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let year = match c.eat_any(b"+-") {
        Some(sign) => {
            let y = c.digits(6)?;
            if sign == b'-' && y == 0 {
                return None;
            }
            if sign == b'-' { -y } else { y }
        }
        None => c.digits(4)?,
    };
    let (mut month, mut day) = (1, 1);
    if c.eat(b'-') {
        month = c.digits(2)?;
        if c.eat(b'-') {
            day = c.digits(2)?;
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms_of_day = 0;
    let mut offset_min = 0;
    if c.eat_any(b"Tt ").is_some() {
        let hour = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let minute = c.digits(2)?;
        let (mut second, mut milli) = (0, 0);
        if c.eat(b':') {
            second = c.digits(2)?;
            if c.eat(b'.') {
                let start = c.i;
                while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                    c.i += 1;
                }
                let frac = &c.b[start..c.i];
                if frac.is_empty() {
                    return None;
                }
                milli = (0..3).fold(0, |acc, k| {
                    acc * 10 + frac.get(k).map_or(0, |&d| i64::from(d - b'0'))
                });
            }
        }
        let midnight_24 = hour == 24 && minute == 0 && second == 0 && milli == 0;
        if (hour > 23 && !midnight_24) || minute > 59 || second > 59 {
            return None;
        }
        ms_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + milli;
        if c.eat_any(b"Zz").is_none()
            && let Some(sign) = c.eat_any(b"+-")
        {
            let oh = c.digits(2)?;
            c.eat(b':');
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            offset_min = if sign == b'-' {
                -(oh * 60 + om)
            } else {
                oh * 60 + om
            };
        }
    }
    if !c.done() {
        return None;
    }
    let days = days_from_civil(year, month, 1) + day - 1;
    let ms = days * MS_PER_DAY + ms_of_day - offset_min * 60_000;
    (ms.abs() <= MAX_MS).then_some(ms)
}

/// JavaScript's `new Date(ms).toISOString()`.
pub(crate) fn write_iso(out: &mut String, ms: i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    // Below a day's milliseconds: every part is non-negative.
    let rem = ms.rem_euclid(MS_PER_DAY).unsigned_abs();
    let (year, month, day) = civil_from_days(days);
    let mut text = *b"+000000-00-00T00:00:00.000Z";
    // Years 0–9999 have 4 digits and no sign, others a sign and 6 digits.
    let start = if (0..=9999).contains(&year) {
        3
    } else {
        if year < 0 {
            text[0] = b'-';
        }
        0
    };
    for (range, value) in [
        (1..7, year.unsigned_abs()),
        (8..10, month.unsigned_abs()),
        (11..13, day.unsigned_abs()),
        (14..16, rem / 3_600_000),
        (17..19, rem / 60_000 % 60),
        (20..22, rem / 1000 % 60),
        (23..26, rem % 1000),
    ] {
        let mut n = value;
        for digit in text[range].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    base62::push_ascii(out, &text[start..]);
}

fn push_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    base62::push_u128(out, u128::from(n.unsigned_abs()));
}

fn expect_text(value: &Value) -> Result<&str, &'static str> {
    value.as_str().ok_or("expected a string")
}

/// `datetime`: base62 of epoch milliseconds; the empty string is kept.
pub(super) fn push_datetime(out: &mut String, value: &Value) -> Result<(), &'static str> {
    let text = expect_text(value)?;
    if !text.is_empty() {
        push_signed(out, parse_iso_ms(text).ok_or("not an ISO 8601 date-time")?);
    }
    Ok(())
}

/// Epoch milliseconds of packed digits, if they are a valid date.
fn packed_ms(stored: &str) -> Option<i64> {
    let ms = base62::decode_js_f64(stored);
    (ms.is_finite() && ms.abs() <= MAX_MS as f64).then_some(ms as i64)
}

/// Reads a `datetime` as `YYYY-MM-DDTHH:mm:ss.sssZ` (undecodable text is returned as is).
pub(super) fn decode_datetime(stored: &str) -> Value {
    match packed_ms(stored).filter(|_| !stored.is_empty()) {
        Some(ms) => {
            let mut out = String::with_capacity(24);
            write_iso(&mut out, ms);
            Value::String(out)
        }
        None => Value::String(stored.to_owned()),
    }
}

/// `dateonly`: base62 of `floor(ms / 86400000)`, a text without `T` read as UTC midnight.
pub(super) fn push_dateonly(out: &mut String, value: &Value) -> Result<(), &'static str> {
    let text = expect_text(value)?;
    if text.is_empty() {
        return Ok(());
    }
    let ms = if text.contains('T') {
        parse_iso_ms(text)
    } else {
        parse_iso_ms(&format!("{text}T00:00:00.000Z"))
    };
    let ms = ms.ok_or("not an ISO 8601 date")?;
    push_signed(out, ms.div_euclid(MS_PER_DAY));
    Ok(())
}

/// Reads a `dateonly` as the first 10 characters of the ISO text (`YYYY-MM-DD`).
pub(super) fn decode_dateonly(stored: &str) -> Value {
    let days = base62::decode_js_f64(stored);
    let ms = days * MS_PER_DAY as f64;
    if stored.is_empty() || !ms.is_finite() || ms.abs() > MAX_MS as f64 {
        return Value::String(stored.to_owned());
    }
    let mut iso = String::with_capacity(24);
    write_iso(&mut iso, ms as i64);
    iso.truncate(10);
    Value::String(iso)
}

/// `timeonly`: `HH:mm[:ss[.f{1,3}]]` as base62 of milliseconds since midnight.
pub(super) fn push_timeonly(out: &mut String, value: &Value) -> Result<(), &'static str> {
    let text = expect_text(value)?;
    if text.is_empty() {
        return Ok(());
    }
    let ms = parse_time_of_day(text).ok_or("not a HH:mm[:ss[.sss]] time")?;
    base62::push_u128(out, u128::from(ms));
    Ok(())
}

fn parse_time_of_day(text: &str) -> Option<u64> {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let (mut second, mut milli) = (0, 0);
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') {
            let start = c.i;
            while c.i - start < 3 && c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            let frac = &c.b[start..c.i];
            if frac.is_empty() {
                return None;
            }
            milli = (0..3).fold(0, |acc, k| {
                acc * 10 + frac.get(k).map_or(0, |&d| i64::from(d - b'0'))
            });
        }
    }
    if !c.done() {
        return None;
    }
    u64::try_from(((hour * 3600 + minute * 60 + second) * 1000) + milli).ok()
}

/// Reads a `timeonly` as `HH:mm:ss.sss` (hours may exceed 23, as in s3db.js).
pub(super) fn decode_timeonly(stored: &str) -> Value {
    let total = base62::decode_js_f64(stored);
    if stored.is_empty() || !total.is_finite() || total < 0.0 {
        return Value::String(stored.to_owned());
    }
    let ms = total % 1000.0;
    let secs = (total / 1000.0).floor();
    let mins = (secs / 60.0).floor();
    let mut out = String::with_capacity(12);
    let pad = |out: &mut String, n: f64, width: usize| {
        let s = format_js_number(n);
        for _ in s.len()..width {
            out.push('0');
        }
        out.push_str(&s);
    };
    pad(&mut out, (mins / 60.0).floor(), 2);
    out.push(':');
    pad(&mut out, mins % 60.0, 2);
    out.push(':');
    pad(&mut out, secs % 60.0, 2);
    out.push('.');
    pad(&mut out, ms, 3);
    Value::String(out)
}

/// `duration` given as a number of milliseconds (≥ 0): base62 of the rounded value.
pub(super) fn push_duration_ms(out: &mut String, ms: f64) -> Result<(), &'static str> {
    if !ms.is_finite() || ms < 0.0 {
        return Err("expected a non-negative duration");
    }
    base62::push_js_f64(out, js_round(ms));
    Ok(())
}

/// Packs an ISO 8601 duration (`P1DT2H3M4.5S`) or a `1d2h3m4s5ms` text; refused when neither.
pub(super) fn push_duration_text(out: &mut String, text: &str) -> Packing {
    let ms = iso_duration_ms(text).or_else(|| unit_duration_ms(text));
    match ms.map(|ms| push_duration_ms(out, ms)) {
        Some(Ok(())) => Packing::Packed,
        _ => Packing::Refused,
    }
}

fn iso_duration_ms(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    if rest.is_empty() || rest == "T" {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let days = match date {
        "" => 0.0,
        d => d.strip_suffix('D').filter(|n| is_digits(n))?.parse().ok()?,
    };
    let (mut hours, mut minutes, mut seconds) = (0.0, 0.0, 0.0);
    if let Some(mut t) = time {
        for (unit, slot, fraction) in [
            ('H', &mut hours, false),
            ('M', &mut minutes, false),
            ('S', &mut seconds, true),
        ] {
            if let Some(at) = t.find(unit) {
                let number = &t[..at];
                let ok = if fraction {
                    is_decimal(number)
                } else {
                    is_digits(number)
                };
                if !ok {
                    return None;
                }
                *slot = number.parse().ok()?;
                t = &t[at + 1..];
            }
        }
        if !t.is_empty() {
            return None;
        }
    }
    Some(js_round(
        (days * 86400.0 + hours * 3600.0 + minutes * 60.0 + seconds) * 1000.0,
    ))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn is_decimal(s: &str) -> bool {
    match s.split_once('.') {
        Some((int, frac)) => is_digits(int) && is_digits(frac),
        None => is_digits(s),
    }
}

/// The first `digits[.digits]` immediately followed by `unit`, scanning left to right.
fn first_amount(text: &str, unit: u8) -> Option<f64> {
    let b = text.as_bytes();
    for start in 0..b.len() {
        if !b[start].is_ascii_digit() {
            continue;
        }
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            let mut frac_end = end + 1;
            while frac_end < b.len() && b[frac_end].is_ascii_digit() {
                frac_end += 1;
            }
            if b.get(frac_end) == Some(&unit) {
                return text[start..frac_end].parse().ok();
            }
        }
        if b.get(end) == Some(&unit) {
            return text[start..end].parse().ok();
        }
    }
    None
}

/// s3db.js's fallback parser: `ms`, then `d`, `h`, `m`, `s` amounts (lower-cased text).
fn unit_duration_ms(text: &str) -> Option<f64> {
    let lower = text.to_lowercase();
    let mut total = 0.0;
    let mut matched = false;
    let mut clean = String::with_capacity(lower.len());
    let b = lower.as_bytes();
    let mut i = 0;
    let mut first_ms = None;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let mut end = i;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if lower[end..].starts_with("ms") {
                first_ms.get_or_insert_with(|| lower[i..end].parse::<f64>().unwrap_or(f64::NAN));
                i = end + 2;
            } else {
                clean.push_str(&lower[i..end]);
                i = end;
            }
        } else {
            let len = lower[i..].chars().next().map_or(1, char::len_utf8);
            clean.push_str(&lower[i..i + len]);
            i += len;
        }
    }
    if let Some(ms) = first_ms {
        total += ms;
        matched = true;
    }
    for (unit, factor) in [
        (b'd', 86_400_000.0),
        (b'h', 3_600_000.0),
        (b'm', 60_000.0),
        (b's', 1000.0),
    ] {
        if let Some(amount) = first_amount(&clean, unit) {
            total += amount * factor;
            matched = true;
        }
    }
    matched.then(|| js_round(total))
}

/// Whether s3db.js's reader decodes this stored text (non-empty, not starting with `P`).
pub(super) fn duration_form(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with('P')
}

/// Reads packed milliseconds as an ISO 8601 duration (`P1DT2H3M4.005S`, `PT0S` for zero).
pub(super) fn decode_duration(stored: &str) -> Option<Value> {
    if !duration_form(stored) {
        return None;
    }
    let ms = base62::decode_js_f64(stored);
    if !ms.is_finite() || ms < 0.0 {
        return None;
    }
    let days = (ms / 86_400_000.0).floor();
    let hours = (ms % 86_400_000.0 / 3_600_000.0).floor();
    let minutes = (ms % 3_600_000.0 / 60_000.0).floor();
    let seconds = (ms % 60_000.0 / 1000.0).floor();
    let millis = ms % 1000.0;
    let mut out = String::from("P");
    let num = |out: &mut String, n: f64, unit: char| {
        out.push_str(&format_js_number(n));
        out.push(unit);
    };
    if days != 0.0 {
        num(&mut out, days, 'D');
    }
    if hours != 0.0 || minutes != 0.0 || seconds != 0.0 || millis != 0.0 {
        out.push('T');
        if hours != 0.0 {
            num(&mut out, hours, 'H');
        }
        if minutes != 0.0 {
            num(&mut out, minutes, 'M');
        }
        if millis != 0.0 {
            let _ = write!(out, "{}.{:03}S", format_js_number(seconds), millis as u64);
        } else if seconds != 0.0 {
            num(&mut out, seconds, 'S');
        }
    }
    if out == "P" {
        out.push_str("T0S");
    }
    Some(Value::String(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(f: fn(&mut String, &Value) -> Result<(), &'static str>, v: Value) -> String {
        let mut out = String::new();
        f(&mut out, &v).unwrap();
        out
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            enc(push_datetime, json!("2024-05-06T07:08:09.123Z")),
            "ubYyk4b"
        );
        assert_eq!(
            decode_datetime("ubYyk4b"),
            json!("2024-05-06T07:08:09.123Z")
        );
        assert_eq!(enc(push_datetime, json!("1970-01-01T00:00:00.001Z")), "1");
        assert_eq!(enc(push_dateonly, json!("2000-01-02")), "2QK");
        assert_eq!(enc(push_dateonly, json!("1999-12-31")), "2QI");
        assert_eq!(decode_dateonly("594"), json!("2024-02-29"));
        assert_eq!(enc(push_timeonly, json!("10:30")), "2yBvq");
        assert_eq!(decode_timeonly("2yBvq"), json!("10:30:00.000"));
        let mut out = String::new();
        assert_eq!(push_duration_text(&mut out, "PT1H30M"), Packing::Packed);
        assert_eq!(out, "mEMM");
        assert_eq!(decode_duration("mEMM"), Some(json!("PT1H30M")));
        out.clear();
        assert_eq!(push_duration_text(&mut out, "1h30m"), Packing::Packed);
        assert_eq!(out, "mEMM");
        assert_eq!(decode_duration("0"), Some(json!("PT0S")));
        assert_eq!(decode_duration("PT5S"), None);
    }

    #[test]
    fn javascript_date_parsing() {
        assert_eq!(parse_iso_ms("2024-02-30"), Some(1_709_251_200_000));
        assert_eq!(
            parse_iso_ms("2024-05-06t07:08:09z"),
            Some(1_714_979_289_000)
        );
        assert_eq!(
            parse_iso_ms("2024-05-06T07:08:09.123456Z"),
            Some(1_714_979_289_123)
        );
        assert_eq!(
            parse_iso_ms("2024-05-06T24:00:00Z"),
            Some(1_715_040_000_000)
        );
        assert_eq!(parse_iso_ms("2024-05-06T24:00:01Z"), None);
        assert_eq!(parse_iso_ms("2024"), Some(1_704_067_200_000));
        assert_eq!(parse_iso_ms("+002024-05-06"), Some(1_714_953_600_000));
        assert_eq!(
            parse_iso_ms("2024-05-06T07:08:09+0200"),
            Some(1_714_972_089_000)
        );
        assert_eq!(
            parse_iso_ms("2024-05-06T07:08:09+02:00"),
            Some(1_714_972_089_000)
        );
        assert_eq!(
            parse_iso_ms("-000001-01-01T00:00:00Z"),
            Some(-62_198_755_200_000)
        );
        assert_eq!(parse_iso_ms("2024-13-01"), None);
        assert_eq!(parse_iso_ms("2024-05-06T7:08Z"), None);
        let mut s = String::new();
        write_iso(&mut s, -100_000_000_000_000);
        assert_eq!(s, "-001199-02-15T14:13:20.000Z");
        s.clear();
        write_iso(&mut s, MAX_MS);
        assert_eq!(s, "+275760-09-13T00:00:00.000Z");
    }
}
