//! Learned per-example weights for semi-supervised learning (Ren, Yeh & Schwing 2020, "Not
//! All Unlabeled Data are Equal"): FixMatch-style consistency training where each unlabeled
//! example's loss has a weight learned from its influence on a validation loss; against
//! uniform weights and supervised training alone. With `[ssl.toy]`, the paper's 2-D toy study
//! with a logistic model instead.

pub mod config;
pub mod influence;
pub mod logistic;
pub mod splits;
pub mod task;
pub mod toy;

use self::config::{NOISE_OOD, SslSpec};
use super::{Context, KindDef, KindResult};
use crate::bail_user;
use crate::config::{DataSpec, ExperimentSpec, KindSchema, SectionDef, Uses};
use splits::{concat, noise_images, ood_count, ood_sample, split, subset};
use task::{EXTRA, SslTask, Unlabeled};

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "ssl_reweight",
        section: Some(SectionDef::of::<SslSpec>("ssl")),
        uses: Uses::NONE,
        check: config::check,
        memory: crate::config::memory::mlp,
    },
    paper: "Ren, Yeh & Schwing 2020, Not All Unlabeled Data are Equal",
    run,
    columns: &[],
    inspect: None,
    extra_datasets,
};

/// The `[ssl]` section of an `ssl_reweight` spec (filled in by loading).
pub fn settings(spec: &ExperimentSpec) -> anyhow::Result<SslSpec> {
    spec.section()
}

/// The out-of-distribution dataset mixed into the unlabeled set, when it is a dataset.
fn extra_datasets(spec: &ExperimentSpec) -> Vec<DataSpec> {
    match settings(spec) {
        Ok(s) if !s.ood_dataset.is_empty() && s.ood_dataset != NOISE_OOD => vec![DataSpec {
            dataset: s.ood_dataset,
            ..DataSpec::default()
        }],
        _ => Vec::new(),
    }
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let s = &settings(spec)?;
    if let Some(t) = &s.toy {
        return toy::run(spec, s, t, ctx);
    }
    let data = ctx.dataset(&spec.data)?;
    let sets = split(
        &data.train.labels,
        data.num_classes,
        s.labels,
        s.validation,
        s.unlabeled,
        spec.seed,
    )?;
    let mut unlabeled = Unlabeled {
        images: subset(&data.train, &sets.unlabeled),
        source: sets.unlabeled.clone(),
        is_ood: vec![false; sets.unlabeled.len()],
    };
    let mut ood_examples = 0;
    if s.ood_fraction > 0.0 {
        let n = ood_count(unlabeled.images.n, s.ood_fraction);
        let t = &data.train;
        let (idx, images) = if s.ood_dataset == NOISE_OOD {
            (
                (0..n).collect(),
                noise_images(n, [t.channels, t.height, t.width], spec.seed),
            )
        } else {
            let ood = ctx.dataset(&DataSpec {
                dataset: s.ood_dataset.clone(),
                ..DataSpec::default()
            })?;
            let o = &ood.train;
            if (o.channels, o.height, o.width) != (t.channels, t.height, t.width) {
                bail_user!(
                    "ssl.ood_dataset: {} images are {}x{}x{}, {}'s are {}x{}x{}",
                    ood.name,
                    o.channels,
                    o.height,
                    o.width,
                    data.name,
                    t.channels,
                    t.height,
                    t.width
                );
            }
            ood_sample(o, n, spec.seed)?
        };
        unlabeled.images = concat(&unlabeled.images, &images);
        unlabeled.source.extend(idx);
        unlabeled.is_ood.extend(vec![true; n]);
        ood_examples = n;
    }
    let mut task = SslTask::new(
        spec,
        data.num_classes,
        subset(&data.train, &sets.labeled),
        subset(&data.train, &sets.validation),
        unlabeled,
        data.test.clone(),
        &ctx.dir,
        ctx.device.clone().inner(),
    );
    let outcome = ctx.train(spec, &mut task)?;
    if let Some(e) = task.log_error.take() {
        return Err(e);
    }
    let last = outcome.history.last();
    let finite = |v: f64| v.is_finite().then_some(v);
    let mut extra = vec![
        ("labels".to_string(), Some(sets.labeled.len() as f64)),
        ("validation".into(), Some(sets.validation.len() as f64)),
        ("unlabeled".into(), Some(task.unlabeled().images.n as f64)),
        ("ood_examples".into(), Some(ood_examples as f64)),
        (
            "final_test_error".into(),
            last.map(|r| 1.0 - r.test_accuracy),
        ),
    ];
    for (i, name) in EXTRA.iter().enumerate() {
        let key = if i < 2 {
            format!("final_{name}")
        } else {
            name.to_string()
        };
        extra.push((key, last.and_then(|r| finite(r.extra[i]))));
    }
    let updated = task.weights().steps.iter().filter(|&&n| n > 0).count();
    extra.push(("weights_updated".into(), Some(updated as f64)));
    Ok(KindResult { outcome, extra })
}
