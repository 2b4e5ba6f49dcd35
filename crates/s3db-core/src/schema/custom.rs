//! The value-rewriting validators s3db.js registers as fastest-validator aliases
//! (`json`, `datetime`, `dateonly`, `timeonly`, `mac`, `cidr`, …), reproduced rule for rule.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::datetime::{format_iso, ms_from_number, parse_iso};
use s3db_codec::value::{format_js_number, to_js_json};

use super::js::{number_value, parse_number};
use super::rule::CustomKind;

/// Why a custom validator rejected a value: the s3db.js error type and its message
/// (`{field}` is replaced by the caller).
pub(crate) type Rejection = (&'static str, &'static str);

fn regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static TIME: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$"));
static CIDR: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$"));
static SEMVER: LazyLock<Option<Regex>> = LazyLock::new(|| regex(r"^(\d+)\.(\d+)\.(\d+)$"));
static ISO_DURATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"));
static DURATION_MS: LazyLock<Option<Regex>> = LazyLock::new(|| regex(r"(\d+)ms"));
static DURATION_UNITS: LazyLock<Vec<(Option<Regex>, f64)>> = LazyLock::new(|| {
    [
        ('d', 86_400_000.0),
        ('h', 3_600_000.0),
        ('m', 60_000.0),
        ('s', 1000.0),
    ]
    .into_iter()
    .map(|(unit, factor)| (regex(&format!(r"(\d+(?:\.\d+)?){unit}")), factor))
    .collect()
});
static CRON_FIELD: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(\*|(\d+(-\d+)?(/\d+)?)(,(\d+(-\d+)?(/\d+)?))*|\*/\d+)$"));

fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// Runs the s3db.js validator of `kind` on a present, non-null value: the rewritten value,
/// or the rejection.
pub(crate) fn normalize(kind: CustomKind, value: &Value) -> Result<Value, Rejection> {
    let text = value.as_str();
    let rewritten = match kind {
        CustomKind::Json => Some(match value {
            Value::String(_) => value.clone(),
            other => Value::String(to_js_json(other)),
        }),
        CustomKind::DateTime => datetime_ms(value, false).map(|ms| Value::String(format_iso(ms))),
        CustomKind::DateOnly => datetime_ms(value, true).map(|ms| {
            let iso = format_iso(ms);
            Value::String(iso.split('T').next().unwrap_or(&iso).to_owned())
        }),
        CustomKind::TimeOnly => text.and_then(time_only).map(Value::String),
        CustomKind::Mac => text.and_then(mac).map(Value::String),
        CustomKind::Cidr => text.and_then(cidr).map(Value::String),
        CustomKind::Semver => text.and_then(semver).map(Value::String),
        CustomKind::Phone => text.and_then(phone).map(Value::String),
        CustomKind::Color => text.and_then(color).map(Value::String),
        CustomKind::Duration => duration(value),
        CustomKind::Cron => text.and_then(cron).map(Value::String),
        CustomKind::Locale => text.and_then(locale).map(Value::String),
        CustomKind::Currency => text
            .filter(|t| t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|t| Value::String(t.to_ascii_uppercase())),
        CustomKind::Country => text
            .filter(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|t| Value::String(t.to_ascii_uppercase())),
        CustomKind::Ean => ean(value),
    };
    rewritten.ok_or_else(|| rejection(kind))
}

fn rejection(kind: CustomKind) -> Rejection {
    match kind {
        CustomKind::Json => ("json", "The '{field}' field must be serializable to JSON."),
        CustomKind::DateTime => ("datetime", "The '{field}' field must be a valid datetime."),
        CustomKind::DateOnly => ("date", "The '{field}' field must be a valid date."),
        CustomKind::TimeOnly => (
            "timeonly",
            "The '{field}' field must be a valid time (HH:mm, HH:mm:ss, or HH:mm:ss.SSS).",
        ),
        CustomKind::Mac => (
            "mac",
            "The '{field}' field must be a valid MAC address (e.g., AA:BB:CC:DD:EE:FF).",
        ),
        CustomKind::Cidr => (
            "cidr",
            "The '{field}' field must be a valid CIDR notation (e.g., 192.168.1.0/24).",
        ),
        CustomKind::Semver => (
            "semver",
            "The '{field}' field must be a valid semantic version (e.g., 1.2.3).",
        ),
        CustomKind::Phone => (
            "phone",
            "The '{field}' field must be a valid phone number in E.164 format (e.g., +5511999999999).",
        ),
        CustomKind::Color => (
            "color",
            "The '{field}' field must be a valid hex color (e.g., #FF5733 or #F57).",
        ),
        CustomKind::Duration => (
            "duration",
            "The '{field}' field must be a valid duration (e.g., PT1H30M, 1h30m, 90m).",
        ),
        CustomKind::Cron => (
            "cron",
            "The '{field}' field must be a valid 5-field cron expression (e.g., 0 */5 * * *).",
        ),
        CustomKind::Locale => (
            "locale",
            "The '{field}' field must be a valid locale (e.g., pt-BR, en-US, or just en).",
        ),
        CustomKind::Currency => (
            "currency",
            "The '{field}' field must be a valid 3-letter currency code (e.g., USD, BRL, EUR).",
        ),
        CustomKind::Country => (
            "country",
            "The '{field}' field must be a valid 2-letter country code (e.g., BR, US, DE).",
        ),
        CustomKind::Ean => (
            "ean",
            "The '{field}' field must be a valid barcode (EAN-8, UPC-A 12, EAN-13, or GTIN-14 digits).",
        ),
    }
}

/// `new Date(value)` of a number or string (`dateonly` reads a string without `T` as UTC
/// midnight).
fn datetime_ms(value: &Value, date_only: bool) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_f64().and_then(ms_from_number),
        Value::String(s) if date_only && !s.contains('T') => {
            parse_iso(&format!("{s}T00:00:00.000Z"))
        }
        Value::String(s) => parse_iso(s),
        _ => None,
    }
}

fn time_only(text: &str) -> Option<String> {
    if let Some(caps) = TIME.as_ref().and_then(|re| re.captures(text)) {
        let part = |i: usize| caps.get(i).map_or("0", |m| m.as_str());
        let (h, m, s): (u32, u32, u32) = (
            part(1).parse().ok()?,
            part(2).parse().ok()?,
            part(3).parse().ok()?,
        );
        let ms: u32 = caps
            .get(4)
            .map_or(Some(0), |m| format!("{:0<3}", m.as_str()).parse().ok())?;
        if h <= 23 && m <= 59 && s <= 59 {
            return Some(format!("{h:02}:{m:02}:{s:02}.{ms:03}"));
        }
    }
    if text.contains('T') {
        let iso = format_iso(parse_iso(text)?);
        return iso.get(11..23).map(str::to_owned);
    }
    None
}

fn mac(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    if cleaned.len() != 12 || !cleaned.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let pairs: Vec<&str> = (0..6)
        .filter_map(|i| cleaned.get(i * 2..i * 2 + 2))
        .collect();
    Some(pairs.join(":"))
}

fn cidr(text: &str) -> Option<String> {
    let caps = CIDR.as_ref()?.captures(text)?;
    let nums: Vec<u32> = (1..=5)
        .map(|i| caps.get(i).and_then(|m| m.as_str().parse().ok()))
        .collect::<Option<_>>()?;
    let (octets, prefix) = nums.split_at(4);
    let prefix = *prefix.first()?;
    if octets.iter().all(|o| *o <= 255) && prefix <= 32 {
        let dotted: Vec<String> = octets.iter().map(u32::to_string).collect();
        return Some(format!("{}/{prefix}", dotted.join(".")));
    }
    None
}

fn semver(text: &str) -> Option<String> {
    let cleaned = text.strip_prefix('v').unwrap_or(text);
    let caps = SEMVER.as_ref()?.captures(cleaned)?;
    let part = |i: usize| -> Option<String> {
        let n = parse_number(caps.get(i)?.as_str())?;
        Some(format_js_number(n))
    };
    Some(format!("{}.{}.{}", part(1)?, part(2)?, part(3)?))
}

fn phone(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '(' | ')' | '.')))
        .collect();
    let with_plus = if digits.starts_with('+') {
        digits
    } else {
        format!("+{digits}")
    };
    let number = &with_plus[1..];
    ((7..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()))
        .then_some(with_plus)
}

fn color(text: &str) -> Option<String> {
    let hex = text.strip_prefix('#').unwrap_or(text).to_ascii_lowercase();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        3 => Some(format!(
            "#{}",
            hex.chars().flat_map(|c| [c, c]).collect::<String>()
        )),
        6 => Some(format!("#{hex}")),
        _ => None,
    }
}

fn duration(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|n| *n >= 0.0 && n.is_finite())
            .map(|_| value.clone()),
        Value::String(s) => duration_ms(s).and_then(|ms| number_value(ms.round())),
        _ => None,
    }
}

fn duration_ms(text: &str) -> Option<f64> {
    if text != "P"
        && text != "PT"
        && let Some(caps) = ISO_DURATION.as_ref().and_then(|re| re.captures(text))
    {
        let part = |i: usize| caps.get(i).map_or(Some(0.0), |m| m.as_str().parse().ok());
        let seconds = part(1)? * 86_400.0 + part(2)? * 3600.0 + part(3)? * 60.0 + part(4)?;
        return Some(seconds * 1000.0);
    }
    let lower = text.to_lowercase();
    let mut ms = 0.0;
    let mut matched = false;
    let millis = DURATION_MS.as_ref()?;
    if let Some(caps) = millis.captures(&lower) {
        ms += caps.get(1)?.as_str().parse::<f64>().ok()?;
        matched = true;
    }
    let clean = millis.replace_all(&lower, "");
    for (re, factor) in DURATION_UNITS.iter() {
        if let Some(caps) = re.as_ref()?.captures(&clean) {
            ms += caps.get(1)?.as_str().parse::<f64>().ok()? * factor;
            matched = true;
        }
    }
    matched.then_some(ms)
}

fn cron(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    (parts.len() == 5 && parts.iter().all(|p| matches(&CRON_FIELD, p))).then(|| parts.join(" "))
}

fn locale(text: &str) -> Option<String> {
    let alpha2 = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
    if alpha2(text) {
        return Some(text.to_ascii_lowercase());
    }
    let (lang, region) = text.split_at_checked(2)?;
    let region = region.strip_prefix(['-', '_'])?;
    (alpha2(lang) && alpha2(region)).then(|| {
        format!(
            "{}-{}",
            lang.to_ascii_lowercase(),
            region.to_ascii_uppercase()
        )
    })
}

fn ean(value: &Value) -> Option<Value> {
    match value {
        Value::String(s)
            if matches!(s.len(), 8 | 12 | 13 | 14) && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(value.clone())
        }
        Value::Number(n) => {
            let n = n.as_u64()?;
            let digits = n.to_string();
            (digits.len() <= 14).then(|| Value::String(format!("{digits:0>13}")))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(kind: CustomKind, input: Value) -> Value {
        normalize(kind, &input).unwrap()
    }

    #[test]
    fn rewrites_like_s3dbjs() {
        use CustomKind::*;
        assert_eq!(ok(Json, json!({"k": "v"})), json!(r#"{"k":"v"}"#));
        assert_eq!(ok(Json, json!("hello")), json!("hello"));
        assert_eq!(
            ok(DateTime, json!("2024-05-06T07:08:09Z")),
            json!("2024-05-06T07:08:09.000Z")
        );
        assert_eq!(ok(DateTime, json!(0)), json!("1970-01-01T00:00:00.000Z"));
        assert_eq!(ok(DateOnly, json!("2000-01-02")), json!("2000-01-02"));
        assert_eq!(
            ok(DateOnly, json!("2000-01-02T23:00:00-03:00")),
            json!("2000-01-03")
        );
        assert_eq!(ok(TimeOnly, json!("09:30")), json!("09:30:00.000"));
        assert_eq!(ok(TimeOnly, json!("23:59:59.5")), json!("23:59:59.500"));
        assert_eq!(
            ok(Mac, json!("AA-BB-CC-DD-EE-FF")),
            json!("aa:bb:cc:dd:ee:ff")
        );
        assert_eq!(ok(Cidr, json!("010.0.0.1/8")), json!("10.0.0.1/8"));
        assert_eq!(ok(Semver, json!("v01.2.3")), json!("1.2.3"));
        assert_eq!(
            ok(Phone, json!("+55 (11) 99999-9999")),
            json!("+5511999999999")
        );
        assert_eq!(ok(Color, json!("#F57")), json!("#ff5577"));
        assert_eq!(ok(Duration, json!("PT1H30M")), json!(5_400_000));
        assert_eq!(ok(Duration, json!("1h30m")), json!(5_400_000));
        assert_eq!(ok(Duration, json!("250ms")), json!(250));
        assert_eq!(ok(Cron, json!(" 0  */5 * * * ")), json!("0 */5 * * *"));
        assert_eq!(ok(Locale, json!("pt_br")), json!("pt-BR"));
        assert_eq!(ok(Currency, json!("usd")), json!("USD"));
        assert_eq!(ok(Country, json!("br")), json!("BR"));
        assert_eq!(ok(Ean, json!(4006381333931u64)), json!("4006381333931"));
        assert_eq!(ok(Ean, json!(12345u64)), json!("0000000012345"));
    }

    #[test]
    fn rejects_with_s3dbjs_error_types() {
        use CustomKind::*;
        for (kind, bad, rule) in [
            (DateTime, json!("yesterday"), "datetime"),
            (DateOnly, json!(true), "date"),
            (TimeOnly, json!("24:00"), "timeonly"),
            (TimeOnly, json!("9:30"), "timeonly"),
            (Mac, json!("AA:BB"), "mac"),
            (Cidr, json!("300.1.1.1/8"), "cidr"),
            (Semver, json!("1.2"), "semver"),
            (Phone, json!("12"), "phone"),
            (Color, json!("#12345"), "color"),
            (Duration, json!(-1), "duration"),
            (Cron, json!("* * *"), "cron"),
            (Locale, json!("english"), "locale"),
            (Currency, json!("US"), "currency"),
            (Country, json!(12), "country"),
            (Ean, json!("123"), "ean"),
        ] {
            assert_eq!(normalize(kind, &bad).unwrap_err().0, rule, "{bad}");
        }
    }
}
