//! Vector plugin: exact search equals a brute-force ranking, the IVF index equals exact
//! search when every list is probed (also after writes of every kind), and its recall@10
//! and requests per query over `nprobe` on 10 000 vectors of 64 dimensions.

use std::collections::HashSet;
use std::sync::Arc;

use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::vector::{
    IvfSettings, Metric, Neighbor, VectorConfig, VectorIndex, VectorPlugin,
};
use s3db_storage::layers::Stack;
use s3db_storage::testing::{Server, fresh_storage_on};
use s3db_storage::{MemoryStorage, Storage};
use serde_json::json;

use crate::common::rec;

/// xorshift64*: deterministic data.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32) / (1u64 << 24) as f32
    }

    /// Roughly normal (sum of uniforms).
    fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() - 2.0
    }
}

/// `n` vectors of `dims` around `clusters` random centres (embedding-like structure).
fn vectors(n: usize, dims: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dims).map(|_| rng.normal()).collect())
        .collect();
    (0..n)
        .map(|i| {
            centres[i % clusters]
                .iter()
                .map(|c| c + 0.35 * rng.normal())
                .collect()
        })
        .collect()
}

struct Setup {
    db: Database,
    docs: Resource,
    index: VectorIndex,
    stack: Stack,
}

async fn setup(
    storage: Arc<dyn Storage>,
    data: &[Vec<f32>],
    metric: Metric,
    lists: usize,
) -> Setup {
    let dims = data[0].len();
    let stack = Stack::builder(storage).metrics().build();
    let plugin = Arc::new(
        VectorPlugin::new(
            VectorConfig::new()
                .field("docs", "embedding", dims, metric)
                .ivf(IvfSettings {
                    lists,
                    ..IvfSettings::default()
                }),
        )
        .unwrap(),
    );
    let db = Database::builder(stack.storage())
        .plugin(plugin.clone())
        .open()
        .await
        .unwrap();
    let docs = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "docs",
                "behavior": "body-only",
                "attributes": {"embedding": format!("embedding:{dims}|optional")}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let records = data
        .iter()
        .enumerate()
        .map(|(i, v)| rec(json!({"id": format!("d{i:05}"), "embedding": v})))
        .collect();
    for result in docs.insert_many(records).await {
        result.unwrap();
    }
    let index = plugin.index("docs", "embedding").unwrap();
    Setup {
        db,
        docs,
        index,
        stack,
    }
}

/// Every stored vector, as the index reads them (the codec's precision).
async fn stored(docs: &Resource) -> Vec<(String, Vec<f32>)> {
    docs.get_all()
        .await
        .unwrap()
        .iter()
        .filter_map(|r: &Record| {
            let v = r.get("embedding")?.as_array()?;
            Some((
                r["id"].as_str()?.to_owned(),
                v.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            ))
        })
        .collect()
}

fn brute(all: &[(String, Vec<f32>)], query: &[f32], k: usize, metric: Metric) -> Vec<Neighbor> {
    let mut ranked: Vec<Neighbor> = all
        .iter()
        .map(|(id, v)| Neighbor {
            id: id.clone(),
            distance: metric.distance(query, v),
        })
        .collect();
    ranked.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then_with(|| a.id.cmp(&b.id))
    });
    ranked.truncate(k);
    ranked
}

/// The same ids in the same order, distances equal to float precision: a list holds a
/// written vector as given, the record holds it as the codec stored it (fixed point).
fn same(found: &[Neighbor], expected: &[Neighbor]) {
    let ids = |n: &[Neighbor]| n.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(found), ids(expected));
    for (f, e) in found.iter().zip(expected) {
        assert!((f.distance - e.distance).abs() < 1e-4, "{f:?} vs {e:?}");
    }
}

fn requests(stack: &Stack) -> u64 {
    stack.metrics().unwrap().snapshot().requests()
}

/// Writes of every kind, then: probing every list equals exact search equals brute force.
async fn writes_keep_the_index_exact(s: &Setup, dims: usize, metric: Metric, lists: usize) {
    let fresh = vectors(6, dims, 3, 99);
    s.docs
        .update("d00000", rec(json!({"embedding": fresh[0]})))
        .await
        .unwrap();
    s.docs
        .patch("d00001", rec(json!({"embedding": fresh[1]})))
        .await
        .unwrap();
    s.docs
        .replace(
            "d00002",
            rec(json!({"id": "d00002", "embedding": fresh[2]})),
        )
        .await
        .unwrap();
    s.docs
        .update("d00003", rec(json!({"embedding": null})))
        .await
        .unwrap();
    s.docs.delete("d00004").await.unwrap();
    s.docs
        .delete_many(&["d00005".to_owned(), "d00006".to_owned()])
        .await
        .unwrap();
    s.docs
        .insert(rec(json!({"id": "new", "embedding": fresh[3]})))
        .await
        .unwrap();
    let all = stored(&s.docs).await;
    for query in fresh.iter().chain(vectors(4, dims, 2, 5).iter()) {
        let expected = brute(&all, query, 10, metric);
        assert_eq!(s.index.exact(query, 10).await.unwrap(), expected);
        same(&s.index.search(query, 10, lists).await.unwrap(), &expected);
    }
}

#[tokio::test]
async fn recall_and_requests_over_nprobe_on_10_000_vectors() {
    let (n, dims, lists) = (10_000, 64, 100);
    let data = vectors(n, dims, 200, 42);
    let s = setup(Arc::new(MemoryStorage::new()), &data, Metric::Cosine, lists).await;
    let report = s.index.rebuild().await.unwrap();
    assert_eq!((report.records, report.lists), (n, lists));
    let all = stored(&s.docs).await;
    let queries = vectors(100, dims, 200, 7);
    let truth: Vec<HashSet<String>> = queries
        .iter()
        .map(|q| {
            brute(&all, q, 10, Metric::Cosine)
                .into_iter()
                .map(|n| n.id)
                .collect()
        })
        .collect();
    let mut previous = 0.0;
    for nprobe in [1, 2, 4, 8, 16, 32, 100] {
        let before = requests(&s.stack);
        let mut found = 0;
        for (query, truth) in queries.iter().zip(&truth) {
            let hits = s.index.search(query, 10, nprobe).await.unwrap();
            found += hits.iter().filter(|h| truth.contains(&h.id)).count();
        }
        let per_query = (requests(&s.stack) - before) as f64 / queries.len() as f64;
        let recall = found as f64 / (10 * queries.len()) as f64;
        eprintln!(
            "vector: nprobe {nprobe:>3}: recall@10 {recall:.3}, {per_query} requests per query"
        );
        assert_eq!(
            per_query,
            1.0 + nprobe as f64,
            "1 GET of centroids + nprobe lists"
        );
        assert!(
            recall >= previous,
            "recall never drops as more lists are probed"
        );
        previous = recall;
    }
    assert_eq!(previous, 1.0, "probing every list is exact");
    // The exact scan agrees with the brute force on a few queries.
    for query in &queries[..3] {
        assert_eq!(
            s.index.exact(query, 10).await.unwrap(),
            brute(&all, query, 10, Metric::Cosine)
        );
    }
}

#[tokio::test]
async fn writes_keep_the_index_exact_on_memory() {
    for metric in [Metric::Cosine, Metric::Euclidean, Metric::Dot] {
        let data = vectors(400, 8, 10, 3);
        let s = setup(Arc::new(MemoryStorage::new()), &data, metric, 12).await;
        s.index.rebuild().await.unwrap();
        writes_keep_the_index_exact(&s, 8, metric, 12).await;
        s.db.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn writes_keep_the_index_exact_on_seaweedfs() {
    let storage = fresh_storage_on(Server::SeaweedFs).await.unwrap();
    let data = vectors(300, 16, 8, 11);
    let s = setup(Arc::new(storage), &data, Metric::Euclidean, 8).await;
    s.index.rebuild().await.unwrap();
    writes_keep_the_index_exact(&s, 16, Metric::Euclidean, 8).await;
}

#[tokio::test]
async fn bad_queries_and_configs_are_refused() {
    assert!(VectorPlugin::new(VectorConfig::new().field("d", "e", 0, Metric::Dot)).is_err());
    assert!(
        VectorPlugin::new(VectorConfig::new().field("d", "e", 4, Metric::Dot).lists(0)).is_err()
    );
    let data = vectors(20, 4, 2, 1);
    let s = setup(Arc::new(MemoryStorage::new()), &data, Metric::Dot, 4).await;
    let err = s.index.search(&data[0], 3, 2).await.unwrap_err();
    assert!(err.to_string().contains("rebuild"), "{err}");
    let err = s.index.exact(&[1.0, 2.0], 3).await.unwrap_err();
    assert!(
        err.to_string().contains("2 dimensions for a field of 4"),
        "{err}"
    );
    let err = s
        .docs
        .insert(rec(json!({"id": "bad", "embedding": [1, 2, 3, 4, 5]})))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
}
