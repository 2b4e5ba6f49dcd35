//! Packed identifiers: `uuid`, `semver`, `color`, `ean`, `phone`.
//!
//! The `push_*` packers return `false` when the text is not in a packable form; the caller then
//! decides whether the raw text can be stored (see `value::encode_into`).

use std::fmt::Write as _;

use serde_json::Value;

use super::number::format_js_number;
use crate::base62;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn all_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Packs a UUID (hyphens ignored, 32 hex digits) as four base62 groups of 6.
pub(super) fn push_uuid(out: &mut String, s: &str) -> bool {
    let mut nibbles = [0u32; 32];
    let mut count = 0;
    for c in s.chars().filter(|&c| c != '-') {
        let (Some(slot), Some(v)) = (nibbles.get_mut(count), c.to_digit(16)) else {
            return false;
        };
        *slot = v;
        count += 1;
    }
    if count != 32 {
        return false;
    }
    for group in nibbles.chunks_exact(8) {
        let n = group.iter().fold(0u32, |acc, &v| (acc << 4) | v);
        base62::push_u128_padded(out, u128::from(n), 6);
    }
    true
}

/// Whether s3db.js's reader unpacks this text: 24 UTF-16 units without `-`.
pub(super) fn uuid_form(stored: &str) -> bool {
    stored.encode_utf16().count() == 24 && !stored.contains('-')
}

/// Reads 24 characters without `-` as a lower-case hyphenated UUID.
pub(super) fn decode_uuid(stored: &str) -> Option<Value> {
    if !uuid_form(stored) {
        return None;
    }
    let mut hex = String::with_capacity(36);
    for group in 0..4 {
        let n = base62::decode_u64(stored.get(group * 6..group * 6 + 6)?).ok()?;
        let _ = write!(hex, "{n:08x}");
    }
    let h = hex.get(..32)?;
    Some(Value::String(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// Packs `major.minor.patch` (digits only) as base62 of `major·10⁶ + minor·10³ + patch`.
pub(super) fn push_semver(out: &mut String, s: &str) -> bool {
    let mut parts = s.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if !(all_digits(major) && all_digits(minor) && all_digits(patch)) {
        return false;
    }
    let packed = (|| {
        let major: u64 = major.parse().ok()?;
        let minor: u64 = minor.parse().ok()?;
        let patch: u64 = patch.parse().ok()?;
        major
            .checked_mul(1_000_000)?
            .checked_add(minor.checked_mul(1000)?)?
            .checked_add(patch)
    })();
    match packed {
        Some(n) => {
            base62::push_u128(out, u128::from(n));
            true
        }
        None => false,
    }
}

/// Whether s3db.js's reader unpacks this text: non-empty, without `.`.
pub(super) fn semver_form(stored: &str) -> bool {
    !stored.is_empty() && !stored.contains('.')
}

/// Reads a packed version (no `.`) as `major.minor.patch`.
pub(super) fn decode_semver(stored: &str) -> Option<Value> {
    if !semver_form(stored) {
        return None;
    }
    let n = base62::decode_u64(stored).ok()?;
    Some(Value::String(format!(
        "{}.{}.{}",
        n / 1_000_000,
        n % 1_000_000 / 1000,
        n % 1000
    )))
}

/// Packs `#rrggbb` as base62 padded to 5.
pub(super) fn push_color(out: &mut String, s: &str) -> bool {
    match s.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && all_hex(hex) => match u32::from_str_radix(hex, 16) {
            Ok(n) => {
                base62::push_u128_padded(out, u128::from(n), 5);
                true
            }
            Err(_) => false,
        },
        _ => false,
    }
}

/// Whether s3db.js's reader unpacks this text: 5 UTF-16 units, not starting with `#`.
pub(super) fn color_form(stored: &str) -> bool {
    stored.encode_utf16().count() == 5 && !stored.starts_with('#')
}

/// Reads 5 characters not starting with `#` as lower-case `#rrggbb`.
pub(super) fn decode_color(stored: &str) -> Option<Value> {
    if !color_form(stored) {
        return None;
    }
    let n = base62::decode_u64(stored).ok()?;
    Some(Value::String(format!("#{n:06x}")))
}

/// The length tag of an EAN/GTIN digit count.
fn ean_tag(len: usize) -> Option<char> {
    match len {
        8 => Some('0'),
        12 => Some('2'),
        13 => Some('1'),
        14 => Some('3'),
        _ => None,
    }
}

/// Packs 8, 12, 13 or 14 digits as a length tag + base62.
pub(super) fn push_ean(out: &mut String, s: &str) -> bool {
    let Some(tag) = ean_tag(s.len()).filter(|_| all_digits(s)) else {
        return false;
    };
    match s.parse::<u64>() {
        Ok(n) => {
            out.push(tag);
            base62::push_u128(out, u128::from(n));
            true
        }
        Err(_) => false,
    }
}

/// Whether s3db.js's reader unpacks this text: starts with `0`–`3` and is not 8–14 digits.
pub(super) fn ean_form(stored: &str) -> bool {
    let plain_digits = (8..=14).contains(&stored.len()) && all_digits(stored);
    !plain_digits && stored.starts_with(['0', '1', '2', '3'])
}

/// Reads a tagged EAN back to its zero-padded digits.
pub(super) fn decode_ean(stored: &str) -> Option<Value> {
    if !ean_form(stored) {
        return None;
    }
    let len = match stored.as_bytes().first()? {
        b'0' => 8,
        b'1' => 13,
        b'2' => 12,
        b'3' => 14,
        _ => return None,
    };
    let n = base62::decode_u64(stored.get(1..)?).ok()?;
    Some(Value::String(format!("{n:0len$}")))
}

/// Packs `+digits` as base62 of the number.
pub(super) fn push_phone(out: &mut String, s: &str) -> bool {
    match s.strip_prefix('+') {
        Some(digits) if all_digits(digits) => match digits.parse::<u64>() {
            Ok(n) => {
                base62::push_u128(out, u128::from(n));
                true
            }
            Err(_) => false,
        },
        _ => false,
    }
}

/// Whether s3db.js's reader unpacks this text: non-empty, not starting with `+`.
pub(super) fn phone_form(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with('+')
}

/// Reads packed digits (not starting with `+`) as `+digits`.
pub(super) fn decode_phone(stored: &str) -> Option<Value> {
    if !phone_form(stored) {
        return None;
    }
    let n = base62::decode_js_f64(stored);
    if n.is_nan() {
        return None;
    }
    Some(Value::String(format!("+{}", format_js_number(n))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn packed(f: fn(&mut String, &str) -> bool, s: &str) -> String {
        let mut out = String::new();
        assert!(f(&mut out, s), "{s}");
        out
    }

    #[test]
    fn spec_examples() {
        let uuid = "550e8400-e29b-41d4-a716-446655440000";
        assert_eq!(packed(push_uuid, uuid), "1yzBHq49i4y833Iawe1yOjy8");
        assert_eq!(decode_uuid("1yzBHq49i4y833Iawe1yOjy8"), Some(json!(uuid)));
        assert_eq!(
            packed(push_uuid, "123e4567-e89b-12d3-a456-426614174000"),
            "0kIf1d4g6oxB30AzXg0mOiNa"
        );
        assert_eq!(packed(push_semver, "1.2.3"), "4cFl");
        assert_eq!(decode_semver("4cFl"), Some(json!("1.2.3")));
        assert_eq!(packed(push_color, "#FF5733"), "18dhh");
        assert_eq!(decode_color("18dhh"), Some(json!("#ff5733")));
        assert_eq!(packed(push_ean, "4006381333931"), "118x8XMN5");
        assert_eq!(decode_ean("118x8XMN5"), Some(json!("4006381333931")));
        assert_eq!(packed(push_ean, "00012345"), "03d7");
        assert_eq!(decode_ean("03d7"), Some(json!("00012345")));
        assert_eq!(packed(push_phone, "+5511999999999"), "1z2ASgSr");
        assert_eq!(decode_phone("1z2ASgSr"), Some(json!("+5511999999999")));
    }

    #[test]
    fn raw_text_passes_through() {
        assert_eq!(decode_uuid("550e8400-e29b-41d4-a716-446655440000"), None);
        assert_eq!(decode_semver("1.2.3-beta"), None);
        assert_eq!(decode_color("#abcdef"), None);
        assert_eq!(decode_ean("123456789"), None);
        assert_eq!(decode_phone("+1 555"), None);
        assert!(!push_semver(&mut String::new(), "1.2"));
        assert!(!push_color(&mut String::new(), "red"));
    }
}
