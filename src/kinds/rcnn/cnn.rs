//! The CNN stages: supervised pre-training on whole digits (the paper's ImageNet stage),
//! fine-tuning on warped proposals as N+1 classes, and batched feature extraction in
//! inference mode. Both training stages run in the shared loop (checkpoints, metrics.csv,
//! resume) inside their cache directory, so variants with the same settings share them.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::cache::Stage;
use crate::config::{DataSpec, ExperimentSpec};
use crate::data::Split;
use crate::data::augment::{Augment, resize_split};
use crate::detection::warp::warp_into;
use crate::detection::{BBox, Canvas};
use crate::kinds::Context;
use crate::models::rcnn_net::{Layer, RcnnArch, RcnnNet};
use crate::train::batches::BatchOrder;
use crate::train::classify::{
    chunks, count_correct, cross_entropy, evaluate_batches, gather_augmented,
};
use crate::train::{Evaluation, Outcome, Status, Task, metrics};
use crate::util::rng::mix;

/// Regions per inference batch.
pub(super) const CHUNK: usize = 256;
/// Stream of the pre-training augmentation RNG (distinct from the loop's step streams).
const AUGMENT_STREAM: u64 = 0x5243_4e4e_0000_0000;
/// Stream of the fine-tuning negatives' order.
const NEGATIVE_STREAM: u64 = 0x5243_4e4e_0000_0001;
const MODEL: &str = "model.bpk";

/// A region to warp: canvas index, box, and its class label (background = the last class).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub canvas: usize,
    pub bbox: BBox,
    pub label: usize,
}

/// What a finished training stage recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StageRecord {
    steps_run: u64,
    train_seconds: f64,
    params: usize,
}

/// A trained network (in inference form), the loop's outcome, and the stage's digest.
pub struct Trained {
    pub net: RcnnNet,
    /// Where the weights are saved.
    pub path: PathBuf,
    pub outcome: Outcome,
    pub digest: String,
}

/// Trains `task` in `stage` unless it is complete, then returns its final network.
fn train_stage<T: Task<Model = RcnnNet> + Keeps>(
    spec: &ExperimentSpec,
    ctx: &mut Context,
    stage: Stage,
    arch: &RcnnArch,
    task: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<Trained> {
    let path = stage.dir.join(MODEL);
    if let Some(rec) = stage.done::<StageRecord>()? {
        let net = RcnnNet::new(arch, &ctx.device.clone().inner())
            .try_load_file(&path)
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", path.display()))?;
        let history = metrics::read(&stage.dir.join("metrics.csv"))?;
        // Progress shows the reused stage's last loss and accuracy, not an empty run.
        if let Some(last) = history.last() {
            ctx.observer.begin(spec.train.steps, last.step);
            ctx.observer.step(last.step, last.train_loss);
            ctx.observer.evaluated(last);
        }
        return Ok(Trained {
            net,
            path,
            outcome: Outcome {
                status: Status::Done,
                history,
                steps_run: rec.steps_run,
                train_seconds: rec.train_seconds,
                params: rec.params,
            },
            digest: stage.digest,
        });
    }
    let mut task = task()?;
    let outcome = ctx.train_in(&stage.dir, spec, &mut task)?;
    if let Status::Diverged { step } = outcome.status {
        anyhow::bail!(
            "training in {} diverged at step {step}; lower the learning rate",
            stage.dir.display()
        );
    }
    let net = task
        .take()
        .ok_or_else(|| anyhow::anyhow!("the loop ended without evaluating the model"))?;
    let tmp = stage.dir.join("model.tmp.bpk");
    net.clone()
        .save_file(&tmp)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path)?;
    stage.finish(&StageRecord {
        steps_run: outcome.steps_run,
        train_seconds: outcome.train_seconds,
        params: outcome.params,
    })?;
    Ok(Trained {
        net,
        path,
        outcome,
        digest: stage.digest,
    })
}

/// A task that keeps the last model it evaluated (the loop always evaluates after its last
/// step), so the stage can save it.
trait Keeps {
    fn take(&mut self) -> Option<RcnnNet>;
}

/// Supervised pre-training: whole images of the classification dataset `data` (the canvases'
/// or `rcnn.pretrain_dataset`), resized to the warp size and shifted by up to `shift` pixels,
/// N-way.
pub fn pretrain(
    spec: &ExperimentSpec,
    ctx: &mut Context,
    run_dir: &Path,
    arch: &RcnnArch,
    data: &DataSpec,
    shift: usize,
) -> anyhow::Result<Trained> {
    let key = format!(
        "pretrain v1 {:?} {:?} {:?} shift={shift} seed={} eval={}",
        data, spec.train, arch, spec.seed, spec.eval.every
    );
    let stage = Stage::new(run_dir, "pretrain", &key)?;
    let data = ctx.dataset(data)?;
    let eval_device = ctx.device.clone().inner();
    train_stage(spec, ctx, stage, arch, || {
        let train = resize_split(&data.train, arch.input);
        Ok(PretrainTask {
            order: BatchOrder::new(train.n, spec.train.batch_size, spec.seed),
            train,
            test: resize_split(&data.test, arch.input),
            seed: spec.seed,
            shift,
            arch: arch.clone(),
            eval_device,
            last: None,
        })
    })
}

struct PretrainTask {
    arch: RcnnArch,
    order: BatchOrder,
    train: Split,
    test: Split,
    seed: u64,
    shift: usize,
    eval_device: Device,
    last: Option<RcnnNet>,
}

impl Keeps for PretrainTask {
    fn take(&mut self) -> Option<RcnnNet> {
        self.last.take()
    }
}

impl Task for PretrainTask {
    type Model = RcnnNet;

    fn extra_metrics(&self) -> Vec<String> {
        Vec::new()
    }

    fn init(&self, device: &Device) -> RcnnNet {
        RcnnNet::new(&self.arch, device)
    }

    fn train_step(
        &mut self,
        model: &RcnnNet,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let idx = self.order.batch(step);
        let mut rng = Pcg64::seed_from_u64(mix(self.seed ^ AUGMENT_STREAM, step));
        let augment = Augment {
            max_shift: self.shift,
            flip: false,
        };
        let (x, y) = gather_augmented(&self.train, &idx, augment, &mut rng, device);
        let logits = model.forward(x);
        let correct = count_correct(logits.clone(), y.clone());
        (cross_entropy(logits, y).mean(), correct, idx.len())
    }

    fn evaluate(&mut self, model: &RcnnNet) -> Evaluation {
        self.last = Some(model.clone());
        evaluate_batches(chunks(&self.test, CHUNK, &self.eval_device), |x| {
            model.forward(x)
        })
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.order.epochs(steps)
    }
}

/// Fine-tuning settings beyond the loop's.
pub struct Finetune<'a> {
    pub train_canvases: &'a [Canvas],
    pub test_canvases: &'a [Canvas],
    /// Labelled training regions: positives (label < classes) and background.
    pub train_regions: Vec<Region>,
    /// Labelled test regions for the loop's evaluation.
    pub test_regions: Vec<Region>,
    /// N + 1.
    pub classes: usize,
    pub warp: usize,
    pub padding: usize,
    pub positives_per_batch: usize,
    /// Everything else the regions depend on (canvas and proposal digests, IoU threshold).
    pub key: String,
}

/// R-CNN's fine-tuning: the pre-trained network with a fresh N+1-way classifier, trained by
/// SGD on warped regions, each batch `positives_per_batch` positives and the rest background.
pub fn finetune(
    spec: &ExperimentSpec,
    ctx: &mut Context,
    run_dir: &Path,
    arch: &RcnnArch,
    pretrained: &Trained,
    ft: Finetune,
) -> anyhow::Result<Trained> {
    let key = format!(
        "finetune v1 pretrained={} {} {:?} seed={} eval={} warp={} pad={} pos={}",
        pretrained.digest,
        ft.key,
        spec.train,
        spec.seed,
        spec.eval.every,
        ft.warp,
        ft.padding,
        ft.positives_per_batch
    );
    let stage = Stage::new(run_dir, "finetune", &key)?;
    let ft_arch = RcnnArch {
        classes: ft.classes,
        ..arch.clone()
    };
    let device = ctx.device.clone();
    let eval_device = device.clone().inner();
    let start = pretrained.path.clone();
    train_stage(spec, ctx, stage, &ft_arch, move || {
        let background = ft.classes - 1;
        let (positives, negatives): (Vec<usize>, Vec<usize>) =
            (0..ft.train_regions.len()).partition(|&i| ft.train_regions[i].label < background);
        if positives.is_empty() || negatives.is_empty() {
            anyhow::bail!(
                "fine-tuning needs positive and background regions; got {} and {}",
                positives.len(),
                negatives.len()
            );
        }
        let batch = spec.train.batch_size;
        let pos = ft.positives_per_batch.clamp(1, batch - 1);
        // The pre-trained weights, loaded onto the training device.
        let start = RcnnNet::new(arch, &device)
            .try_load_file(&start)
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", start.display()))?;
        Ok(FinetuneTask {
            start,
            classes: ft.classes,
            pos_order: BatchOrder::new(positives.len(), pos, spec.seed),
            neg_order: BatchOrder::new(negatives.len(), batch - pos, spec.seed ^ NEGATIVE_STREAM),
            positives,
            negatives,
            train_canvases: ft.train_canvases,
            test_canvases: ft.test_canvases,
            train_regions: ft.train_regions,
            test_regions: ft.test_regions,
            warp: ft.warp,
            padding: ft.padding,
            eval_device,
            last: None,
        })
    })
}

struct FinetuneTask<'a> {
    start: RcnnNet,
    classes: usize,
    positives: Vec<usize>,
    negatives: Vec<usize>,
    pos_order: BatchOrder,
    neg_order: BatchOrder,
    train_canvases: &'a [Canvas],
    test_canvases: &'a [Canvas],
    train_regions: Vec<Region>,
    test_regions: Vec<Region>,
    warp: usize,
    padding: usize,
    eval_device: Device,
    last: Option<RcnnNet>,
}

impl Keeps for FinetuneTask<'_> {
    fn take(&mut self) -> Option<RcnnNet> {
        self.last.take()
    }
}

impl Task for FinetuneTask<'_> {
    type Model = RcnnNet;

    fn extra_metrics(&self) -> Vec<String> {
        Vec::new()
    }

    fn init(&self, device: &Device) -> RcnnNet {
        self.start.clone().with_classifier(self.classes, device)
    }

    fn train_step(
        &mut self,
        model: &RcnnNet,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let regions: Vec<Region> = self
            .pos_order
            .batch(step)
            .into_iter()
            .map(|i| self.train_regions[self.positives[i]])
            .chain(
                self.neg_order
                    .batch(step)
                    .into_iter()
                    .map(|i| self.train_regions[self.negatives[i]]),
            )
            .collect();
        let (x, y) = warped(
            self.train_canvases,
            &regions,
            self.warp,
            self.padding,
            device,
        );
        let logits = model.forward(x);
        let correct = count_correct(logits.clone(), y.clone());
        (cross_entropy(logits, y).mean(), correct, regions.len())
    }

    fn evaluate(&mut self, model: &RcnnNet) -> Evaluation {
        self.last = Some(model.clone());
        let batches = self.test_regions.chunks(CHUNK).map(|chunk| {
            warped(
                self.test_canvases,
                chunk,
                self.warp,
                self.padding,
                &self.eval_device,
            )
        });
        evaluate_batches(batches, |x| model.forward(x))
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.neg_order.epochs(steps)
    }
}

/// The warps of `regions` as `[n, 1, warp, warp]` and their labels.
fn warped(
    canvases: &[Canvas],
    regions: &[Region],
    warp: usize,
    padding: usize,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let len = warp * warp;
    let mut pixels = vec![0.0f32; regions.len() * len];
    for (out, r) in pixels.chunks_exact_mut(len).zip(regions) {
        warp_into(&canvases[r.canvas], &r.bbox, warp, padding, out);
    }
    let labels: Vec<i64> = regions.iter().map(|r| r.label as i64).collect();
    (
        Tensor::from_data(
            TensorData::new(pixels, [regions.len(), 1, warp, warp]),
            device,
        ),
        Tensor::from_data(TensorData::new(labels, [regions.len()]), device),
    )
}

/// Features of `regions` at each of `layers`: one row-major `[regions, dim]` matrix per layer.
pub fn extract(
    net: &RcnnNet,
    canvases: &[Canvas],
    regions: &[(usize, BBox)],
    layers: &[Layer],
    warp: usize,
    padding: usize,
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); layers.len()];
    let len = warp * warp;
    for chunk in regions.chunks(CHUNK) {
        let mut pixels = vec![0.0f32; chunk.len() * len];
        for (dst, (c, b)) in pixels.chunks_exact_mut(len).zip(chunk) {
            warp_into(&canvases[*c], b, warp, padding, dst);
        }
        let x = Tensor::from_data(
            TensorData::new(pixels, [chunk.len(), 1, warp, warp]),
            device,
        );
        let f = net.features(x);
        for (o, l) in out.iter_mut().zip(layers) {
            let values = f
                .layer(*l)
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading features: {e}"))?;
            o.extend(values);
        }
    }
    Ok(out)
}

/// Unscaled features of the training and test regions at every layer (indexed as
/// [`Layer::ALL`]).
pub struct Extracted {
    pub train: Vec<Vec<f32>>,
    pub test: Vec<Vec<f32>>,
}

/// The most recent extraction and what determined it. Table 2's variants come in groups that
/// share one network (three without fine-tuning, four with), so keeping one extraction in
/// memory saves all but one forward pass over the regions per group; it is a pure function of
/// `key`, so a resumed run (empty memory) recomputes the same values.
static LAST_EXTRACTION: std::sync::Mutex<Option<(String, std::sync::Arc<Extracted>)>> =
    std::sync::Mutex::new(None);

/// The features for `key`, computed by `compute` unless the last call had the same key.
pub fn extracted(
    key: &str,
    compute: impl FnOnce() -> anyhow::Result<Extracted>,
) -> anyhow::Result<std::sync::Arc<Extracted>> {
    let mut last = LAST_EXTRACTION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((k, features)) = last.as_ref()
        && k == key
    {
        return Ok(features.clone());
    }
    // Free the previous extraction before computing the next.
    *last = None;
    let features = std::sync::Arc::new(compute()?);
    *last = Some((key.to_string(), features.clone()));
    Ok(features)
}
