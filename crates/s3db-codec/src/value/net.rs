//! Network values: `ip4`/`ip6` (base64 of the address bytes), `mac` (base62 of the 48 bits,
//! padded to 9), `cidr` (base62 of the IPv4 address padded to 6 + base62 of the prefix).
//!
//! The `push_*` packers return [`Packing::Refused`] when the text is not in a packable form; the
//! caller then decides whether the raw text can be stored (see `value::encode_into`).

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use serde_json::Value;

use super::Packing;
use crate::base62;

/// Node's `Buffer.from(s, 'base64')` for well-formed input (standard or URL-safe alphabet,
/// whitespace skipped, padding optional) when it gives exactly `N` bytes. `None` for any other
/// character or length.
fn decode_base64_loose<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    let mut len = 0;
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // One byte too many: the length is not `N` (the rest must still be well-formed).
            if let Some(slot) = bytes.get_mut(len) {
                *slot = (acc >> bits) as u8;
            }
            len += 1;
            acc &= (1 << bits) - 1;
        }
    }
    (len == N).then_some(bytes)
}

/// JavaScript's IPv4 check (`^\d{1,3}(\.\d{1,3}){3}$`, octets ≤ 255), the octets, and whether
/// the text is canonical (no leading zeros: it is what the reader writes back).
fn parse_ip4(s: &str) -> Option<([u8; 4], bool)> {
    let mut octets = [0u8; 4];
    let mut canonical = true;
    let mut parts = s.as_bytes().split(|&c| c == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = part
            .iter()
            .fold(0u16, |acc, &c| acc * 10 + u16::from(c - b'0'));
        *octet = u8::try_from(value).ok()?;
        canonical &= part.len() == 1 || part[0] != b'0';
    }
    parts.next().is_none().then_some((octets, canonical))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the padded standard base64 of `bytes` (as Node's `toString('base64')`).
fn push_base64(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| chunk.get(i).map_or(0, |&b| u32::from(b));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for k in 0..4 {
            // Chunk of 1 byte: 2 characters + `==`; of 2 bytes: 3 characters + `=`.
            let c = if k <= chunk.len() {
                BASE64[((n >> (18 - 6 * k)) & 63) as usize]
            } else {
                b'='
            };
            out.push(char::from(c));
        }
    }
}

/// Packs a dotted IPv4 address as base64 of its 4 bytes.
pub(super) fn push_ip4(out: &mut String, s: &str) -> Packing {
    match parse_ip4(s) {
        Some((octets, canonical)) => {
            push_base64(out, &octets);
            if canonical {
                Packing::Exact
            } else {
                Packing::Packed
            }
        }
        None => Packing::Refused,
    }
}

/// Appends the decimal digits of a byte.
fn push_u8(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

/// Appends `a.b.c.d`.
fn push_dotted(out: &mut String, octets: [u8; 4]) {
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u8(out, octet);
    }
}

/// Reads base64 of 4 bytes as `a.b.c.d`; `None` for anything else (s3db.js keeps the text).
pub(super) fn decode_ip4(stored: &str) -> Option<Value> {
    let octets = decode_base64_loose::<4>(stored)?;
    let mut text = String::with_capacity(15);
    push_dotted(&mut text, octets);
    Some(Value::String(text))
}

/// Packs an IPv6 address as base64 of its 16 bytes.
pub(super) fn push_ip6(out: &mut String, s: &str) -> Packing {
    match s.parse::<Ipv6Addr>() {
        Ok(addr) => {
            push_base64(out, &addr.octets());
            Packing::Packed
        }
        Err(_) => Packing::Refused,
    }
}

/// Reads base64 of 16 bytes as s3db.js's compressed text (lower case, no leading zeros, the
/// longest run of two or more zero groups — the first on a tie — as `::`). A valid IPv6 text
/// whose length is not 24 is kept as is, like s3db.js does.
pub(super) fn decode_ip6(stored: &str) -> Option<Value> {
    if stored.encode_utf16().count() != 24 && stored.parse::<Ipv6Addr>().is_ok() {
        return None;
    }
    let octets = decode_base64_loose::<16>(stored)?;
    let groups: [u16; 8] =
        std::array::from_fn(|i| u16::from_be_bytes([octets[2 * i], octets[2 * i + 1]]));
    Some(Value::String(compress_ip6(&groups)))
}

fn compress_ip6(groups: &[u16; 8]) -> String {
    let (mut best_start, mut best_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        if groups[i] == 0 {
            let start = i;
            while i < 8 && groups[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best_start, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    let join = |range: &[u16]| {
        let mut s = String::new();
        for (k, g) in range.iter().enumerate() {
            if k > 0 {
                s.push(':');
            }
            let _ = write!(s, "{g:x}");
        }
        s
    };
    if best_len < 2 {
        return join(groups);
    }
    let before = join(&groups[..best_start]);
    let after = join(&groups[best_start + best_len..]);
    format!("{before}::{after}")
}

/// Packs `aa:bb:cc:dd:ee:ff` (colons optional, 12 hex digits) as base62 padded to 9.
pub(super) fn push_mac(out: &mut String, s: &str) -> Packing {
    let hex: String = s.chars().filter(|&c| c != ':').collect();
    if hex.len() != 12 {
        return Packing::Refused;
    }
    match u64::from_str_radix(&hex, 16) {
        Ok(n) if hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
            base62::push_u128_padded(out, u128::from(n), 9);
            Packing::Packed
        }
        _ => Packing::Refused,
    }
}

/// Whether s3db.js's reader unpacks this text: 9 UTF-16 units without `:`.
pub(super) fn mac_form(stored: &str) -> bool {
    stored.encode_utf16().count() == 9 && !stored.contains(':')
}

/// Reads a 9-character base62 MAC as lower-case `aa:bb:cc:dd:ee:ff`.
pub(super) fn decode_mac(stored: &str) -> Option<Value> {
    if !mac_form(stored) {
        return None;
    }
    let n = base62::decode_u64(stored).ok()?;
    let hex = format!("{n:012x}");
    let pairs: Vec<&str> = hex
        .as_bytes()
        .chunks_exact(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .collect();
    Some(Value::String(pairs.join(":")))
}

/// Packs `a.b.c.d/p` (prefix 0–61, a single base62 digit) as 7 characters.
pub(super) fn push_cidr(out: &mut String, s: &str) -> Packing {
    let Some((ip, prefix)) = s.split_once('/') else {
        return Packing::Refused;
    };
    let Some((octets, _)) = parse_ip4(ip) else {
        return Packing::Refused;
    };
    let prefix = match prefix.parse::<u8>() {
        Ok(p) if p < 62 && prefix.bytes().all(|c| c.is_ascii_digit()) => p,
        _ => return Packing::Refused,
    };
    base62::push_u128_padded(out, u128::from(u32::from_be_bytes(octets)), 6);
    base62::push_u128(out, u128::from(prefix));
    Packing::Packed
}

/// Whether s3db.js's reader unpacks this text: 7 UTF-16 units without `.`.
pub(super) fn cidr_form(stored: &str) -> bool {
    stored.encode_utf16().count() == 7 && !stored.contains('.')
}

/// Reads a 7-character packed CIDR as `a.b.c.d/p`.
pub(super) fn decode_cidr(stored: &str) -> Option<Value> {
    if !cidr_form(stored) {
        return None;
    }
    let ip = base62::decode_u64(stored.get(..6)?).ok()?;
    let prefix = base62::decode_u64(stored.get(6..)?).ok()?;
    // JavaScript's `>>>` works on the low 32 bits.
    let mut text = String::with_capacity(18);
    push_dotted(&mut text, (ip as u32).to_be_bytes());
    let _ = write!(text, "/{prefix}");
    Some(Value::String(text))
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
        assert_eq!(packed(push_ip4, "192.168.0.1"), "wKgAAQ==");
        assert_eq!(decode_ip4("wKgAAQ=="), Some(json!("192.168.0.1")));
        assert_eq!(packed(push_ip6, "2001:db8::1"), "IAENuAAAAAAAAAAAAAAAAQ==");
        assert_eq!(
            decode_ip6("IAENuAAAAAAAAAAAAAAAAQ=="),
            Some(json!("2001:db8::1"))
        );
        assert_eq!(decode_ip6("AAAAAAAAAAAAAAAAAAAAAA=="), Some(json!("::")));
        assert_eq!(
            packed(push_ip6, "fe80::1ff:fe23:4567:890a"),
            "/oAAAAAAAAAB//4jRWeJCg=="
        );
        assert_eq!(
            decode_ip6("/oAAAAAAAAAB//4jRWeJCg=="),
            Some(json!("fe80::1ff:fe23:4567:890a"))
        );
        assert_eq!(packed(push_mac, "AA:BB:CC:DD:EE:FF"), "0RiYGo9Lp");
        assert_eq!(decode_mac("0RiYGo9Lp"), Some(json!("aa:bb:cc:dd:ee:ff")));
        assert_eq!(packed(push_cidr, "192.168.1.0/24"), "3wK8b6o");
        assert_eq!(decode_cidr("3wK8b6o"), Some(json!("192.168.1.0/24")));
    }

    #[test]
    fn raw_text_passes_through() {
        assert_eq!(decode_ip4("hello"), None);
        assert_eq!(decode_ip6("2001:db8::1"), None);
        assert_eq!(decode_mac("aa:bb:cc:dd:ee:ff"), None);
        assert_eq!(decode_cidr("10.0.0.0/8"), None);
        assert_eq!(push_ip4(&mut String::new(), "256.0.0.1"), Packing::Refused);
        assert_eq!(
            push_cidr(&mut String::new(), "10.0.0.0/99"),
            Packing::Refused
        );
    }

    proptest::proptest! {
        #[test]
        fn base64_matches_the_base64_crate(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)) {
            use base64::Engine as _;
            let mut out = String::new();
            push_base64(&mut out, &bytes);
            proptest::prop_assert_eq!(out, base64::engine::general_purpose::STANDARD.encode(&bytes));
        }
    }

    #[test]
    fn zero_runs() {
        assert_eq!(compress_ip6(&[1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3");
        assert_eq!(compress_ip6(&[1, 0, 0, 2, 0, 0, 3, 4]), "1::2:0:0:3:4");
        assert_eq!(compress_ip6(&[1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
        assert_eq!(compress_ip6(&[0; 8]), "::");
    }
}
