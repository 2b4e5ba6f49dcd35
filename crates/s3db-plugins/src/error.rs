//! The error type of the plugins.

use s3db_core::{BoxError, ErrorKind};

/// What can go wrong in a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database or resource operation failed.
    #[error(transparent)]
    Core(#[from] s3db_core::Error),
    /// A request to the plugin's own storage area failed.
    #[error(transparent)]
    Storage(#[from] s3db_storage::Error),
    /// A plugin is configured wrongly (names the plugin and what is wrong).
    #[error("plugin {plugin}: invalid configuration: {reason}")]
    Config {
        /// The plugin's slug.
        plugin: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A stored plugin object (cache entry, dead letter…) cannot be read.
    #[error("plugin object {key:?} is corrupt: {reason}")]
    Corrupt {
        /// The object's key.
        key: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// A replication target refused or could not be reached.
    #[error("target {target:?}: {reason}")]
    Target {
        /// The target's name.
        target: String,
        /// What failed.
        reason: String,
        /// The target's own error, when there is one (a core error of a database target,
        /// an I/O or driver error).
        #[source]
        source: Option<BoxError>,
    },
    /// A compare-and-swap document kept changing under every attempt to write it.
    #[error(
        "{key:?} kept changing: {attempts} conditional writes in a row lost a race; retry later or with more attempts"
    )]
    Contended {
        /// The document's key.
        key: String,
        /// How many writes were tried.
        attempts: u32,
    },
    /// A held lock's lease ended and another holder took it (or its object was removed):
    /// the holder must stop; its writes under the lock are refused by the token.
    #[error(
        "lock {key:?}: lost (token {token}); its lease ended and another holder may have taken it"
    )]
    LockLost {
        /// The lock object's key.
        key: String,
        /// The fencing token this holder had.
        token: u64,
    },
    /// A fencing token older than the lock's latest acquisition (or a document's latest
    /// writer): a holder that lost its lock tried to act on it.
    #[error("{key:?}: fencing token {token} is stale (current {current}); acquire the lock again")]
    StaleToken {
        /// The lock's or the fenced document's key.
        key: String,
        /// The token presented.
        token: u64,
        /// The latest token.
        current: u64,
    },
    /// A state machine transition did not happen (an event the state does not accept, a
    /// guard's refusal, a lost race naming the state found).
    /// (Boxed: it is the largest variant.) [`Error::transition`] borrows it.
    #[error(transparent)]
    Transition(Box<crate::state_machine::TransitionError>),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the plugins.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for s3db_core::Error {
    /// Core and storage failures pass through as they are (same kind, same retryability);
    /// the plugins' own failures become [`s3db_core::Error::Plugin`] with this error as the
    /// source, which a caller can downcast back to [`Error`].
    fn from(error: Error) -> Self {
        match error {
            Error::Core(core) => core,
            Error::Storage(storage) => s3db_core::Error::Storage(storage),
            other => {
                let (plugin, kind) = (other.plugin_slug().to_owned(), other.kind());
                s3db_core::Error::plugin(plugin, kind, other)
            }
        }
    }
}

impl From<crate::state_machine::TransitionError> for Error {
    fn from(error: crate::state_machine::TransitionError) -> Self {
        Error::Transition(Box::new(error))
    }
}

impl Error {
    /// The state machine's reason, when this is a refused or lost transition.
    pub fn transition(&self) -> Option<&crate::state_machine::TransitionError> {
        match self {
            Error::Transition(error) => Some(error),
            _ => None,
        }
    }

    /// A [`Error::Target`] of `target` failing with `source`, described by `reason`.
    pub fn target(
        target: impl Into<String>,
        reason: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Target {
            target: target.into(),
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    /// What kind of failure this is, in the core's kinds: a core or storage failure keeps
    /// its kind; a bad configuration is [`ErrorKind::InvalidInput`], an unreadable plugin
    /// object [`ErrorKind::Corrupt`]; a target failure takes the kind of the core or storage
    /// error behind it, else [`ErrorKind::Unavailable`] (targets are remote systems the
    /// replicator retries); a local file failure is [`ErrorKind::PermissionDenied`] or
    /// [`ErrorKind::Internal`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(core) => core.kind(),
            Error::Storage(storage) => storage.kind().into(),
            Error::Config { .. } => ErrorKind::InvalidInput,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::Contended { .. } | Error::LockLost { .. } | Error::StaleToken { .. } => {
                ErrorKind::Conflict
            }
            Error::Transition(error) => match error.as_ref() {
                crate::state_machine::TransitionError::Conflict { .. } => ErrorKind::Conflict,
                crate::state_machine::TransitionError::UnknownMachine { .. } => ErrorKind::NotFound,
                _ => ErrorKind::Refused,
            },
            Error::Target { source, .. } => {
                let source = source.as_deref();
                let core = source.and_then(|s| s.downcast_ref::<s3db_core::Error>());
                let storage = source.and_then(|s| s.downcast_ref::<s3db_storage::Error>());
                match (core, storage) {
                    (Some(core), _) => core.kind(),
                    (None, Some(storage)) => storage.kind().into(),
                    (None, None) => ErrorKind::Unavailable,
                }
            }
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                _ => ErrorKind::Internal,
            },
        }
    }

    fn plugin_slug(&self) -> &str {
        match self {
            Error::Config { plugin, .. } => plugin,
            Error::Target { .. } => "replicator",
            Error::Transition(_) => crate::state_machine::SLUG,
            _ => "plugin",
        }
    }
}
