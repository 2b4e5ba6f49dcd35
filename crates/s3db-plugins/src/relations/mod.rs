#![doc = include_str!("../../../../docs/plugins-relations.md")]

mod config;
mod include;
mod integrity;
mod lookup;
mod repair;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};
use s3db_core::{Database, ListRequest, Page, PageRequest, QueryOptions, Record};
use serde_json::Value;

pub use config::{Kind, OnDelete, Relation, RelationsConfig};
pub use include::Include;
pub use lookup::PER_VALUE_LISTINGS;
pub use repair::{Dangling, IntegrityReport};

use crate::Result;

/// The plugin's slug.
pub const SLUG: &str = "relations";

/// A write refused by a relation. It reaches callers as [`s3db_core::Error::Plugin`]
/// (slug `relations`) with this error as its source; [`RelationError::of`] finds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelationError {
    /// A checked foreign key names a record that does not exist (kind `Validation`).
    #[error(
        "{resource}.{field} = {value:?}: no {target} record has {key} = {value:?}; insert that \
         {target} record first, or set {field} to an existing {target} {key} (or null)"
    )]
    MissingTarget {
        /// The resource written.
        resource: String,
        /// The foreign key.
        field: String,
        /// The value it was given.
        value: String,
        /// The referenced resource.
        target: String,
        /// The referenced field.
        key: String,
    },
    /// A delete refused by an `onDelete: restrict` reference; nothing was deleted (kind
    /// `Refused`).
    #[error(
        "cannot delete the {resource} record with {key} = {value:?}: {child} {child_id:?} \
         references it by {child}.{field} ({count} blocking record(s); onDelete restrict, \
         declared by {relation}); delete or re-point those {child} records first, or declare \
         onDelete cascade or set null"
    )]
    Restricted {
        /// The resource of the record being deleted.
        resource: String,
        /// Its referenced field.
        key: String,
        /// The value referenced.
        value: String,
        /// The referencing resource.
        child: String,
        /// The referencing field.
        field: String,
        /// One referencing record.
        child_id: String,
        /// How many referencing records block the delete.
        count: usize,
        /// The relation that set the policy (`owner.name`).
        relation: String,
    },
}

impl RelationError {
    /// The relation error inside a core error, if it is one.
    pub fn of(error: &s3db_core::Error) -> Option<&RelationError> {
        match error {
            s3db_core::Error::Plugin { plugin, source, .. } if plugin == SLUG => {
                source.downcast_ref::<RelationError>()
            }
            _ => None,
        }
    }
}

/// What the middleware and the plugin's methods share.
#[derive(Debug)]
struct Shared {
    config: RelationsConfig,
    references: Vec<config::Reference>,
    context: OnceLock<PluginContext>,
}

impl Shared {
    fn database(&self) -> s3db_core::Result<Database> {
        match self.context.get() {
            Some(context) => context.database(),
            None => Err(s3db_core::Error::Disconnected),
        }
    }
}

/// The relations plugin (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct RelationsPlugin {
    shared: Arc<Shared>,
}

impl RelationsPlugin {
    /// A plugin for `config`; [`crate::Error::Config`] when a definition is incomplete or two
    /// relations give one foreign key different delete policies.
    pub fn new(config: RelationsConfig) -> Result<RelationsPlugin> {
        let references = config.validate()?;
        Ok(RelationsPlugin {
            shared: Arc::new(Shared {
                config,
                references,
                context: OnceLock::new(),
            }),
        })
    }

    fn database(&self) -> Result<Database> {
        self.shared
            .database()
            .map_err(|_| config::config("the plugin is not installed on an open database".into()))
    }

    /// Fills the relations of `include` into `records` of `resource` (see [`Include`]).
    pub async fn include(
        &self,
        resource: &str,
        records: &mut [Record],
        include: &Include,
    ) -> Result<()> {
        let db = self.database()?;
        include::load(&self.shared.config, &db, resource, records, include).await
    }

    /// [`s3db_core::Resource::get`] with `include` loaded.
    pub async fn get(&self, resource: &str, id: &str, include: &Include) -> Result<Record> {
        let mut records = [self.database()?.resource(resource)?.get(id).await?];
        self.include(resource, &mut records, include).await?;
        let [record] = records;
        Ok(record)
    }

    /// [`s3db_core::Resource::list`] with `include` loaded.
    pub async fn list(
        &self,
        resource: &str,
        request: &ListRequest,
        include: &Include,
    ) -> Result<Vec<Record>> {
        let mut records = self.database()?.resource(resource)?.list(request).await?;
        self.include(resource, &mut records, include).await?;
        Ok(records)
    }

    /// [`s3db_core::Resource::page`] with `include` loaded into the page's items.
    pub async fn page(
        &self,
        resource: &str,
        request: &PageRequest,
        include: &Include,
    ) -> Result<Page> {
        let mut page = self.database()?.resource(resource)?.page(request).await?;
        self.include(resource, &mut page.items, include).await?;
        Ok(page)
    }

    /// [`s3db_core::Resource::query`] with `include` loaded.
    pub async fn query(
        &self,
        resource: &str,
        filter: &Value,
        options: &QueryOptions,
        include: &Include,
    ) -> Result<Vec<Record>> {
        let db = self.database()?;
        let mut records = db.resource(resource)?.query(filter, options).await?;
        self.include(resource, &mut records, include).await?;
        Ok(records)
    }

    /// Every reference to a missing record, found by reading the referencing resources
    /// (nothing is written).
    pub async fn check(&self) -> Result<IntegrityReport> {
        let db = self.database()?;
        Ok(IntegrityReport {
            dangling: repair::check(&self.shared, &db).await?,
            ..IntegrityReport::default()
        })
    }

    /// [`RelationsPlugin::check`], then fixes what the delete policies say: `cascade`
    /// deletes the referencing record, `set null` nulls its foreign key; `restrict` and
    /// `no action` references are reported as unfixed.
    pub async fn repair(&self) -> Result<IntegrityReport> {
        let db = self.database()?;
        repair::repair(&self.shared, &db).await
    }
}

#[async_trait]
impl Plugin for RelationsPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let _ = self.shared.context.set(ctx.clone());
        let shared = self.shared.clone();
        ctx.for_each_resource(move |resource| integrity::register(&shared, &resource));
        Ok(())
    }
}
