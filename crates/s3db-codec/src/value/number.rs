//! JavaScript numbers: `Number.prototype.toString` formatting, `Number(string)` parsing, and the
//! two s3db.js number encodings — decimal base62 (`number`) and integer base62
//! (`number|integer:true`).
//!
//! Writer rules (where s3db.js loses data we write something both readers decode exactly):
//! * fractional numbers: `String(|n|)` split at the first `.`, integer part in base62, fraction
//!   copied (`42.5` → `G.5`, `1.5e-7` → `1.5e-7`); a fraction printed by JavaScript in exponent
//!   form without a `.` (`3e-7`, which s3db.js stores as the empty string) is written as its plain
//!   decimal expansion `0.0000003`;
//! * integers up to 2^53: exact base62;
//! * larger integers that are doubles: s3db.js's float digits when its float decoder reads them
//!   back exactly (`1e21` → `jdt8BLTpPG02`), otherwise `0.<digits>e+<exp>` (decimal kind, read by
//!   `Number()` in s3db.js) or `0` + exact digits (integer kind; a leading zero s3db.js never
//!   writes, so our reader knows the digits are exact);
//! * integers that are not doubles (JSON integers above 2^53): `0` + exact digits;
//! * `-0` is written `-0` (s3db.js writes `0`; both readers return `-0`).

use std::fmt::Write as _;

use serde_json::{Number, Value};

use crate::CodecError;
use crate::base62;

/// 2^53: every integer up to here is an exact double and round-trips through s3db.js's float
/// base62 arithmetic.
const SAFE: u128 = 1 << 53;

/// A number as it comes out of JSON: an exact integer or a double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// The number held by a JSON value, `None` for any other value.
    pub(crate) fn from_value(value: &Value) -> Option<Num> {
        let Value::Number(n) = value else {
            return None;
        };
        if let Some(u) = n.as_u64() {
            Some(Num::Int(i128::from(u)))
        } else if let Some(i) = n.as_i64() {
            Some(Num::Int(i128::from(i)))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    /// The nearest double.
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // Rounds to nearest, like JavaScript reading a long integer literal.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The JSON value: integral numbers that fit 64 bits become JSON integers, the rest doubles.
    pub(crate) fn into_value(self, kind: &'static str, stored: &str) -> Result<Value, CodecError> {
        match self {
            Num::Int(i) => {
                if let Ok(u) = u64::try_from(i) {
                    Ok(Value::from(u))
                } else if let Ok(s) = i64::try_from(i) {
                    Ok(Value::from(s))
                } else {
                    float_value(i as f64, kind, stored)
                }
            }
            Num::Float(f) => float_value(f, kind, stored),
        }
    }
}

/// A double as a JSON value (integral values that fit 64 bits as JSON integers, `-0` kept).
pub(crate) fn float_value(f: f64, kind: &'static str, stored: &str) -> Result<Value, CodecError> {
    if !f.is_finite() {
        return Err(CodecError::decode(kind, stored, "not a finite number"));
    }
    // In range, the casts truncate; a value that survives the round trip is integral.
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) && !f.is_sign_negative() {
        let u = f as u64;
        if u as f64 == f {
            return Ok(Value::from(u));
        }
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        let i = f as i64;
        if i as f64 == f {
            return Ok(Value::from(i));
        }
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| CodecError::decode(kind, stored, "not a finite number"))
}

/// JavaScript's `Math.round`: nearest integer, halves toward +∞.
pub(crate) fn js_round(x: f64) -> f64 {
    let floor = floor(x);
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// `x.floor()` without a call into the C library: below 2^52 in magnitude through a
/// truncating integer cast; above, every double is an integer (and NaN, ±∞ and ±0 are their
/// own floor).
fn floor(x: f64) -> f64 {
    if x != 0.0 && x.abs() < 4_503_599_627_370_496.0 {
        let truncated = x as i64 as f64;
        if truncated > x {
            truncated - 1.0
        } else {
            truncated
        }
    } else {
        x
    }
}

/// JavaScript's `String(n)` for a double (`1e+21`, `1.5e-7`, `100`, `0.1`, `NaN`, `-Infinity`).
pub fn format_js_number(n: f64) -> String {
    let mut out = String::with_capacity(24);
    write_js_number(&mut out, n);
    out
}

/// Appends JavaScript's `String(n)` to `out`.
///
/// Shortest round-trip digits (as JavaScript engines pick them), plain notation for decimal
/// exponents -7 < e < 21 and `d.ddde±x` outside.
pub fn write_js_number(out: &mut String, n: f64) {
    if n.is_nan() {
        out.push_str("NaN");
        return;
    }
    if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if n == 0.0 {
        out.push('0');
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    let mut sci = StackBuf::new();
    // Infallible: the buffer is large enough for any shortest `{:e}` rendering of a double.
    let _ = write!(sci, "{:e}", n.abs());
    let (digits, exp) = split_scientific(sci.as_str());
    let k = digits.len() as i32;
    let point = exp + 1; // JavaScript's `n`: position of the decimal point.
    if k <= point && point <= 21 {
        out.push_str(digits);
        push_zeros(out, (point - k) as usize);
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        push_zeros(out, (-point) as usize);
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = point - 1;
        out.push('e');
        out.push(if e >= 0 { '+' } else { '-' });
        let _ = write!(out, "{}", e.abs());
    }
}

fn push_zeros(out: &mut String, count: usize) {
    for _ in 0..count {
        out.push('0');
    }
}

/// Splits Rust's shortest `{:e}` output (`1.2345e-7`) into its digits without the point
/// (`12345`) and its decimal exponent (`-7`).
fn split_scientific(sci: &str) -> (&str, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp = exp.parse().unwrap_or(0);
    (mantissa, exp)
}

/// A fixed-size buffer for formatting a double without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
    digits_only: [u8; 40],
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 40],
            len: 0,
            digits_only: [0; 40],
        }
    }

    /// The formatted text with the mantissa's `.` removed (`1.25e3` → `125e3`).
    fn as_str(&mut self) -> &str {
        let mut n = 0;
        for &b in &self.buf[..self.len] {
            if b != b'.' {
                self.digits_only[n] = b;
                n += 1;
            }
        }
        std::str::from_utf8(&self.digits_only[..n]).unwrap_or("0e0")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let bytes = s.as_bytes();
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// JavaScript's `Number(text)` for decimal text: surrounding whitespace ignored, empty → 0,
/// `Infinity` with optional sign, `0x`/`0o`/`0b` integers, otherwise a decimal literal with
/// optional sign, point and exponent. `None` where JavaScript gives NaN.
pub fn parse_js_number(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return Some(0.0);
    }
    let (sign, unsigned) = match t.as_bytes()[0] {
        b'+' => (1.0, &t[1..]),
        b'-' => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    if unsigned == "Infinity" {
        return Some(sign * f64::INFINITY);
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return parse_radix(digits, radix);
        }
    }
    if !is_decimal_literal(unsigned) {
        return None;
    }
    t.parse::<f64>().ok()
}

fn parse_radix(digits: &str, radix: u32) -> Option<f64> {
    if digits.is_empty() {
        return None;
    }
    let mut r = 0.0f64;
    for c in digits.chars() {
        r = r * f64::from(radix) + f64::from(c.to_digit(radix)?);
    }
    Some(r)
}

/// `digits [. digits?] | . digits`, then an optional exponent `e[+-]digits`.
fn is_decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&b[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(&b[i..]);
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&b[i..]);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Appends the decimal-base62 encoding (s3db.js `encodeDecimal`) of `num`.
pub(crate) fn push_decimal(out: &mut String, num: Num) {
    match num {
        Num::Int(i) => push_integral(out, i < 0, i.unsigned_abs(), true),
        Num::Float(f) => push_decimal_f64(out, f),
    }
}

fn push_decimal_f64(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let negative = f < 0.0;
    let a = f.abs();
    if a.fract() == 0.0 && a <= SAFE as f64 {
        // Integral and at most 2^53: exact conversion.
        push_integral(out, negative, a as u128, true);
        return;
    }
    if let Some((int, frac, places)) = short_fraction(a) {
        if negative {
            out.push('-');
        }
        base62::push_u64(out, int);
        out.push('.');
        push_decimal_digits(out, frac, places);
        return;
    }
    let mut text = String::with_capacity(24);
    write_js_number(&mut text, a);
    if a.fract() == 0.0 && !text.contains('.') {
        // `123456789012345680000` or `1e+21`: s3db.js's float digits or our exact fallback.
        push_big_double(out, negative, a, true);
        return;
    }
    if negative {
        out.push('-');
    }
    match text.split_once('.') {
        Some((int_part, frac)) => {
            // A fractional double below 2^53, or a one-digit mantissa: a short decimal integer.
            let int_value: u128 = int_part.parse().unwrap_or(0);
            base62::push_u128(out, int_value);
            out.push('.');
            out.push_str(frac);
        }
        None => {
            // `de-x` (a one-digit mantissa with a negative exponent): write `0.000…d`.
            let (digit, exp) = text.split_once("e-").unwrap_or(("0", "0"));
            let exp: usize = exp.parse().unwrap_or(0);
            out.push_str("0.");
            push_zeros(out, exp.saturating_sub(1));
            out.push_str(digit);
        }
    }
}

/// Exact powers of ten as doubles, 10^0 … 10^22.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Below this, `x·10^p` is computed with an error under 0.25, so rounding it finds the integer
/// it stands for; and decimals with `p` places are more than an ulp of `x` apart, so at most one
/// of them reads back as `x`.
const SHORT_LIMIT: f64 = (1u64 << 50) as f64;

/// JavaScript's `String(a)` of a positive non-integral double that prints in plain notation
/// with few digits (`19.99`, `0.5`, `4.25`), without the general shortest-digits algorithm:
/// `(integer part, fraction digits as an integer, number of fraction digits)`.
///
/// The fewest places `p` such that `m / 10^p` reads back as `a` give the shortest digits. For
/// `m` below 2^53 and `p` ≤ 22 that division is correctly rounded, so it is exactly what
/// parsing the decimal `m·10^-p` gives (Clinger's fast path); below [`SHORT_LIMIT`] no other
/// decimal with `p` places reads back as `a`, so these are also the digits JavaScript picks.
/// `None` for integers, outside `[1e-6, 2^50)` or when more digits are needed.
fn short_fraction(a: f64) -> Option<(u64, u64, usize)> {
    if !(1e-6..SHORT_LIMIT).contains(&a) {
        return None;
    }
    for (places, &scale) in POW10.iter().enumerate().skip(1) {
        let x = a * scale;
        if x >= SHORT_LIMIT {
            return None;
        }
        // `x` is positive: adding a half and truncating rounds it.
        let m = (x + 0.5) as u64;
        if m as f64 / scale == a {
            // Above 10^19 the unit exceeds `m` (below 2^50): no integer part.
            let (int, frac) = match 10u64.checked_pow(places as u32) {
                Some(unit) => (m / unit, m % unit),
                None => (0, m),
            };
            // A zero fraction: `a` is an integer, printed without a point.
            return (frac != 0).then_some((int, frac, places));
        }
    }
    None
}

/// Appends `n` in decimal, left-padded with `0` to at least `width` digits.
fn push_decimal_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 24];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    base62::push_ascii(out, &buf[i..]);
}

/// Appends an integral magnitude `a` with its sign: exact base62 up to 2^53, otherwise the
/// big-number rules of the module documentation.
fn push_integral(out: &mut String, negative: bool, a: u128, decimal: bool) {
    if a <= SAFE {
        if negative {
            out.push('-');
        }
        base62::push_u128(out, a);
        return;
    }
    let as_double = a as f64;
    if as_double as u128 == a && as_double < 3.0e38 {
        push_big_double(out, negative, as_double, decimal);
    } else {
        push_exact_marked(out, negative, a);
    }
}

/// An integral double above 2^53.
fn push_big_double(out: &mut String, negative: bool, a: f64, decimal: bool) {
    let js = base62::encode_js_f64(a);
    if negative {
        out.push('-');
    }
    if base62::decode_js_f64(&js) == a {
        out.push_str(&js);
    } else if decimal {
        let mut sci = StackBuf::new();
        let _ = write!(sci, "{a:e}");
        let (digits, exp) = split_scientific(sci.as_str());
        out.push_str("0.");
        out.push_str(digits);
        let _ = write!(out, "e+{}", exp + 1);
    } else if a < 3.0e38 {
        // Integral and below 2^128: exact conversion.
        out.push('0');
        base62::push_u128(out, a as u128);
    } else {
        // Beyond 128 bits s3db.js's own digits are the only integer form.
        out.push_str(&js);
    }
}

fn push_exact_marked(out: &mut String, negative: bool, a: u128) {
    if negative {
        out.push('-');
    }
    out.push('0');
    base62::push_u128(out, a);
}

/// Appends the integer-base62 encoding (s3db.js `toBase62`) of an integral number.
pub(crate) fn push_integer(out: &mut String, num: Num) -> Result<(), &'static str> {
    match num {
        Num::Int(i) => push_integral(out, i < 0, i.unsigned_abs(), false),
        Num::Float(f) => {
            if f.fract() != 0.0 {
                return Err("not an integer");
            }
            if f == 0.0 {
                out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
            } else if f.abs() <= SAFE as f64 {
                push_integral(out, f < 0.0, f.abs() as u128, false);
            } else {
                push_big_double(out, f < 0.0, f.abs(), false);
            }
        }
    }
    Ok(())
}

/// s3db.js `base62.decode` of an integer with our exactness rules: `` → 0, optional `-`,
/// digits; a leading `0` (never written by s3db.js) or a value up to 2^53 is decoded exactly,
/// anything else with s3db.js's float arithmetic. `None` on a character outside the alphabet.
pub(crate) fn decode_integer_digits(s: &str) -> Option<Num> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !digits.bytes().all(|c| base62::digit_value(c).is_some()) {
        return None;
    }
    if digits.is_empty() {
        return Some(if negative {
            Num::Float(-0.0)
        } else {
            Num::Int(0)
        });
    }
    let exact = match base62::decode_u64(digits) {
        Ok(small) => Some(u128::from(small)),
        Err(_) => base62::decode_u128(digits).ok(),
    };
    let marked = digits.len() > 1 && digits.starts_with('0');
    let num = match exact {
        Some(m) if m <= SAFE || marked => match i128::try_from(m) {
            Ok(v) if negative && v == 0 => Num::Float(-0.0),
            Ok(v) => Num::Int(if negative { -v } else { v }),
            // Above 2^127: the nearest double (exact for the doubles our writer marks).
            Err(_) => Num::Float(signed(negative, m as f64)),
        },
        _ => Num::Float(signed(negative, base62::decode_js_f64(digits))),
    };
    Some(num)
}

fn signed(negative: bool, f: f64) -> f64 {
    if negative { -f } else { f }
}

/// s3db.js `decodeDecimal`: sign, integer part in base62, then — when a fraction follows the
/// first `.` — `Number(String(int) + '.' + fraction)`. `None` where s3db.js gets NaN.
pub(crate) fn decode_decimal(stored: &str) -> Option<Num> {
    let (negative, rest) = match stored.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, stored),
    };
    // The integer part ends at the first `.`, the fraction at the next one.
    let (int_part, frac) = match rest.bytes().position(|c| c == b'.') {
        Some(point) => {
            let after = &rest[point + 1..];
            let end = after.bytes().position(|c| c == b'.').unwrap_or(after.len());
            (&rest[..point], &after[..end])
        }
        None => (rest, ""),
    };
    let int = decode_integer_digits(int_part)?;
    if frac.is_empty() {
        return Some(match int {
            Num::Int(i) if negative && i == 0 => Num::Float(-0.0),
            Num::Int(i) => Num::Int(if negative { -i } else { i }),
            Num::Float(f) => Num::Float(signed(negative, f)),
        });
    }
    if let Some(value) = short_decimal_value(int, frac) {
        return Some(Num::Float(signed(negative, value)));
    }
    let mut text = String::with_capacity(int_part.len() + frac.len() + 8);
    match int {
        Num::Int(i) if i.unsigned_abs() <= SAFE => {
            let _ = write!(text, "{i}");
        }
        other => write_js_number(&mut text, other.as_f64()),
    }
    text.push('.');
    text.push_str(frac);
    let value = parse_js_number(&text)?;
    Some(Num::Float(signed(negative, value)))
}

/// `Number(int + '.' + frac)` for a non-negative integer part and a fraction of decimal digits
/// that together have fewer than 16 digits: `int·10^p + frac` is then an exact double below
/// 2^53 and dividing by the exact `10^p` rounds correctly, as parsing does (Clinger's fast
/// path). `None` for anything else.
fn short_decimal_value(int: Num, frac: &str) -> Option<f64> {
    let Num::Int(int) = int else {
        return None;
    };
    let scale = *POW10.get(frac.len())?;
    let mut m = u64::try_from(int).ok().filter(|&i| i < 1 << 53)?;
    for c in frac.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    (m < 1 << 53).then(|| m as f64 / scale)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dec(f: f64) -> String {
        let mut s = String::new();
        push_decimal(&mut s, Num::Float(f));
        s
    }

    #[test]
    fn js_number_formatting() {
        for (n, s) in [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.5, "-0.5"),
            (123.456, "123.456"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (123456789.125, "123456789.125"),
        ] {
            assert_eq!(format_js_number(n), s, "{n:e}");
        }
    }

    #[test]
    fn js_number_parsing() {
        assert_eq!(parse_js_number(" 1.5 "), Some(1.5));
        assert_eq!(parse_js_number(""), Some(0.0));
        assert_eq!(parse_js_number("1."), Some(1.0));
        assert_eq!(parse_js_number("0x1f"), Some(31.0));
        assert_eq!(parse_js_number("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_js_number("inf"), None);
        assert_eq!(parse_js_number("1e"), None);
        assert_eq!(parse_js_number("."), None);
        assert_eq!(parse_js_number("1_0"), None);
    }

    #[test]
    fn decimal_encoding_matches_s3dbjs() {
        assert_eq!(dec(42.0), "G");
        assert_eq!(dec(42.5), "G.5");
        assert_eq!(dec(19.99), "j.99");
        assert_eq!(dec(123.45), "1Z.45");
        assert_eq!(dec(-0.5), "-0.5");
        assert_eq!(dec(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(dec(1e21), "jdt8BLTpPG02");
        assert_eq!(dec(1.5e-7), "1.5e-7");
        assert_eq!(dec(1.5e21), "1.5e+21");
        assert_eq!(dec(123456789.125), "8m0Kx.125");
    }

    #[test]
    fn decimal_deviations_round_trip() {
        assert_eq!(dec(3e-7), "0.0000003");
        assert_eq!(decode_decimal("0.0000003"), Some(Num::Float(3e-7)));
        assert_eq!(dec(-0.0), "-0");
        let big = 12_345_678_901_234_567_000.0;
        let s = dec(big);
        assert_eq!(decode_decimal(&s).map(Num::as_f64), Some(big), "{s}");
    }

    /// Doubles with a few decimals (`m / 10^p`), the case the short paths are for, and any
    /// other double.
    fn short_or_any() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            (0u64..1 << 40, 1usize..12).prop_map(|(m, p)| m as f64 / POW10[p]),
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ]
    }

    proptest::proptest! {
        #[test]
        fn short_fraction_matches_javascript_digits(a in short_or_any()) {
            let a = a.abs();
            if let Some((int, frac, places)) = short_fraction(a) {
                proptest::prop_assert_eq!(format!("{int}.{frac:0places$}"), format_js_number(a));
            }
        }

        #[test]
        fn short_decimal_value_matches_parsing(int in 0i128..1 << 45, frac in "[0-9]{1,12}") {
            if let Some(value) = short_decimal_value(Num::Int(int), &frac) {
                proptest::prop_assert_eq!(Some(value), parse_js_number(&format!("{int}.{frac}")));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn floor_matches_the_c_library(x in proptest::num::f64::ANY) {
            let (ours, libm) = (floor(x), x.floor());
            proptest::prop_assert!(ours.to_bits() == libm.to_bits() || (ours.is_nan() && libm.is_nan()));
        }
    }

    #[test]
    fn short_paths_apply() {
        for x in [
            -0.0,
            0.0,
            -0.5,
            0.5,
            -1.0,
            2.5,
            -2.5,
            4_503_599_627_370_495.5,
            -1e300,
        ] {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "{x}");
        }
        assert_eq!(short_fraction(19.99), Some((19, 99, 2)));
        assert_eq!(short_fraction(0.05), Some((0, 5, 2)));
        assert_eq!(short_fraction(1.5e-6), Some((0, 15, 7)));
        assert_eq!(short_fraction(0.1 + 0.2), None);
        assert_eq!(short_fraction(1.5e-7), None);
        assert_eq!(short_decimal_value(Num::Int(19), "99"), Some(19.99));
        assert_eq!(short_decimal_value(Num::Int(1), "5e-7"), None);
    }

    #[test]
    fn decimal_decoding_mirrors_s3dbjs() {
        assert_eq!(decode_decimal("1.2.3"), Some(Num::Float(1.2)));
        assert_eq!(decode_decimal("G"), Some(Num::Int(42)));
        assert_eq!(decode_decimal("-0.5"), Some(Num::Float(-0.5)));
        assert_eq!(decode_decimal("3e-7"), None);
        assert_eq!(decode_decimal("G.x"), None);
    }
}
