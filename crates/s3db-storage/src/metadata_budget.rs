//! The S3 user-metadata budget (2 KB of keys plus values), checked before a write.

use crate::error::{Error, ErrorKind, Operation, Result};

/// Fails with `MetadataTooLarge` when metadata of `used` bytes (keys plus values, as S3 counts
/// them) is over `limit`.
pub(crate) fn check_metadata_budget(
    operation: Operation,
    key: &str,
    used: usize,
    limit: Option<usize>,
) -> Result<()> {
    let Some(limit) = limit else {
        return Ok(());
    };
    if used > limit {
        return Err(
            Error::new(ErrorKind::MetadataTooLarge, operation, key).with_message(format!(
                "user metadata is {used} bytes, the limit is {limit}"
            )),
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use s3db_codec::budget::s3_metadata_bytes;

    use super::*;
    use crate::types::Metadata;

    #[test]
    fn budget_counts_keys_and_values() {
        let mut m = Metadata::new();
        m.insert("a".into(), "x".repeat(2047));
        assert!(
            check_metadata_budget(Operation::Put, "k", s3_metadata_bytes(&m), Some(2048)).is_ok()
        );
        m.insert("b".into(), String::new());
        let used = s3_metadata_bytes(&m);
        let err = check_metadata_budget(Operation::Put, "k", used, Some(2048)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MetadataTooLarge);
        assert!(check_metadata_budget(Operation::Put, "k", used, None).is_ok());
    }
}
