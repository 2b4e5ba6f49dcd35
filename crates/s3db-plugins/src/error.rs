//! The error type of the plugins.

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
    },
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
    /// Plugin failures inside a [`s3db_core::extend::Plugin`] method surface as
    /// [`s3db_core::Error::InvalidPlugin`] unless they came from the core.
    fn from(error: Error) -> Self {
        match error {
            Error::Core(core) => core,
            other => s3db_core::Error::InvalidPlugin {
                slug: other.plugin_slug().to_owned(),
                reason: other.to_string(),
            },
        }
    }
}

impl Error {
    fn plugin_slug(&self) -> &str {
        match self {
            Error::Config { plugin, .. } => plugin,
            _ => "plugin",
        }
    }
}
