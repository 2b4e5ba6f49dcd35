//! The storage error: a small public kind set with operation, key and source.

use std::fmt;
use std::time::Duration;

/// The kind of a storage failure. Detailed causes stay in the error's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No object at the key (404).
    NotFound,
    /// `PutMode::Create` found an existing object (412 on If-None-Match).
    AlreadyExists,
    /// An `If-Match` condition failed (412).
    PreconditionFailed,
    /// User metadata exceeds the backend's budget.
    MetadataTooLarge,
    /// The backend asked us to slow down (503 SlowDown, 429).
    Throttled,
    /// The backend is temporarily unavailable (5xx, timeouts, connection errors, 409 conflicts).
    Unavailable,
    /// The backend refused the credentials or the request (401, 403: `AccessDenied`,
    /// `InvalidAccessKeyId`, `SignatureDoesNotMatch`...; a file the process may not touch).
    /// Not retryable: fix the credentials or the permissions.
    PermissionDenied,
    /// The key cannot be stored (empty, escapes the root, NUL, too long...).
    InvalidKey,
    /// Some other argument is invalid.
    InvalidInput,
    /// A stored object could not be read back (torn or unparsable).
    Corrupt,
    /// Anything else.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same request may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Unavailable)
    }
}

/// A storage operation, named in errors and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// PutObject.
    Put,
    /// GetObject.
    Get,
    /// HeadObject.
    Head,
    /// CopyObject.
    Copy,
    /// DeleteObject.
    Delete,
    /// DeleteObjects.
    DeleteMany,
    /// ListObjectsV2.
    List,
    /// Opening or configuring a backend.
    Connect,
    /// Loading a saved bucket image (e.g. a memory backend's JSON-lines file).
    Load,
    /// Saving a bucket image.
    Save,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Operation::Put => "put",
            Operation::Get => "get",
            Operation::Head => "head",
            Operation::Copy => "copy",
            Operation::Delete => "delete",
            Operation::DeleteMany => "delete_many",
            Operation::List => "list",
            Operation::Connect => "connect",
            Operation::Load => "load",
            Operation::Save => "save",
        };
        f.write_str(name)
    }
}

/// How a retry layer gave up on an operation: the error it returns then keeps the last
/// failure's kind and source but is no longer retryable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GaveUp {
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the first attempt to giving up.
    pub elapsed: Duration,
    /// Whether the retry deadline (rather than the attempt limit) ended the retries.
    pub deadline_reached: bool,
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = self.attempts;
        let plural = if attempts == 1 { "" } else { "s" };
        let why = if self.deadline_reached {
            "retry deadline reached"
        } else {
            "attempt limit reached"
        };
        write!(
            f,
            "gave up after {attempts} attempt{plural} over {:.1} s ({why})",
            self.elapsed.as_secs_f64()
        )
    }
}

/// A storage error: what kind, during which operation, on which key (left out when empty),
/// and why: `get "users/1": NotFound`, `connect: InvalidInput: ...`.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    operation: Operation,
    key: String,
    message: Option<String>,
    /// Boxed: rare, and keeps `Result<T, Error>` small.
    gave_up: Option<Box<GaveUp>>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if !self.key.is_empty() {
            write!(f, " {:?}", self.key)?;
        }
        write!(f, ": {:?}", self.kind)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(gave_up) = &self.gave_up {
            write!(f, " ({gave_up})")?;
        }
        Ok(())
    }
}

impl Error {
    /// A new error of `kind` for `operation` on `key`.
    pub fn new(kind: ErrorKind, operation: Operation, key: impl Into<String>) -> Self {
        Error {
            kind,
            operation,
            key: key.into(),
            message: None,
            gave_up: None,
            source: None,
        }
    }

    /// Adds a human-readable explanation.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The error kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The key the operation was on (empty for operations without one).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Records that a retry layer gave up on this (retryable) failure: the kind, message and
    /// source stay, and [`Error::is_retryable`] becomes false so no outer layer retries again.
    pub fn with_gave_up(mut self, gave_up: GaveUp) -> Self {
        self.gave_up = Some(Box::new(gave_up));
        self
    }

    /// How a retry layer gave up on this failure, if one did.
    pub fn gave_up(&self) -> Option<GaveUp> {
        self.gave_up.as_deref().copied()
    }

    /// Whether retrying the same request may succeed: the kind is temporary and no retry layer
    /// has given up on it already.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable() && self.gave_up.is_none()
    }
}

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
