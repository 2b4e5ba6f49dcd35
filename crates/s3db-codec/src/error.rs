//! The codec's error type.

/// A value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} {kind} value {input:?}: {reason}")]
pub struct CodecError {
    /// `"encode"` or `"decode"`.
    pub action: &'static str,
    /// The value kind involved, e.g. `"uuid"`, `"ip4"`, `"metadata"`.
    pub kind: &'static str,
    /// The offending input, shortened to at most 64 characters.
    pub input: String,
    /// Why it failed.
    pub reason: String,
}

impl CodecError {
    /// An encoding failure of a `kind` value.
    pub fn encode(kind: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self::new("encode", kind, input, reason)
    }

    /// A decoding failure of a `kind` value.
    pub fn decode(kind: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self::new("decode", kind, input, reason)
    }

    fn new(
        action: &'static str,
        kind: &'static str,
        input: &str,
        reason: impl Into<String>,
    ) -> Self {
        let input = input.chars().take(64).collect();
        CodecError {
            action,
            kind,
            input,
            reason: reason.into(),
        }
    }
}
