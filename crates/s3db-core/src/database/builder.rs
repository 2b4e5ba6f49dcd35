//! [`DatabaseBuilder`]: the one way to open a database with options.

use std::fmt;
use std::sync::Arc;

use s3db_codec::secret::SecretString;
use s3db_storage::Storage;
use s3db_storage::connection::StorageConfig;
use s3db_storage::layers::RetryConfig;

use super::{Database, DatabaseOptions};
use crate::clock::{SharedClock, SystemClock};
use crate::error::Result;
use crate::extend::{Hooks, Plugin};
use crate::random::{SharedRandom, ThreadRandom};
use crate::resource::observe::observe;

/// Where a database lives: a connection string or a storage already opened.
///
/// Built with `into()` from a `&str`/`String` (`memory://bucket/prefix`, `file:///path`,
/// `s3://…`, `http(s)://…`, see `s3db_storage::connection`) or an `Arc` of any
/// [`Storage`].
#[derive(Clone)]
pub enum Location {
    /// A connection string, parsed when the database opens.
    Url(String),
    /// A storage; the database lives at its root.
    Storage(Arc<dyn Storage>),
}

impl fmt::Debug for Location {
    /// Never shows credentials: a connection string is shown as its masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Url(url) => match StorageConfig::parse(url) {
                Ok(config) => f.debug_tuple("Url").field(&config.to_string()).finish(),
                Err(_) => f.write_str("Url(<not a connection string>)"),
            },
            Location::Storage(storage) => f.debug_tuple("Storage").field(storage).finish(),
        }
    }
}

impl From<&str> for Location {
    fn from(url: &str) -> Location {
        Location::Url(url.to_owned())
    }
}

impl From<String> for Location {
    fn from(url: String) -> Location {
        Location::Url(url)
    }
}

impl From<&String> for Location {
    fn from(url: &String) -> Location {
        Location::Url(url.clone())
    }
}

impl From<Arc<dyn Storage>> for Location {
    fn from(storage: Arc<dyn Storage>) -> Location {
        Location::Storage(storage)
    }
}

impl<S: Storage> From<Arc<S>> for Location {
    fn from(storage: Arc<S>) -> Location {
        Location::Storage(storage)
    }
}

/// Opens a [`Database`] with options, hooks, plugins, a clock and a random source; made by
/// [`Database::builder`]. Every setter is optional.
///
/// ```
/// use std::sync::Arc;
/// use s3db_core::clock::ManualClock;
/// use s3db_core::random::SeededRandom;
/// use s3db_core::{Database, ResourceConfig};
/// use serde_json::json;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let clock = ManualClock::at_millis(1_700_000_000_000);
/// let db = Database::builder("memory://builder-doc")
///     .passphrase("my-secret")
///     .max_write_attempts(16)
///     .clock(Arc::new(clock.clone()))
///     .random(Arc::new(SeededRandom::new(7)))
///     .open()
///     .await?;
/// let notes = db
///     .create_resource(ResourceConfig::new("notes").attribute("text", "string").timestamps(true))
///     .await?;
/// let note = notes
///     .insert(json!({"text": "hi"}).as_object().cloned().unwrap_or_default())
///     .await?;
/// assert_eq!(note["createdAt"], "2023-11-14T22:13:20.000Z");
/// # Ok::<(), s3db_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.open().await`"]
pub struct DatabaseBuilder {
    location: Location,
    options: DatabaseOptions,
    /// A retry policy set explicitly; otherwise the connection string's, or the default.
    retry: Option<RetryConfig>,
    hooks: Hooks,
    plugins: Vec<PluginEntry>,
    clock: SharedClock,
    random: SharedRandom,
}

/// A plugin waiting to be installed (shown by its slug).
struct PluginEntry(Arc<dyn Plugin>);

impl fmt::Debug for PluginEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.slug())
    }
}

impl DatabaseBuilder {
    pub(super) fn new(location: Location) -> DatabaseBuilder {
        DatabaseBuilder {
            location,
            options: DatabaseOptions::default(),
            retry: None,
            hooks: Hooks::for_database(),
            plugins: Vec::new(),
            clock: Arc::new(SystemClock),
            random: Arc::new(ThreadRandom),
        }
    }

    /// Bounds the requests in flight of every resource's bulk operations
    /// ([`DatabaseOptions::parallelism`], at least 1).
    pub fn parallelism(mut self, parallelism: usize) -> DatabaseBuilder {
        self.options.parallelism = Some(parallelism.max(1));
        self
    }

    /// Replaces every option set so far (the retry policy included) with `options`.
    pub fn options(mut self, options: DatabaseOptions) -> DatabaseBuilder {
        self.retry = Some(options.retry.clone());
        self.options = options;
        self
    }

    /// Passphrase of secret fields ([`DatabaseOptions::passphrase`]; s3db.js default
    /// `secret`).
    pub fn passphrase(mut self, passphrase: impl Into<SecretString>) -> DatabaseBuilder {
        self.options.passphrase = passphrase.into();
        self
    }

    /// Retries and deadline of temporary storage failures ([`DatabaseOptions::retry`]).
    /// Default: a connection string's `retries`/`retry_deadline` parameters, else
    /// [`RetryConfig::default`]; [`RetryConfig::disabled`] opts out.
    pub fn retry(mut self, retry: RetryConfig) -> DatabaseBuilder {
        self.retry = Some(retry);
        self
    }

    /// s3db.js `versioningEnabled` ([`DatabaseOptions::versioning`]).
    pub fn versioning(mut self, versioning: bool) -> DatabaseBuilder {
        self.options.versioning = versioning;
        self
    }

    /// Metadata limit of the behaviors' accounting ([`DatabaseOptions::metadata_limit`]).
    pub fn metadata_limit(mut self, limit: usize) -> DatabaseBuilder {
        self.options.metadata_limit = limit;
        self
    }

    /// Read-modify-write rounds of conditional writes
    /// ([`DatabaseOptions::max_write_attempts`]).
    pub fn max_write_attempts(mut self, attempts: u32) -> DatabaseBuilder {
        self.options.max_write_attempts = attempts;
        self
    }

    /// Database hooks registered before the first connect, so `beforeConnect`/
    /// `afterConnect` hooks see it (replaces hooks given before).
    pub fn hooks(mut self, hooks: Hooks) -> DatabaseBuilder {
        self.hooks = hooks;
        self
    }

    /// A plugin installed when the database opens, after it connected (as
    /// [`Database::use_plugin`] does; plugins install in the order given).
    pub fn plugin(mut self, plugin: Arc<dyn Plugin>) -> DatabaseBuilder {
        self.plugins.push(PluginEntry(plugin));
        self
    }

    /// The clock of timestamps (`createdAt`/`updatedAt`, definitions, `s3db.json`,
    /// history, backups), handed to plugins too. Default: [`SystemClock`].
    pub fn clock(mut self, clock: SharedClock) -> DatabaseBuilder {
        self.clock = clock;
        self
    }

    /// The random source of generated ids, write nonces and conflict-backoff jitter, handed
    /// to plugins too. Default: [`ThreadRandom`]. Never used for encryption IVs or key
    /// material (see [`crate::random`]).
    pub fn random(mut self, random: SharedRandom) -> DatabaseBuilder {
        self.random = random;
        self
    }

    /// Opens the storage (for a connection string) and connects to the database at its
    /// root, reading `s3db.json`, then installs the plugins. Opening never writes: where
    /// there is no `s3db.json` the database does not [exist](Database::exists) yet — it has
    /// no resources, reading one is [`crate::Error::NoDatabase`], and the first definition
    /// ([`Database::create_resource`]) or [`Database::init`] creates the document. A storage
    /// that can fail transiently (S3) gets the retry layer unless it already has one.
    pub async fn open(self) -> Result<Database> {
        observe(None, "connect", None, self.open_op()).await
    }

    async fn open_op(self) -> Result<Database> {
        let DatabaseBuilder {
            location,
            mut options,
            retry,
            hooks,
            plugins,
            clock,
            random,
        } = self;
        let (storage, url_retry) = match location {
            Location::Url(url) => {
                let config = StorageConfig::parse(&url).map_err(s3db_storage::Error::from)?;
                options.location.get_or_insert_with(|| config.to_string());
                let url_retry = config.retry_config();
                (config.open_backend().await?, Some(url_retry))
            }
            Location::Storage(storage) => (storage, None),
        };
        options.retry = retry.or(url_retry).unwrap_or_default();
        let db = Database::assemble(storage, options, hooks, clock, random).await?;
        for PluginEntry(plugin) in plugins {
            db.use_plugin(plugin).await?;
        }
        Ok(db)
    }
}
