//! Reading `z:` (raw deflate, base64) and `z85:` (raw deflate, base85) values, as s3db.js's
//! `decompressText` does. s3db.js never writes them into metadata itself, but its reader accepts
//! them, so ours does too.

use flate2::{Decompress, FlushDecompress, Status};

use super::node_base64;

/// The base85 alphabet of s3db.js (`concerns/text-compression.js`). It has 90 characters; the
/// encoder only ever uses the first 85, the decoder maps the last five to 85–89.
const BASE85_ALPHABET: &[u8] =
    b"!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~";

/// Inflated output larger than this is refused (a metadata value is at most 2 KB, which
/// inflates to about 2 MB at most).
const MAX_INFLATED_BYTES: usize = 64 << 20;

/// Decodes the payload of a `z:` value (the part after the prefix); `None` where s3db.js's
/// decompression throws.
pub(crate) fn decode_base64_deflate(payload: &str) -> Option<String> {
    inflate_raw(&node_base64::decode(payload))
}

/// Decodes the payload of a `z85:` value (the part after the prefix); `None` where s3db.js's
/// decompression throws.
pub(crate) fn decode_base85_deflate(payload: &str) -> Option<String> {
    inflate_raw(&decode_base85(payload))
}

/// s3db.js's `decodeBase85`, over UTF-16 units like the JavaScript original: characters outside
/// the alphabet count as 0, a unit ≥ 128 zeroes its whole group (JavaScript computes `NaN`),
/// a partial last group of n characters gives n − 1 bytes.
fn decode_base85(text: &str) -> Vec<u8> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out = Vec::with_capacity(units.len() / 5 * 4 + 4);
    for chunk in units.chunks(5) {
        let mut value: Option<u64> = Some(0);
        for position in 0..5 {
            let digit = match chunk.get(position) {
                Some(&unit) => base85_digit(unit),
                None => Some(84),
            };
            value = value.zip(digit).map(|(v, d)| v * 85 + d);
        }
        let word = value.map_or(0, |v| (v % (1 << 32)) as u32).to_be_bytes();
        out.extend_from_slice(&word[..chunk.len().saturating_sub(1).min(4)]);
    }
    out
}

/// The value of one base85 character as s3db.js's decode table gives it (`None` for `NaN`).
fn base85_digit(unit: u16) -> Option<u64> {
    let byte = u8::try_from(unit).ok().filter(u8::is_ascii)?;
    let index = BASE85_ALPHABET.iter().position(|&c| c == byte).unwrap_or(0);
    Some(index as u64)
}

/// Node's `inflateRawSync(bytes).toString('utf-8')`: the stream must end; bytes after its end
/// are ignored; invalid UTF-8 becomes U+FFFD.
fn inflate_raw(compressed: &[u8]) -> Option<String> {
    let mut inflater = Decompress::new(false);
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).max(64));
    loop {
        let consumed = usize::try_from(inflater.total_in()).ok()?;
        let produced_before = inflater.total_out();
        let status = inflater
            .decompress_vec(compressed.get(consumed..)?, &mut out, FlushDecompress::None)
            .ok()?;
        match status {
            Status::StreamEnd => return Some(String::from_utf8_lossy(&out).into_owned()),
            _ if out.len() >= MAX_INFLATED_BYTES => return None,
            _ if out.len() == out.capacity() => out.reserve(out.len()),
            _ if inflater.total_out() == produced_before => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected bytes were produced by s3db.js's `decodeBase85` under Node.js.
    #[test]
    fn base85_matches_s3dbjs() {
        let cases: [(&str, &[u8]); 8] = [
            ("abcde", &[0xbc, 0xf1, 0xa2, 0xee]),
            ("ab", &[0xbc]),
            ("a", &[]),
            ("abc\u{20ac}de", &[0, 0, 0, 0]),
            ("~~~~~", &[0x18, 0x36, 0x0f, 0xa5]),
            ("\u{e9}", &[]),
            ("\u{1F600}abc", &[0, 0, 0, 0]),
            ("\"\"\"\"\"", &[0, 0, 0, 0]),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode_base85(text), bytes, "{text:?}");
        }
    }

    #[test]
    fn inflates_node_output_and_refuses_garbage() {
        // zlib.deflateRawSync('hello hello hello').toString('base64') under Node.js.
        assert_eq!(
            decode_base64_deflate("y0jNyclXyECQAA==").as_deref(),
            Some("hello hello hello")
        );
        assert_eq!(
            decode_base85_deflate(&encode_base85_for_test(b"\xcbH\xcd\xc9\xc9W\xc8@\x90\x00"))
                .as_deref(),
            Some("hello hello hello")
        );
        assert_eq!(decode_base64_deflate("y0jNyclXyEC"), None);
        assert_eq!(decode_base64_deflate(""), None);
        assert_eq!(decode_base64_deflate("!!!!"), None);
    }

    /// s3db.js's `encodeBase85`, only to build test input.
    fn encode_base85_for_test(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            let mut value = u32::from_be_bytes(word);
            let mut digits = [0u8; 5];
            for digit in digits.iter_mut().rev() {
                *digit = BASE85_ALPHABET[(value % 85) as usize];
                value /= 85;
            }
            out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
        }
        out
    }
}
