//! Base62 (alphabet `0-9a-zA-Z`) and base36 short keys, as s3db.js 21.6.2 writes them.
//!
//! Two families live here:
//! * exact integer codecs ([`encode_u64`], [`decode_u64`], [`encode_u128`], [`decode_u128`]);
//! * the JavaScript float algorithms of s3db.js (`concerns/base62.js`): [`encode_js_f64`] and
//!   [`decode_js_f64`]. s3db.js keeps numbers as IEEE doubles, so above 2^53 its digits are
//!   produced with `n % 62` / `Math.floor(n / 62)` in float arithmetic and read back with
//!   `r * 62 + digit`; `1e21` becomes `jdt8BLTpPG02`. These functions reproduce that arithmetic
//!   bit for bit, which is what byte-identical output needs.
//!
//! ```
//! use s3db_codec::base62;
//! assert_eq!(base62::encode_u64(42), "G");
//! assert_eq!(base62::decode_u64("w7e").unwrap(), 123_456);
//! assert_eq!(base62::encode_js_f64(1e21), "jdt8BLTpPG02");
//! assert_eq!(base62::decode_js_f64("jdt8BLTpPG02"), 1e21);
//! assert_eq!(base62::base36_key(36), "10");
//! ```

use crate::CodecError;

/// The base62 alphabet: digits, lower case, upper case.
pub const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

const KEY_ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The value of one base62 digit, `None` for a character outside the alphabet.
pub fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'z' => Some(c - b'a' + 10),
        b'A'..=b'Z' => Some(c - b'A' + 36),
        _ => None,
    }
}

/// Base62 of an unsigned integer (`0` for zero).
pub fn encode_u64(n: u64) -> String {
    let mut out = String::with_capacity(11);
    push_u128(&mut out, u128::from(n));
    out
}

/// Base62 of an unsigned 128-bit integer (`0` for zero).
pub fn encode_u128(n: u128) -> String {
    let mut out = String::with_capacity(22);
    push_u128(&mut out, n);
    out
}

/// Appends the base62 digits of `n` to `out` (`0` for zero).
pub fn push_u128(out: &mut String, n: u128) {
    let mut buf = [0u8; U128_DIGITS];
    let start = fill_digits(&mut buf, n);
    push_ascii(out, &buf[start..]);
}

/// Appends the base62 digits of `n` to `out` (`0` for zero), in 64-bit arithmetic.
pub fn push_u64(out: &mut String, n: u64) {
    push_u128(out, u128::from(n));
}

/// Base62 digits of the largest `u128`.
const U128_DIGITS: usize = 22;

/// Writes the digits of `n` at the end of `buf` and returns where they start; 64-bit values
/// (the common case) are divided in 64-bit arithmetic.
fn fill_digits(buf: &mut [u8; U128_DIGITS], n: u128) -> usize {
    let mut i = buf.len();
    let mut small = match u64::try_from(n) {
        Ok(small) => small,
        Err(_) => {
            let mut n = n;
            while n > u128::from(u64::MAX) {
                i -= 1;
                // `n % 62` is below 62, so the index is in range.
                buf[i] = ALPHABET[(n % 62) as usize];
                n /= 62;
            }
            n as u64
        }
    };
    loop {
        i -= 1;
        buf[i] = ALPHABET[(small % 62) as usize];
        small /= 62;
        if small == 0 {
            break;
        }
    }
    i
}

/// Fills `buf` with the last `buf.len()` base62 digits of `n`, left-padded with `0` (the full
/// value when it has at most that many digits).
pub(crate) fn fill_fixed_width(buf: &mut [u8], mut n: u64) {
    for slot in buf.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
}

/// Appends ASCII bytes (alphabet digits, decimal digits, punctuation) to `out`.
pub(crate) fn push_ascii(out: &mut String, digits: &[u8]) {
    // A few bytes are cheapest pushed one by one; longer runs go through one UTF-8 check.
    if digits.len() <= 12 {
        out.reserve(digits.len());
        for &b in digits {
            // The mask keeps ASCII as it is and tells the compiler each is one UTF-8 byte.
            out.push(char::from(b & 0x7f));
        }
    } else {
        out.push_str(std::str::from_utf8(digits).unwrap_or_default());
    }
}

/// Appends the base62 digits of `n`, left-padded with `0` to at least `width` characters.
pub fn push_u128_padded(out: &mut String, n: u128, width: usize) {
    let mut buf = [0u8; U128_DIGITS];
    let start = fill_digits(&mut buf, n);
    for _ in buf.len() - start..width {
        out.push('0');
    }
    push_ascii(out, &buf[start..]);
}

/// Exact value of a non-empty string of base62 digits.
pub fn decode_u64(s: &str) -> Result<u64, CodecError> {
    if s.is_empty() {
        return Err(CodecError::decode("base62", s, "empty string"));
    }
    let mut r: u64 = 0;
    for c in s.bytes() {
        let d = digit_value(c)
            .ok_or_else(|| CodecError::decode("base62", s, "character outside 0-9a-zA-Z"))?;
        r = r
            .checked_mul(62)
            .and_then(|r| r.checked_add(u64::from(d)))
            .ok_or_else(|| CodecError::decode("base62", s, "value does not fit in 64 bits"))?;
    }
    Ok(r)
}

/// Exact value of a non-empty string of base62 digits, up to 128 bits.
pub fn decode_u128(s: &str) -> Result<u128, CodecError> {
    if s.is_empty() {
        return Err(CodecError::decode("base62", s, "empty string"));
    }
    let mut r: u128 = 0;
    for c in s.bytes() {
        let d = digit_value(c)
            .ok_or_else(|| CodecError::decode("base62", s, "character outside 0-9a-zA-Z"))?;
        r = r
            .checked_mul(62)
            .and_then(|r| r.checked_add(u128::from(d)))
            .ok_or_else(|| CodecError::decode("base62", s, "value does not fit in 128 bits"))?;
    }
    Ok(r)
}

/// s3db.js `base62.encode(n)` on a JavaScript number: `undefined` for NaN/infinite, `0` for zero,
/// `-` + digits of `-floor(n)` for negatives, otherwise the digits of `floor(n)` computed in
/// float arithmetic.
pub fn encode_js_f64(n: f64) -> String {
    let mut out = String::with_capacity(12);
    push_js_f64(&mut out, n);
    out
}

/// Appends [`encode_js_f64`] of `n` to `out`.
pub fn push_js_f64(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("undefined");
        return;
    }
    if n == 0.0 {
        out.push('0');
        return;
    }
    let n = if n < 0.0 {
        out.push('-');
        -n.floor()
    } else {
        n
    };
    if n <= 9_007_199_254_740_992.0 {
        // Exact in 64-bit integers (the cast truncates: `floor` of a non-negative number): the
        // same digits as the float loop, much faster.
        push_u64(out, n as u64);
        return;
    }
    let mut n = n.floor();
    // At most 309 decimal digits ~ 173 base62 digits for the largest double.
    let mut buf = [0u8; 180];
    let mut i = buf.len();
    while n != 0.0 && i > 0 {
        i -= 1;
        // `n` is a non-negative integer, so `n % 62` is an exact integer in 0..62.
        buf[i] = ALPHABET[(n % 62.0) as usize];
        n = (n / 62.0).floor();
    }
    push_ascii(out, &buf[i..]);
}

/// s3db.js `base62.decode(s)`: `0` for the empty string, optional leading `-`, then
/// `r = r * 62 + digit` in float arithmetic; NaN when a character is outside the alphabet.
pub fn decode_js_f64(s: &str) -> f64 {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut r = 0.0f64;
    for c in digits.bytes() {
        match digit_value(c) {
            Some(d) => r = r * 62.0 + f64::from(d),
            None => return f64::NAN,
        }
    }
    if negative { -r } else { r }
}

/// The metadata short key of attribute index `index`: base36, lower case
/// (`0`…`9`, `a`…`z`, `10`, `11`, …).
pub fn base36_key(index: usize) -> String {
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = index;
    loop {
        i -= 1;
        buf[i] = KEY_ALPHABET[n % 36];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    buf[i..].iter().map(|&b| char::from(b)).collect()
}

/// The attribute index of a base36 short key (inverse of [`base36_key`]).
pub fn decode_base36_key(key: &str) -> Result<usize, CodecError> {
    if key.is_empty() {
        return Err(CodecError::decode("base36 key", key, "empty key"));
    }
    let mut r: usize = 0;
    for c in key.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => {
                return Err(CodecError::decode(
                    "base36 key",
                    key,
                    "character outside 0-9a-z",
                ));
            }
        };
        r = r
            .checked_mul(36)
            .and_then(|r| r.checked_add(usize::from(d)))
            .ok_or_else(|| CodecError::decode("base36 key", key, "index too large"))?;
    }
    Ok(r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_integers() {
        assert_eq!(encode_u64(0), "0");
        assert_eq!(encode_u64(61), "Z");
        assert_eq!(encode_u64(62), "10");
        assert_eq!(encode_u64(3843), "ZZ");
        assert_eq!(encode_u64(1 << 40), "jmaiJOw");
        assert_eq!(decode_u64("jmaiJOw").unwrap(), 1 << 40);
        assert_eq!(decode_u64(&encode_u64(u64::MAX)).unwrap(), u64::MAX);
        assert!(decode_u64("").is_err());
        assert!(decode_u64("a-b").is_err());
        assert!(decode_u64("ZZZZZZZZZZZZ").is_err());
        assert_eq!(decode_u128(&encode_u128(u128::MAX)).unwrap(), u128::MAX);
        let mut s = String::new();
        push_u128_padded(&mut s, 5, 6);
        assert_eq!(s, "000005");
    }

    #[test]
    fn javascript_float_algorithm() {
        assert_eq!(encode_js_f64(1e21), "jdt8BLTpPG02");
        assert_eq!(encode_js_f64(2e22), "6cloMbrSko2mE");
        assert_eq!(encode_js_f64(9_007_199_254_740_992.0), "FfGNdXsE8");
        assert_eq!(encode_js_f64(18_446_744_073_709_552_000.0), "lYGhA16ahqg");
        assert_eq!(encode_js_f64(-5.0), "-5");
        assert_eq!(encode_js_f64(-1.5), "-2");
        assert_eq!(encode_js_f64(1.9), "1");
        assert_eq!(encode_js_f64(f64::NAN), "undefined");
        assert_eq!(decode_js_f64(""), 0.0);
        assert_eq!(decode_js_f64("-5"), -5.0);
        assert!(decode_js_f64("5.5").is_nan());
    }

    #[test]
    fn short_keys() {
        assert_eq!(base36_key(0), "0");
        assert_eq!(base36_key(10), "a");
        assert_eq!(base36_key(35), "z");
        assert_eq!(base36_key(36), "10");
        assert_eq!(decode_base36_key("10").unwrap(), 36);
        assert!(decode_base36_key("A").is_err());
    }
}
