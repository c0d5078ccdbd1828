//! Multinomial logistic regression in f64 with per-example weights and an L2 penalty, fitted
//! to convergence by damped Newton steps: the model of the toy study, and a problem small
//! enough to check the influence gradient against retraining.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::influence::{Hessian, add_gradient};

/// Softmax over `theta · [x, 1]`, class-major as [`Hessian`] lays it out.
#[derive(Clone, Debug)]
pub struct Softmax {
    pub classes: usize,
    pub features: usize,
    pub theta: Vec<f64>,
}

impl Softmax {
    pub fn zeros(classes: usize, features: usize) -> Self {
        Self {
            classes,
            features,
            theta: vec![0.0; classes * (features + 1)],
        }
    }

    /// Minimises `Σ_i w_i ℓ_i + (damping/2)|θ|²` from zero; `x` holds `features` values per
    /// example.
    pub fn fit(
        x: &[f64],
        features: usize,
        y: &[usize],
        weights: &[f64],
        classes: usize,
        damping: f64,
        iterations: usize,
    ) -> Self {
        let mut m = Self::zeros(classes, features);
        m.refit(x, y, weights, damping, iterations);
        m
    }

    /// Newton steps from the current parameters, halved until the objective falls, until the
    /// step is negligible or `iterations` are done.
    pub fn refit(
        &mut self,
        x: &[f64],
        y: &[usize],
        weights: &[f64],
        damping: f64,
        iterations: usize,
    ) {
        let d = self.features;
        for _ in 0..iterations {
            let mut hessian = Hessian::new(self.classes, d, true);
            let mut g: Vec<f64> = self.theta.iter().map(|t| damping * t).collect();
            for (i, (&label, &w)) in y.iter().zip(weights).enumerate() {
                let xi = &x[i * d..][..d];
                let p = self.probs(xi);
                hessian.add(w, xi, &p);
                add_gradient(&mut g, w, xi, &p, label, true);
            }
            let Ok(step) = hessian.solve(damping, &g) else {
                return;
            };
            let before = self.objective(x, y, weights, damping);
            let mut scale = 1.0;
            let old = self.theta.clone();
            loop {
                for ((t, o), s) in self.theta.iter_mut().zip(&old).zip(&step) {
                    *t = o - scale * s;
                }
                if self.objective(x, y, weights, damping) <= before || scale < 1e-6 {
                    break;
                }
                scale /= 2.0;
            }
            if step.iter().map(|s| s * s).sum::<f64>().sqrt() * scale < 1e-13 {
                return;
            }
        }
    }

    pub fn probs(&self, x: &[f64]) -> Vec<f64> {
        let d = self.features + 1;
        let logits: Vec<f64> = (0..self.classes)
            .map(|c| {
                let t = &self.theta[c * d..][..d];
                t[..d - 1].iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + t[d - 1]
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    }

    pub fn predict(&self, x: &[f64]) -> usize {
        argmax(&self.probs(x))
    }

    fn objective(&self, x: &[f64], y: &[usize], weights: &[f64], damping: f64) -> f64 {
        let d = self.features;
        let data: f64 = y
            .iter()
            .zip(weights)
            .enumerate()
            .map(|(i, (&label, &w))| w * -self.probs(&x[i * d..][..d])[label].max(1e-300).ln())
            .sum();
        data + 0.5 * damping * self.theta.iter().map(|t| t * t).sum::<f64>()
    }

    /// Mean cross-entropy over a labeled set.
    pub fn mean_loss(&self, x: &[f64], y: &[usize]) -> f64 {
        self.objective(x, y, &vec![1.0; y.len()], 0.0) / y.len() as f64
    }

    /// Gradient of [`Softmax::mean_loss`] in θ.
    pub fn mean_gradient(&self, x: &[f64], y: &[usize]) -> Vec<f64> {
        let d = self.features;
        let mut g = vec![0.0; self.theta.len()];
        for (i, &label) in y.iter().enumerate() {
            let xi = &x[i * d..][..d];
            add_gradient(
                &mut g,
                1.0 / y.len() as f64,
                xi,
                &self.probs(xi),
                label,
                true,
            );
        }
        g
    }

    pub fn accuracy(&self, x: &[f64], y: &[usize]) -> f64 {
        let d = self.features;
        let right = y
            .iter()
            .enumerate()
            .filter(|&(i, &label)| self.predict(&x[i * d..][..d]) == label)
            .count();
        right as f64 / y.len().max(1) as f64
    }

    /// The damped Hessian of `Σ_i w_i ℓ_i` at the current parameters, not yet solved.
    pub fn hessian(&self, x: &[f64], weights: &[f64]) -> Hessian {
        let d = self.features;
        let mut h = Hessian::new(self.classes, d, true);
        for (i, &w) in weights.iter().enumerate() {
            let xi = &x[i * d..][..d];
            h.add(w, xi, &self.probs(xi));
        }
        h
    }
}

pub fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// The true boundary of the toy problem: class 1 where `TRUE_W · x + TRUE_B > 0`.
pub const TRUE_W: [f64; 2] = [0.8, -0.6];
pub const TRUE_B: f64 = 0.1;

/// Points uniform in [-1, 1]², labeled by the side of the true line, none closer to it than
/// `margin`: a linearly separable 2-class problem.
#[derive(Clone, Debug)]
pub struct ToyData {
    /// `(x, y)` per point.
    pub x: Vec<f64>,
    pub y: Vec<usize>,
}

impl ToyData {
    pub fn separable(n: usize, margin: f64, seed: u64) -> Self {
        Self::draw(n, margin, &mut Pcg64::seed_from_u64(seed), |_| true)
    }

    /// `n` points of class `class` only.
    pub fn of_class(n: usize, margin: f64, class: usize, rng: &mut Pcg64) -> Self {
        Self::draw(n, margin, rng, |c| c == class)
    }

    pub fn draw(n: usize, margin: f64, rng: &mut Pcg64, keep: impl Fn(usize) -> bool) -> Self {
        let mut out = Self {
            x: Vec::with_capacity(2 * n),
            y: Vec::with_capacity(n),
        };
        while out.y.len() < n {
            let p = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let side = TRUE_W[0] * p[0] + TRUE_W[1] * p[1] + TRUE_B;
            let class = usize::from(side > 0.0);
            if side.abs() >= margin && keep(class) {
                out.x.extend(p);
                out.y.push(class);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn point(&self, i: usize) -> &[f64] {
        &self.x[2 * i..][..2]
    }

    pub fn extend(&mut self, other: &ToyData) {
        self.x.extend(&other.x);
        self.y.extend(&other.y);
    }
}

#[cfg(test)]
mod tests {
    use super::super::influence::dot_gradient;
    use super::*;

    const DAMPING: f64 = 0.1;

    /// A 3-class problem in 3 dimensions: Gaussian blobs around three centres.
    fn blobs(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let mut rng = Pcg64::seed_from_u64(seed);
        let centres = [[1.0, 0.0, 0.5], [-0.5, 1.0, 0.0], [0.0, -1.0, -0.5]];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 3;
            for &m in &centres[c] {
                let u: f64 = rng.random_range(-1.0..1.0);
                x.push(m + u);
            }
            y.push(c);
        }
        (x, y)
    }

    /// dL_val/dw_i = -g_valᵀ H⁻¹ ∇ℓ_i (coefficient 1: the weight multiplies ℓ_i directly).
    fn influence(
        model: &Softmax,
        x: &[f64],
        w: &[f64],
        val: &(Vec<f64>, Vec<usize>),
        i: usize,
        label: usize,
    ) -> f64 {
        let v = model
            .hessian(x, w)
            .solve(DAMPING, &model.mean_gradient(&val.0, &val.1))
            .unwrap();
        let xi = &x[3 * i..][..3];
        -dot_gradient(&v, xi, &model.probs(xi), label, true)
    }

    #[test]
    fn newton_reaches_the_minimum() {
        let (x, y) = blobs(60, 1);
        let m = Softmax::fit(&x, 3, &y, &vec![1.0; 60], 3, DAMPING, 50);
        let mut g: Vec<f64> = m.theta.iter().map(|t| DAMPING * t).collect();
        for i in 0..60 {
            add_gradient(
                &mut g,
                1.0,
                &x[3 * i..][..3],
                &m.probs(&x[3 * i..][..3]),
                y[i],
                true,
            );
        }
        assert!(g.iter().all(|v| v.abs() < 1e-10), "{g:?}");
        assert!(m.accuracy(&x, &y) > 0.8);
    }

    /// The influence estimate against retraining to convergence with the weight moved by ±ε.
    #[test]
    fn influence_matches_finite_differences_of_retraining() {
        let (x, mut y) = blobs(45, 2);
        // Some wrong labels, so that the influences have both signs.
        for i in [0, 7, 20] {
            y[i] = (y[i] + 1) % 3;
        }
        let val = blobs(30, 3);
        let mut rng = Pcg64::seed_from_u64(4);
        let w: Vec<f64> = (0..45).map(|_| rng.random_range(0.5..1.5)).collect();
        let model = Softmax::fit(&x, 3, &y, &w, 3, DAMPING, 100);
        let eps = 1e-4;
        let mut signs = [0, 0];
        for i in [0, 3, 7, 11, 20, 30, 44] {
            let estimate = influence(&model, &x, &w, &val, i, y[i]);
            let retrained = |delta: f64| {
                let mut wi = w.clone();
                wi[i] += delta;
                let mut m = model.clone();
                m.refit(&x, &y, &wi, DAMPING, 100);
                m.mean_loss(&val.0, &val.1)
            };
            let fd = (retrained(eps) - retrained(-eps)) / (2.0 * eps);
            let rel = (estimate - fd).abs() / fd.abs().max(1e-12);
            assert!(
                rel < 1e-4,
                "example {i}: influence {estimate:e}, retraining {fd:e}"
            );
            signs[usize::from(estimate > 0.0)] += 1;
        }
        assert!(signs[0] > 0 && signs[1] > 0, "both signs occur: {signs:?}");
    }

    /// The sign, on a problem whose answer is known: a point deep inside class 1 given the
    /// pseudo-label 0. Upweighting it must raise the validation loss (positive gradient), and
    /// retraining with more weight on it does raise it.
    #[test]
    fn upweighting_a_wrong_pseudo_label_raises_the_validation_loss() {
        let mut train = ToyData::separable(20, 0.1, 5);
        let val = ToyData::separable(200, 0.0, 6);
        let wrong = [0.9, -0.8]; // TRUE_W · p + TRUE_B = 1.3: class 1
        train.x.extend(wrong);
        train.y.push(0);
        let right = [-0.7, 0.6]; // class 0, labeled 0
        train.x.extend(right);
        train.y.push(0);
        let n = train.len();
        let w = vec![1.0; n];
        let model = Softmax::fit(&train.x, 2, &train.y, &w, 2, DAMPING, 100);
        let v = model
            .hessian(&train.x, &w)
            .solve(DAMPING, &model.mean_gradient(&val.x, &val.y))
            .unwrap();
        let grad = |i: usize| {
            let p = train.point(i);
            -dot_gradient(&v, p, &model.probs(p), train.y[i], true)
        };
        assert!(grad(n - 2) > 0.0, "wrong pseudo-label: {}", grad(n - 2));
        assert!(grad(n - 2) > grad(n - 1), "a correct one is less harmful");
        let loss_with = |weight: f64| {
            let mut wi = w.clone();
            wi[n - 2] = weight;
            Softmax::fit(&train.x, 2, &train.y, &wi, 2, DAMPING, 100).mean_loss(&val.x, &val.y)
        };
        assert!(loss_with(2.0) > loss_with(1.0) && loss_with(1.0) > loss_with(0.0));
    }
}
