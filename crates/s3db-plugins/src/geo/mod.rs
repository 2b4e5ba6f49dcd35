#![doc = include_str!("../../../../docs/plugins-geo.md")]

mod geohash;
mod index;
mod sphere;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use s3db_core::Record;
use s3db_core::Resource;
use s3db_core::extend::{HookPoint, Payload, Plugin, PluginContext, Veto};
use serde_json::{Value, json};

pub use geohash::{MAX_PRECISION, encode as geohash};
pub use index::{GeoHit, GeoIndex, MAX_CELLS};
pub use sphere::{BoundingBox, EARTH_RADIUS_KM, GeoPoint};

use crate::{Error, Result};

/// The plugin's slug.
pub const SLUG: &str = "geo";
/// The field holding a record's geohash.
pub const GEOHASH_FIELD: &str = "_geohash";
/// The partition on [`GEOHASH_FIELD`].
pub const PARTITION: &str = "byGeohash";

/// Where a record's point is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coordinates {
    /// Two number fields: latitude and longitude (dotted paths allowed).
    Fields {
        /// The latitude field.
        lat: String,
        /// The longitude field.
        lon: String,
    },
    /// One `geo:point` field holding `{"lat": …, "lon": …}` (or `latitude`/`longitude`, as
    /// the field reads back).
    Point(String),
}

impl Coordinates {
    /// Latitude and longitude in two fields.
    pub fn fields(lat: impl Into<String>, lon: impl Into<String>) -> Coordinates {
        Coordinates::Fields {
            lat: lat.into(),
            lon: lon.into(),
        }
    }

    /// A `geo:point` field.
    pub fn point(field: impl Into<String>) -> Coordinates {
        Coordinates::Point(field.into())
    }

    /// The fields a change must touch to move the point.
    fn paths(&self) -> Vec<&str> {
        match self {
            Coordinates::Fields { lat, lon } => vec![lat, lon],
            Coordinates::Point(field) => vec![field],
        }
    }

    /// The record's point: `None` when its coordinates are absent or null, an error naming
    /// the field when they are not a valid point.
    fn point_of(&self, record: &Record) -> Result<Option<GeoPoint>> {
        let (lat, lon) = match self {
            Coordinates::Fields { lat, lon } => (lookup(record, lat), lookup(record, lon)),
            Coordinates::Point(field) => match lookup(record, field) {
                None | Some(Value::Null) => return Ok(None),
                // Written as {lat, lon}; s3db.js's codec reads it back as {latitude, longitude}.
                Some(point) => (
                    point.get("lat").or_else(|| point.get("latitude")),
                    point.get("lon").or_else(|| point.get("longitude")),
                ),
            },
        };
        match (lat, lon) {
            (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => Ok(None),
            (Some(lat), Some(lon)) => match (lat.as_f64(), lon.as_f64()) {
                (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).map(Some),
                _ => Err(Error::Config {
                    plugin: SLUG,
                    reason: format!(
                        "coordinates {lat} / {lon} in {:?} are not numbers",
                        self.paths()
                    ),
                }),
            },
        }
    }
}

/// The value at a dotted `path` of a record.
fn lookup<'r>(record: &'r Record, path: &str) -> Option<&'r Value> {
    let mut parts = path.split('.');
    let mut value = record.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}

/// One resource's geo settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoResource {
    /// The resource's name.
    pub name: String,
    /// Where its records' points are.
    pub coordinates: Coordinates,
    /// Characters of the stored geohash (1..=12; 6 is cells of about 1.2 × 0.6 km).
    pub precision: u8,
}

/// Which resources the plugin covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoConfig {
    resources: Vec<GeoResource>,
}

impl GeoConfig {
    /// No resources yet.
    pub fn new() -> GeoConfig {
        GeoConfig::default()
    }

    /// Covers `name`, its points in `coordinates`, geohashes of `precision` characters.
    pub fn resource(
        mut self,
        name: impl Into<String>,
        coordinates: Coordinates,
        precision: u8,
    ) -> Self {
        self.resources.push(GeoResource {
            name: name.into(),
            coordinates,
            precision,
        });
        self
    }
}

/// Adds the geohash field (`_geohash: "string|optional"`) and its partition (`byGeohash`)
/// to an s3db.js-shaped resource definition; [`Error::Config`] when it has no attributes
/// object or its partitions are not an object.
pub fn add_index_to(definition: &mut Value) -> Result<()> {
    let invalid = |reason: &str| Error::Config {
        plugin: SLUG,
        reason: reason.to_owned(),
    };
    let object = definition
        .as_object_mut()
        .ok_or_else(|| invalid("a resource definition is a JSON object"))?;
    object
        .get_mut("attributes")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| invalid("the definition has no attributes object"))?
        .insert(GEOHASH_FIELD.into(), json!("string|optional"));
    object
        .entry("partitions")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| invalid("the definition's partitions are not an object"))?
        .insert(
            PARTITION.into(),
            json!({"fields": {GEOHASH_FIELD: "string"}}),
        );
    Ok(())
}

/// The geo plugin (see the [module docs](self)).
#[derive(Debug)]
pub struct GeoPlugin {
    resources: Vec<GeoResource>,
    context: OnceLock<PluginContext>,
}

impl GeoPlugin {
    /// A plugin for `config`; [`Error::Config`] on a precision outside 1..=12 or a resource
    /// named twice.
    pub fn new(config: GeoConfig) -> Result<GeoPlugin> {
        for (i, resource) in config.resources.iter().enumerate() {
            if !(1..=MAX_PRECISION).contains(&resource.precision) {
                return Err(Error::Config {
                    plugin: SLUG,
                    reason: format!(
                        "resource {:?}: precision {} is outside 1..={MAX_PRECISION}",
                        resource.name, resource.precision
                    ),
                });
            }
            if config.resources[..i]
                .iter()
                .any(|r| r.name == resource.name)
            {
                return Err(Error::Config {
                    plugin: SLUG,
                    reason: format!("resource {:?} is configured twice", resource.name),
                });
            }
        }
        Ok(GeoPlugin {
            resources: config.resources,
            context: OnceLock::new(),
        })
    }

    /// The query side of a covered resource. [`Error::Config`] when the plugin is not
    /// installed, the resource is not covered or not defined, or its definition lacks the
    /// geohash partition (add it with [`add_index_to`]).
    pub fn index(&self, name: &str) -> Result<GeoIndex> {
        let config = |reason: String| Error::Config {
            plugin: SLUG,
            reason,
        };
        let settings = self
            .resources
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| config(format!("resource {name:?} is not configured")))?;
        let context = self
            .context
            .get()
            .ok_or_else(|| config("the plugin is not installed on a database".into()))?;
        let db = context.database()?;
        let resource = db.resource(name)?;
        let partition = resource.partition(PARTITION).map_err(|_| {
            config(format!(
                "resource {name:?} has no {PARTITION} partition: define it with geo::add_index_to"
            ))
        })?;
        Ok(GeoIndex {
            root: partition.root(name),
            storage: db.storage().clone(),
            coordinates: settings.coordinates.clone(),
            precision: settings.precision,
            resource,
        })
    }
}

#[async_trait]
impl Plugin for GeoPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let _ = self.context.set(ctx.clone());
        let resources = Arc::new(self.resources.clone());
        ctx.for_each_resource(move |resource| {
            if let Some(settings) = resources.iter().find(|r| r.name == resource.name()) {
                register(&resource, Arc::new(settings.clone()));
            }
        });
        Ok(())
    }
}

/// Keeps `_geohash` in step with the point on every write of `resource`.
fn register(resource: &Resource, settings: Arc<GeoResource>) {
    for point in [
        HookPoint::BeforeInsert,
        HookPoint::BeforeUpdate,
        HookPoint::BeforePatch,
        HookPoint::BeforeReplace,
    ] {
        let settings = settings.clone();
        let reader = resource.clone();
        resource.hooks().register(point, move |_ctx, data| {
            let settings = settings.clone();
            let reader = reader.clone();
            async move {
                stamp(&settings, &reader, point, data)
                    .await
                    .map_err(|e| Veto::new(format!("geo: resource {:?}: {e}", settings.name)))
            }
        });
    }
}

/// Sets `_geohash` in a candidate record or change from its point.
async fn stamp(
    settings: &GeoResource,
    reader: &Resource,
    point: HookPoint,
    data: Payload,
) -> Result<Payload> {
    match data {
        Payload::Record(mut record) => {
            let found = settings.coordinates.point_of(&record)?;
            set_geohash(settings, &mut record, found);
            Ok(Payload::Record(record))
        }
        Payload::Change { id, mut record } => {
            let touched = settings
                .coordinates
                .paths()
                .iter()
                .filter(|path| lookup(&record, path).is_some())
                .count();
            let whole = point == HookPoint::BeforeReplace;
            let found = if whole || touched == settings.coordinates.paths().len() {
                settings.coordinates.point_of(&record)?
            } else if touched == 0 {
                return Ok(Payload::Change { id, record });
            } else {
                // One of two coordinates changed: the other comes from the stored record.
                let mut merged = reader.get(&id).await?;
                merged.extend(record.clone());
                settings.coordinates.point_of(&merged)?
            };
            set_geohash(settings, &mut record, found);
            Ok(Payload::Change { id, record })
        }
        other => Ok(other),
    }
}

/// Sets the geohash of `point`, or clears it (null) when the record has no point.
fn set_geohash(settings: &GeoResource, record: &mut Record, point: Option<GeoPoint>) {
    let value = match point {
        Some(p) => Value::String(geohash::encode(p.lat, p.lon, settings.precision)),
        None => Value::Null,
    };
    record.insert(GEOHASH_FIELD.into(), value);
}
