//! `user-managed`: metadata when it fits; otherwise a warning and everything in the body.

use super::{Behavior, BehaviorKind, Placement, WriteContext, total_bytes};
use crate::error::Result;
use crate::mapper::entries::{Entries, to_json_body};

/// s3db.js's default behavior. An oversize record is not rejected: a `tracing` warning is
/// emitted and the whole mapped record goes into a JSON body, metadata keeping only `_v`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserManaged;

impl Behavior for UserManaged {
    fn kind(&self) -> BehaviorKind {
        BehaviorKind::UserManaged
    }

    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement> {
        let total = total_bytes(&entries);
        let limit = ctx.effective_limit();
        if total <= limit {
            return Ok(Placement {
                metadata: entries,
                body: None,
            });
        }
        tracing::warn!(
            resource = ctx.resource,
            id = ctx.id,
            total_size = total,
            limit = ctx.metadata_limit,
            excess = total.saturating_sub(ctx.metadata_limit),
            "exceedsLimit: record does not fit in metadata; storing it in the body"
        );
        let body = to_json_body(&entries);
        let metadata = entries.into_iter().filter(|(k, _)| k == "_v").collect();
        Ok(Placement {
            metadata,
            body: Some(body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, entries};
    use super::*;

    #[test]
    fn small_records_stay_in_metadata() {
        let placed = UserManaged
            .place(&ctx("x"), entries(&[("0", "a")]))
            .unwrap();
        assert_eq!(placed.metadata.len(), 2);
        assert_eq!(placed.body, None);
    }

    #[test]
    fn large_records_move_to_the_body() {
        let big = "x".repeat(3000);
        let placed = UserManaged
            .place(&ctx("x"), entries(&[("0", "a"), ("1", &big)]))
            .unwrap();
        assert_eq!(placed.metadata.len(), 1);
        let body = placed.body.unwrap();
        assert!(body.starts_with(r#"{"0":"a","1":"xxx"#));
        assert!(body.ends_with(r#""_v":"v1"}"#));
    }
}
