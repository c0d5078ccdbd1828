//! Theorem 1 of Zhang et al. 2017 (proof in their Appendix C): for any n distinct points in
//! d dimensions and any real targets, the depth-2 ReLU network
//! `c(x) = sum_j w_j * relu(<a, x> - b_j)` with `2n + d` weights fits every target exactly.
//!
//! Construction: project the points on a direction `a` where their projections `z_i` are all
//! different (a Gaussian direction, almost surely); sort them and interleave the biases,
//! `b_1 < z_1 < b_2 < z_2 < ... < b_n < z_n`; then `A_ij = relu(z_i - b_j)` is lower
//! triangular with a positive diagonal, and `A w = y` is solved by forward substitution.
//! Everything is in f64.

use rand::SeedableRng;
use rand_pcg::Pcg64;

use crate::bail_user;
use crate::util::rng::standard_normal;

/// The fitted network, its biases and output weights in the order of the sorted projections.
#[derive(Clone, Debug)]
pub struct TwoLayerRelu {
    /// The projection direction (`d` weights).
    pub a: Vec<f64>,
    /// Hidden biases (`n` weights), increasing.
    pub b: Vec<f64>,
    /// Output weights (`n` weights).
    pub w: Vec<f64>,
    /// Smallest gap between consecutive sorted projections (how close the construction came to
    /// failing).
    pub min_gap: f64,
}

impl TwoLayerRelu {
    /// Fits `y` (one target per point) on the `n = y.len()` points stored row-major in `x`
    /// (`n * d` values). The direction comes from `seed`. Two identical points (with any
    /// targets) are a user error: the theorem needs distinct points.
    pub fn fit(x: &[f64], d: usize, y: &[f64], seed: u64) -> anyhow::Result<Self> {
        let n = y.len();
        assert_eq!(x.len(), n * d, "x holds n rows of d values");
        if n == 0 {
            bail_user!("the construction needs at least one point");
        }
        let mut rng = Pcg64::seed_from_u64(seed);
        let a: Vec<f64> = (0..d).map(|_| standard_normal(&mut rng)).collect();
        let z: Vec<f64> = x.chunks(d).map(|row| dot(row, &a)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| z[i].total_cmp(&z[j]));
        let zs: Vec<f64> = order.iter().map(|&i| z[i]).collect();
        let mut min_gap = f64::INFINITY;
        for k in 1..n {
            let gap = zs[k] - zs[k - 1];
            if gap <= 0.0 {
                let (i, j) = (order[k - 1], order[k]);
                bail_user!(
                    "points {i} and {j} have the same projection{}; Theorem 1 needs distinct points",
                    if x[i * d..(i + 1) * d] == x[j * d..(j + 1) * d] {
                        " (they are identical)"
                    } else {
                        ""
                    }
                );
            }
            min_gap = min_gap.min(gap);
        }
        // b_1 < z_1 < b_2 < ... : midpoints between neighbours, and one gap below the smallest.
        let first_gap = if n > 1 { zs[1] - zs[0] } else { 1.0 };
        let b: Vec<f64> = (0..n)
            .map(|k| {
                if k == 0 {
                    zs[0] - first_gap
                } else {
                    0.5 * (zs[k - 1] + zs[k])
                }
            })
            .collect();
        // Forward substitution on A_kj = z_k - b_j (j <= k).
        let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        let mut w = vec![0.0; n];
        for k in 0..n {
            let mut acc = ys[k];
            for j in 0..k {
                acc -= w[j] * (zs[k] - b[j]);
            }
            w[k] = acc / (zs[k] - b[k]);
        }
        Ok(Self { a, b, w, min_gap })
    }

    /// Weights of the network: `d + n + n`.
    pub fn weights(&self) -> usize {
        self.a.len() + self.b.len() + self.w.len()
    }

    /// The network's output on each row of `x` (a plain forward pass, not the solver's
    /// bookkeeping).
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let d = self.a.len();
        x.chunks(d)
            .map(|row| {
                let z = dot(row, &self.a);
                self.b
                    .iter()
                    .zip(&self.w)
                    .map(|(b, w)| w * (z - b).max(0.0))
                    .sum()
            })
            .collect()
    }
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn max_residual(net: &TwoLayerRelu, x: &[f64], y: &[f64]) -> f64 {
        net.predict(x)
            .iter()
            .zip(y)
            .map(|(p, t)| (p - t).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn fits_arbitrary_targets_on_small_random_problems() {
        let mut rng = Pcg64::seed_from_u64(5);
        for (n, d) in [(1, 1), (2, 1), (5, 3), (50, 10), (200, 2), (300, 784)] {
            let x: Vec<f64> = (0..n * d).map(|_| rng.random::<f64>()).collect();
            let y: Vec<f64> = (0..n).map(|_| rng.random_range(0..10) as f64).collect();
            let net = TwoLayerRelu::fit(&x, d, &y, 7).unwrap();
            assert_eq!(net.weights(), 2 * n + d);
            assert!(net.b.windows(2).all(|p| p[0] < p[1]), "biases increase");
            let r = max_residual(&net, &x, &y);
            assert!(r < 1e-6, "n={n} d={d}: max residual {r}");
        }
    }

    #[test]
    fn duplicate_points_are_refused() {
        let x = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3];
        let err = TwoLayerRelu::fit(&x, 3, &[0.0, 1.0], 1).unwrap_err();
        assert!(err.to_string().contains("identical"), "{err}");
    }
}
