//! Points, boxes and great-circle distances on a sphere of the Earth's mean radius.

use crate::{Error, Result};

/// The Earth's mean radius in kilometres (IUGG), the sphere every distance is measured on.
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// A point: latitude and longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude, −90…90.
    pub lat: f64,
    /// Longitude, −180…180.
    pub lon: f64,
}

impl GeoPoint {
    /// A point; [`Error::Config`] when a coordinate is out of range or not a number.
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(invalid(format!(
                "({lat}, {lon}) is not a point: latitude must be in -90..=90 and longitude in -180..=180"
            )));
        }
        Ok(GeoPoint { lat, lon })
    }

    /// The great-circle (haversine) distance to `other`, in kilometres.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }
}

/// A latitude/longitude box. `west > east` means the box crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge (degrees).
    pub south: f64,
    /// Western edge (degrees).
    pub west: f64,
    /// Northern edge (degrees).
    pub north: f64,
    /// Eastern edge (degrees).
    pub east: f64,
}

impl BoundingBox {
    /// A box; [`Error::Config`] when an edge is out of range or south is above north.
    pub fn new(south: f64, west: f64, north: f64, east: f64) -> Result<BoundingBox> {
        GeoPoint::new(south, west)?;
        GeoPoint::new(north, east)?;
        if south > north {
            return Err(invalid(format!(
                "south edge {south} is above north edge {north}"
            )));
        }
        Ok(BoundingBox {
            south,
            west,
            north,
            east,
        })
    }

    /// The smallest box holding every point within `radius_km` of `center` (the whole
    /// longitude range when the circle reaches a pole).
    pub fn around(center: &GeoPoint, radius_km: f64) -> BoundingBox {
        let angle = radius_km / EARTH_RADIUS_KM;
        let dlat = angle.to_degrees();
        let (south, north) = (center.lat - dlat, center.lat + dlat);
        let full = BoundingBox {
            south: south.max(-90.0),
            west: -180.0,
            north: north.min(90.0),
            east: 180.0,
        };
        if south <= -90.0 || north >= 90.0 {
            return full;
        }
        // The meridians tangent to the circle (Matuschek), valid once no pole is inside.
        let ratio = angle.sin() / center.lat.to_radians().cos();
        if ratio >= 1.0 {
            return full;
        }
        let dlon = ratio.asin().to_degrees();
        let wrap = |lon: f64| {
            if lon < -180.0 {
                lon + 360.0
            } else if lon > 180.0 {
                lon - 360.0
            } else {
                lon
            }
        };
        BoundingBox {
            south,
            west: wrap(center.lon - dlon),
            north,
            east: wrap(center.lon + dlon),
        }
    }

    /// Whether `point` lies in the box (edges included).
    pub fn contains(&self, point: &GeoPoint) -> bool {
        (self.south..=self.north).contains(&point.lat)
            && self
                .longitude_spans()
                .iter()
                .any(|(west, east)| (*west..=*east).contains(&point.lon))
    }

    /// The box's longitude ranges: one, or two when it crosses the antimeridian.
    pub fn longitude_spans(&self) -> Vec<(f64, f64)> {
        if self.west <= self.east {
            vec![(self.west, self.east)]
        } else {
            vec![(self.west, 180.0), (-180.0, self.east)]
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::Config {
        plugin: super::SLUG,
        reason,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_values() {
        let paris = GeoPoint::new(48.8566, 2.3522).unwrap();
        let london = GeoPoint::new(51.5074, -0.1278).unwrap();
        let d = paris.distance_km(&london);
        assert!((d - 343.5).abs() < 1.0, "{d}");
        assert_eq!(paris.distance_km(&paris), 0.0);
    }

    #[test]
    fn the_box_around_a_circle_holds_the_circle() {
        let center = GeoPoint::new(60.0, 179.5).unwrap();
        let area = BoundingBox::around(&center, 150.0);
        assert!(area.west > area.east, "crosses the antimeridian: {area:?}");
        for step in 0..360 {
            let bearing = f64::from(step).to_radians();
            // A point 149.9 km away along `bearing` (spherical destination formula).
            let angle = 149.9 / EARTH_RADIUS_KM;
            let lat1 = center.lat.to_radians();
            let lat2 = (lat1.sin() * angle.cos() + lat1.cos() * angle.sin() * bearing.cos()).asin();
            let lon2 = center.lon.to_radians()
                + (bearing.sin() * angle.sin() * lat1.cos())
                    .atan2(angle.cos() - lat1.sin() * lat2.sin());
            let mut lon = lon2.to_degrees();
            if lon > 180.0 {
                lon -= 360.0;
            }
            let point = GeoPoint::new(lat2.to_degrees(), lon).unwrap();
            assert!(area.contains(&point), "{point:?} outside {area:?}");
        }
    }

    #[test]
    fn bad_coordinates_are_refused() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert!(BoundingBox::new(10.0, 0.0, 5.0, 1.0).is_err());
    }
}
