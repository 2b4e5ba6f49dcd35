//! Packed identifiers: `uuid`, `semver`, `color`, `ean`, `phone`.
//!
//! The `push_*` packers return [`Packing::Refused`] when the text is not in a packable form; the
//! caller then decides whether the raw text can be stored (see `value::encode_into`).

use serde_json::Value;

use super::Packing;
use super::number::format_js_number;
use crate::base62;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn all_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// What a byte is in a UUID text: a lower-case hex digit's value (0–15), an upper-case one's
/// value + [`UPPER`], [`HYPHEN`] or [`OTHER`].
const UUID_BYTES: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = UPPER + 10 + i as u8;
        i += 1;
    }
    table[b'-' as usize] = HYPHEN;
    table
};
const UPPER: u8 = 0x10;
const HYPHEN: u8 = 0x20;
const OTHER: u8 = 0xff;

/// Packs a UUID (hyphens ignored, 32 hex digits) as four base62 groups of 6. The canonical
/// lower-case hyphenated form (`8-4-4-4-12`) is [`Packing::Exact`]: it is what the reader writes.
pub(super) fn push_uuid(out: &mut String, s: &str) -> Packing {
    let mut groups = [0u32; 4];
    let mut count = 0;
    let mut canonical = s.len() == 36;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        match UUID_BYTES[usize::from(c)] {
            HYPHEN => canonical &= matches!(i, 8 | 13 | 18 | 23),
            OTHER => return Packing::Refused,
            v => {
                let Some(group) = groups.get_mut(count / 8) else {
                    return Packing::Refused;
                };
                canonical &= v < UPPER;
                *group = (*group << 4) | u32::from(v & 0xf);
                count += 1;
            }
        }
    }
    if count != 32 {
        return Packing::Refused;
    }
    // A 32-bit group is below 62^6: six digits hold it.
    let mut packed = [0u8; 24];
    for (digits, n) in packed.chunks_exact_mut(6).zip(groups) {
        base62::fill_fixed_width(digits, u64::from(n));
    }
    base62::push_ascii(out, &packed);
    if canonical {
        Packing::Exact
    } else {
        Packing::Packed
    }
}

/// Whether s3db.js's reader unpacks this text: 24 UTF-16 units without `-`.
pub(super) fn uuid_form(stored: &str) -> bool {
    stored.encode_utf16().count() == 24 && !stored.contains('-')
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Reads 24 characters without `-` as a lower-case hyphenated UUID: each group of 6 in hex
/// (at least 8 digits), the first 32 hex digits hyphenated `8-4-4-4-12`.
pub(super) fn decode_uuid(stored: &str) -> Option<Value> {
    // Base62 digits are ASCII, so 24 bytes of them are 24 UTF-16 units; a `-` is no digit.
    let packed = stored.as_bytes();
    if packed.len() != 24 {
        return None;
    }
    // A group is below 62^6 < 16^9: at most 9 hex digits, 36 for the four groups.
    let mut hex = [0u8; 36];
    let mut len = 0;
    for group in packed.chunks_exact(6) {
        let mut n = 0u64;
        for &c in group {
            n = n * 62 + u64::from(base62::digit_value(c)?);
        }
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(8) as usize;
        let end = len + digits;
        for digit in hex.get_mut(len..end)?.iter_mut().rev() {
            *digit = HEX_DIGITS[(n & 0xf) as usize];
            n >>= 4;
        }
        len = end;
    }
    let mut text = [b'-'; 36];
    for (from, to) in [
        (0..8, 0),
        (8..12, 9),
        (12..16, 14),
        (16..20, 19),
        (20..32, 24),
    ] {
        let part = hex.get(from)?;
        text.get_mut(to..to + part.len())?.copy_from_slice(part);
    }
    let text = std::str::from_utf8(&text).ok()?;
    Some(Value::String(text.to_owned()))
}

/// Packs `major.minor.patch` (digits only) as base62 of `major·10⁶ + minor·10³ + patch`.
pub(super) fn push_semver(out: &mut String, s: &str) -> Packing {
    let mut parts = s.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Packing::Refused;
    };
    if !(all_digits(major) && all_digits(minor) && all_digits(patch)) {
        return Packing::Refused;
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
            Packing::Packed
        }
        None => Packing::Refused,
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
pub(super) fn push_color(out: &mut String, s: &str) -> Packing {
    match s.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && all_hex(hex) => match u32::from_str_radix(hex, 16) {
            Ok(n) => {
                base62::push_u128_padded(out, u128::from(n), 5);
                Packing::Packed
            }
            Err(_) => Packing::Refused,
        },
        _ => Packing::Refused,
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
pub(super) fn push_ean(out: &mut String, s: &str) -> Packing {
    let Some(tag) = ean_tag(s.len()).filter(|_| all_digits(s)) else {
        return Packing::Refused;
    };
    match s.parse::<u64>() {
        Ok(n) => {
            out.push(tag);
            base62::push_u128(out, u128::from(n));
            Packing::Packed
        }
        Err(_) => Packing::Refused,
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
pub(super) fn push_phone(out: &mut String, s: &str) -> Packing {
    match s.strip_prefix('+') {
        Some(digits) if all_digits(digits) => match digits.parse::<u64>() {
            Ok(n) => {
                base62::push_u128(out, u128::from(n));
                Packing::Packed
            }
            Err(_) => Packing::Refused,
        },
        _ => Packing::Refused,
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

    fn packed(f: fn(&mut String, &str) -> Packing, s: &str) -> String {
        let mut out = String::new();
        assert_ne!(f(&mut out, s), Packing::Refused, "{s}");
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
        // A group above 32 bits has 9 hex digits; the first 32 digits are kept, as in s3db.js.
        assert_eq!(
            decode_uuid("ZZZZZZ000000000000000000"),
            Some(json!("d398ed03-f000-0000-0000-000000000000"))
        );
        assert_eq!(decode_semver("1.2.3-beta"), None);
        assert_eq!(decode_color("#abcdef"), None);
        assert_eq!(decode_ean("123456789"), None);
        assert_eq!(decode_phone("+1 555"), None);
        assert_eq!(push_semver(&mut String::new(), "1.2"), Packing::Refused);
        assert_eq!(push_color(&mut String::new(), "red"), Packing::Refused);
    }
}
