//! Distances between vectors, and the exact k-nearest-neighbour scan.

use std::collections::BinaryHeap;

use futures::TryStreamExt;
use s3db_core::{ListRequest, Record, Resource};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// How near two vectors are; every metric is turned into a distance (smaller is nearer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// 1 − cosine similarity (0 for the same direction, 2 for opposite ones).
    Cosine,
    /// Euclidean (L2) distance.
    Euclidean,
    /// The negated dot product (for vectors already normalised, or maximum inner product).
    Dot,
}

impl Metric {
    /// The distance from `a` to `b` (vectors of equal length).
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Euclidean => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt(),
            Metric::Dot => -dot(a, b),
            Metric::Cosine => {
                let norms = dot(a, a).sqrt() * dot(b, b).sqrt();
                if norms == 0.0 {
                    1.0
                } else {
                    1.0 - dot(a, b) / norms
                }
            }
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A record found by a vector search, and its distance from the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbor {
    /// The record's id.
    pub id: String,
    /// Its distance from the query (see [`Metric`]).
    pub distance: f32,
}

/// Keeps the `k` nearest of what it is offered (a max-heap on distance: bounded memory).
pub(super) struct Nearest {
    k: usize,
    heap: BinaryHeap<Ranked>,
}

#[derive(PartialEq)]
struct Ranked(f32, String);

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| self.1.cmp(&other.1))
    }
}

impl Nearest {
    pub(super) fn new(k: usize) -> Nearest {
        Nearest {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    pub(super) fn offer(&mut self, id: &str, distance: f32) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() == self.k {
            match self.heap.peek() {
                Some(worst) if Ranked(distance, id.to_owned()) < *worst => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push(Ranked(distance, id.to_owned()));
    }

    /// Nearest first; ties by id.
    pub(super) fn into_sorted(self) -> Vec<Neighbor> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Ranked(distance, id)| Neighbor { id, distance })
            .collect()
    }
}

/// The vector in `field` of `record`: `None` when absent or null, an error naming the field
/// when it is not an array of numbers of length `dims`.
pub(super) fn vector_of(record: &Record, field: &str, dims: usize) -> Result<Option<Vec<f32>>> {
    let invalid = |reason: String| Error::Config {
        plugin: super::SLUG,
        reason: format!("field {field:?}: {reason}"),
    };
    let items = match record.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(invalid(format!("{other} is not an array of numbers"))),
    };
    if items.len() != dims {
        return Err(invalid(format!(
            "{} numbers where {dims} are expected",
            items.len()
        )));
    }
    items
        .iter()
        .map(|item| item.as_f64().map(|x| x as f32))
        .collect::<Option<Vec<f32>>>()
        .map(Some)
        .ok_or_else(|| invalid("an element is not a number".into()))
}

/// The exact `k` nearest records to `query` by `field` (a scan of every record, streamed:
/// memory holds `k` results and the records in flight).
pub async fn exact_search(
    resource: &Resource,
    field: &str,
    query: &[f32],
    k: usize,
    metric: Metric,
) -> Result<Vec<Neighbor>> {
    let mut nearest = Nearest::new(k);
    let mut records = resource.stream(&ListRequest::all())?;
    while let Some(record) = records.try_next().await? {
        if let (Some(vector), Some(Value::String(id))) =
            (vector_of(&record, field, query.len())?, record.get("id"))
        {
            nearest.offer(id, metric.distance(query, &vector));
        }
    }
    Ok(nearest.into_sorted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        let (a, b) = ([1.0, 0.0], [0.0, 2.0]);
        assert_eq!(Metric::Euclidean.distance(&a, &b), 5f32.sqrt());
        assert_eq!(Metric::Cosine.distance(&a, &b), 1.0);
        assert_eq!(Metric::Cosine.distance(&a, &[3.0, 0.0]), 0.0);
        assert_eq!(Metric::Dot.distance(&[1.0, 2.0], &[3.0, 4.0]), -11.0);
    }

    #[test]
    fn nearest_keeps_the_k_smallest_in_order() {
        let mut nearest = Nearest::new(3);
        for (i, d) in [5.0, 1.0, 4.0, 2.0, 3.0, 1.0].into_iter().enumerate() {
            nearest.offer(&format!("r{i}"), d);
        }
        let got: Vec<_> = nearest.into_sorted().into_iter().map(|n| n.id).collect();
        assert_eq!(got, ["r1", "r5", "r3"]);
    }
}
