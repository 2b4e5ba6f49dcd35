//! `body-overflow`: the smallest values in metadata, the rest in a JSON body.

use super::{Behavior, BehaviorKind, Placement, WriteContext, by_value_size, split_version};
use crate::error::Result;
use crate::mapper::entries::{Entries, MappedValue, to_json_body};

/// Bytes of the `$overflow: "true"` flag.
const OVERFLOW_FLAG_BYTES: usize = "$overflow".len() + "true".len();

/// Fills metadata with values in ascending size; at the first value that does not fit, that
/// value and every larger one go to the body and `$overflow: "true"` is added.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyOverflow;

impl Behavior for BodyOverflow {
    fn kind(&self) -> BehaviorKind {
        BehaviorKind::BodyOverflow
    }

    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement> {
        let limit = ctx.effective_limit();
        let (version, rest) = split_version(entries);
        let mut metadata: Entries = Vec::new();
        let mut current = 0;
        if let Some(version) = version {
            current += "_v".len() + version.accounted_bytes();
            metadata.push(("_v".into(), version));
        }
        let mut body: Entries = Vec::new();
        let mut reserved = limit;
        let mut overflowing = false;
        for (key, value) in by_value_size(rest) {
            let size = value.accounted_bytes();
            if !overflowing && current + size > limit {
                reserved = reserved.saturating_sub(OVERFLOW_FLAG_BYTES);
                overflowing = true;
            }
            if !overflowing && current + size <= reserved {
                current += size;
                metadata.push((key, value));
            } else {
                overflowing = true;
                body.push((key, value));
            }
        }
        if overflowing {
            metadata.push(("$overflow".into(), MappedValue::Text("true".into())));
        }
        let body = (!body.is_empty()).then(|| to_json_body(&body));
        Ok(Placement { metadata, body })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, entries};
    use super::*;

    #[test]
    fn large_values_overflow_to_the_body() {
        let big = "y".repeat(5000);
        let placed = BodyOverflow
            .place(
                &ctx("ev2"),
                entries(&[("0", "import"), ("2", &big), ("1", "batch")]),
            )
            .unwrap();
        let keys: Vec<&str> = placed.metadata.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["_v", "1", "0", "$overflow"]);
        assert_eq!(placed.body.unwrap(), format!(r#"{{"2":"{big}"}}"#));
    }

    #[test]
    fn fitting_records_have_no_body_and_no_flag() {
        let placed = BodyOverflow
            .place(&ctx("e"), entries(&[("0", "a")]))
            .unwrap();
        assert_eq!(placed.body, None);
        assert_eq!(placed.metadata.len(), 2);
    }
}
