//! The standard benchmark workload (`people`, see the project's bench/workload.md): its
//! resource definition and deterministic record generator, shared by the criterion benches
//! and the CLI's bench command.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::resource::config::ResourceConfig;

/// Cities of the `address.city` field, by `i % 4`.
pub const CITIES: [&str; 4] = ["lisbon", "porto", "braga", "faro"];

/// The `people` resource: user-managed, no timestamps, partition `byCity`.
pub fn people_config() -> ResourceConfig {
    let config = json!({
        "name": "people",
        "behavior": "user-managed",
        "attributes": {
            "name": "string|required",
            "email": "email",
            "age": "number",
            "active": "boolean",
            "address": { "city": "string", "zip": "string" },
            "tags": "array|items:string"
        },
        "partitions": { "byCity": { "fields": { "address.city": "string" } } }
    });
    match ResourceConfig::from_json(&config) {
        Ok(config) => config,
        Err(_) => unreachable!("the workload definition is a valid constant"),
    }
}

/// A record of the `people` resource as a Rust type, for typed reads
/// ([`Resource::typed`](crate::Resource::typed)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Record id.
    pub id: String,
    /// `Person {i} {suffix}`.
    pub name: String,
    /// `person{i}@example.com`.
    pub email: String,
    /// 18 to 77 (plus one after the update phase).
    pub age: u64,
    /// Whether the person is active.
    pub active: bool,
    /// City and zip code.
    pub address: Address,
    /// Two tags.
    pub tags: Vec<String>,
}

/// The `address` of a [`Person`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// One of [`CITIES`].
    pub city: String,
    /// Five digits.
    pub zip: String,
}

/// mulberry32, the 32-bit generator of the workload (same sequence as the JavaScript one).
#[derive(Debug, Clone)]
pub struct Mulberry32 {
    state: u32,
}

impl Mulberry32 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u32) -> Self {
        Mulberry32 { state: seed }
    }

    /// The next number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x6D2B_79F5);
        let a = self.state;
        let mut t = (a ^ (a >> 15)).wrapping_mul(1 | a);
        t = (t.wrapping_add((t ^ (t >> 7)).wrapping_mul(61 | t))) ^ t;
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    }
}

/// Record `i` of the workload; `prefix` is `u` for the main phases, `m` for insert-many.
pub fn person(i: u32, prefix: &str) -> Map<String, Value> {
    let mut rnd = Mulberry32::new(i.wrapping_add(1));
    let name_suffix = to_base36((rnd.next_f64() * 1e6).floor() as u64);
    let age = 18 + (rnd.next_f64() * 60.0).floor() as u64;
    let active = rnd.next_f64() < 0.5;
    let zip = 10_000 + (rnd.next_f64() * 89_999.0).floor() as u64;
    let record = json!({
        "id": format!("{prefix}{i:07}"),
        "name": format!("Person {i} {name_suffix}"),
        "email": format!("person{i}@example.com"),
        "age": age,
        "active": active,
        "address": { "city": CITIES[(i % 4) as usize], "zip": zip.to_string() },
        "tags": [format!("t{}", i % 7), format!("t{}", i % 11)],
    });
    match record {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulberry32_matches_the_javascript_reference() {
        // mulberry32(1) in JavaScript: 0.6270739405881613, 0.002735721180215478, 0.5274470399599522
        let mut r = Mulberry32::new(1);
        assert_eq!(r.next_f64(), 0.6270739405881613);
        assert_eq!(r.next_f64(), 0.002735721180215478);
        assert_eq!(r.next_f64(), 0.5274470399599522);
    }

    #[test]
    fn records_are_deterministic() {
        let p = person(42, "u");
        assert_eq!(p["id"], "u0000042");
        assert_eq!(p["email"], "person42@example.com");
        assert_eq!(p["address"]["city"], "braga");
        assert_eq!(p, person(42, "u"));
        assert_eq!(people_config().partitions.len(), 1);
    }
}
