//! The CLI error: a failure, the exit code it maps to, and how it is printed.

use std::error::Error as StdError;
use std::fmt;
use std::process::ExitCode;

use s3db::core::{Error as CoreError, ErrorKind};

/// The class of a failure, which decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Any other failure (storage, I/O, corrupt data): exit code 1.
    Failure,
    /// Bad arguments or options: exit code 2.
    Usage,
    /// A record, resource or object does not exist: exit code 3.
    NotFound,
    /// Invalid input (validation, definition, id, malformed lines): exit code 4.
    Invalid,
    /// Already exists or a write conflict: exit code 5.
    Conflict,
}

impl ExitKind {
    /// The process exit code of this class.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Failure => 1,
            ExitKind::Usage => 2,
            ExitKind::NotFound => 3,
            ExitKind::Invalid => 4,
            ExitKind::Conflict => 5,
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A failed command: its exit class and the error (with its cause chain).
#[derive(Debug)]
pub struct CliError {
    kind: ExitKind,
    error: BoxError,
}

/// Result alias of the CLI.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A failure of `kind` with a message.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            error: message.into().into(),
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(ExitKind::Usage, message)
    }

    /// An invalid-input error (exit code 4).
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new(ExitKind::Invalid, message)
    }

    /// Wraps an error with a message saying what was being done; the error becomes the cause.
    pub fn context(
        kind: ExitKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        CliError {
            kind,
            error: Box::new(Context {
                message: message.into(),
                source: Box::new(source),
            }),
        }
    }

    /// The exit class.
    pub fn kind(&self) -> ExitKind {
        self.kind
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }

    /// `error: ...` and one `  caused by: ...` line per cause. A cause whose text is already
    /// part of the line before it is skipped (many errors embed their source's message).
    pub fn report(&self) -> String {
        let mut out = format!("error: {}", self.error);
        let mut previous = self.error.to_string();
        let mut cause = self.error.source();
        while let Some(err) = cause {
            let text = err.to_string();
            if !previous.contains(&text) {
                out.push_str("\n  caused by: ");
                out.push_str(&text);
            }
            previous = text;
            cause = err.source();
        }
        out
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

/// A message with the error that caused it.
#[derive(Debug)]
struct Context {
    message: String,
    source: BoxError,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Context {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

impl ExitKind {
    /// The exit class of a failure of this kind (the table in docs/cli.md): not found 3,
    /// already exists / conflict / unique violation 5, validation and invalid input 4,
    /// refused by a setting (paranoid, needs a scan, a hook's veto) 2, anything else 1.
    pub fn of(kind: ErrorKind) -> ExitKind {
        match kind {
            ErrorKind::NotFound => ExitKind::NotFound,
            ErrorKind::AlreadyExists | ErrorKind::Conflict | ErrorKind::UniqueViolation => {
                ExitKind::Conflict
            }
            ErrorKind::Validation | ErrorKind::InvalidInput => ExitKind::Invalid,
            ErrorKind::Refused => ExitKind::Usage,
            // PermissionDenied, Unavailable, Corrupt, Internal, and kinds added later.
            _ => ExitKind::Failure,
        }
    }
}

impl From<CoreError> for CliError {
    fn from(error: CoreError) -> Self {
        CliError {
            kind: ExitKind::of(error.kind()),
            error: Box::new(error),
        }
    }
}

impl From<s3db::storage::Error> for CliError {
    fn from(error: s3db::storage::Error) -> Self {
        CliError {
            kind: ExitKind::of(error.kind().into()),
            error: Box::new(error),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_each_cause_once() {
        let io = std::io::Error::other("disk on fire");
        let err = CliError::context(ExitKind::Failure, "cannot write out.jsonl", io);
        assert_eq!(
            err.report(),
            "error: cannot write out.jsonl\n  caused by: disk on fire"
        );
        assert_eq!(err.kind().code(), 1);
    }

    #[test]
    fn core_errors_map_to_their_exit_codes() {
        let missing = CoreError::NotFound {
            resource: "r".into(),
            id: "x".into(),
        };
        assert_eq!(CliError::from(missing).kind().code(), 3);
        let unknown = CoreError::UnknownResource { name: "r".into() };
        assert_eq!(CliError::from(unknown).kind(), ExitKind::NotFound);
        let dup = CoreError::AlreadyExists {
            resource: "r".into(),
            id: "x".into(),
        };
        assert_eq!(CliError::from(dup).kind().code(), 5);
        assert_eq!(CliError::usage("bad").kind().code(), 2);
        assert_eq!(CliError::invalid("bad").kind().code(), 4);
    }

    #[test]
    fn exit_codes_follow_the_error_kind() {
        let scan = CoreError::ScanRequired {
            resource: "r".into(),
            fields: vec!["f".into()],
            advice: "no partition".into(),
        };
        assert_eq!(CliError::from(scan).kind().code(), 2);
        let full = s3db::core::backup::BackupError::NotEmpty {
            dir: "d".into(),
            entries: vec!["x".into()],
        };
        assert_eq!(CliError::from(CoreError::Backup(full)).kind().code(), 5);
        let storage = |kind| s3db::storage::Error::new(kind, s3db::storage::Operation::Put, "k");
        let lost = storage(s3db::storage::ErrorKind::PreconditionFailed);
        assert_eq!(CliError::from(CoreError::Storage(lost)).kind().code(), 5);
        let denied = storage(s3db::storage::ErrorKind::PermissionDenied);
        assert_eq!(CliError::from(denied).kind().code(), 1);
        let big = storage(s3db::storage::ErrorKind::MetadataTooLarge);
        assert_eq!(CliError::from(big).kind().code(), 4);
        assert_eq!(ExitKind::of(ErrorKind::UniqueViolation).code(), 5);
        assert_eq!(ExitKind::of(ErrorKind::Validation).code(), 4);
        assert_eq!(ExitKind::of(ErrorKind::Unavailable).code(), 1);
    }
}
