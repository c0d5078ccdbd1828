//! MobileNetV2 (Sandler et al. 2018): train a (width-multiplied) network of the paper's
//! Table 2 on an image dataset, with the Figure 6 ablation switches, or only count its
//! parameters and multiply-adds (Table 4).

use burn::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;

pub mod config;

use self::config::{BottleneckActivation, MobilenetSpec, Residual, dataset_channels};
use super::{Context, KindDef, KindResult, no_extra_datasets};
use crate::config::{ExperimentSpec, KindSchema, LoadedSpec, SectionDef, Uses, did_you_mean};
use crate::data::Split;
use crate::data::augment::{Augment, resize_split};
use crate::models::mobilenet_v2::{Arch, MobileNetV2};
use crate::train::batches::BatchOrder;
use crate::train::classify::{
    chunks, count_correct, cross_entropy, evaluate_batches, gather_augmented,
};
use crate::train::saved_model::{ModelConfig, Net};
use crate::train::{Evaluation, Outcome, Status, Task};
use crate::util::rng::mix;
use crate::util::table::{Align, markdown_table};
use crate::{bail_user, user_error};

/// Test images per inference batch.
const EVAL_CHUNK: usize = 250;
/// Stream of the augmentation RNG, distinct from the loop's streams (which are steps).
const AUGMENT_STREAM: u64 = 0xA5A5_0000_0000_0000;

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "mobilenet_v2",
        section: Some(SectionDef::of::<MobilenetSpec>("mobilenet")),
        uses: Uses::NONE,
        check: config::check,
        memory,
    },
    paper: "Sandler et al. 2018, MobileNetV2",
    run,
    columns: &[],
    inspect: Some(inspect),
    extra_datasets: no_extra_datasets,
};

/// The `[mobilenet]` section of a `mobilenet_v2` spec (filled in by loading).
pub fn settings(spec: &ExperimentSpec) -> anyhow::Result<MobilenetSpec> {
    spec.section()
}

/// The network a spec describes; input channels and classes default to the dataset's (read
/// from the registry, so no data is loaded).
pub fn arch(spec: &ExperimentSpec) -> anyhow::Result<Arch> {
    let m = &settings(spec)?;
    let (mut channels, mut classes) = (m.in_channels, m.classes);
    if channels == 0 || classes == 0 {
        let ds = crate::data::registry::spec(&spec.data.dataset)
            .map_err(|e| user_error!("data.dataset: {e}"))?;
        if channels == 0 {
            channels = dataset_channels(ds);
        }
        if classes == 0 {
            classes = ds.num_classes;
        }
    }
    Ok(Arch::new(&m.net(), channels, classes))
}

/// Parameters and every conv's output at the batch size; nothing for `count_only`.
fn memory(spec: &ExperimentSpec) -> Option<crate::config::memory::Estimate> {
    let m = settings(spec).ok()?;
    if m.count_only {
        return None;
    }
    let arch = arch(spec).ok()?;
    let outputs: f64 = std::iter::once(&arch.stem)
        .chain(arch.blocks.iter().flat_map(|b| b.convs()))
        .chain(std::iter::once(&arch.head))
        .map(|c| (c.out_channels * c.out_size * c.out_size) as f64)
        .sum();
    let mut est = crate::config::memory::estimate(
        spec,
        arch.params() as f64,
        outputs * spec.train.batch_size as f64,
        "mobilenet.width_multiplier",
    );
    if est.key == "train.batch_size"
        && m.resolution > crate::models::mobilenet_v2::NetConfig::default().resolution
    {
        est.key = "mobilenet.resolution";
    }
    Some(est)
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let m = &settings(spec)?;
    let arch = arch(spec)?;
    let mut extra = vec![("madds".to_string(), Some(arch.madds() as f64))];
    if m.count_only {
        return Ok(KindResult {
            outcome: Outcome {
                status: Status::Done,
                history: Vec::new(),
                steps_run: 0,
                train_seconds: 0.0,
                params: arch.params(),
            },
            extra,
        });
    }
    let data = ctx.dataset(&spec.data)?;
    let (train, test) = (
        resize_split(&data.train, m.resolution),
        resize_split(&data.test, m.resolution),
    );
    let t = &data.test;
    let saved = ModelConfig::new(
        spec,
        Net::MobilenetV2 { mobilenet: m.net() },
        [t.channels, t.height, t.width],
        arch.classes,
        Some(m.resolution),
        EVAL_CHUNK,
    );
    let mut task = MobileNetTask {
        saved,
        order: BatchOrder::new(train.n, spec.train.batch_size, spec.seed),
        seed: spec.seed,
        augment: Augment {
            max_shift: m.random_shift,
            flip: m.random_flip,
        },
        arch,
        train,
        test,
        eval_device: ctx.device.clone().inner(),
    };
    let outcome = ctx.train(spec, &mut task)?;
    let per_sec =
        outcome.steps_run as f64 * spec.train.batch_size as f64 / outcome.train_seconds.max(1e-9);
    extra.push(("images_per_sec".to_string(), Some(per_sec.round())));
    Ok(KindResult { outcome, extra })
}

struct MobileNetTask {
    saved: ModelConfig,
    arch: Arch,
    order: BatchOrder,
    seed: u64,
    augment: Augment,
    train: Split,
    test: Split,
    eval_device: Device,
}

impl Task for MobileNetTask {
    type Model = MobileNetV2;

    fn extra_metrics(&self) -> Vec<String> {
        Vec::new()
    }

    fn init(&self, device: &Device) -> MobileNetV2 {
        MobileNetV2::new(&self.arch, device)
    }

    fn train_step(
        &mut self,
        model: &MobileNetV2,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let idx = self.order.batch(step);
        let mut rng = Pcg64::seed_from_u64(mix(self.seed ^ AUGMENT_STREAM, step));
        let (x, y) = gather_augmented(&self.train, &idx, self.augment, &mut rng, device);
        let logits = model.forward(x);
        let correct = count_correct(logits.clone(), y.clone());
        (cross_entropy(logits, y).mean(), correct, idx.len())
    }

    fn evaluate(&mut self, model: &MobileNetV2) -> Evaluation {
        evaluate_batches(chunks(&self.test, EVAL_CHUNK, &self.eval_device), |x| {
            model.forward(x)
        })
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.order.epochs(steps)
    }

    fn saved_model(&self) -> Option<ModelConfig> {
        Some(self.saved.clone())
    }
}

/// The layer tables of the `selected` variants (every variant of a one-variant spec when none
/// is named) and a table of every variant's parameters and multiply-adds beside the paper's.
pub fn inspect(loaded: &LoadedSpec, selected: &[String]) -> anyhow::Result<String> {
    let names: Vec<&str> = loaded.variants.iter().map(|v| v.name.as_str()).collect();
    for s in selected {
        if !names.contains(&s.as_str()) {
            bail_user!(
                "--variant {s}: no variant `{s}`{}; variants: {}",
                did_you_mean(s, names.iter().copied()),
                names.join(", ")
            );
        }
    }
    let mut out = String::new();
    let mut summary = Vec::new();
    for v in &loaded.variants {
        let arch = arch(&v.spec)?;
        let show = if selected.is_empty() {
            loaded.variants.len() == 1
        } else {
            selected.contains(&v.name)
        };
        if show {
            out += &format!(
                "{}: MobileNetV2, width {:?}, {}x{}x{} input, {} classes, {} bottleneck, residual: {}\n\n{}\n",
                v.name,
                arch.width_multiplier,
                arch.resolution,
                arch.resolution,
                arch.in_channels,
                arch.classes,
                match arch.bottleneck_activation {
                    BottleneckActivation::Linear => "linear",
                    BottleneckActivation::Relu6 => "ReLU6",
                },
                match arch.residual {
                    Residual::Bottleneck => "between bottlenecks",
                    Residual::Expansion => "between expansions",
                    Residual::None => "none",
                },
                arch.layer_table()
            );
        }
        let mut row: Vec<(String, String)> = vec![
            ("variant".into(), v.name.clone()),
            ("width".into(), format!("{:?}", arch.width_multiplier)),
            ("resolution".into(), arch.resolution.to_string()),
            ("params".into(), arch.params().to_string()),
            (
                "params_M".into(),
                format!("{:.2}", arch.params() as f64 / 1e6),
            ),
            ("madds".into(), arch.madds().to_string()),
            (
                "madds_M".into(),
                format!("{:.1}", arch.madds() as f64 / 1e6),
            ),
        ];
        for (k, val) in &v.paper {
            let text = match val {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            row.push((format!("paper_{k}"), text));
        }
        summary.push(row);
    }
    // Every column any variant has, in order of first appearance.
    let mut header: Vec<String> = Vec::new();
    for (k, _) in summary.iter().flatten() {
        if !header.contains(k) {
            header.push(k.clone());
        }
    }
    let cells: Vec<Vec<String>> = summary
        .iter()
        .map(|row| {
            header
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    out += &markdown_table(&header, &cells, Align::Right);
    Ok(out)
}
