//! The `d:` dictionary of s3db.js 21.6.2 (`concerns/dictionary-encoding.js`): whole values
//! (content types, status words) become one code character, and well-known URL prefixes become
//! `@` plus one character.
//!
//! The tables are format data: a stored `d:` value is only readable with exactly these codes.

/// Whole-value codes for content types, in s3db.js's table order.
const CONTENT_TYPES: [(&str, char); 20] = [
    ("application/json", 'j'),
    ("application/xml", 'X'),
    ("application/ld+json", 'J'),
    ("text/html", 'H'),
    ("text/plain", 'T'),
    ("text/css", 'C'),
    ("text/javascript", 'V'),
    ("text/csv", 'v'),
    ("image/png", 'P'),
    ("image/jpeg", 'I'),
    ("image/gif", 'G'),
    ("image/svg+xml", 'S'),
    ("image/webp", 'W'),
    ("application/pdf", 'Q'),
    ("application/zip", 'z'),
    ("application/octet-stream", 'o'),
    ("application/x-www-form-urlencoded", 'u'),
    ("multipart/form-data", 'F'),
    ("font/woff", 'w'),
    ("font/woff2", 'f'),
];

/// Whole-value codes for status words. Their reverse table is merged *after* the content types,
/// so the shared code `f` reads back as `failed`, never as `font/woff2`.
const STATUS_WORDS: [(&str, char); 17] = [
    ("processing", 'p'),
    ("completed", 'c'),
    ("succeeded", 's'),
    ("failed", 'f'),
    ("cancelled", 'x'),
    ("timeout", 't'),
    ("retrying", 'r'),
    ("authorized", 'a'),
    ("captured", 'K'),
    ("refunded", 'R'),
    ("declined", 'd'),
    ("shipped", 'h'),
    ("delivered", 'D'),
    ("returned", 'e'),
    ("in_transit", 'i'),
    ("initialized", 'n'),
    ("terminated", 'm'),
];

/// URL prefixes and their `@` codes, longest first (ties keep s3db.js's table order, as its
/// stable sort does); the first prefix a value starts with is the only one s3db.js considers.
const URL_PREFIXES: [(&str, &str); 16] = [
    ("https://s3.amazonaws.com/", "@s"),
    ("https://api.example.com/", "@A"),
    ("http://localhost:", "@L"),
    ("http://localhost", "@l"),
    ("https://api.", "@H"),
    ("https://www.", "@W"),
    ("https://s3-", "@S"),
    ("/products/", "@p"),
    ("/api/v1/", "@1"),
    ("/api/v2/", "@2"),
    ("/api/v3/", "@3"),
    ("https://", "@h"),
    ("http://", "@t"),
    ("/users/", "@u"),
    ("/api/", "@a"),
    ("/v1/", "@v"),
];

/// The `d:` form s3db.js would choose for `value`, if any: a whole-value code, else the
/// longest matching URL prefix's code followed by the unescaped rest of the value. The caller
/// decides whether the result saves space and is header-safe.
///
/// `font/woff2` gets no whole-value code here although s3db.js gives it `d:f`: that reads back
/// as `failed`, so writing it would lose the value.
pub(crate) fn encode(value: &str) -> Option<String> {
    // Every word is lower-case ASCII and starts with a letter; every URL prefix starts with
    // `h` or `/`: most values are ruled out by their first byte, without a table scan.
    let first = *value.as_bytes().first()?;
    if !first.is_ascii_lowercase() && first != b'/' {
        return None;
    }
    let whole = CONTENT_TYPES
        .iter()
        .chain(STATUS_WORDS.iter())
        .find(|(word, _)| *word == value)
        .map(|&(_, code)| code);
    if let Some(code) = whole {
        return (decode_whole(code) == Some(value)).then(|| format!("d:{code}"));
    }
    if first != b'h' && first != b'/' {
        return None;
    }
    URL_PREFIXES.iter().find_map(|(prefix, code)| {
        value
            .strip_prefix(prefix)
            .map(|rest| format!("d:{code}{rest}"))
    })
}

/// Expands a `d:` payload (the part after `d:`); `None` when the code is unknown, in which
/// case s3db.js keeps the stored string as it is.
pub(crate) fn decode(payload: &str) -> Option<String> {
    let mut chars = payload.chars();
    if let (Some(code), None) = (chars.next(), chars.next())
        && let Some(word) = decode_whole(code)
    {
        return Some(word.to_owned());
    }
    let rest = payload.strip_prefix('@')?;
    let code_char = rest.chars().next()?;
    let code_len = 1 + code_char.len_utf8();
    let (code, remainder) = payload.split_at(code_len);
    URL_PREFIXES
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(prefix, _)| format!("{prefix}{remainder}"))
}

/// The word of a whole-value code; status words shadow content types as in s3db.js.
fn decode_whole(code: char) -> Option<&'static str> {
    STATUS_WORDS
        .iter()
        .chain(CONTENT_TYPES.iter())
        .find(|&&(_, c)| c == code)
        .map(|&(word, _)| word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_sorted_longest_first() {
        assert!(
            URL_PREFIXES
                .windows(2)
                .all(|pair| pair[0].0.len() >= pair[1].0.len())
        );
    }

    #[test]
    fn whole_values_round_trip_except_the_shadowed_font() {
        for (word, code) in CONTENT_TYPES.iter().chain(STATUS_WORDS.iter()) {
            let encoded = encode(word);
            if *word == "font/woff2" {
                assert_eq!(encoded, None);
                assert_eq!(decode(&code.to_string()).as_deref(), Some("failed"));
            } else {
                assert_eq!(encoded, Some(format!("d:{code}")));
                assert_eq!(decode(&code.to_string()).as_deref(), Some(*word));
            }
        }
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            encode("http://localhost:8080/x").as_deref(),
            Some("d:@L8080/x")
        );
        assert_eq!(
            encode("https://api.github.com").as_deref(),
            Some("d:@Hgithub.com")
        );
        assert_eq!(
            decode("@L8080/x").as_deref(),
            Some("http://localhost:8080/x")
        );
    }

    #[test]
    fn unknown_codes_decode_to_none() {
        for payload in ["", "@", "@Z", "@Zabc", "y", "jj", "é"] {
            assert_eq!(decode(payload), None, "{payload:?}");
        }
    }
}
