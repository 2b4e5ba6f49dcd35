#![doc = include_str!("../../../../docs/plugins-vector.md")]

mod ivf;
mod kmeans;
mod metric;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use s3db_core::Resource;
use s3db_core::extend::{HookPoint, Operation, Payload, Plugin, PluginContext, Veto};

pub use ivf::{BuildReport, VectorIndex};
pub use metric::{Metric, Neighbor, exact_search};

use crate::{Error, Result};

/// The plugin's slug.
pub const SLUG: &str = "vector";

/// How the inverted-file index of a field is trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfSettings {
    /// Lists (centroids); about √records is a usual choice.
    pub lists: usize,
    /// Vectors the centroids are trained on (a uniform sample of the records).
    pub sample: usize,
    /// Rounds of k-means.
    pub iterations: usize,
    /// Seed of the sampling and seeding (a build is reproducible).
    pub seed: u64,
}

impl Default for IvfSettings {
    fn default() -> Self {
        IvfSettings {
            lists: 64,
            sample: 4096,
            iterations: 10,
            seed: 0x5eed,
        }
    }
}

/// One indexed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorField {
    /// The resource.
    pub resource: String,
    /// The `embedding:N` field.
    pub field: String,
    /// Its dimensions (N).
    pub dims: usize,
    /// The distance searches rank by.
    pub metric: Metric,
    /// Its index settings.
    pub ivf: IvfSettings,
}

/// The fields the plugin indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorConfig {
    fields: Vec<VectorField>,
}

impl VectorConfig {
    /// No fields yet.
    pub fn new() -> VectorConfig {
        VectorConfig::default()
    }

    /// Indexes `field` (`dims` dimensions) of `resource`, ranked by `metric`, with the
    /// default [`IvfSettings`].
    pub fn field(mut self, resource: &str, field: &str, dims: usize, metric: Metric) -> Self {
        self.fields.push(VectorField {
            resource: resource.into(),
            field: field.into(),
            dims,
            metric,
            ivf: IvfSettings::default(),
        });
        self
    }

    /// Sets the number of lists of the field added last.
    pub fn lists(mut self, lists: usize) -> Self {
        if let Some(last) = self.fields.last_mut() {
            last.ivf.lists = lists;
        }
        self
    }

    /// Sets the index settings of the field added last.
    pub fn ivf(mut self, ivf: IvfSettings) -> Self {
        if let Some(last) = self.fields.last_mut() {
            last.ivf = ivf;
        }
        self
    }
}

/// The vector plugin (see the [module docs](self)).
#[derive(Debug)]
pub struct VectorPlugin {
    fields: Vec<Arc<VectorField>>,
    context: OnceLock<PluginContext>,
}

impl VectorPlugin {
    /// A plugin for `config`; [`Error::Config`] on zero dimensions, lists or sample, or a
    /// field named twice.
    pub fn new(config: VectorConfig) -> Result<VectorPlugin> {
        for (i, f) in config.fields.iter().enumerate() {
            let problem = if f.dims == 0 {
                Some("zero dimensions")
            } else if f.ivf.lists == 0 || f.ivf.sample == 0 {
                Some("an index needs at least one list and one sampled vector")
            } else if config.fields[..i]
                .iter()
                .any(|g| g.resource == f.resource && g.field == f.field)
            {
                Some("configured twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Error::Config {
                    plugin: SLUG,
                    reason: format!("resource {:?}, field {:?}: {problem}", f.resource, f.field),
                });
            }
        }
        Ok(VectorPlugin {
            fields: config.fields.into_iter().map(Arc::new).collect(),
            context: OnceLock::new(),
        })
    }

    /// Search and maintenance of `field` of `resource`. [`Error::Config`] when the plugin is
    /// not installed or the field is not configured; a core error when the resource is not
    /// defined.
    pub fn index(&self, resource: &str, field: &str) -> Result<VectorIndex> {
        let config = |reason: String| Error::Config {
            plugin: SLUG,
            reason,
        };
        let settings = self
            .fields
            .iter()
            .find(|f| f.resource == resource && f.field == field)
            .ok_or_else(|| config(format!("field {field:?} of {resource:?} is not configured")))?;
        let ctx = self
            .context
            .get()
            .ok_or_else(|| config("the plugin is not installed on a database".into()))?;
        let resource = ctx.database()?.resource(resource)?;
        Ok(index_of(ctx, resource, settings.clone()))
    }
}

fn index_of(ctx: &PluginContext, resource: Resource, settings: Arc<VectorField>) -> VectorIndex {
    VectorIndex {
        area: ctx.resource_storage(resource.name()),
        resource,
        settings,
    }
}

#[async_trait]
impl Plugin for VectorPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let _ = self.context.set(ctx.clone());
        let fields = self.fields.clone();
        let context = ctx.clone();
        ctx.for_each_resource(move |resource| {
            for settings in fields.iter().filter(|f| f.resource == resource.name()) {
                register(&index_of(&context, resource.clone(), settings.clone()));
            }
        });
        Ok(())
    }
}

/// Keeps the lists of `index` in step with every write of its resource: the stored vector
/// leaves its list before a change or a delete, the written one joins its list after.
fn register(index: &VectorIndex) {
    let hooks = index.resource.hooks();
    for point in [
        HookPoint::BeforeUpdate,
        HookPoint::BeforePatch,
        HookPoint::BeforeReplace,
        HookPoint::BeforeDelete,
    ] {
        let index = index.clone();
        hooks.register(point, move |_ctx, data: Payload| {
            let index = index.clone();
            async move {
                let id = match &data {
                    Payload::Change { id, record }
                        if point == HookPoint::BeforeReplace
                            || record.contains_key(&index.settings.field) =>
                    {
                        Some(id.clone())
                    }
                    Payload::Id(id) => Some(id.clone()),
                    _ => None,
                };
                if let Some(id) = id {
                    leave(&index, &[id]).await.map_err(|e| veto(&index, e))?;
                }
                Ok(data)
            }
        });
    }
    for point in [
        HookPoint::AfterInsert,
        HookPoint::AfterUpdate,
        HookPoint::AfterPatch,
        HookPoint::AfterReplace,
    ] {
        let index = index.clone();
        hooks.register(point, move |_ctx, data: Payload| {
            let index = index.clone();
            async move {
                if let Payload::Record(record) = &data {
                    index.add(record).await.map_err(|e| veto(&index, e))?;
                }
                Ok(data)
            }
        });
    }
    let index = index.clone();
    index
        .resource
        .clone()
        .middlewares()
        .register(Operation::DeleteMany, move |ctx, next| {
            let index = index.clone();
            async move {
                if let Payload::Ids(ids) = &ctx.args {
                    leave(&index, ids).await?;
                }
                next.run(ctx).await
            }
        });
}

/// Takes the stored vectors of `ids` out of their lists.
async fn leave(index: &VectorIndex, ids: &[String]) -> Result<()> {
    for record in index.resource.get_many(ids).await? {
        index.remove(&record).await?;
    }
    Ok(())
}

fn veto(index: &VectorIndex, error: Error) -> Veto {
    Veto::new(format!(
        "vector: resource {:?}, field {:?}: the index was not updated: {error}",
        index.resource.name(),
        index.settings.field
    ))
}
