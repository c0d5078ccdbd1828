//! The paper's toy study: a 2-D linearly separable problem, a few labeled points, and many
//! unlabeled points pseudo-labeled once by the logistic model fitted to the labeled points
//! alone (pseudo-label SSL). A logistic model is then fitted to labeled + weighted
//! pseudo-labeled points, and the weights are learned by the influence of each on the
//! validation loss (exact here: the logistic model is all last layer), one batch of unlabeled
//! points per update, the model refitted (Newton, warm start) before each. The points with a
//! wrong pseudo-label should end with the low weights, and the learned boundary near the true
//! one.
//!
//! Writes `points.csv`, `boundaries.csv`, `toy.svg` and `metrics.csv` (one row per
//! evaluation: test accuracy of the weighted model, mean weights).

use std::path::Path;
use std::time::Instant;

use plotters::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::config::{SslSpec, ToySpec};
use super::influence::{WeightLearner, dot_gradient};
use super::logistic::{Softmax, TRUE_B, TRUE_W, ToyData};
use super::{Context, KindResult};
use crate::config::ExperimentSpec;
use crate::train::batches::BatchOrder;
use crate::train::metrics::{EvalRow, MetricsFile};
use crate::train::{Outcome, Status};
use crate::util::rng::mix;

const TOY_STREAM: u64 = 0x0054_4f59; // "TOY"
const NEWTON_STEPS: usize = 100;
pub const EXTRA: [&str; 3] = [
    "validation_loss",
    "mean_weight_correct",
    "mean_weight_wrong",
];

struct Study {
    labeled: ToyData,
    unlabeled: ToyData,
    pseudo: Vec<usize>,
    validation: ToyData,
    test: ToyData,
}

impl Study {
    fn draw(t: &ToySpec, seed: u64) -> Self {
        let mut rng = Pcg64::seed_from_u64(mix(seed, TOY_STREAM));
        let mut labeled = ToyData::of_class(t.labeled_per_class, t.margin, 0, &mut rng);
        labeled.extend(&ToyData::of_class(
            t.labeled_per_class,
            t.margin,
            1,
            &mut rng,
        ));
        let unlabeled = ToyData::draw(t.unlabeled, t.margin, &mut rng, |_| true);
        let validation = ToyData::draw(t.validation, t.margin, &mut rng, |_| true);
        let test = ToyData::draw(t.test, t.margin, &mut rng, |_| true);
        Self {
            labeled,
            unlabeled,
            pseudo: Vec::new(),
            validation,
            test,
        }
    }

    /// Labeled points, then the unlabeled ones with their pseudo-labels.
    fn training_set(&self) -> (Vec<f64>, Vec<usize>) {
        let x = [&self.labeled.x[..], &self.unlabeled.x].concat();
        let y = [&self.labeled.y[..], &self.pseudo].concat();
        (x, y)
    }

    fn all_weights(&self, unlabeled: &[f64]) -> Vec<f64> {
        let mut w = vec![1.0; self.labeled.len()];
        w.extend_from_slice(unlabeled);
        w
    }

    /// Mean weight of the points whose pseudo-label is right, and wrong (NaN if none).
    fn weight_means(&self, w: &[f64]) -> (f64, f64) {
        let mut sums = [(0.0, 0usize); 2];
        for (i, &wi) in w.iter().enumerate() {
            let g = usize::from(self.pseudo[i] != self.unlabeled.y[i]);
            sums[g].0 += wi;
            sums[g].1 += 1;
        }
        let mean = |(s, n): (f64, usize)| if n == 0 { f64::NAN } else { s / n as f64 };
        (mean(sums[0]), mean(sums[1]))
    }
}

pub fn run(
    spec: &ExperimentSpec,
    s: &SslSpec,
    t: &ToySpec,
    ctx: &mut Context,
) -> anyhow::Result<KindResult> {
    let started = Instant::now();
    let mut study = Study::draw(t, spec.seed);
    let damping = s.damping;
    let fit =
        |x: &[f64], y: &[usize], w: &[f64]| Softmax::fit(x, 2, y, w, 2, damping, NEWTON_STEPS);
    let labeled_only = fit(
        &study.labeled.x,
        &study.labeled.y,
        &vec![1.0; study.labeled.len()],
    );
    study.pseudo = (0..study.unlabeled.len())
        .map(|i| labeled_only.predict(study.unlabeled.point(i)))
        .collect();
    let (x, y) = study.training_set();
    let uniform = fit(
        &x,
        &y,
        &study.all_weights(&vec![1.0; study.unlabeled.len()]),
    );

    let mut learner = WeightLearner::new(
        study.unlabeled.len(),
        s.weight_lr,
        (s.weight_beta1, s.weight_beta2),
        s.weight_epsilon,
        (s.weight_min, s.weight_max),
    );
    let mut order = BatchOrder::new(
        study.unlabeled.len(),
        t.batch,
        mix(spec.seed, TOY_STREAM + 1),
    );
    let mut model = uniform.clone();
    let mut metrics = MetricsFile::open(&ctx.dir.join("metrics.csv"), &EXTRA.map(String::from), 0)?;
    if spec.output.tensorboard {
        metrics = metrics.with_tensorboard(&ctx.dir.join(crate::train::tensorboard::DIR))?;
    }
    let mut history = Vec::new();
    let (val, test) = (&study.validation, &study.test);
    for it in 0..t.iterations {
        let w = study.all_weights(&learner.weights);
        model.refit(&x, &y, &w, damping, NEWTON_STEPS);
        let v = model
            .hessian(&x, &w)
            .solve(damping, &model.mean_gradient(&val.x, &val.y))?;
        let batch = order.batch(it);
        for &i in &batch {
            let p = study.unlabeled.point(i);
            learner.step(
                i,
                -dot_gradient(&v, p, &model.probs(p), study.pseudo[i], true),
            );
        }
        ctx.observer.step(it + 1, model.mean_loss(&val.x, &val.y));
        if (it + 1) % spec.eval.every == 0 || it + 1 == t.iterations {
            model.refit(
                &x,
                &y,
                &study.all_weights(&learner.weights),
                damping,
                NEWTON_STEPS,
            );
            let (right, wrong) = study.weight_means(&learner.weights);
            let row = EvalRow {
                step: it + 1,
                epoch: order.epochs(it + 1),
                lr: s.weight_lr,
                train_loss: model.mean_loss(&x, &y),
                train_accuracy: model.accuracy(&x, &y),
                test_loss: model.mean_loss(&test.x, &test.y),
                test_accuracy: model.accuracy(&test.x, &test.y),
                extra: vec![model.mean_loss(&val.x, &val.y), right, wrong],
            };
            metrics.append(&row)?;
            ctx.observer.evaluated(&row);
            history.push(row);
        }
    }
    let learned = model;
    let models = [
        ("labeled_only", &labeled_only),
        ("uniform", &uniform),
        ("learned", &learned),
    ];
    write_points(&ctx.dir.join("points.csv"), &study, &learner.weights)?;
    write_boundaries(&ctx.dir.join("boundaries.csv"), &study, &models)?;
    plot(&ctx.dir.join("toy.svg"), &study, &learner.weights, &models)?;

    let (right, wrong) = study.weight_means(&learner.weights);
    let wrong_count = (0..study.unlabeled.len())
        .filter(|&i| study.pseudo[i] != study.unlabeled.y[i])
        .count();
    let mut extra = vec![
        ("pseudo_label_errors".to_string(), Some(wrong_count as f64)),
        (
            "mean_weight_correct".into(),
            right.is_finite().then_some(right),
        ),
        (
            "mean_weight_wrong".into(),
            wrong.is_finite().then_some(wrong),
        ),
    ];
    for (name, m) in models {
        extra.push((
            format!("{name}_test_accuracy"),
            Some(m.accuracy(&test.x, &test.y)),
        ));
    }
    Ok(KindResult {
        outcome: Outcome {
            status: Status::Done,
            history,
            steps_run: t.iterations,
            train_seconds: started.elapsed().as_secs_f64(),
            params: labeled_only.theta.len(),
        },
        extra,
    })
}

fn write_points(path: &Path, study: &Study, weights: &[f64]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "set",
        "x",
        "y",
        "true_label",
        "pseudo_label",
        "correct",
        "weight",
    ])?;
    for (set, data) in [
        ("labeled", &study.labeled),
        ("validation", &study.validation),
    ] {
        for i in 0..data.len() {
            let p = data.point(i);
            w.write_record([
                set,
                &p[0].to_string(),
                &p[1].to_string(),
                &data.y[i].to_string(),
                "",
                "",
                "",
            ])?;
        }
    }
    for (i, weight) in weights.iter().enumerate() {
        let p = study.unlabeled.point(i);
        let (truth, pseudo) = (study.unlabeled.y[i], study.pseudo[i]);
        w.write_record([
            "unlabeled",
            &p[0].to_string(),
            &p[1].to_string(),
            &truth.to_string(),
            &pseudo.to_string(),
            &u8::from(truth == pseudo).to_string(),
            &weight.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The decision line of a 2-class model: `a x + b y + c = 0` with `(a, b, c)` the difference of
/// the two classes' parameters.
fn line(m: &Softmax) -> [f64; 3] {
    let t = &m.theta;
    [t[3] - t[0], t[4] - t[1], t[5] - t[2]]
}

fn write_boundaries(path: &Path, study: &Study, models: &[(&str, &Softmax)]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["model", "a", "b", "c", "test_accuracy", "validation_loss"])?;
    let truth = [TRUE_W[0], TRUE_W[1], TRUE_B];
    w.write_record([
        "true",
        &truth[0].to_string(),
        &truth[1].to_string(),
        &truth[2].to_string(),
        "1",
        "",
    ])?;
    let (val, test) = (&study.validation, &study.test);
    for (name, m) in models {
        let [a, b, c] = line(m);
        w.write_record([
            name.to_string(),
            a.to_string(),
            b.to_string(),
            c.to_string(),
            m.accuracy(&test.x, &test.y).to_string(),
            m.mean_loss(&val.x, &val.y).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Points of the line `a x + b y + c = 0` inside [-1, 1]².
fn segment([a, b, c]: [f64; 3]) -> Vec<(f64, f64)> {
    let ts = (0..=400).map(|k| -1.0 + k as f64 / 200.0);
    let pts: Vec<(f64, f64)> = if b.abs() >= a.abs() {
        ts.map(|x| (x, -(a * x + c) / b)).collect()
    } else {
        ts.map(|y| (-(b * y + c) / a, y)).collect()
    };
    pts.into_iter()
        .filter(|(x, y)| x.abs() <= 1.0 && y.abs() <= 1.0)
        .collect()
}

/// Unlabeled points coloured by pseudo-label, sized by weight, wrong ones ringed in black;
/// labeled points as large squares; the true, labeled-only, uniform and learned boundaries.
fn plot(
    path: &Path,
    study: &Study,
    weights: &[f64],
    models: &[(&str, &Softmax)],
) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("plotting {}: {e}", path.display());
    let root = SVGBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "pseudo-label (colour), weight (size), wrong (ring); lines: true (black), \
             labeled only (magenta), uniform (cyan), learned (green)",
            ("sans-serif", 12),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-1f64..1f64, -1f64..1f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| err(&e))?;
    let colour = |c: usize| if c == 1 { RED } else { BLUE };
    let u = &study.unlabeled;
    chart
        .draw_series((0..u.len()).map(|i| {
            let p = u.point(i);
            let r = (1.0 + 3.0 * weights[i]).round() as i32;
            Circle::new((p[0], p[1]), r, colour(study.pseudo[i]).mix(0.5).filled())
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            (0..u.len())
                .filter(|&i| study.pseudo[i] != u.y[i])
                .map(|i| {
                    let p = u.point(i);
                    Circle::new((p[0], p[1]), 8, BLACK.stroke_width(1))
                }),
        )
        .map_err(|e| err(&e))?;
    let l = &study.labeled;
    chart
        .draw_series((0..l.len()).map(|i| {
            let p = l.point(i);
            let d = 0.03;
            Rectangle::new(
                [(p[0] - d, p[1] - d), (p[0] + d, p[1] + d)],
                colour(l.y[i]).filled(),
            )
        }))
        .map_err(|e| err(&e))?;
    let truth = [TRUE_W[0], TRUE_W[1], TRUE_B];
    let lines: Vec<([f64; 3], RGBColor)> = std::iter::once((truth, BLACK))
        .chain(
            models
                .iter()
                .zip([MAGENTA, CYAN, GREEN])
                .map(|((_, m), c)| (line(m), c)),
        )
        .collect();
    for (abc, c) in lines {
        chart
            .draw_series(LineSeries::new(segment(abc), c.stroke_width(2)))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
