//! [`GeoIndex`]: radius, box and nearest-neighbour queries over one resource.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use s3db_core::{Record, Resource};
use s3db_storage::{Storage, StorageExt};
use serde_json::Value;

use super::geohash::{self, coarsest_fit};
use super::sphere::{BoundingBox, EARTH_RADIUS_KM, GeoPoint};
use super::{Coordinates, GEOHASH_FIELD};
use crate::Result;

/// Most cells one query lists; a larger area is covered by coarser cells.
pub const MAX_CELLS: usize = 32;

/// Cell listings in flight at once.
const LISTINGS_IN_FLIGHT: usize = 8;

/// A record found by a distance query, with its point and its distance from the centre.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoHit {
    /// The record.
    pub record: Record,
    /// Its point.
    pub point: GeoPoint,
    /// Great-circle distance from the query's centre, in kilometres.
    pub distance_km: f64,
}

/// The geohash partition of one resource, ready for queries (from [`super::GeoPlugin::index`]).
///
/// A query lists only the partition cells covering its area (at most [`MAX_CELLS`] listings,
/// at the finest precision that fits), reads the records referenced there, and keeps those
/// whose own coordinates pass the exact test, so results equal a scan of every record.
#[derive(Clone)]
pub struct GeoIndex {
    pub(super) resource: Resource,
    pub(super) storage: std::sync::Arc<dyn Storage>,
    pub(super) coordinates: Coordinates,
    pub(super) precision: u8,
    pub(super) root: String,
}

impl std::fmt::Debug for GeoIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIndex")
            .field("resource", &self.resource.name())
            .field("precision", &self.precision)
            .finish_non_exhaustive()
    }
}

impl GeoIndex {
    /// The records within `radius_km` of `center`, nearest first.
    pub async fn within_radius(&self, center: GeoPoint, radius_km: f64) -> Result<Vec<GeoHit>> {
        let area = BoundingBox::around(&center, radius_km);
        let mut hits: Vec<GeoHit> = self
            .candidates(&area)
            .await?
            .into_iter()
            .filter_map(|record| self.hit(record, &center))
            .filter(|hit| hit.distance_km <= radius_km)
            .collect();
        sort_by_distance(&mut hits);
        Ok(hits)
    }

    /// The records inside `area` (edges included), in id order.
    pub async fn within_bounds(&self, area: &BoundingBox) -> Result<Vec<Record>> {
        Ok(self
            .candidates(area)
            .await?
            .into_iter()
            .filter(|record| self.point_of(record).is_some_and(|p| area.contains(&p)))
            .collect())
    }

    /// The `n` records nearest to `center`, nearest first. Searches circles of growing
    /// radius; once a circle holds `n` records, nothing outside it can be nearer.
    pub async fn nearest(&self, center: GeoPoint, n: usize) -> Result<Vec<GeoHit>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let half_circumference = std::f64::consts::PI * EARTH_RADIUS_KM;
        let mut radius = cell_height_km(self.precision);
        loop {
            let mut hits = self.within_radius(center, radius).await?;
            if hits.len() >= n || radius >= half_circumference {
                hits.truncate(n);
                return Ok(hits);
            }
            radius = (radius * 4.0).min(half_circumference);
        }
    }

    /// The point of `record`, when it has valid coordinates.
    pub fn point_of(&self, record: &Record) -> Option<GeoPoint> {
        self.coordinates.point_of(record).ok().flatten()
    }

    /// Records referenced by the cells covering `area`, each once, in id order.
    async fn candidates(&self, area: &BoundingBox) -> Result<Vec<Record>> {
        let (_, cells) = coarsest_fit(area, self.precision, MAX_CELLS);
        let listings = cells.into_iter().map(|cell| {
            let prefix = format!("{}{GEOHASH_FIELD}={cell}", self.root);
            let storage = self.storage.clone();
            async move { storage.list_keys(&prefix).await }
        });
        let keys: Vec<Vec<String>> = futures::stream::iter(listings)
            .buffer_unordered(LISTINGS_IN_FLIGHT)
            .try_collect()
            .await?;
        let ids: BTreeSet<String> = keys
            .iter()
            .flatten()
            .filter_map(|key| key.rsplit_once("/id=").map(|(_, id)| id.to_owned()))
            .collect();
        let ids: Vec<String> = ids.into_iter().collect();
        Ok(self.resource.get_many(&ids).await?)
    }

    fn hit(&self, record: Record, center: &GeoPoint) -> Option<GeoHit> {
        let point = self.point_of(&record)?;
        Some(GeoHit {
            distance_km: center.distance_km(&point),
            point,
            record,
        })
    }
}

/// Nearest first; ties by id, so results are deterministic.
fn sort_by_distance(hits: &mut [GeoHit]) {
    hits.sort_by(|a, b| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then_with(|| id(&a.record).cmp(id(&b.record)))
    });
}

fn id(record: &Record) -> &str {
    record.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// The north–south size of a cell of `precision`, in kilometres.
fn cell_height_km(precision: u8) -> f64 {
    let lat_bits = 5 * u32::from(precision.clamp(1, geohash::MAX_PRECISION)) / 2;
    180.0 / f64::from(1u32 << lat_bits) * EARTH_RADIUS_KM.to_radians()
}
