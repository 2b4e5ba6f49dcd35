//! k-means: the centroids an inverted-file index partitions vectors by.

use super::metric::Metric;

/// A small deterministic generator (xorshift64*), so a build is reproducible from its seed.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// Uniform in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    pub(super) fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The index of the centroid nearest to `vector` (the lowest index on a tie).
pub(super) fn nearest_centroid(centroids: &[Vec<f32>], vector: &[f32], metric: Metric) -> usize {
    let mut best = (0, f32::INFINITY);
    for (i, centroid) in centroids.iter().enumerate() {
        let distance = metric.distance(vector, centroid);
        if distance < best.1 {
            best = (i, distance);
        }
    }
    best.0
}

/// `k` centroids of `sample`: k-means++ seeding, then `iterations` rounds of Lloyd's
/// algorithm (for cosine, centroids are renormalised each round). Fewer vectors than `k`
/// give one centroid per vector.
pub(super) fn train(
    sample: &[Vec<f32>],
    k: usize,
    iterations: usize,
    metric: Metric,
    rng: &mut Rng,
) -> Vec<Vec<f32>> {
    if sample.len() <= k {
        return sample.to_vec();
    }
    let mut centroids = vec![sample[rng.below(sample.len())].clone()];
    let mut nearest: Vec<f32> = sample
        .iter()
        .map(|v| squared(metric.distance(v, &centroids[0])))
        .collect();
    while centroids.len() < k {
        let total: f64 = nearest.iter().map(|&d| f64::from(d)).sum();
        let mut target = rng.unit() * total;
        let mut chosen = sample.len() - 1;
        for (i, &d) in nearest.iter().enumerate() {
            target -= f64::from(d);
            if target <= 0.0 {
                chosen = i;
                break;
            }
        }
        let centroid = sample[chosen].clone();
        for (d, v) in nearest.iter_mut().zip(sample) {
            *d = d.min(squared(metric.distance(v, &centroid)));
        }
        centroids.push(centroid);
    }
    let dims = sample[0].len();
    for _ in 0..iterations {
        let mut sums = vec![vec![0f32; dims]; k];
        let mut counts = vec![0usize; k];
        for v in sample {
            let c = nearest_centroid(&centroids, v, metric);
            counts[c] += 1;
            for (s, x) in sums[c].iter_mut().zip(v) {
                *s += x;
            }
        }
        for ((centroid, sum), count) in centroids.iter_mut().zip(sums).zip(counts) {
            if count == 0 {
                continue; // an empty cluster keeps its centroid
            }
            *centroid = sum.into_iter().map(|s| s / count as f32).collect();
            if metric == Metric::Cosine {
                let norm = centroid.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 {
                    centroid.iter_mut().for_each(|x| *x /= norm);
                }
            }
        }
    }
    centroids
}

fn squared(d: f32) -> f32 {
    let d = d.max(0.0);
    d * d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_clear_clusters() {
        let mut rng = Rng::new(7);
        let sample: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                let center = [0.0, 10.0, 20.0][i % 3];
                vec![
                    center + rng.unit() as f32 - 0.5,
                    center - rng.unit() as f32 + 0.5,
                ]
            })
            .collect();
        let centroids = train(&sample, 3, 10, Metric::Euclidean, &mut Rng::new(1));
        let mut firsts: Vec<i32> = centroids.iter().map(|c| c[0].round() as i32).collect();
        firsts.sort();
        assert_eq!(firsts, [0, 10, 20]);
        assert_eq!(
            nearest_centroid(&centroids, &[10.2, 9.8], Metric::Euclidean),
            centroids
                .iter()
                .position(|c| c[0].round() as i32 == 10)
                .unwrap_or(9)
        );
    }
}
