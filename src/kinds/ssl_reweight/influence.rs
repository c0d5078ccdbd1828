//! How the validation loss changes with the weight of one training example, through the last
//! (linear) layer of a softmax classifier: the influence function, solved exactly.
//!
//! Derivation. Let θ*(w) minimise L_train(θ; w) = Σ_i c_i w_i ℓ_i(θ) + (λ/2)|θ|², where c_i is
//! the example's fixed coefficient in the loss (1/B for a mean over a batch, times λ_u for
//! unlabeled ones) and w_i its learned weight. At the minimum ∇L_train(θ*(w); w) = 0.
//! Differentiating that in w_i: H dθ*/dw_i + c_i ∇ℓ_i = 0, with H = ∇²L_train (positive
//! definite thanks to λ), so dθ*/dw_i = -c_i H⁻¹ ∇ℓ_i and
//!
//!   dL_val/dw_i = ∇L_valᵀ dθ*/dw_i = -c_i ∇L_valᵀ H⁻¹ ∇ℓ_i.
//!
//! A positive value means more weight on example i raises the validation loss, so gradient
//! descent on the weights lowers it: an example whose pseudo-label fights the validation set
//! gets a positive gradient and loses weight (checked by the tests below against retraining).
//!
//! For the last layer z = W h + b with softmax p and target class y, write x = [h, 1] and
//! θ = (W, b) flattened class-major (θ[c·D + j], D = d + 1, j = d the bias); without the bias
//! (θ = W, the authors' choice: their θ is the classifier's kernel) x = h and D = d. Then
//! ∇ℓ = (p - e_y) ⊗ x and ∇²ℓ = (diag p - p pᵀ) ⊗ x xᵀ, so the Hessian of a weighted sum of
//! examples is Σ_i a_i (diag p_i - p_i p_iᵀ) ⊗ x_i x_iᵀ, built here block by block and solved
//! by Cholesky in f64.

use crate::bail_user;

/// The damped Hessian of a weighted sum of last-layer cross-entropies, accumulated example by
/// example (upper blocks only; the rest follows by symmetry).
pub struct Hessian {
    classes: usize,
    /// D = features (+ 1 with the bias).
    width: usize,
    bias: bool,
    /// Row-major `(classes·D)²`.
    a: Vec<f64>,
    x: Vec<f64>,
}

impl Hessian {
    /// θ = the last layer's weights, and its bias too where `bias`.
    pub fn new(classes: usize, features: usize, bias: bool) -> Self {
        let width = features + usize::from(bias);
        let n = classes * width;
        Self {
            classes,
            width,
            bias,
            a: vec![0.0; n * n],
            x: vec![0.0; width],
        }
    }

    /// Rows and columns: classes x (features + 1 with the bias).
    pub fn dim(&self) -> usize {
        self.classes * self.width
    }

    /// Adds `coef · (diag p - p pᵀ) ⊗ x xᵀ`, x = [h, 1] (or h without the bias).
    pub fn add(&mut self, coef: f64, h: &[f64], p: &[f64]) {
        let (k, d, n) = (self.classes, self.width, self.dim());
        debug_assert_eq!(h.len() + usize::from(self.bias), d);
        debug_assert_eq!(p.len(), k);
        self.x[..h.len()].copy_from_slice(h);
        if self.bias {
            self.x[d - 1] = 1.0;
        }
        for c in 0..k {
            for c2 in c..k {
                let curvature = coef * (if c == c2 { p[c] } else { 0.0 } - p[c] * p[c2]);
                if curvature == 0.0 {
                    continue;
                }
                for i in 0..d {
                    let ci = curvature * self.x[i];
                    let row = &mut self.a[(c * d + i) * n + c2 * d..][..d];
                    for (out, xj) in row.iter_mut().zip(&self.x) {
                        *out += ci * xj;
                    }
                }
            }
        }
    }

    /// Solves `(H + damping·I) v = g` exactly (Cholesky, f64).
    pub fn solve(mut self, damping: f64, g: &[f64]) -> anyhow::Result<Vec<f64>> {
        let (k, d, n) = (self.classes, self.width, self.dim());
        // The lower blocks mirror the upper ones.
        for c in 0..k {
            for c2 in 0..c {
                for i in 0..d {
                    for j in 0..d {
                        self.a[(c * d + i) * n + c2 * d + j] = self.a[(c2 * d + j) * n + c * d + i];
                    }
                }
            }
        }
        for i in 0..n {
            self.a[i * n + i] += damping;
        }
        cholesky_solve(&mut self.a, n, g)
    }
}

/// Solves `A v = g` for a symmetric positive definite `A` (row-major `n x n`, overwritten by
/// its Cholesky factor).
fn cholesky_solve(a: &mut [f64], n: usize, g: &[f64]) -> anyhow::Result<Vec<f64>> {
    for j in 0..n {
        let (done, rest) = a.split_at_mut(j * n);
        let row_j = &mut rest[..n];
        for i in 0..j {
            let row_i = &done[i * n..][..n];
            let dot: f64 = row_i[..i].iter().zip(&row_j[..i]).map(|(x, y)| x * y).sum();
            row_j[i] = (row_j[i] - dot) / row_i[i];
        }
        let diag = row_j[j] - row_j[..j].iter().map(|v| v * v).sum::<f64>();
        if diag.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            bail_user!(
                "the damped last-layer Hessian is not positive definite (pivot {diag:e} at row \
                 {j}); raise ssl.damping"
            );
        }
        row_j[j] = diag.sqrt();
    }
    // L y = g, then Lᵀ v = y, with L the lower triangle.
    let mut v = g.to_vec();
    for i in 0..n {
        let dot: f64 = a[i * n..i * n + i]
            .iter()
            .zip(&v[..i])
            .map(|(x, y)| x * y)
            .sum();
        v[i] = (v[i] - dot) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = v[i];
        for (r, vr) in v.iter().enumerate().skip(i + 1) {
            s -= a[r * n + i] * vr;
        }
        v[i] = s / a[i * n + i];
    }
    Ok(v)
}

/// Adds `coef · ∇ℓ = coef · (p - e_label) ⊗ x` to `g`, x = [h, 1] (or h without the bias).
pub fn add_gradient(g: &mut [f64], coef: f64, h: &[f64], p: &[f64], label: usize, bias: bool) {
    let d = h.len() + usize::from(bias);
    for (c, &pc) in p.iter().enumerate() {
        let r = coef * (pc - if c == label { 1.0 } else { 0.0 });
        let block = &mut g[c * d..][..d];
        for (out, hj) in block.iter_mut().zip(h) {
            *out += r * hj;
        }
        if bias {
            block[d - 1] += r;
        }
    }
}

/// `vᵀ ∇ℓ` for `∇ℓ = (p - e_label) ⊗ x`, without forming the gradient.
pub fn dot_gradient(v: &[f64], h: &[f64], p: &[f64], label: usize, bias: bool) -> f64 {
    let d = h.len() + usize::from(bias);
    p.iter()
        .enumerate()
        .map(|(c, &pc)| {
            let block = &v[c * d..][..d];
            let vx = block[..h.len()]
                .iter()
                .zip(h)
                .map(|(a, b)| a * b)
                .sum::<f64>()
                + if bias { block[d - 1] } else { 0.0 };
            (pc - if c == label { 1.0 } else { 0.0 }) * vx
        })
        .sum()
}

/// Per-weight Adam on the example weights, each clipped to a range after its step; only the
/// weights of examples that get a gradient move (each keeps its own step count).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightLearner {
    pub weights: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    /// Adam steps taken by each weight.
    pub steps: Vec<u32>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    range: (f64, f64),
}

impl WeightLearner {
    /// `n` weights starting at 1.
    pub fn new(n: usize, lr: f64, betas: (f64, f64), epsilon: f64, range: (f64, f64)) -> Self {
        Self {
            weights: vec![1.0; n],
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: vec![0; n],
            lr,
            beta1: betas.0,
            beta2: betas.1,
            epsilon,
            range,
        }
    }

    /// The weights and their Adam state, as saved in a checkpoint.
    pub fn saved(&self) -> SavedWeights {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect();
        SavedWeights {
            weights: bits(&self.weights),
            m: bits(&self.m),
            v: bits(&self.v),
            steps: self.steps.clone(),
        }
    }

    /// Restores [`WeightLearner::saved`]'s state (the settings stay this learner's).
    pub fn restore(&mut self, saved: &SavedWeights) -> anyhow::Result<()> {
        let n = self.weights.len();
        if [
            saved.weights.len(),
            saved.m.len(),
            saved.v.len(),
            saved.steps.len(),
        ] != [n; 4]
        {
            bail_user!(
                "saved weights are for {} examples, this run has {n}",
                saved.weights.len()
            );
        }
        let floats = |v: &[u64]| v.iter().map(|&b| f64::from_bits(b)).collect();
        self.weights = floats(&saved.weights);
        self.m = floats(&saved.m);
        self.v = floats(&saved.v);
        self.steps = saved.steps.clone();
        Ok(())
    }

    /// One Adam step of weight `i` down the gradient `grad` (of the validation loss).
    pub fn step(&mut self, i: usize, grad: f64) {
        self.steps[i] += 1;
        let t = self.steps[i] as i32;
        self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * grad;
        self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * grad * grad;
        let m_hat = self.m[i] / (1.0 - self.beta1.powi(t));
        let v_hat = self.v[i] / (1.0 - self.beta2.powi(t));
        let w = self.weights[i] - self.lr * m_hat / (v_hat.sqrt() + self.epsilon);
        self.weights[i] = w.clamp(self.range.0, self.range.1);
    }
}

/// The learned state of a [`WeightLearner`], its floats as IEEE bits so that a resumed run
/// continues from exactly the same values.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedWeights {
    weights: Vec<u64>,
    m: Vec<u64>,
    v: Vec<u64>,
    steps: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::super::logistic::{Softmax, ToyData};
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // H = [[4, 2], [2, 3]] as the Hessian of nothing plus a hand-set matrix.
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let v = cholesky_solve(&mut a, 2, &[2.0, 5.0]).unwrap();
        // 4x + 2y = 2, 2x + 3y = 5 -> x = -0.5, y = 2.
        assert!(
            (v[0] + 0.5).abs() < 1e-12 && (v[1] - 2.0).abs() < 1e-12,
            "{v:?}"
        );
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(cholesky_solve(&mut singular, 2, &[1.0, 1.0]).is_err());
    }

    /// The block-built Hessian equals a finite difference of the summed gradients.
    #[test]
    fn hessian_is_the_derivative_of_the_gradient() {
        let data = ToyData::separable(30, 0.0, 11);
        let model = Softmax::fit(&data.x, 2, &data.y, &vec![1.0; 30], 3, 0.1, 50);
        let mut h = Hessian::new(3, 2, true);
        for i in 0..30 {
            h.add(
                0.5,
                &data.x[2 * i..][..2],
                &model.probs(&data.x[2 * i..][..2]),
            );
        }
        let n = h.dim();
        let grad_at = |m: &Softmax| {
            let mut g = vec![0.0; n];
            for i in 0..30 {
                let x = &data.x[2 * i..][..2];
                add_gradient(&mut g, 0.5, x, &m.probs(x), data.y[i], true);
            }
            g
        };
        // Column k of H by central differences of the gradient.
        let mut full = h;
        for c in 0..3 {
            for c2 in 0..c {
                for i in 0..3 {
                    for j in 0..3 {
                        full.a[(c * 3 + i) * n + c2 * 3 + j] = full.a[(c2 * 3 + j) * n + c * 3 + i];
                    }
                }
            }
        }
        let eps = 1e-6;
        for k in 0..n {
            let (mut up, mut down) = (model.clone(), model.clone());
            up.theta[k] += eps;
            down.theta[k] -= eps;
            let (gu, gd) = (grad_at(&up), grad_at(&down));
            for r in 0..n {
                let fd = (gu[r] - gd[r]) / (2.0 * eps);
                assert!((fd - full.a[r * n + k]).abs() < 1e-6, "H[{r},{k}]");
            }
        }
    }

    /// Without the bias (the authors' θ, the kernel only) the Hessian, the gradient and the
    /// dot product are those with the bias, its rows and columns left out.
    #[test]
    fn kernel_only_leaves_the_bias_rows_out() {
        let (k, d) = (3, 2);
        let data = ToyData::separable(20, 0.0, 5);
        let model = Softmax::fit(&data.x, 2, &data.y, &[1.0; 20], k, 0.1, 50);
        let (mut with, mut without) = (Hessian::new(k, d, true), Hessian::new(k, d, false));
        let (mut g_with, mut g_without) = (vec![0.0; k * (d + 1)], vec![0.0; k * d]);
        for i in 0..20 {
            let (x, p) = (&data.x[2 * i..][..2], model.probs(&data.x[2 * i..][..2]));
            with.add(0.3, x, &p);
            without.add(0.3, x, &p);
            add_gradient(&mut g_with, 0.3, x, &p, data.y[i], true);
            add_gradient(&mut g_without, 0.3, x, &p, data.y[i], false);
        }
        let kernel = |r: usize| (r / d) * (d + 1) + r % d;
        let (n, n_with) = (without.dim(), with.dim());
        assert_eq!((n, n_with), (k * d, k * (d + 1)));
        for r in 0..n {
            assert_eq!(g_without[r], g_with[kernel(r)]);
            for c in r / d * d..n {
                assert_eq!(without.a[r * n + c], with.a[kernel(r) * n_with + kernel(c)]);
            }
        }
        let v: Vec<f64> = (0..n_with).map(|i| i as f64 * 0.1 - 0.3).collect();
        let v_kernel: Vec<f64> = (0..n).map(|r| v[kernel(r)]).collect();
        let (x, p) = (&data.x[..2], model.probs(&data.x[..2]));
        let mut v_no_bias = v.clone();
        for c in 0..k {
            v_no_bias[c * (d + 1) + d] = 0.0;
        }
        let a = dot_gradient(&v_kernel, x, &p, 1, false);
        let b = dot_gradient(&v_no_bias, x, &p, 1, true);
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn adam_moves_against_the_gradient_and_clips() {
        let mut w = WeightLearner::new(3, 0.1, (0.9, 0.999), 1e-8, (0.0, 2.0));
        w.step(0, 5.0);
        w.step(1, -0.001);
        assert!(
            (w.weights[0] - 0.9).abs() < 1e-9,
            "first Adam step is lr·sign"
        );
        assert!((w.weights[1] - 1.1).abs() < 1e-5);
        assert_eq!((w.weights[2], w.steps[2]), (1.0, 0), "untouched");
        for _ in 0..100 {
            w.step(0, 1.0);
        }
        assert_eq!(w.weights[0], 0.0);
    }
}
