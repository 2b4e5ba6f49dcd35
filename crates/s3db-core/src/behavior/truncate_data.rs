//! `truncate-data`: metadata only; values that do not fit are cut or blanked.

use super::{
    Behavior, BehaviorKind, Placement, WriteContext, by_value_size, split_version, total_bytes,
};
use crate::error::{Error, Result};
use crate::mapper::entries::{Entries, MappedValue, js_order};

/// Bytes of the `$truncated: "true"` flag.
const TRUNCATED_FLAG_BYTES: usize = "$truncated".len() + "true".len();

/// s3db.js's truncation: values in ascending size are kept while they fit (reserving the
/// flag); the first that does not fit is cut to the remaining bytes (on a character
/// boundary) and every larger value is dropped. Then, because the first pass ignored key
/// names, values are blanked from the last key (JavaScript order) backwards until the whole
/// fits. s3db.js blanks the same last key forever when that is not enough (a hang); here the
/// next key is blanked instead, and a record that cannot fit even fully blanked is
/// [`Error::MetadataTooLarge`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TruncateData;

impl Behavior for TruncateData {
    fn kind(&self) -> BehaviorKind {
        BehaviorKind::TruncateData
    }

    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement> {
        let limit = ctx.effective_limit();
        let (version, rest) = split_version(entries);
        let mut kept: Entries = Vec::new();
        let mut current = 0;
        if let Some(version) = version {
            current += "_v".len() + version.accounted_bytes();
            kept.push(("_v".into(), version));
        }
        let mut truncated = false;
        for (key, value) in by_value_size(rest) {
            let size = value.accounted_bytes();
            if current + size + TRUNCATED_FLAG_BYTES <= limit {
                current += size;
                kept.push((key, value));
                continue;
            }
            let available = limit.saturating_sub(current + TRUNCATED_FLAG_BYTES);
            let cut = match &value {
                MappedValue::Text(text) if available > 0 => cut_to_bytes(text, available),
                _ => String::new(),
            };
            kept.push((key, MappedValue::Text(cut)));
            truncated = true;
            break;
        }
        let mut kept = js_order(kept);
        let flag = |truncated: bool| if truncated { TRUNCATED_FLAG_BYTES } else { 0 };
        let blankable: Vec<usize> = (0..kept.len())
            .filter(|i| kept[*i].0 != "_v")
            .rev()
            .collect();
        let mut next_blank = blankable.into_iter();
        while total_bytes(&kept) + flag(truncated) > limit {
            let Some(index) = next_blank.next() else {
                let total = total_bytes(&kept) + flag(truncated);
                return Err(Error::MetadataTooLarge {
                    resource: ctx.resource.to_owned(),
                    id: ctx.id.to_owned(),
                    total,
                    limit,
                    excess: total - limit,
                });
            };
            kept[index].1 = MappedValue::Text(String::new());
            truncated = true;
        }
        if truncated {
            kept.push(("$truncated".into(), MappedValue::Text("true".into())));
        }
        Ok(Placement {
            metadata: kept,
            body: None,
        })
    }

    fn reads_body(&self) -> bool {
        false
    }
}

/// The longest prefix of `text` (whole UTF-16 units, never splitting a character's UTF-8
/// encoding) of at most `max` UTF-8 bytes.
fn cut_to_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, entries};
    use super::*;

    #[test]
    fn the_first_oversize_value_is_cut_and_larger_ones_dropped() {
        let big = "b".repeat(3000);
        let bigger = "c".repeat(4000);
        let placed = TruncateData
            .place(
                &ctx("t2"),
                entries(&[("0", "title"), ("1", &big), ("2", &bigger)]),
            )
            .unwrap();
        let keys: Vec<&str> = placed.metadata.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["0", "1", "_v", "$truncated"]);
        assert!(total_bytes(&placed.metadata) <= ctx("t2").effective_limit());
    }

    #[test]
    fn cutting_respects_character_boundaries() {
        assert_eq!(cut_to_bytes("aéb", 2), "a");
        assert_eq!(cut_to_bytes("😀x", 3), "");
    }

    #[test]
    fn terminates_when_names_alone_do_not_fit() {
        // Empty values pass the first (value-only) pass; the names alone exceed the limit.
        let list: Vec<(String, String)> = (0..300)
            .map(|i| (format!("key_{i:06}"), String::new()))
            .collect();
        let refs: Vec<(&str, &str)> = list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let err = TruncateData.place(&ctx("t"), entries(&refs)).unwrap_err();
        assert!(matches!(err, Error::MetadataTooLarge { .. }));
    }
}
