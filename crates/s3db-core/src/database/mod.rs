//! The database: one `s3db.json` at the root of a storage, and the resources it defines.

mod builder;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use s3db_codec::secret::SecretString;
use s3db_storage::Storage;
use s3db_storage::layers::{RetryConfig, Stack};

pub use builder::{DatabaseBuilder, Location};

use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::extend::{Event, EventBus, HookPoint, Hooks, Payload, Plugin, PluginContext};
use crate::metadata::document::{DatabaseDocument, ResourceEntry};
use crate::partition::Partition;
use crate::random::SharedRandom;
use crate::resource::config::ResourceConfig;
use crate::resource::definition::{self, Definition, DefinitionWarning, LocalSettings};
use crate::resource::observe::{Output, observe};
use crate::resource::{Extensions, Resource, WriteSettings};
use crate::schema::{Schema, SchemaOptions};
use store::MetadataStore;

/// What [`Database::create_resource_if_not_exists`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// The resource did not exist and was created.
    Created,
    /// A resource of that name exists and was returned unchanged.
    AlreadyExists {
        /// Whether its current definition hashes like the config given (attributes,
        /// behavior, partitions, timestamps); if not, the config was not applied.
        same_definition: bool,
    },
}

/// Database-wide options that `s3db.json` does not hold.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Passphrase of secret fields (s3db.js default: `secret`); never shown by `Debug`.
    pub passphrase: SecretString,
    /// s3db.js `versioningEnabled`: every resource gets the `byVersion` partition.
    pub versioning: bool,
    /// Absolute metadata limit of the behaviors' accounting (s3db.js: 2047).
    pub metadata_limit: usize,
    /// Read-modify-write rounds before a conditional write gives up with
    /// [`Error::Conflict`] (record updates and `s3db.json` writes).
    pub max_write_attempts: u32,
    /// How the database's location is named in messages ([`Error::NoDatabase`]): the
    /// connection string with its secret masked. Opening on a connection string fills it
    /// in.
    pub location: Option<String>,
    /// Retries of temporary storage failures (S3 5xx, throttling, timeouts, connection
    /// errors), resolving writes whose response was lost. The database adds this retry layer
    /// around the storage it is opened on when that storage can fail transiently and is not
    /// already behind a retry layer (see `s3db_storage::layers`). Default:
    /// [`RetryConfig::default`]; [`RetryConfig::disabled`] opts out.
    pub retry: RetryConfig,
    /// Per-resource settings of this process, by resource name: what `s3db.json` does not
    /// hold (s3db.js stores neither a resource passphrase nor a per-resource parallelism),
    /// so a process that did not define the resource is given them here. A
    /// [`ResourceConfig`] passed to [`Database::create_resource`] wins over these.
    pub resources: HashMap<String, ResourceOptions>,
    /// s3db.js's database `parallelism`: the most requests one bulk operation keeps in
    /// flight, for every resource that sets no bound of its own
    /// ([`ResourceConfig::parallelism`], [`ResourceOptions::parallelism`]). `None`: each
    /// operation's own default (10 for the `*_many` operations).
    pub parallelism: Option<usize>,
}

/// Settings of one resource that stay in the process (see [`DatabaseOptions::resources`]).
///
/// ```
/// use s3db_core::{DatabaseOptions, ResourceOptions};
///
/// let options = DatabaseOptions::default().resource(
///     "users",
///     ResourceOptions::default().passphrase("users-secret").parallelism(4),
/// );
/// assert_eq!(options.resources["users"].parallelism, Some(4));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResourceOptions {
    /// Passphrase of the resource's secret fields (`None`: the database's); never shown by
    /// `Debug`.
    pub passphrase: Option<SecretString>,
    /// Most requests in flight per bulk operation of the resource (see
    /// [`ResourceConfig::parallelism`]).
    pub parallelism: Option<usize>,
}

impl ResourceOptions {
    /// Sets the passphrase.
    pub fn passphrase(mut self, passphrase: impl Into<SecretString>) -> Self {
        self.passphrase = Some(passphrase.into());
        self
    }

    /// Sets the parallelism (at least 1).
    pub fn parallelism(mut self, parallelism: usize) -> Self {
        self.parallelism = Some(parallelism.max(1));
        self
    }
}

impl DatabaseOptions {
    /// Adds (or replaces) the settings of resource `name`.
    pub fn resource(mut self, name: impl Into<String>, options: ResourceOptions) -> Self {
        self.resources.insert(name.into(), options);
        self
    }
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            passphrase: "secret".into(),
            versioning: false,
            metadata_limit: crate::behavior::DEFAULT_METADATA_LIMIT,
            max_write_attempts: 64,
            location: None,
            retry: RetryConfig::default(),
            resources: HashMap::new(),
            parallelism: None,
        }
    }
}

/// A connected database. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    storage: Arc<dyn Storage>,
    options: DatabaseOptions,
    store: MetadataStore,
    state: RwLock<State>,
    /// Serializes this process's `s3db.json` writers (other processes are handled by
    /// conditional writes).
    writer: tokio::sync::Mutex<()>,
    /// Database hooks (connect, create resource, upload metadata…).
    hooks: Hooks,
    /// The bus every resource of this database emits on.
    events: EventBus,
    /// Hooks and middleware per resource name, created on first use and shared by every
    /// handle on that resource.
    extensions: RwLock<HashMap<String, Extensions>>,
    /// Installed plugins, in installation order.
    plugins: Mutex<Vec<Installed>>,
    /// The clock of every timestamp the database writes.
    clock: SharedClock,
    /// The source of ids, write nonces and backoff jitter.
    random: SharedRandom,
}

/// A plugin installed on the database, with the context it was given.
#[derive(Clone)]
struct Installed {
    plugin: Arc<dyn Plugin>,
    ctx: PluginContext,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plugin.slug())
    }
}

/// A handle on a database that does not keep it alive (for plugins' hooks and tasks).
#[derive(Clone, Debug)]
pub struct WeakDatabase {
    inner: Weak<Inner>,
}

impl WeakDatabase {
    /// The database, if some [`Database`] handle on it still exists.
    pub fn upgrade(&self) -> Option<Database> {
        self.inner.upgrade().map(|inner| Database { inner })
    }
}

#[derive(Debug, Default)]
struct State {
    document: Option<DatabaseDocument>,
    etag: Option<String>,
    resources: HashMap<String, Result<Arc<Definition>, String>>,
    local: HashMap<String, LocalSettings>,
}

impl Database {
    /// A builder opening the database at `location`: a connection string
    /// (`memory://bucket/prefix`, `file:///path`, `s3://…`, `http(s)://…`, see
    /// `s3db_storage::connection`) or an `Arc` of a [`Storage`]. Set options, hooks,
    /// plugins, the clock and the random source on it, then
    /// [`open`](DatabaseBuilder::open) it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use s3db_core::Database;
    /// use s3db_storage::MemoryStorage;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let db = Database::builder(Arc::new(MemoryStorage::new()))
    ///     .versioning(true)
    ///     .open()
    ///     .await?;
    /// assert!(db.options().versioning);
    /// assert!(!db.exists(), "opening writes nothing");
    /// # Ok::<(), s3db_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn builder(location: impl Into<Location>) -> DatabaseBuilder {
        DatabaseBuilder::new(location.into())
    }

    /// Opens the database named by a connection string with default options: the
    /// shorthand of `Database::builder(conn_str).open()`. S3 storages get the retry layer
    /// configured by the string's `retries` and `retry_deadline` parameters (on by default).
    pub async fn connect(conn_str: &str) -> Result<Database> {
        Database::builder(conn_str).open().await
    }

    /// Puts the database together on `storage` and connects (see [`DatabaseBuilder::open`]).
    async fn assemble(
        storage: Arc<dyn Storage>,
        options: DatabaseOptions,
        hooks: Hooks,
        clock: SharedClock,
        random: SharedRandom,
    ) -> Result<Database> {
        let storage = Stack::builder(storage)
            .retry(options.retry.clone())
            .build()
            .storage();
        let db = Database {
            inner: Arc::new(Inner {
                store: MetadataStore::new(storage.clone()),
                storage,
                options,
                state: RwLock::new(State::default()),
                writer: tokio::sync::Mutex::new(()),
                hooks,
                events: EventBus::new(),
                extensions: RwLock::new(HashMap::new()),
                plugins: Mutex::new(Vec::new()),
                clock,
                random,
            }),
        };
        db.reload().await?;
        Ok(db)
    }

    /// Re-reads `s3db.json` (e.g. after another process defined resources); reads only.
    /// Runs the `beforeConnect`/`afterConnect` hooks (the latter sees the document, blank
    /// when there is none).
    pub async fn reload(&self) -> Result<()> {
        observe(None, "reload", None, self.reload_op()).await
    }

    async fn reload_op(&self) -> Result<()> {
        self.inner
            .hooks
            .run(HookPoint::BeforeConnect, Payload::None)
            .await?
            .into_none()?;
        let loaded = self.inner.store.load().await?;
        if self.inner.hooks.has(HookPoint::AfterConnect) {
            let json = match &loaded {
                Some((document, _)) => document_json(document)?,
                None => document_json(&DatabaseDocument::blank(""))?,
            };
            self.inner
                .hooks
                .run(HookPoint::AfterConnect, Payload::Options(json))
                .await?;
        }
        self.install(loaded);
        self.inner.events.emit_with(|| Event::Connected);
        Ok(())
    }

    /// Whether `s3db.json` exists (as last read or written): a database opened on an
    /// empty location does not exist until something defines it.
    pub fn exists(&self) -> bool {
        self.read_state(|s| s.document.is_some())
    }

    /// [`Error::NoDatabase`] unless the database [exists](Database::exists): the check
    /// read-only tools make before reading anything.
    pub fn ensure_exists(&self) -> Result<()> {
        if self.exists() {
            Ok(())
        } else {
            Err(self.no_database())
        }
    }

    /// Creates a blank `s3db.json` (no resources) unless there is one; returns whether it
    /// was created. The write is conditional: of concurrent initializers one creates it and
    /// the others read it. Runs the metadata upload hooks and emits `MetadataUploaded`.
    pub async fn init(&self) -> Result<bool> {
        observe(None, "init", None, async {
            Ok(self.edit_document(|_, _| false).await?.is_some())
        })
        .await
    }

    fn no_database(&self) -> Error {
        Error::NoDatabase {
            location: self
                .inner
                .options
                .location
                .clone()
                .unwrap_or_else(|| "the storage root".into()),
        }
    }

    /// Ends the session: runs the `beforeDisconnect` hooks, stops the plugins (latest
    /// installed first; they stay installed, and the first failure is returned after all
    /// were asked to stop), emits [`Event::Disconnected`], then runs the `afterDisconnect`
    /// hooks. Nothing is held open between requests, so the handle stays usable afterwards.
    pub async fn disconnect(&self) -> Result<()> {
        observe(None, "disconnect", None, self.disconnect_op()).await
    }

    async fn disconnect_op(&self) -> Result<()> {
        let hooks = &self.inner.hooks;
        hooks
            .run(HookPoint::BeforeDisconnect, Payload::None)
            .await?
            .into_none()?;
        let installed = self.lock_plugins().clone();
        let mut first_failure = None;
        for Installed { plugin, ctx } in installed.iter().rev() {
            if let Err(error) = plugin.stop(ctx).await {
                tracing::warn!(plugin = plugin.slug(), %error, "plugin failed to stop");
                first_failure.get_or_insert(error);
            }
        }
        if let Some(error) = first_failure {
            return Err(error);
        }
        self.inner.events.emit_with(|| Event::Disconnected);
        hooks
            .run(HookPoint::AfterDisconnect, Payload::None)
            .await?
            .into_none()?;
        Ok(())
    }

    /// Installs `plugin`: calls its [`Plugin::install`] then [`Plugin::start`] with a
    /// [`PluginContext`] for its slug. A slug already installed is
    /// [`Error::InvalidPlugin`]; so is an invalid slug. If install or start fails, the
    /// plugin is not recorded (hooks it registered before failing stay registered).
    pub async fn use_plugin(&self, plugin: Arc<dyn Plugin>) -> Result<()> {
        let slug = plugin.slug().to_owned();
        if self.plugins().contains(&slug) {
            return Err(Error::InvalidPlugin {
                slug,
                reason: "a plugin with this slug is already installed".into(),
            });
        }
        let ctx = PluginContext::new(self, &slug)?;
        plugin.install(&ctx).await?;
        plugin.start(&ctx).await?;
        self.lock_plugins().push(Installed { plugin, ctx });
        Ok(())
    }

    /// Slugs of the installed plugins, in installation order.
    pub fn plugins(&self) -> Vec<String> {
        self.lock_plugins()
            .iter()
            .map(|installed| installed.plugin.slug().to_owned())
            .collect()
    }

    fn lock_plugins(&self) -> std::sync::MutexGuard<'_, Vec<Installed>> {
        self.inner
            .plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A handle that does not keep the database alive.
    pub fn downgrade(&self) -> WeakDatabase {
        WeakDatabase {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The storage the database lives in (behind the retry layer, if one was added).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    /// The database hooks (`beforeConnect`, `beforeCreateResource`, `afterUploadMetadata`…).
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// The event bus every resource of this database emits on.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The options in effect.
    pub fn options(&self) -> &DatabaseOptions {
        &self.inner.options
    }

    /// The clock the database dates what it writes with ([`DatabaseBuilder::clock`]).
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The random source of ids, write nonces and backoff jitter
    /// ([`DatabaseBuilder::random`]; never used for encryption).
    pub fn random(&self) -> &SharedRandom {
        &self.inner.random
    }

    /// A copy of the `s3db.json` document as last read or written (a blank one when the
    /// database does not [exist](Database::exists)).
    pub fn document(&self) -> DatabaseDocument {
        self.read_state(|s| s.document.clone())
            .unwrap_or_else(|| DatabaseDocument::blank(""))
    }

    /// Names of the defined resources, in `s3db.json` order.
    pub fn list_resources(&self) -> Vec<String> {
        self.read_state(|s| {
            s.document
                .as_ref()
                .map(|d| d.resources.keys().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Whether a resource of this name is defined.
    pub fn resource_exists(&self, name: &str) -> bool {
        self.read_state(|s| s.resources.contains_key(name))
    }

    /// A handle on a defined resource: [`Error::NoDatabase`] when there is no `s3db.json`,
    /// [`Error::UnknownResource`] if the resource is not defined, or the reason its stored
    /// definition cannot be used.
    pub fn resource(&self, name: &str) -> Result<Resource> {
        let (exists, found) =
            self.read_state(|s| (s.document.is_some(), s.resources.get(name).cloned()));
        match found {
            None if !exists => Err(self.no_database()),
            None => Err(Error::UnknownResource {
                name: name.to_owned(),
            }),
            Some(Err(reason)) => Err(Error::corrupt(store::METADATA_KEY, reason)),
            Some(Ok(def)) => Ok(self.handle(def)),
        }
    }

    /// Defines a resource, or evolves it: a new version is recorded only when the definition
    /// hash changes; short-key indices are never reused (removed attributes are burned).
    /// Safe against concurrent definers in other processes (conditional writes, re-applied
    /// on the fresh document on conflict).
    ///
    /// Runs the `beforeCreateResource` hooks on the config (s3db.js shape; a hook may rewrite
    /// it), `before/afterUploadMetadata` around the `s3db.json` write and
    /// `afterCreateResource` with the name; emits `ResourceCreated` or `ResourceUpdated`,
    /// `VersionUpdated` and `MetadataUploaded`.
    pub async fn create_resource(&self, config: ResourceConfig) -> Result<Resource> {
        let name = config.name.clone();
        observe(
            Some(&name),
            "createResource",
            None,
            self.create_resource_op(config),
        )
        .await
    }

    async fn create_resource_op(&self, config: ResourceConfig) -> Result<Resource> {
        let config = self.before_create_resource(config).await?;
        let (attributes, partitions) =
            definition::normalized(&config, self.inner.options.versioning);
        if attributes.is_empty() {
            return Err(Error::schema(
                &config.name,
                "attributes",
                "a resource needs at least one attribute (s3db.js drops a resource without \
                 attributes when it opens the bucket)",
            ));
        }
        let options = SchemaOptions {
            all_nested_objects_optional: config.all_nested_objects_optional,
        };
        let schema = Schema::parse_with(&attributes, options).map_err(|source| Error::Schema {
            resource: config.name.clone(),
            source,
        })?;
        for partition in Partition::parse_all(&config.name, &partitions)? {
            partition.check_fields(&config.name, &schema)?;
        }
        self.report_warnings(&config.name, &config.warnings, &[]);
        let hash = definition::config_hash(&config, &attributes, &partitions);
        let given = self.default_local(&config.name);
        let local = LocalSettings {
            passphrase: config.passphrase.clone().unwrap_or(given.passphrase),
            id_generator: Some(config.id_generator.clone()),
            parallelism: config.parallelism.or(given.parallelism),
            ..given
        };
        self.write_state(|s| s.local.insert(config.name.clone(), local));
        let mut old_version = None;
        let saved = self
            .edit_document(|document, now| {
                old_version = document
                    .resources
                    .get(&config.name)
                    .map(|e| e.current_version.clone());
                apply_definition(
                    document,
                    &config,
                    &attributes,
                    &partitions,
                    &hash,
                    &schema,
                    now,
                )
            })
            .await?;
        match saved {
            Some(document) => {
                let new_version = document
                    .resources
                    .get(&config.name)
                    .map(|e| e.current_version.clone());
                self.defined(&config.name, old_version, new_version);
            }
            // Unchanged: recompile with the local settings given now.
            None => {
                let (document, etag) = self.read_state(|s| (s.document.clone(), s.etag.clone()));
                if let (Some(document), Some(etag)) = (document, etag) {
                    self.install(Some((document, etag)));
                }
            }
        }
        let resource = self.resource(&config.name)?;
        self.inner
            .hooks
            .run(
                HookPoint::AfterCreateResource,
                Payload::Name(config.name.clone()),
            )
            .await?
            .into_name()?;
        Ok(resource)
    }

    /// Applies `edit` to the current `s3db.json` (a blank one when there is none) and saves
    /// it conditionally, re-applying the edit on the fresh document after a conflict
    /// (bounded: [`Error::Conflict`]). Runs the metadata upload hooks around the write and
    /// installs what was saved. Returns the saved document, or `None` when `edit` changed
    /// nothing and the document already existed.
    async fn edit_document(
        &self,
        mut edit: impl FnMut(&mut DatabaseDocument, &str) -> bool,
    ) -> Result<Option<DatabaseDocument>> {
        let _writer = self.inner.writer.lock().await;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (current, etag) = self.read_state(|s| (s.document.clone(), s.etag.clone()));
            let now = self.inner.clock.now_iso();
            let created = current.is_none();
            let mut document = current.unwrap_or_else(|| DatabaseDocument::blank(&now));
            if !edit(&mut document, &now) && !created {
                return Ok(None);
            }
            document.last_updated = now.clone();
            self.inner
                .hooks
                .run(HookPoint::BeforeUploadMetadata, Payload::None)
                .await?
                .into_none()?;
            match self.inner.store.save(&document, etag.as_deref()).await? {
                Some(new_etag) => {
                    self.uploaded(&document).await?;
                    self.install(Some((document.clone(), new_etag)));
                    return Ok(Some(document));
                }
                None if attempts < self.inner.options.max_write_attempts => {
                    self.install(self.inner.store.load().await?);
                }
                None => {
                    return Err(Error::Conflict {
                        what: store::METADATA_KEY.into(),
                        attempts,
                    });
                }
            }
        }
    }

    /// Runs `beforeCreateResource` over the config as s3db.js shapes it; a rewritten config
    /// keeps the id generator and passphrase of the original (they are not JSON).
    async fn before_create_resource(&self, config: ResourceConfig) -> Result<ResourceConfig> {
        if !self.inner.hooks.has(HookPoint::BeforeCreateResource) {
            return Ok(config);
        }
        let json = serde_json::json!({
            "name": config.name,
            "attributes": config.attributes,
            "behavior": config.behavior.as_str(),
            "timestamps": config.timestamps,
            "partitions": config.partitions,
            "paranoid": config.paranoid,
            "allNestedObjectsOptional": config.all_nested_objects_optional,
            "autoDecrypt": config.auto_decrypt,
            "cache": config.cache,
            "createdBy": config.created_by,
            "parallelism": config.parallelism,
        });
        let serde_json::Value::Object(json) = json else {
            return Ok(config);
        };
        let rewritten = self
            .inner
            .hooks
            .run(HookPoint::BeforeCreateResource, Payload::Options(json))
            .await?
            .into_options()?;
        let mut next = ResourceConfig::from_json(&serde_json::Value::Object(rewritten))?;
        next.id_generator = config.id_generator;
        next.passphrase = config.passphrase;
        next.versioning = next.versioning.or(config.versioning);
        next.warnings.extend(config.warnings);
        Ok(next)
    }

    /// `afterUploadMetadata` and `MetadataUploaded` once `s3db.json` is written.
    async fn uploaded(&self, document: &DatabaseDocument) -> Result<()> {
        let wanted = self.inner.hooks.has(HookPoint::AfterUploadMetadata)
            || self.inner.events.has_subscribers();
        if !wanted {
            return Ok(());
        }
        let json = document_json(document)?;
        self.inner.events.emit_with(|| Event::MetadataUploaded {
            document: serde_json::Value::Object(json.clone()),
        });
        self.inner
            .hooks
            .run(HookPoint::AfterUploadMetadata, Payload::Options(json))
            .await?;
        Ok(())
    }

    /// `ResourceCreated`, or `ResourceUpdated` and `VersionUpdated` when the version moved.
    fn defined(&self, name: &str, old_version: Option<String>, new_version: Option<String>) {
        let events = &self.inner.events;
        match (old_version, new_version) {
            (None, _) => events.emit_with(|| Event::ResourceCreated {
                resource: name.to_owned(),
            }),
            (Some(old), Some(new)) if old != new => {
                events.emit_with(|| Event::ResourceUpdated {
                    resource: name.to_owned(),
                });
                events.emit_with(|| Event::VersionUpdated {
                    resource: name.to_owned(),
                    old_version: old,
                    new_version: new,
                });
            }
            _ => events.emit_with(|| Event::ResourceUpdated {
                resource: name.to_owned(),
            }),
        }
    }

    /// Removes the partitions of resource `name` that name a field the schema no longer has:
    /// deletes their references, then drops their definitions from `s3db.json` (a new
    /// version when the definition hash changes, as s3db.js records it on its next upload).
    /// Returns the names removed. The write is conditional and re-applied on the fresh
    /// document after a conflict, like [`Database::create_resource`]'s; the metadata upload
    /// hooks run and `MetadataUploaded` is emitted.
    pub async fn remove_orphaned_partitions(&self, name: &str) -> Result<Vec<String>> {
        let work = self.remove_orphaned_partitions_op(name);
        observe(Some(name), "removeOrphanedPartitions", None, work).await
    }

    async fn remove_orphaned_partitions_op(&self, name: &str) -> Result<Vec<String>> {
        let orphaned = self.resource(name)?.find_orphaned_partitions();
        if orphaned.is_empty() {
            return Ok(orphaned);
        }
        self.resource(name)?
            .delete_partition_references(&orphaned)
            .await?;
        self.edit_document(|document, now| {
            document
                .resources
                .get_mut(name)
                .is_some_and(|entry| Resource::drop_partitions(entry, &orphaned, now))
        })
        .await?;
        Ok(orphaned)
    }

    /// [`Database::create_resource`] unless a resource of that name exists, in which case
    /// the existing one is returned unchanged (the config is not applied: use
    /// `create_resource` to evolve it). Says which happened, and whether an existing
    /// resource's current definition hashes like `config`.
    pub async fn create_resource_if_not_exists(
        &self,
        config: ResourceConfig,
    ) -> Result<(Resource, Creation)> {
        if !self.resource_exists(&config.name) {
            return Ok((self.create_resource(config).await?, Creation::Created));
        }
        let (attributes, partitions) =
            definition::normalized(&config, self.inner.options.versioning);
        let hash = definition::config_hash(&config, &attributes, &partitions);
        let same_definition = self.read_state(|s| {
            s.document
                .as_ref()
                .and_then(|document| document.resources.get(&config.name))
                .and_then(|entry| entry.current())
                .is_some_and(|version| version.hash == hash)
        });
        Ok((
            self.resource(&config.name)?,
            Creation::AlreadyExists { same_definition },
        ))
    }

    fn handle(&self, def: Arc<Definition>) -> Resource {
        let ext = self.extensions_of(&def.name);
        Resource::new(
            def,
            self.inner.storage.clone(),
            WriteSettings {
                max_attempts: self.inner.options.max_write_attempts,
                clock: self.inner.clock.clone(),
                random: self.inner.random.clone(),
            },
            ext,
        )
    }

    /// The hooks and middleware of resource `name`, created on first use.
    fn extensions_of(&self, name: &str) -> Extensions {
        let found = self
            .inner
            .extensions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned();
        if let Some(ext) = found {
            return ext;
        }
        self.inner
            .extensions
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(name.to_owned())
            .or_insert_with(|| Extensions::new(name, self.inner.events.clone()))
            .clone()
    }

    /// Replaces the cached document (`None`: there is none) and recompiles every resource.
    fn install(&self, loaded: Option<(DatabaseDocument, String)>) {
        self.write_state(|state| {
            let Some((document, etag)) = loaded else {
                state.resources.clear();
                state.document = None;
                state.etag = None;
                return;
            };
            let mut resources = HashMap::with_capacity(document.resources.len());
            for (name, entry) in &document.resources {
                let local = state
                    .local
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| self.default_local(name));
                let compiled = Definition::compile(name, entry, &local)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                let before = match state.resources.get(name) {
                    Some(Ok(old)) => old.warnings.as_slice(),
                    _ => &[],
                };
                match &compiled {
                    Ok(def) => self.report_warnings(name, &def.warnings, before),
                    Err(reason) => {
                        tracing::warn!(resource = %name, "resource cannot be used: {reason}")
                    }
                }
                resources.insert(name.clone(), compiled);
            }
            state.resources = resources;
            state.document = Some(document);
            state.etag = Some(etag);
        });
    }

    /// Logs and emits [`Event::DefinitionWarning`] for each warning not already in `before`
    /// (a reload of an unchanged definition reports nothing new).
    fn report_warnings(
        &self,
        resource: &str,
        warnings: &[DefinitionWarning],
        before: &[DefinitionWarning],
    ) {
        for warning in warnings.iter().filter(|w| !before.contains(w)) {
            tracing::warn!(resource = %resource, key = %warning.key, "{}", warning.message);
            self.inner.events.emit_with(|| Event::DefinitionWarning {
                resource: resource.to_owned(),
                key: warning.key.clone(),
                message: warning.message.clone(),
            });
        }
    }

    /// The settings of resource `name` from the options (a resource this process did not
    /// define).
    fn default_local(&self, name: &str) -> LocalSettings {
        let options = &self.inner.options;
        let given = options.resources.get(name);
        let passphrase = given
            .and_then(|r| r.passphrase.clone())
            .unwrap_or_else(|| options.passphrase.clone());
        LocalSettings {
            metadata_limit: options.metadata_limit,
            parallelism: given.and_then(|r| r.parallelism).or(options.parallelism),
            ..LocalSettings::with_passphrase(passphrase)
        }
    }

    fn read_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let guard = self
            .inner
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&guard)
    }

    fn write_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self
            .inner
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

/// The document as a JSON object (what hooks see).
fn document_json(
    document: &DatabaseDocument,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(&document.to_pretty_json()?) {
        Ok(serde_json::Value::Object(json)) => Ok(json),
        Ok(_) => Err(Error::corrupt(store::METADATA_KEY, "not a JSON object")),
        Err(e) => Err(Error::corrupt(store::METADATA_KEY, e.to_string())),
    }
}

/// Applies a definition to the document; returns whether anything changed.
fn apply_definition(
    document: &mut DatabaseDocument,
    config: &ResourceConfig,
    attributes: &serde_json::Map<String, serde_json::Value>,
    partitions: &serde_json::Map<String, serde_json::Value>,
    hash: &str,
    schema: &Schema,
    now: &str,
) -> bool {
    let fresh_version = || {
        definition::version_entry(
            config,
            attributes.clone(),
            partitions.clone(),
            hash.to_owned(),
            now,
        )
    };
    match document.resources.get_mut(&config.name) {
        Some(entry) => {
            let same_hash = entry.current().is_some_and(|v| v.hash == hash);
            let (registry, registry_changed) =
                definition::updated_registry(entry.schema_registry.as_ref(), schema, now);
            // `paranoid` is not part of the definition hash (as in s3db.js): a change of it
            // alone is recorded on the current version, without a new one.
            let paranoid_changed = same_hash
                && entry.current_version_mut().is_some_and(|current| {
                    let changed = current.paranoid != config.paranoid;
                    current.paranoid = config.paranoid;
                    changed
                });
            if same_hash && !registry_changed && !paranoid_changed {
                return false;
            }
            if !same_hash {
                let name = entry.next_version_name();
                entry.versions.insert(name.clone(), fresh_version());
                entry.current_version = name;
                entry.partitions = Some(partitions.clone());
            }
            entry.schema_registry = Some(registry);
            true
        }
        None => {
            let (registry, _) = definition::updated_registry(None, schema, now);
            let mut versions = indexmap::IndexMap::new();
            versions.insert("v1".to_owned(), fresh_version());
            document.resources.insert(
                config.name.clone(),
                ResourceEntry {
                    current_version: "v1".into(),
                    partitions: Some(partitions.clone()),
                    created_by: config.created_by.clone(),
                    versions,
                    schema_registry: Some(registry),
                    plugin_schema_registry: Some(serde_json::Value::Object(serde_json::Map::new())),
                    extra: serde_json::Map::new(),
                },
            );
            true
        }
    }
}

impl Output for Database {}
impl Output for Resource {}
