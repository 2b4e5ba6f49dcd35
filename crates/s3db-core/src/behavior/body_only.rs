//! `body-only`: the whole mapped record in a JSON body; metadata holds `_v` and `_map`.

use super::{Behavior, BehaviorKind, Placement, WriteContext};
use crate::error::Result;
use crate::mapper::entries::{Entries, MappedValue, to_json_body};

/// Stores every field in the body. The key map is written to `_map` so the object can be
/// read without `s3db.json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyOnly;

impl Behavior for BodyOnly {
    fn kind(&self) -> BehaviorKind {
        BehaviorKind::BodyOnly
    }

    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement> {
        let version = entries
            .iter()
            .find(|(k, _)| k == "_v")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| MappedValue::Text(ctx.version.to_owned()));
        let body = to_json_body(&entries);
        Ok(Placement {
            metadata: vec![
                ("_v".into(), version),
                (
                    "_map".into(),
                    MappedValue::Text(ctx.key_map_json.to_owned()),
                ),
            ],
            body: Some(body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, entries};
    use super::*;

    #[test]
    fn everything_goes_to_the_body() {
        let placed = BodyOnly
            .place(&ctx("d3"), entries(&[("1", "b"), ("0", "a")]))
            .unwrap();
        assert_eq!(
            placed.body.as_deref(),
            Some(r#"{"0":"a","1":"b","_v":"v1"}"#)
        );
        assert_eq!(placed.metadata[1].0, "_map");
    }
}
