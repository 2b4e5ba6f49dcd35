//! Geohashes: the cell of a point, the bounds of a cell, and the cells covering a box.
//!
//! A geohash of precision `p` names a cell of a fixed grid: `5p` bits interleaved from the
//! longitude (even bits) and latitude (odd bits) halvings, written in base 32. Every cell of
//! precision `q < p` is a key prefix of the cells of precision `p` inside it, which is what
//! lets one partition at the stored precision answer queries at any coarser one.

use super::sphere::BoundingBox;

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The longest geohash kept (12 characters: cells of a few centimetres).
pub const MAX_PRECISION: u8 = 12;

/// Bits of longitude and latitude in a geohash of `precision` characters.
fn bits(precision: u8) -> (u32, u32) {
    let total = 5 * u32::from(precision);
    (total.div_ceil(2), total / 2)
}

/// The index of `value` among `2^bits` equal slices of `[min, max]` (clamped).
fn slice(value: f64, min: f64, max: f64, bits: u32) -> u64 {
    let slices = 1u64 << bits;
    let position = ((value - min) / (max - min) * slices as f64).floor();
    // `as` saturates: negative positions become 0, those past the end the last slice.
    (position as u64).min(slices - 1)
}

/// The geohash of the cell with longitude index `lon` and latitude index `lat`.
fn from_slices(lon: u64, lat: u64, precision: u8) -> String {
    let (lon_bits, lat_bits) = bits(precision);
    let (mut lon_left, mut lat_left) = (lon_bits, lat_bits);
    let mut out = String::with_capacity(usize::from(precision));
    let mut chunk = 0usize;
    for i in 0..5 * u32::from(precision) {
        let bit = if i % 2 == 0 {
            lon_left -= 1;
            (lon >> lon_left) & 1
        } else {
            lat_left -= 1;
            (lat >> lat_left) & 1
        };
        chunk = (chunk << 1) | bit as usize;
        if i % 5 == 4 {
            out.push(char::from(BASE32[chunk]));
            chunk = 0;
        }
    }
    out
}

/// The geohash of (`lat`, `lon`) with `precision` characters (1..=12).
pub fn encode(lat: f64, lon: f64, precision: u8) -> String {
    let (lon_bits, lat_bits) = bits(precision);
    from_slices(
        slice(lon, -180.0, 180.0, lon_bits),
        slice(lat, -90.0, 90.0, lat_bits),
        precision,
    )
}

/// The cells of `precision` covering `area`, or `None` when there are more than `limit`.
pub fn covering(area: &BoundingBox, precision: u8, limit: usize) -> Option<Vec<String>> {
    let (lon_bits, lat_bits) = bits(precision);
    let lats = slice(area.south, -90.0, 90.0, lat_bits)..=slice(area.north, -90.0, 90.0, lat_bits);
    let mut lon_ranges = Vec::with_capacity(2);
    for (west, east) in area.longitude_spans() {
        lon_ranges
            .push(slice(west, -180.0, 180.0, lon_bits)..=slice(east, -180.0, 180.0, lon_bits));
    }
    let lat_count = (lats.end() - lats.start() + 1) as usize;
    let lon_count: usize = lon_ranges
        .iter()
        .map(|r| (r.end() - r.start() + 1) as usize)
        .sum();
    if lat_count.saturating_mul(lon_count) > limit {
        return None;
    }
    let mut cells = Vec::with_capacity(lat_count * lon_count);
    for lons in lon_ranges {
        for lon in lons {
            for lat in lats.clone() {
                cells.push(from_slices(lon, lat, precision));
            }
        }
    }
    cells.sort();
    cells.dedup();
    Some(cells)
}

/// The finest precision up to `max` whose covering of `area` has at most `limit` cells,
/// with those cells (precision 1 always fits a limit of 32 or more).
pub fn coarsest_fit(area: &BoundingBox, max: u8, limit: usize) -> (u8, Vec<String>) {
    for precision in (1..=max).rev() {
        if let Some(cells) = covering(area, precision, limit) {
            return (precision, cells);
        }
    }
    let world = covering(area, 1, usize::MAX).unwrap_or_default();
    (1, world)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_points() {
        // Reference values from the geohash literature.
        assert_eq!(encode(42.6, -5.6, 5), "ezs42");
        assert_eq!(encode(57.64911, 10.40744, 11), "u4pruydqqvj");
        assert_eq!(encode(-25.382708, -49.265506, 8), "6gkzwgjz");
        assert_eq!(encode(90.0, 180.0, 3), "zzz");
        assert_eq!(encode(-90.0, -180.0, 3), "000");
    }

    #[test]
    fn coarser_cells_are_prefixes() {
        let fine = encode(48.8566, 2.3522, 9);
        for p in 1..9 {
            assert_eq!(encode(48.8566, 2.3522, p), fine[..usize::from(p)]);
        }
    }

    #[test]
    fn covering_contains_every_point_of_the_box() {
        let area = BoundingBox::new(40.0, -75.0, 41.0, -73.0).unwrap();
        let (precision, cells) = coarsest_fit(&area, 6, 32);
        assert!(cells.len() <= 32, "{cells:?}");
        for i in 0..=20 {
            for j in 0..=20 {
                let lat = 40.0 + f64::from(i) / 20.0;
                let lon = -75.0 + 2.0 * f64::from(j) / 20.0;
                let hash = encode(lat, lon, 6);
                assert!(
                    cells.iter().any(|c| hash.starts_with(c.as_str())),
                    "{lat},{lon} -> {hash} not in {cells:?} (precision {precision})"
                );
            }
        }
    }

    #[test]
    fn covering_across_the_antimeridian_takes_both_sides() {
        let area = BoundingBox::new(-1.0, 179.0, 1.0, -179.0).unwrap();
        let (_, cells) = coarsest_fit(&area, 5, 32);
        let east = encode(0.0, 179.5, 5);
        let west = encode(0.0, -179.5, 5);
        assert!(cells.iter().any(|c| east.starts_with(c.as_str())));
        assert!(cells.iter().any(|c| west.starts_with(c.as_str())));
    }
}
