//! [`Analyzer`]: text to index terms (word boundaries, folding, optional stemming).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// Turns text into the terms the index stores and queries look up.
///
/// Words are split at Unicode word boundaries (UAX #29, so `"l'été"` is one word, `"東京"` two),
/// folded to lower case without diacritics (NFKD, combining marks dropped: `"Élan"` → `"elan"`,
/// `"ﬁn"` → `"fin"`), filtered (shorter than the minimum length in characters, or a stop word
/// after folding) and, when a language is set, stemmed with its Snowball stemmer.
///
/// ```
/// use s3db_plugins::fulltext::{Analyzer, Language};
///
/// let plain = Analyzer::new();
/// assert_eq!(plain.tokens("Crème Brûlée, l'été à Zürich!"), ["creme", "brulee", "l'ete", "a", "zurich"]);
/// let english = Analyzer::new().stemming(Language::English).min_word_length(2);
/// assert_eq!(english.tokens("Running runners ran"), ["run", "runner", "ran"]);
/// ```
#[derive(Clone, Default)]
pub struct Analyzer {
    language: Option<Algorithm>,
    stemmer: Option<Arc<Stemmer>>,
    min_word_length: usize,
    stop_words: BTreeSet<String>,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("language", &self.language)
            .field("min_word_length", &self.min_word_length)
            .field("stop_words", &self.stop_words.len())
            .finish()
    }
}

impl PartialEq for Analyzer {
    fn eq(&self, other: &Self) -> bool {
        self.language == other.language
            && self.min_word_length == other.min_word_length
            && self.stop_words == other.stop_words
    }
}

impl Analyzer {
    /// Every word kept, no stemming.
    pub fn new() -> Analyzer {
        Analyzer::default()
    }

    /// Stems terms with the Snowball stemmer of `language` (off by default).
    pub fn stemming(mut self, language: Algorithm) -> Self {
        self.language = Some(language);
        self.stemmer = Some(Arc::new(Stemmer::create(language)));
        self
    }

    /// Drops words shorter than `chars` characters (after folding; default 1: keeps all).
    pub fn min_word_length(mut self, chars: usize) -> Self {
        self.min_word_length = chars;
        self
    }

    /// Drops these words (compared after folding, before stemming).
    pub fn stop_words<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.stop_words = words.into_iter().map(|w| fold(w.as_ref())).collect();
        self
    }

    /// The stemming language, if any.
    pub fn language(&self) -> Option<Algorithm> {
        self.language
    }

    /// The terms of `text`, in order (a term's index is its position).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        text.unicode_words()
            .filter_map(|word| self.term(word))
            .collect()
    }

    /// The folded (unstemmed) words of `text`: what a prefix is matched with.
    pub(super) fn folded_words(&self, text: &str) -> Vec<String> {
        text.unicode_words()
            .map(fold)
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// One word as a term, or `None` when it is filtered out.
    fn term(&self, word: &str) -> Option<String> {
        let folded = fold(word);
        if folded.is_empty()
            || folded.chars().count() < self.min_word_length
            || self.stop_words.contains(&folded)
        {
            return None;
        }
        Some(match &self.stemmer {
            Some(stemmer) => stemmer.stem(&folded).into_owned(),
            None => folded,
        })
    }
}

/// Lower case, compatibility-decomposed, without combining marks.
fn fold(word: &str) -> String {
    word.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A term as a key segment: `a`–`z` and `0`–`9` as they are, every other byte of its UTF-8
/// as `_` and two hex digits. A prefix of a term escapes to a prefix of its escape, so a
/// prefix query is a prefix listing.
pub(super) fn escape(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("_{byte:02x}"));
            }
        }
    }
    out
}

/// The term of an escaped key segment; `None` when it is not one [`escape`] makes.
pub(super) fn unescape(segment: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'_' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_and_keep_prefixes() {
        for term in ["plain", "l'ete", "東京", "a_b", "ß", "x-y9"] {
            let escaped = escape(term);
            assert!(
                escaped
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            );
            assert_eq!(unescape(&escaped).as_deref(), Some(term));
        }
        assert!(escape("東京").starts_with(&escape("東")));
        assert_eq!(unescape("_zz"), None);
        assert_eq!(unescape("_4"), None);
    }

    #[test]
    fn filters_and_folds() {
        let analyzer = Analyzer::new().min_word_length(2).stop_words(["The", "À"]);
        assert_eq!(
            analyzer.tokens("The cat à la MAISON, ﬁnally: 3.14 x"),
            ["cat", "la", "maison", "finally", "3.14"]
        );
        assert_eq!(analyzer.folded_words("Résumé*"), ["resume"]);
        // Ideographs are words of one character; kana voicing marks are combining marks too.
        assert_eq!(
            Analyzer::new().tokens("東京のデータ"),
            ["東", "京", "の", "テータ"]
        );
    }
}
