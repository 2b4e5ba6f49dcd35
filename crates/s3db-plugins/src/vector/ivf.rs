//! The inverted-file index: centroids and one postings object per list, in the plugin area.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use s3db_core::{ListRequest, Record, Resource};
use s3db_storage::{Storage, StorageExt};
use serde::{Deserialize, Serialize};

use super::VectorField;
use super::kmeans::{Rng, nearest_centroid, train};
use super::metric::{Nearest, Neighbor, exact_search, vector_of};
use crate::coord::{CasDoc, Change};
use crate::{Error, Result};

/// Conditional-write attempts on one postings object before giving up.
const POSTINGS_ATTEMPTS: u32 = 64;
/// Postings objects read or written at once.
const IN_FLIGHT: usize = 8;

/// The trained centroids of one field.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Centroids {
    centroids: Vec<Vec<f32>>,
}

/// The vectors of one list, by record id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Postings {
    vectors: BTreeMap<String, Vec<f32>>,
}

/// What [`VectorIndex::rebuild`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Records with a vector, all assigned to a list.
    pub records: usize,
    /// Vectors the centroids were trained on.
    pub sampled: usize,
    /// Lists (centroids).
    pub lists: usize,
}

/// Search and maintenance of one vector field (from [`super::VectorPlugin::index`]).
///
/// Objects, under `resource=<R>/plugin=vector/<field>/`: `centroids` (trained by
/// [`rebuild`](Self::rebuild)) and `list=<n>` (the vectors nearest to centroid `n`, by id).
#[derive(Clone)]
pub struct VectorIndex {
    pub(super) resource: Resource,
    pub(super) settings: Arc<VectorField>,
    pub(super) area: Arc<dyn Storage>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("resource", &self.resource.name())
            .field("field", &self.settings.field)
            .finish_non_exhaustive()
    }
}

impl VectorIndex {
    /// The exact `k` nearest records (a streaming scan of every record).
    pub async fn exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        self.check(query)?;
        exact_search(
            &self.resource,
            &self.settings.field,
            query,
            k,
            self.settings.metric,
        )
        .await
    }

    /// The approximate `k` nearest records: the `nprobe` lists whose centroids are nearest
    /// to `query` are read (1 + `nprobe` GET requests) and ranked exactly.
    /// [`Error::Config`] when the index was never built.
    pub async fn search(&self, query: &[f32], k: usize, nprobe: usize) -> Result<Vec<Neighbor>> {
        self.check(query)?;
        let Some(centroids) = self.centroids().await? else {
            return Err(self.invalid("the index is not built yet: call rebuild() first".into()));
        };
        let metric = self.settings.metric;
        let mut order: Vec<usize> = (0..centroids.centroids.len()).collect();
        order.sort_by(|&a, &b| {
            metric
                .distance(query, &centroids.centroids[a])
                .total_cmp(&metric.distance(query, &centroids.centroids[b]))
        });
        order.truncate(nprobe.max(1));
        let lists: Vec<Option<Postings>> = futures::stream::iter(order)
            .map(|list| async move {
                Ok::<_, Error>(self.postings(list).load().await?.map(|v| v.value))
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        let mut nearest = Nearest::new(k);
        for postings in lists.into_iter().flatten() {
            for (id, vector) in &postings.vectors {
                nearest.offer(id, metric.distance(query, vector));
            }
        }
        Ok(nearest.into_sorted())
    }

    /// Trains the centroids on a sample of the records and assigns every record to its
    /// list (two streaming scans). Run it when the field's data changed shape, or to repair
    /// the index; writes made while it runs may need another rebuild.
    pub async fn rebuild(&self) -> Result<BuildReport> {
        let settings = &self.settings;
        let mut rng = Rng::new(settings.ivf.seed);
        let mut sample: Vec<Vec<f32>> = Vec::with_capacity(settings.ivf.sample);
        let mut seen = 0usize;
        let mut records = self.resource.stream(&ListRequest::all())?;
        while let Some(record) = records.try_next().await? {
            let Some(vector) = self.vector(&record)? else {
                continue;
            };
            seen += 1;
            // Reservoir sampling: each vector kept with probability sample / seen.
            if sample.len() < settings.ivf.sample {
                sample.push(vector);
            } else {
                let slot = rng.below(seen);
                if slot < settings.ivf.sample {
                    sample[slot] = vector;
                }
            }
        }
        let centroids = train(
            &sample,
            settings.ivf.lists,
            settings.ivf.iterations,
            settings.metric,
            &mut rng,
        );
        let mut lists = vec![Postings::default(); centroids.len()];
        let mut records = self.resource.stream(&ListRequest::all())?;
        let mut assigned = 0;
        while let Some(record) = records.try_next().await? {
            if let (Some(vector), Some(id)) = (self.vector(&record)?, record_id(&record)) {
                let list = nearest_centroid(&centroids, &vector, settings.metric);
                lists[list].vectors.insert(id.to_owned(), vector);
                assigned += 1;
            }
        }
        self.area
            .delete_prefix(&format!("{}/", settings.field))
            .await?;
        futures::stream::iter(lists.into_iter().enumerate())
            .map(|(list, postings)| async move { self.postings(list).overwrite(&postings).await })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        let report = BuildReport {
            records: assigned,
            sampled: sample.len(),
            lists: centroids.len(),
        };
        self.centroids_doc()
            .overwrite(&Centroids { centroids })
            .await?;
        Ok(report)
    }

    /// Adds (or moves into place) the vector of a written record.
    pub(super) async fn add(&self, record: &Record) -> Result<()> {
        let (Some(vector), Some(id)) = (self.vector(record)?, record_id(record)) else {
            return Ok(());
        };
        let Some(centroids) = self.centroids().await? else {
            return Ok(());
        };
        let list = nearest_centroid(&centroids.centroids, &vector, self.settings.metric);
        let id = id.to_owned();
        self.postings(list)
            .update(POSTINGS_ATTEMPTS, |current| {
                let mut postings = current.cloned().unwrap_or_default();
                postings.vectors.insert(id.clone(), vector.clone());
                Ok(Change::Write(postings, ()))
            })
            .await?;
        Ok(())
    }

    /// Removes the vector of a stored record from its list (before it changes or goes).
    pub(super) async fn remove(&self, record: &Record) -> Result<()> {
        let (Some(vector), Some(id)) = (self.vector(record)?, record_id(record)) else {
            return Ok(());
        };
        let Some(centroids) = self.centroids().await? else {
            return Ok(());
        };
        let list = nearest_centroid(&centroids.centroids, &vector, self.settings.metric);
        self.postings(list)
            .update(POSTINGS_ATTEMPTS, |current| match current {
                Some(postings) if postings.vectors.contains_key(id) => {
                    let mut postings = postings.clone();
                    postings.vectors.remove(id);
                    Ok(Change::Write(postings, ()))
                }
                _ => Ok(Change::Keep(())),
            })
            .await?;
        Ok(())
    }

    fn vector(&self, record: &Record) -> Result<Option<Vec<f32>>> {
        vector_of(record, &self.settings.field, self.settings.dims)
    }

    async fn centroids(&self) -> Result<Option<Centroids>> {
        Ok(self.centroids_doc().load().await?.map(|v| v.value))
    }

    fn centroids_doc(&self) -> CasDoc<Centroids> {
        CasDoc::new(
            self.area.clone(),
            format!("{}/centroids", self.settings.field),
        )
    }

    fn postings(&self, list: usize) -> CasDoc<Postings> {
        CasDoc::new(
            self.area.clone(),
            format!("{}/list={list:05}", self.settings.field),
        )
    }

    fn check(&self, query: &[f32]) -> Result<()> {
        if query.len() == self.settings.dims {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "a query of {} dimensions for a field of {}",
                query.len(),
                self.settings.dims
            )))
        }
    }

    fn invalid(&self, reason: String) -> Error {
        Error::Config {
            plugin: super::SLUG,
            reason: format!(
                "resource {:?}, field {:?}: {reason}",
                self.resource.name(),
                self.settings.field
            ),
        }
    }
}

fn record_id(record: &Record) -> Option<&str> {
    record.get("id").and_then(serde_json::Value::as_str)
}
