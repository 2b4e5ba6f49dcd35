//! `enforce-limits`: metadata only; an oversize record is a typed error.

use super::{Behavior, BehaviorKind, Placement, WriteContext, total_bytes};
use crate::error::{Error, Result};
use crate::mapper::entries::Entries;

/// Rejects records whose mapped size exceeds the effective limit with
/// [`Error::MetadataTooLarge`]; nothing is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnforceLimits;

impl Behavior for EnforceLimits {
    fn kind(&self) -> BehaviorKind {
        BehaviorKind::EnforceLimits
    }

    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement> {
        let total = total_bytes(&entries);
        let limit = ctx.effective_limit();
        if total > limit {
            return Err(Error::MetadataTooLarge {
                resource: ctx.resource.to_owned(),
                id: ctx.id.to_owned(),
                total,
                limit,
                excess: total - limit,
            });
        }
        Ok(Placement {
            metadata: entries,
            body: None,
        })
    }

    fn reads_body(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, entries};
    use super::*;

    #[test]
    fn oversize_is_an_error_with_sizes() {
        let big = "x".repeat(2100);
        let err = EnforceLimits
            .place(&ctx("q3"), entries(&[("0", &big)]))
            .unwrap_err();
        match err {
            Error::MetadataTooLarge {
                total,
                limit,
                excess,
                ..
            } => {
                assert_eq!(total, 2 + 2 + 1 + 2100);
                assert_eq!(limit, 2047 - 4 - 4);
                assert_eq!(excess, total - limit);
            }
            other => panic!("unexpected {other}"),
        }
    }
}
