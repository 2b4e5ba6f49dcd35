//! Geo plugin: every query equals a brute-force scan of the records, on memory and on
//! SeaweedFS, before and after points move, vanish and are deleted; listings per query are
//! counted.

use std::sync::Arc;

use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::geo::{
    BoundingBox, Coordinates, GeoConfig, GeoIndex, GeoPlugin, GeoPoint, MAX_CELLS, add_index_to,
};
use s3db_storage::layers::{MetricsSnapshot, Stack};
use s3db_storage::testing::{Server, fresh_storage_on};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::{Value, json};

use crate::common::rec;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// Points clustered around Paris, New York, the antimeridian (Fiji) and the North Pole,
/// plus points anywhere.
fn points(n: usize) -> Vec<(f64, f64)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let clusters = [(48.85, 2.35), (40.71, -74.0), (-17.7, 179.9), (89.6, 0.0)];
    (0..n)
        .map(|i| match clusters.get(i % 6) {
            Some(&(lat, lon)) => {
                let lat = (lat + rng.between(-0.5, 0.5)).clamp(-90.0, 90.0);
                let mut lon = lon + rng.between(-0.8, 0.8);
                if lon > 180.0 {
                    lon -= 360.0;
                }
                (lat, lon)
            }
            None => (rng.between(-90.0, 90.0), rng.between(-180.0, 180.0)),
        })
        .collect()
}

struct Setup {
    db: Database,
    places: Resource,
    index: GeoIndex,
    stack: Stack,
}

async fn setup(storage: Arc<dyn Storage>, n: usize) -> Setup {
    let stack = Stack::builder(storage).metrics().build();
    let geo = Arc::new(
        GeoPlugin::new(GeoConfig::new().resource("places", Coordinates::fields("lat", "lon"), 6))
            .unwrap(),
    );
    let db = Database::builder(stack.storage())
        .plugin(geo.clone())
        .open()
        .await
        .unwrap();
    let mut definition = json!({
        "name": "places",
        "attributes": {"lat": "number|optional", "lon": "number|optional", "n": "number"}
    });
    add_index_to(&mut definition).unwrap();
    let places = db
        .create_resource(ResourceConfig::from_json(&definition).unwrap())
        .await
        .unwrap();
    let records = points(n)
        .into_iter()
        .enumerate()
        .map(|(i, (lat, lon))| {
            rec(json!({"id": format!("p{i:05}"), "lat": lat, "lon": lon, "n": i}))
        })
        .collect();
    for result in places.insert_many(records).await {
        result.unwrap();
    }
    let index = geo.index("places").unwrap();
    Setup {
        db,
        places,
        index,
        stack,
    }
}

fn snapshot(stack: &Stack) -> MetricsSnapshot {
    stack.metrics().unwrap().snapshot()
}

fn id(record: &Record) -> String {
    record["id"].as_str().unwrap().to_owned()
}

/// (id, distance) of every record within `radius` of `center`, nearest first, ties by id.
fn brute_radius(
    all: &[Record],
    index: &GeoIndex,
    center: GeoPoint,
    radius: f64,
) -> Vec<(String, f64)> {
    let mut hits: Vec<(String, f64)> = all
        .iter()
        .filter_map(|r| Some((id(r), center.distance_km(&index.point_of(r)?))))
        .filter(|(_, d)| *d <= radius)
        .collect();
    hits.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    hits
}

/// Checks radius, box and nearest queries against a scan; returns the most listings one
/// radius query sent.
async fn agree_with_brute_force(s: &Setup, thorough: bool) -> u64 {
    let all = s.places.get_all().await.unwrap();
    let centers = [
        GeoPoint::new(48.85, 2.35).unwrap(),
        GeoPoint::new(40.7, -74.1).unwrap(),
        GeoPoint::new(-17.7, -179.95).unwrap(),
        GeoPoint::new(89.9, 120.0).unwrap(),
        GeoPoint::new(0.0, 0.0).unwrap(),
    ];
    let mut most_lists = 0;
    for center in centers {
        let radii: &[f64] = if thorough {
            &[0.5, 5.0, 60.0, 800.0, 6000.0, 25_000.0]
        } else {
            &[5.0, 800.0, 25_000.0]
        };
        for &radius in radii {
            let before = snapshot(&s.stack);
            let found: Vec<(String, f64)> = s
                .index
                .within_radius(center, radius)
                .await
                .unwrap()
                .into_iter()
                .map(|hit| (id(&hit.record), hit.distance_km))
                .collect();
            let lists = snapshot(&s.stack).list.requests - before.list.requests;
            most_lists = most_lists.max(lists);
            assert!(
                lists as usize <= MAX_CELLS,
                "{lists} listings for one query"
            );
            assert_eq!(
                found,
                brute_radius(&all, &s.index, center, radius),
                "{center:?} {radius} km"
            );
        }
        let counts: &[usize] = if thorough { &[1, 10, 100] } else { &[10] };
        for &n in counts {
            let found: Vec<String> = s
                .index
                .nearest(center, n)
                .await
                .unwrap()
                .iter()
                .map(|hit| id(&hit.record))
                .collect();
            let expected: Vec<String> = brute_radius(&all, &s.index, center, f64::INFINITY)
                .into_iter()
                .take(n)
                .map(|(id, _)| id)
                .collect();
            assert_eq!(found, expected, "nearest {n} to {center:?}");
        }
    }
    let boxes = [
        BoundingBox::new(48.5, 2.0, 49.0, 2.7).unwrap(),
        BoundingBox::new(-18.0, 179.5, -17.5, -179.5).unwrap(),
        BoundingBox::new(89.0, -180.0, 90.0, 180.0).unwrap(),
        BoundingBox::new(-60.0, -100.0, 60.0, 100.0).unwrap(),
    ];
    for area in boxes {
        let mut found: Vec<String> = s
            .index
            .within_bounds(&area)
            .await
            .unwrap()
            .iter()
            .map(id)
            .collect();
        found.sort();
        let expected: Vec<String> = all
            .iter()
            .filter(|r| s.index.point_of(r).is_some_and(|p| area.contains(&p)))
            .map(id)
            .collect();
        assert_eq!(found, expected, "{area:?}");
    }
    most_lists
}

/// Moves, clears and deletes points through every write path.
async fn rewrite(s: &Setup) {
    let change = |value: Value| rec(value);
    s.places
        .update("p00000", change(json!({"lat": -33.87, "lon": 151.21})))
        .await
        .unwrap();
    s.places
        .patch("p00001", change(json!({"lat": 40.0})))
        .await
        .unwrap();
    s.places
        .update("p00002", change(json!({"lat": null, "lon": null})))
        .await
        .unwrap();
    s.places
        .replace(
            "p00003",
            change(json!({"id": "p00003", "lat": 48.86, "lon": 2.34, "n": 3})),
        )
        .await
        .unwrap();
    s.places
        .update("p00004", change(json!({"n": 44})))
        .await
        .unwrap();
    s.places.delete("p00005").await.unwrap();
    s.places
        .delete_many(&["p00006".to_owned(), "p00007".to_owned()])
        .await
        .unwrap();
    let moved = s.places.get("p00001").await.unwrap();
    assert_eq!(moved["lat"], 40.0);
    assert!(
        moved["_geohash"]
            .as_str()
            .unwrap()
            .starts_with(&s3db_plugins::geo::geohash(
                40.0,
                moved["lon"].as_f64().unwrap(),
                6
            ))
    );
}

/// `thorough` runs every query shape; otherwise a few (a real server is slower).
async fn scenario(storage: Arc<dyn Storage>, n: usize, label: &str, thorough: bool) {
    let s = setup(storage, n).await;
    let before = snapshot(&s.stack);
    let hits = s
        .index
        .within_radius(GeoPoint::new(48.85, 2.35).unwrap(), 5.0)
        .await
        .unwrap();
    let after = snapshot(&s.stack);
    eprintln!(
        "geo {label}: {n} records; 5 km around Paris: {} hits, {} LIST, {} GET, {} requests in all",
        hits.len(),
        after.list.requests - before.list.requests,
        after.get.requests - before.get.requests,
        after.requests() - before.requests()
    );
    let most = agree_with_brute_force(&s, thorough).await;
    eprintln!("geo {label}: at most {most} listings per radius query");
    rewrite(&s).await;
    agree_with_brute_force(&s, thorough).await;
    s.db.disconnect().await.unwrap();
}

#[tokio::test]
async fn queries_equal_a_scan_on_memory() {
    scenario(Arc::new(MemoryStorage::new()), 3000, "memory", true).await;
}

#[tokio::test]
async fn queries_equal_a_scan_on_seaweedfs() {
    let storage = fresh_storage_on(Server::SeaweedFs).await.unwrap();
    scenario(Arc::new(storage), 400, "SeaweedFS", false).await;
}

#[tokio::test]
async fn a_point_field_and_bad_input() {
    let geo = Arc::new(
        GeoPlugin::new(
            GeoConfig::new()
                .resource("shops", Coordinates::point("at"), 5)
                .resource("plain", Coordinates::fields("lat", "lon"), 5),
        )
        .unwrap(),
    );
    let db = Database::builder("memory://geo-point")
        .plugin(geo.clone())
        .open()
        .await
        .unwrap();
    let mut definition = json!({"name": "shops", "attributes": {"at": "geo:point|optional"}});
    add_index_to(&mut definition).unwrap();
    let shops = db
        .create_resource(ResourceConfig::from_json(&definition).unwrap())
        .await
        .unwrap();
    shops
        .insert(rec(json!({"id": "a", "at": {"lat": 10.0, "lon": 20.0}})))
        .await
        .unwrap();
    shops.insert(rec(json!({"id": "b"}))).await.unwrap();
    let err = shops
        .insert(rec(json!({"id": "c", "at": {"lat": 100.0, "lon": 20.0}})))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("latitude must be in -90..=90"),
        "{err}"
    );
    assert!(
        !shops.exists("c").await.unwrap(),
        "a refused point stores nothing"
    );
    let index = geo.index("shops").unwrap();
    let hits = index
        .within_radius(GeoPoint::new(10.0, 20.0).unwrap(), 1.0)
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| id(&h.record)).collect::<Vec<_>>(),
        ["a"]
    );
    assert!(GeoPlugin::new(GeoConfig::new().resource("x", Coordinates::point("at"), 13)).is_err());
    db.create_resource(
        ResourceConfig::from_json(&json!({"name": "plain", "attributes": {"lat": "number"}}))
            .unwrap(),
    )
    .await
    .unwrap();
    let err = geo.index("plain").unwrap_err();
    assert!(err.to_string().contains("add_index_to"), "{err}");
}
