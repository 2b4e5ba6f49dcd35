//! Errors of schema parsing and record validation.

use std::fmt;

/// An attribute definition that cannot be parsed (unknown type, malformed rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schema for attribute '{attribute}': {reason}")]
pub struct SchemaError {
    /// Dotted path of the offending attribute (`profile.city`).
    pub attribute: String,
    /// What is wrong with its definition.
    pub reason: String,
}

impl SchemaError {
    pub(crate) fn new(attribute: &str, reason: impl Into<String>) -> Self {
        SchemaError {
            attribute: attribute.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One failing field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFailure {
    /// Path of the value: `name`, `profile.city`, `tags[1]`.
    pub path: String,
    /// The failed rule, named as fastest-validator/s3db.js name it (`required`, `string`,
    /// `stringMin`, `numberInteger`, `arrayUnique`, `datetime`, …).
    pub rule: String,
    /// Human-readable message (fastest-validator's wording).
    pub message: String,
}

impl fmt::Display for FieldFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.path, self.rule, self.message)
    }
}

/// Every failure found in one record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The failures, in schema order.
    pub failures: Vec<FieldFailure>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "validation failed")?;
        for (i, failure) in self.failures.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}{failure}")?;
        }
        Ok(())
    }
}

impl ValidationError {
    /// The failures at `path`.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a FieldFailure> + 'a {
        self.failures.iter().filter(move |f| f.path == path)
    }
}
