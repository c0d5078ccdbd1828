//! Bounding-box regression, R-CNN Appendix C. A proposal P and its ground truth G, both in
//! centre/size form (x, y, w, h), give the targets
//!
//! ```text
//! t_x = (G_x - P_x) / P_w    t_y = (G_y - P_y) / P_h    t_w = ln(G_w / P_w)    t_h = ln(G_h / P_h)
//! ```
//!
//! and each of the four is predicted from the proposal's pool5 features by a linear map fitted
//! with ridge regression (`lambda`, the paper's 1000), per class, on the training proposals
//! whose IoU with their best ground-truth box is above 0.6. At test time a detection's box is
//! moved by the prediction ([`decode`]).
//!
//! The bias is not penalized (features and targets are centred before the solve), so a
//! large `lambda` shrinks the regressor towards the mean correction, not towards none.

use super::BBox;

/// The paper's overlap for a proposal to train the regressor.
pub const PAPER_MIN_IOU: f32 = 0.6;

/// Centre x, centre y, width, height.
fn centre_size(b: &BBox) -> [f32; 4] {
    let (w, h) = (b.width(), b.height());
    [b.x1 + 0.5 * w, b.y1 + 0.5 * h, w, h]
}

/// The regression targets (t_x, t_y, t_w, t_h) taking `proposal` to `truth`.
pub fn encode(proposal: &BBox, truth: &BBox) -> [f32; 4] {
    let [px, py, pw, ph] = centre_size(proposal);
    let [gx, gy, gw, gh] = centre_size(truth);
    [
        (gx - px) / pw,
        (gy - py) / ph,
        (gw / pw).ln(),
        (gh / ph).ln(),
    ]
}

/// The box that targets `t` make of `proposal`: G_x = P_w t_x + P_x, ..., G_w = P_w exp(t_w).
pub fn decode(proposal: &BBox, t: &[f32; 4]) -> BBox {
    let [px, py, pw, ph] = centre_size(proposal);
    let (cx, cy) = (pw * t[0] + px, ph * t[1] + py);
    let (w, h) = (pw * t[2].exp(), ph * t[3].exp());
    BBox::new(cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h)
}

/// One class's four linear regressors: `t_k = weights[k] . phi + bias[k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Regressor {
    pub weights: [Vec<f32>; 4],
    pub bias: [f32; 4],
}

impl Regressor {
    pub fn predict(&self, features: &[f32]) -> [f32; 4] {
        std::array::from_fn(|k| dot(&self.weights[k], features) + self.bias[k])
    }

    /// The proposal moved by this regressor's prediction from its features.
    pub fn apply(&self, proposal: &BBox, features: &[f32]) -> BBox {
        decode(proposal, &self.predict(features))
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Ridge regression of `targets` (`n` rows of 4) on `features` (`n` rows of `dim`, row-major):
/// minimizes `sum_i (t_i - w . phi_i - b)^2 + lambda |w|^2` for each of the four outputs, with
/// the bias unpenalized. Solved in f64 by a Cholesky factorization of the `dim x dim` normal
/// matrix, which `lambda > 0` makes positive definite. `None` without any example.
pub fn fit(features: &[f32], dim: usize, targets: &[[f32; 4]], lambda: f64) -> Option<Regressor> {
    let n = targets.len();
    assert_eq!(features.len(), n * dim, "n rows of dim features");
    assert!(lambda > 0.0, "ridge needs lambda > 0");
    if n == 0 {
        return None;
    }
    let mut mean = vec![0.0f64; dim];
    for row in features.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let t_mean: [f64; 4] =
        std::array::from_fn(|k| targets.iter().map(|t| t[k] as f64).sum::<f64>() / n as f64);

    // Normal equations on centred data: (X'X + lambda I) W = X'T (upper triangle first).
    let mut a = vec![0.0f64; dim * dim];
    let mut rhs = vec![[0.0f64; 4]; dim];
    let mut centred = vec![0.0f64; dim];
    for (row, t) in features.chunks_exact(dim).zip(targets) {
        for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = v as f64 - m;
        }
        for i in 0..dim {
            let ci = centred[i];
            if ci == 0.0 {
                continue;
            }
            let out = &mut a[i * dim + i..(i + 1) * dim];
            for (o, &cj) in out.iter_mut().zip(&centred[i..]) {
                *o += ci * cj;
            }
            for k in 0..4 {
                rhs[i][k] += ci * (t[k] as f64 - t_mean[k]);
            }
        }
    }
    for i in 0..dim {
        a[i * dim + i] += lambda;
        for j in 0..i {
            a[i * dim + j] = a[j * dim + i];
        }
    }
    let solution = cholesky_solve(&mut a, dim, &rhs);
    let weights: [Vec<f32>; 4] =
        std::array::from_fn(|k| solution.iter().map(|w| w[k] as f32).collect());
    let bias: [f32; 4] = std::array::from_fn(|k| {
        (t_mean[k]
            - solution
                .iter()
                .zip(&mean)
                .map(|(w, m)| w[k] * m)
                .sum::<f64>()) as f32
    });
    Some(Regressor { weights, bias })
}

/// Solves `A x = b` for a symmetric positive definite `A` (overwritten by its factor).
fn cholesky_solve(a: &mut [f64], n: usize, b: &[[f64; 4]]) -> Vec<[f64; 4]> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(f64::MIN_POSITIVE).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let (row_i, row_j) = (&a[i * n..i * n + j], &a[j * n..j * n + j]);
            let s: f64 = row_i.iter().zip(row_j).map(|(x, y)| x * y).sum();
            a[i * n + j] = (a[i * n + j] - s) / d;
        }
    }
    // L y = b, then L' x = y.
    let mut y = b.to_vec();
    for i in 0..n {
        let mut yi = y[i];
        for (k, yk) in y[..i].iter().enumerate() {
            axpy(&mut yi, -a[i * n + k], yk);
        }
        y[i] = yi.map(|v| v / a[i * n + i]);
    }
    for i in (0..n).rev() {
        let mut yi = y[i];
        for (k, yk) in y.iter().enumerate().skip(i + 1) {
            axpy(&mut yi, -a[k * n + i], yk);
        }
        y[i] = yi.map(|v| v / a[i * n + i]);
    }
    y
}

/// `acc += s * x`.
fn axpy(acc: &mut [f64; 4], s: f64, x: &[f64; 4]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += s * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn encode_then_decode_returns_the_box() {
        let pairs = [
            (
                BBox::new(10.0, 20.0, 40.0, 60.0),
                BBox::new(12.0, 18.0, 45.0, 50.0),
            ),
            (BBox::new(0.0, 0.0, 8.0, 8.0), BBox::new(0.0, 0.0, 8.0, 8.0)),
            (
                BBox::new(50.5, 3.25, 60.0, 90.0),
                BBox::new(30.0, 10.0, 70.0, 30.0),
            ),
        ];
        for (p, g) in pairs {
            let back = decode(&p, &encode(&p, &g));
            for (a, b) in [
                (back.x1, g.x1),
                (back.y1, g.y1),
                (back.x2, g.x2),
                (back.y2, g.y2),
            ] {
                assert!((a - b).abs() < 1e-4, "{back:?} != {g:?}");
            }
        }
        // The identity has zero targets; a box twice as wide, same centre, has t_w = ln 2.
        let p = BBox::new(10.0, 10.0, 20.0, 30.0);
        assert_eq!(encode(&p, &p), [0.0, 0.0, 0.0, 0.0]);
        let t = encode(&p, &BBox::new(5.0, 10.0, 25.0, 30.0));
        assert_eq!(t[..2], [0.0, 0.0]);
        assert!((t[2] - 2f32.ln()).abs() < 1e-6 && t[3] == 0.0);
        // Centre offsets are in units of the proposal's size.
        let t = encode(&p, &BBox::new(15.0, 20.0, 25.0, 40.0));
        assert_eq!(t, [0.5, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn ridge_recovers_a_known_linear_map() {
        let (n, dim) = (400, 6);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(3);
        let true_w: [Vec<f32>; 4] =
            std::array::from_fn(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect());
        let true_b = [0.1, -0.2, 0.3, 0.05];
        let features: Vec<f32> = (0..n * dim).map(|_| rng.random_range(-2.0..3.0)).collect();
        let targets: Vec<[f32; 4]> = features
            .chunks_exact(dim)
            .map(|row| std::array::from_fn(|k| dot(&true_w[k], row) + true_b[k]))
            .collect();
        // A tiny lambda: the exact map comes back.
        let r = fit(&features, dim, &targets, 1e-6).unwrap();
        for k in 0..4 {
            for (a, b) in r.weights[k].iter().zip(&true_w[k]) {
                assert!(
                    (a - b).abs() < 1e-3,
                    "{:?} vs {:?}",
                    r.weights[k],
                    true_w[k]
                );
            }
            assert!((r.bias[k] - true_b[k]).abs() < 1e-3);
        }
        // A huge lambda shrinks the weights to zero and leaves the mean target as the bias.
        let r = fit(&features, dim, &targets, 1e12).unwrap();
        for k in 0..4 {
            assert!(r.weights[k].iter().all(|w| w.abs() < 1e-6));
            let mean = targets.iter().map(|t| t[k]).sum::<f32>() / n as f32;
            assert!((r.bias[k] - mean).abs() < 1e-4);
        }
    }

    #[test]
    fn a_fitted_regressor_moves_proposals_onto_their_boxes() {
        // Features that encode the targets themselves: the regressor learns the identity map
        // from features to targets, and applying it lands on the ground truth.
        let truth = BBox::new(20.0, 20.0, 40.0, 44.0);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(9);
        let proposals: Vec<BBox> = (0..50)
            .map(|_| {
                let d: [f32; 4] = std::array::from_fn(|_| rng.random_range(-3.0..3.0));
                BBox::new(20.0 + d[0], 20.0 + d[1], 40.0 + d[2], 44.0 + d[3])
            })
            .collect();
        let targets: Vec<[f32; 4]> = proposals.iter().map(|p| encode(p, &truth)).collect();
        let features: Vec<f32> = targets.iter().flatten().copied().collect();
        let r = fit(&features, 4, &targets, 1e-6).unwrap();
        for (p, t) in proposals.iter().zip(&targets) {
            let moved = r.apply(p, t);
            assert!(moved.iou(&truth) > 0.999, "{moved:?}");
            assert!(p.iou(&truth) < moved.iou(&truth) || p.iou(&truth) > 0.999);
        }
    }
}
