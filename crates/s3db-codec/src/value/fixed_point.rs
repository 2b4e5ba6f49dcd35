//! Scaled-integer encodings: `money`/`crypto` (`$`), `decimal:P` (`^`), `geo:lat`/`geo:lon`/
//! `geo:point` (`~`). All keep a fixed number of decimals, as s3db.js does; the float arithmetic
//! (`Math.round(x * 10 ** p)`, `scaled / 10 ** p`) is reproduced exactly.

use serde_json::{Map, Value};

use super::number::{float_value, js_round};
use crate::{CodecError, base62};

/// The offset and bound of one geographic axis.
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    name: &'static str,
    bound: f64,
}

/// Latitude: −90…90, stored as `lat + 90`.
pub(super) const LAT: Axis = Axis {
    name: "geo:lat",
    bound: 90.0,
};

/// Longitude: −180…180, stored as `lon + 180`.
pub(super) const LON: Axis = Axis {
    name: "geo:lon",
    bound: 180.0,
};

/// JavaScript's `Math.pow(10, precision)`.
pub(super) fn scale_of(precision: u32) -> f64 {
    match i32::try_from(precision) {
        Ok(p) if p <= 22 => 10f64.powi(p),
        _ => 10f64.powf(f64::from(precision)),
    }
}

/// Appends `round(x·scale)` in base62 (`-` for negatives, `0` for zero).
pub(super) fn push_fixed_digits(out: &mut String, x: f64, scale: f64) -> Result<(), &'static str> {
    let scaled = js_round(x * scale);
    if !scaled.is_finite() {
        return Err("value too large for its precision");
    }
    let magnitude = scaled.abs();
    if magnitude <= 9_007_199_254_740_992.0 {
        // An integer up to 2^53: exact in 64 bits, the digits `push_js_f64` would write.
        if scaled < 0.0 {
            out.push('-');
        }
        base62::push_u64(out, magnitude as u64);
    } else {
        base62::push_js_f64(out, scaled);
    }
    Ok(())
}

fn number(value: &Value) -> Result<f64, &'static str> {
    value.as_f64().ok_or("expected a number")
}

/// `$` + base62 of `round(x·10^decimals)` (s3db.js `encodeMoney`).
pub(super) fn push_money(
    out: &mut String,
    value: &Value,
    decimals: u32,
) -> Result<(), &'static str> {
    let x = number(value)?;
    out.push('$');
    push_fixed_digits(out, x, scale_of(decimals))
}

/// Reads `$`…; a value without `$` or with a bad digit is returned as the string it is.
pub(super) fn decode_money(stored: &str, decimals: u32) -> Result<Value, CodecError> {
    let Some(digits) = stored.strip_prefix('$') else {
        return Ok(Value::String(stored.to_owned()));
    };
    let n = base62::decode_js_f64(digits);
    if n.is_nan() {
        return Ok(Value::String(stored.to_owned()));
    }
    float_value(n / scale_of(decimals), "money", stored)
}

/// `^` + base62 of `round(x·10^precision)`, `^0` for zero (s3db.js `encodeFixedPoint`).
pub(super) fn push_decimal_fixed(
    out: &mut String,
    value: &Value,
    precision: u32,
) -> Result<(), &'static str> {
    let x = number(value)?;
    out.push('^');
    push_fixed_digits(out, x, scale_of(precision))
}

/// Reads `^`… (s3db.js `decodeFixedPoint`).
pub(super) fn decode_decimal_fixed(stored: &str, precision: u32) -> Result<Value, CodecError> {
    let fail = || CodecError::decode("decimal", stored, "not a ^-prefixed base62 number");
    let digits = stored.strip_prefix('^').ok_or_else(fail)?;
    let n = base62::decode_js_f64(digits);
    if n.is_nan() {
        return Err(fail());
    }
    float_value(n / scale_of(precision), "decimal", stored)
}

/// `~` + base62 of `round((x + bound)·10^precision)`; values outside ±bound are refused.
pub(super) fn push_geo(
    out: &mut String,
    value: &Value,
    axis: Axis,
    precision: u32,
) -> Result<(), &'static str> {
    push_coordinate(out, number(value)?, axis, precision)
}

fn push_coordinate(
    out: &mut String,
    x: f64,
    axis: Axis,
    precision: u32,
) -> Result<(), &'static str> {
    if !(-axis.bound..=axis.bound).contains(&x) {
        return Err("coordinate out of range");
    }
    let scaled = js_round((x + axis.bound) * scale_of(precision));
    out.push('~');
    base62::push_js_f64(out, scaled);
    Ok(())
}

/// The coordinate in `~digits`, NaN for bad digits; `None` when there is no `~`.
fn coordinate(stored: &str, axis: Axis, precision: u32) -> Option<f64> {
    let digits = stored.strip_prefix('~')?;
    Some(base62::decode_js_f64(digits) / scale_of(precision) - axis.bound)
}

/// Reads one `~` coordinate; a value without `~` is returned as the string it is.
pub(super) fn decode_geo(stored: &str, axis: Axis, precision: u32) -> Result<Value, CodecError> {
    match coordinate(stored, axis, precision) {
        None => Ok(Value::String(stored.to_owned())),
        Some(x) => float_value(x, axis.name, stored),
    }
}

/// A point given as `[lat, lon]`, `{lat, lon}` or `{latitude, longitude}`: latitude then
/// longitude, each in its `~` form.
pub(super) fn push_geo_point(
    out: &mut String,
    value: &Value,
    precision: u32,
) -> Result<(), &'static str> {
    let pair = match value {
        Value::Array(items) if items.len() == 2 => Some((&items[0], &items[1])),
        Value::Object(map) => match (map.get("lat"), map.get("lon")) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            _ => map.get("latitude").zip(map.get("longitude")),
        },
        _ => None,
    };
    let (lat, lon) = pair.ok_or("expected [lat, lon], {lat, lon} or {latitude, longitude}")?;
    push_coordinate(out, number(lat)?, LAT, precision)?;
    push_coordinate(out, number(lon)?, LON, precision)
}

/// Reads a point as `{latitude, longitude}` (s3db.js `decodeGeoPoint`; unreadable parts are
/// `null`, where s3db.js has NaN).
pub(super) fn decode_geo_point(stored: &str, precision: u32) -> Result<Value, CodecError> {
    let mut parts = stored.split('~').filter(|p| !p.is_empty());
    let (lat, lon) = match (parts.next(), parts.next(), parts.next()) {
        (Some(lat), Some(lon), None) => (
            base62::decode_js_f64(lat) / scale_of(precision) - LAT.bound,
            base62::decode_js_f64(lon) / scale_of(precision) - LON.bound,
        ),
        _ => (f64::NAN, f64::NAN),
    };
    let mut point = Map::new();
    point.insert(
        "latitude".to_owned(),
        float_value(lat, "geo:point", stored).unwrap_or(Value::Null),
    );
    point.insert(
        "longitude".to_owned(),
        float_value(lon, "geo:point", stored).unwrap_or(Value::Null),
    );
    Ok(Value::Object(point))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(f: impl Fn(&mut String) -> Result<(), &'static str>) -> String {
        let mut out = String::new();
        f(&mut out).unwrap();
        out
    }

    #[test]
    #[allow(clippy::approx_constant)]
    fn spec_examples() {
        assert_eq!(enc(|o| push_money(o, &json!(19.99), 2)), "$wf");
        assert_eq!(enc(|o| push_money(o, &json!(0.00012345), 8)), "$3d7");
        assert_eq!(decode_money("$wf", 2).unwrap(), json!(19.99));
        assert_eq!(enc(|o| push_decimal_fixed(o, &json!(3.14159), 4)), "^8aI");
        assert_eq!(decode_decimal_fixed("^8aI", 4).unwrap(), json!(3.1416));
        assert_eq!(enc(|o| push_decimal_fixed(o, &json!(0), 2)), "^0");
        assert_eq!(enc(|o| push_geo(o, &json!(-23.55052), LAT, 6)), "~4uOxO");
        assert_eq!(
            decode_geo("~4uOxO", LAT, 6).unwrap(),
            json!(-23.550520000000006)
        );
        assert_eq!(
            enc(|o| push_geo_point(o, &json!({"lat": 1.5, "lon": -2.25}), 6)),
            "~6bVks~c1OTu"
        );
        assert_eq!(
            decode_geo_point("~6bVks~c1OTu", 6).unwrap(),
            json!({"latitude": 1.5, "longitude": -2.25})
        );
        assert_eq!(
            decode_geo_point("~1", 6).unwrap(),
            json!({"latitude": null, "longitude": null})
        );
        assert!(push_geo(&mut String::new(), &json!(91), LAT, 6).is_err());
    }
}
