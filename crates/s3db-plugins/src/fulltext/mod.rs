#![doc = include_str!("../../../../docs/plugins-fulltext.md")]

mod analyzer;
mod index;
mod query;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use s3db_core::Resource;
use s3db_core::extend::{HookPoint, Operation, Payload, Plugin, PluginContext, Veto};
use serde_json::Value;

pub use analyzer::Analyzer;
pub use index::{FullTextIndex, RebuildReport};
pub use query::{Query, SearchHit, SearchOptions, SearchResults};
/// Snowball stemming languages (from `rust-stemmers`), for [`Analyzer::stemming`].
pub use rust_stemmers::Algorithm as Language;

use crate::{Error, Result};

/// The plugin's slug.
pub const SLUG: &str = "fulltext";

/// Records whose index entries are brought up to date at once after a `delete_many`.
const RECONCILES_IN_FLIGHT: usize = 8;

/// The BM25 ranking parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25 {
    /// Term-frequency saturation (default 1.2).
    pub k1: f64,
    /// Length normalisation, 0..=1 (default 0.75).
    pub b: f64,
}

impl Default for Bm25 {
    fn default() -> Self {
        Bm25 { k1: 1.2, b: 0.75 }
    }
}

/// One resource's full-text settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextResource {
    /// The resource's name.
    pub name: String,
    /// The indexed fields (dotted paths allowed); strings and arrays of strings are indexed.
    pub fields: Vec<String>,
    /// How their text becomes terms.
    pub analyzer: Analyzer,
    /// The ranking parameters.
    pub bm25: Bm25,
}

/// Which resources and fields the plugin indexes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FullTextConfig {
    resources: Vec<FullTextResource>,
}

impl FullTextConfig {
    /// No resources yet.
    pub fn new() -> FullTextConfig {
        FullTextConfig::default()
    }

    /// Indexes `fields` of `name`, with the default [`Analyzer`] and [`Bm25`].
    pub fn resource<I, S>(mut self, name: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources.push(FullTextResource {
            name: name.into(),
            fields: fields.into_iter().map(Into::into).collect(),
            analyzer: Analyzer::new(),
            bm25: Bm25::default(),
        });
        self
    }

    /// Sets the analyzer of the resource added last.
    pub fn analyzer(mut self, analyzer: Analyzer) -> Self {
        if let Some(last) = self.resources.last_mut() {
            last.analyzer = analyzer;
        }
        self
    }

    /// Sets the ranking parameters of the resource added last.
    pub fn bm25(mut self, bm25: Bm25) -> Self {
        if let Some(last) = self.resources.last_mut() {
            last.bm25 = bm25;
        }
        self
    }
}

/// The full-text plugin (see the [module docs](self)).
#[derive(Debug)]
pub struct FullTextPlugin {
    resources: Vec<Arc<FullTextResource>>,
    context: OnceLock<PluginContext>,
}

impl FullTextPlugin {
    /// A plugin for `config`; [`Error::Config`] on a resource without fields or named twice,
    /// a field named twice, `k1 < 0` or `b` outside 0..=1.
    pub fn new(config: FullTextConfig) -> Result<FullTextPlugin> {
        for (i, r) in config.resources.iter().enumerate() {
            let twice = |f: &(usize, &String)| r.fields[..f.0].contains(f.1);
            let problem = if r.fields.is_empty() {
                Some("no fields to index".to_owned())
            } else if let Some((_, field)) = r.fields.iter().enumerate().find(twice) {
                Some(format!("field {field:?} is listed twice"))
            } else if config.resources[..i].iter().any(|o| o.name == r.name) {
                Some("configured twice".to_owned())
            } else if !(r.bm25.k1 >= 0.0 && (0.0..=1.0).contains(&r.bm25.b)) {
                Some(format!(
                    "BM25 needs k1 >= 0 and b in 0..=1 (got k1 {}, b {})",
                    r.bm25.k1, r.bm25.b
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Error::Config {
                    plugin: SLUG,
                    reason: format!("resource {:?}: {problem}", r.name),
                });
            }
        }
        Ok(FullTextPlugin {
            resources: config.resources.into_iter().map(Arc::new).collect(),
            context: OnceLock::new(),
        })
    }

    /// Search and maintenance of a covered resource. [`Error::Config`] when the plugin is not
    /// installed or the resource is not configured; a core error when it is not defined.
    pub fn index(&self, name: &str) -> Result<FullTextIndex> {
        let config = |reason: String| Error::Config {
            plugin: SLUG,
            reason,
        };
        let settings = self
            .resources
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| config(format!("resource {name:?} is not configured")))?;
        let ctx = self
            .context
            .get()
            .ok_or_else(|| config("the plugin is not installed on a database".into()))?;
        let resource = ctx.database()?.resource(name)?;
        Ok(index_of(ctx, resource, settings.clone()))
    }
}

fn index_of(
    ctx: &PluginContext,
    resource: Resource,
    settings: Arc<FullTextResource>,
) -> FullTextIndex {
    FullTextIndex {
        area: ctx.resource_storage(resource.name()),
        resource,
        settings,
    }
}

#[async_trait]
impl Plugin for FullTextPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let _ = self.context.set(ctx.clone());
        let resources = self.resources.clone();
        let context = ctx.clone();
        ctx.for_each_resource(move |resource| {
            if let Some(settings) = resources.iter().find(|r| r.name == resource.name()) {
                register(&index_of(&context, resource.clone(), settings.clone()));
            }
        });
        Ok(())
    }
}

/// Brings the entries of every written record up to date after the write: the `after`
/// hooks of insert, update, patch, replace and delete (so `insert_many` and `upsert`, made
/// of those, too), and the `deleteMany` middleware, around the bulk delete that runs no
/// per-record hooks. `delete_all` removes the whole resource prefix, the index included.
fn register(index: &FullTextIndex) {
    let hooks = index.resource.hooks();
    for point in [
        HookPoint::AfterInsert,
        HookPoint::AfterUpdate,
        HookPoint::AfterPatch,
        HookPoint::AfterReplace,
        HookPoint::AfterDelete,
    ] {
        let index = index.clone();
        hooks.register(point, move |_ctx, data: Payload| {
            let index = index.clone();
            async move {
                let id = match &data {
                    Payload::Record(record) => record.get("id").and_then(Value::as_str),
                    Payload::Id(id) => Some(id.as_str()),
                    _ => None,
                };
                if let Some(id) = id {
                    index.reconcile(id).await.map_err(|e| veto(&index, e))?;
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
                let ids = match &ctx.args {
                    Payload::Ids(ids) => ids.clone(),
                    _ => Vec::new(),
                };
                let out = next.run(ctx).await?;
                futures::stream::iter(ids)
                    .map(|id| {
                        let index = index.clone();
                        async move { index.reconcile(&id).await }
                    })
                    .buffer_unordered(RECONCILES_IN_FLIGHT)
                    .try_collect::<()>()
                    .await?;
                Ok(out)
            }
        });
}

fn veto(index: &FullTextIndex, error: Error) -> Veto {
    Veto::new(format!(
        "fulltext: resource {:?}: the index was not updated (rebuild() repairs it): {error}",
        index.resource.name()
    ))
}
