//! Trained models kept for use after the run, outside the rotating resume checkpoints: per
//! variant `model/final/` (after the last step) and `model/best/` (at the evaluation where
//! `train.monitor` was best), each with the model's record, the architecture it rebuilds from
//! and how its test images were made (`architecture.json`), the step and monitored value
//! (`saved.json`) and the SHA-256 of each (`files.json`, written last).
//!
//! A folder is written under `model/.tmp-NAME`, synced, and renamed into place, so a kill
//! leaves the old version, the new one, or (between removing the old and renaming) none; a
//! resume then replays the steps after its checkpoint and saves the same model again, because
//! `best` is saved before the checkpoint of the same step and training is deterministic. Only
//! the names this module spells (`final`, `best`, `.tmp-final`, `.tmp-best`) are written or
//! deleted.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, MODEL, SEAL, check_hashes, file_hashes, save_record};
use super::classify::{chunks, cross_entropy};
use super::metrics::{EvalRow, STANDARD_COLUMNS};
use crate::config::{ExperimentSpec, ImageCorruption, MonitorMode, TrainSpec};
use crate::data::augment::resize_split;
use crate::data::corrupt::{self, CorruptionSpec};
use crate::data::{Dataset, Split};
use crate::models::classifier::{Arch, Classifier, ClassifierConfig};
use crate::models::mlp::{Mlp, MlpConfig};
use crate::models::mobilenet_v2::{Arch as MobileNetArch, MobileNetV2, NetConfig};
use crate::util::fs::join_inside;
use crate::{bail_user, user_error};

pub const FINAL: &str = "final";
pub const BEST: &str = "best";
pub const ARCHITECTURE: &str = "architecture.json";
const SAVED: &str = "saved.json";
const FOLDER: &str = "model";
const TMP: &str = ".tmp-";
/// Of `architecture.json`; a reader refuses any other.
const FORMAT: u32 = 1;

/// The network, as the models' own config types describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "net", rename_all = "snake_case", deny_unknown_fields)]
pub enum Net {
    /// The fully connected net (`bn_ablation`, `ssl_reweight`), on flattened images.
    Mlp {
        mlp: MlpConfig,
    },
    /// `random_labels`' classifiers (`model.arch`).
    Classifier {
        classifier: ClassifierConfig,
    },
    MobilenetV2 {
        mobilenet: NetConfig,
    },
}

/// How the test images the run evaluated were made from a dataset, so that `runner eval` makes
/// them again (or, with other values, from another dataset or corruption).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestData {
    pub dataset: String,
    /// `data.train_limit`: Gaussian images take the training images' statistics.
    pub train_limit: usize,
    pub test_limit: usize,
    /// `corruption.images`, applied to the test images as the run did.
    pub images: ImageCorruption,
    /// `data.whiten`, after the corruption.
    pub whiten: bool,
    /// The run's seed (the corruptions are drawn from it).
    pub seed: u64,
    /// The side the images are resized to (MobileNetV2's `mobilenet.resolution`), last.
    pub resize: Option<usize>,
    /// Images per inference batch, as the run evaluated them (the loss's last bits depend on it).
    pub batch: usize,
}

/// `architecture.json`: what rebuilds the model and feeds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub format: u32,
    pub kind: String,
    pub net: Net,
    /// `[channels, height, width]` of the dataset's images.
    pub input: [usize; 3],
    pub classes: usize,
    pub test: TestData,
}

impl ModelConfig {
    /// The model of a variant of `spec` on images of `input` shape with `classes` classes,
    /// evaluated in batches of `batch` images, after resizing to `resize` if given.
    pub fn new(
        spec: &ExperimentSpec,
        net: Net,
        input: [usize; 3],
        classes: usize,
        resize: Option<usize>,
        batch: usize,
    ) -> Self {
        Self {
            format: FORMAT,
            kind: spec.kind.clone(),
            net,
            input,
            classes,
            test: TestData {
                dataset: spec.data.dataset.clone(),
                train_limit: spec.data.train_limit,
                test_limit: spec.data.test_limit,
                images: spec.corruption.images,
                whiten: spec.data.whiten,
                seed: spec.seed,
                resize,
                batch,
            },
        }
    }

    /// Parameters the network holds, where known without building it (a bound checked against
    /// the record's size before anything is allocated).
    fn params(&self) -> Option<usize> {
        let [c, h, w] = self.input;
        match &self.net {
            Net::Mlp { mlp } => {
                let mut widths = vec![c.checked_mul(h)?.checked_mul(w)?];
                widths.extend(&mlp.hidden);
                widths.push(self.classes);
                widths.windows(2).try_fold(0usize, |n, p| {
                    n.checked_add(p[0].checked_mul(p[1])?.checked_add(p[1])?)
                })
            }
            Net::MobilenetV2 { mobilenet } => {
                // Bounded before the plan is built: it loops over every repeat of every row.
                let sane = mobilenet.resolution <= 1024
                    && mobilenet.rows.len() <= 64
                    && mobilenet.rows.iter().all(|r| r.iter().all(|&v| v <= 4096));
                sane.then(|| MobileNetArch::new(mobilenet, c, self.classes).params())
            }
            Net::Classifier { classifier } => match classifier.arch {
                Arch::Mlp => Self {
                    net: Net::Mlp {
                        mlp: classifier.mlp.clone(),
                    },
                    ..self.clone()
                }
                .params(),
                // Fixed layer shapes scaled by `width` (bounded in `check`).
                Arch::AlexnetSmall | Arch::InceptionSmall => None,
            },
        }
    }

    /// Refuses a config that could not have been written by a run: another format, an input
    /// or class count that is not its dataset's, a network larger than its record.
    fn check(&self, path: &Path, record_bytes: u64) -> anyhow::Result<()> {
        let bad = |why: String| user_error!("{}: {why}", path.display());
        if self.format != FORMAT {
            return Err(bad(format!(
                "format {} (this runner reads format {FORMAT})",
                self.format
            )));
        }
        let (shape, classes) = dataset_shape(&self.test.dataset).map_err(bad)?;
        if shape != self.input || self.classes < classes {
            return Err(bad(format!(
                "its input {} with {} classes does not fit its dataset {}",
                shape_text(self.input),
                self.classes,
                self.test.dataset
            )));
        }
        let wide = |x: f64| !(x.is_finite() && x > 0.0 && x <= 16.0);
        let too_large = match (&self.net, self.params()) {
            (Net::Classifier { classifier }, None) => wide(classifier.width),
            (Net::MobilenetV2 { mobilenet }, _) if wide(mobilenet.width_multiplier) => true,
            (_, Some(n)) => (n as u64).saturating_mul(4) > record_bytes,
            (_, None) => true,
        };
        if too_large || self.test.batch == 0 || self.test.resize.is_some_and(|r| r == 0 || r > 1024)
        {
            return Err(bad(format!(
                "its network or batch is not one its {MODEL} ({record_bytes} bytes) can hold"
            )));
        }
        Ok(())
    }

    /// A freshly initialized network of this architecture, for a record to be loaded into.
    fn build(&self, device: &Device) -> SavedNet {
        let [c, h, w] = self.input;
        match &self.net {
            Net::Mlp { mlp } => SavedNet::Mlp(Mlp::new(mlp, c * h * w, self.classes, device)),
            Net::Classifier { classifier } => SavedNet::Classifier(Classifier::new(
                classifier,
                self.input,
                self.classes,
                device,
            )),
            Net::MobilenetV2 { mobilenet } => SavedNet::MobileNetV2(MobileNetV2::new(
                &MobileNetArch::new(mobilenet, c, self.classes),
                device,
            )),
        }
    }
}

/// `[channels, height, width]` and class count of a registered dataset, without reading it.
pub fn dataset_shape(name: &str) -> Result<([usize; 3], usize), String> {
    let ds = crate::data::registry::spec(name).map_err(|e| format!("{e:#}"))?;
    let [h, w, c] = crate::config::memory::image_shape(name).expect("a registered dataset");
    Ok(([c, h, w], ds.num_classes))
}

pub fn shape_text([c, h, w]: [usize; 3]) -> String {
    format!("{c}x{h}x{w}")
}

/// `saved.json`: which model this is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// `final` or `best`.
    pub name: String,
    /// Steps trained.
    pub step: u64,
    pub monitor: String,
    pub mode: MonitorMode,
    /// The monitored metric at `step` (`null` where it was not finite or not evaluated).
    pub value: Option<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Seal {
    files: BTreeMap<String, String>,
}

/// What the loop keeps: `best` at each evaluation that improves on the best so far, `final`
/// when training ends. Inert for a task that has no model to save.
pub struct Saver {
    config: Option<ModelConfig>,
    dir: PathBuf,
    monitor: String,
    mode: MonitorMode,
    /// The monitored metric's column among `STANDARD_COLUMNS` then the kind's extra ones.
    column: usize,
    /// `(step, value)` of the best evaluation so far.
    best: Option<(u64, f64)>,
    /// The monitored value of the last evaluation.
    last: Option<f64>,
}

impl Saver {
    /// `history`: the evaluations already in metrics.csv (those a resume kept), which set the
    /// best so far exactly as the uninterrupted run had it at that step.
    pub fn new(
        config: Option<ModelConfig>,
        variant_dir: &Path,
        train: &TrainSpec,
        extra: &[String],
        history: &[EvalRow],
    ) -> anyhow::Result<Self> {
        let columns: Vec<&str> = STANDARD_COLUMNS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .collect();
        let Some(column) = columns.iter().position(|c| *c == train.monitor) else {
            bail_user!(
                "train.monitor: `{}` is not a metrics.csv column of this kind{}; columns: {}",
                train.monitor,
                crate::config::did_you_mean(&train.monitor, columns.iter().copied()),
                columns.join(", ")
            );
        };
        let mut saver = Self {
            config,
            dir: variant_dir.to_path_buf(),
            monitor: train.monitor.clone(),
            mode: train.monitor_mode,
            column,
            best: None,
            last: None,
        };
        for row in history {
            saver.track(row);
        }
        Ok(saver)
    }

    fn value(&self, row: &EvalRow) -> f64 {
        match self.column {
            0 => row.step as f64,
            1 => row.epoch,
            2 => row.lr,
            3 => row.train_loss,
            4 => row.train_accuracy,
            5 => row.test_loss,
            6 => row.test_accuracy,
            i => row.extra[i - STANDARD_COLUMNS.len()],
        }
    }

    /// Takes `row` into the best and last values; whether it is a new best. Ties keep the
    /// earlier step, as the summary's `best_step` does.
    fn track(&mut self, row: &EvalRow) -> bool {
        let v = self.value(row);
        self.last = v.is_finite().then_some(v);
        let better = v.is_finite()
            && self.best.is_none_or(|(_, b)| match self.mode {
                MonitorMode::Max => v > b,
                MonitorMode::Min => v < b,
            });
        if better {
            self.best = Some((row.step, v));
        }
        better
    }

    /// After evaluation `row` of `model` (before that step's checkpoint): saves `best` if it
    /// improved.
    pub fn evaluated<M: Module>(&mut self, row: &EvalRow, model: &M) -> anyhow::Result<()> {
        if self.track(row) && self.config.is_some() {
            self.save(BEST, row.step, Some(row_value(self.best)), model)?;
        }
        Ok(())
    }

    /// Training ended after `step` steps (not diverged): saves `final`.
    pub fn finished<M: Module>(&self, step: u64, model: &M) -> anyhow::Result<()> {
        if self.config.is_some() {
            self.save(FINAL, step, self.last, model)?;
        }
        Ok(())
    }

    /// Writes `architecture.json` into a checkpoint being written, so `runner eval
    /// --checkpoint STEP` can rebuild its model too.
    pub fn describe(&self, dir: &Path) -> anyhow::Result<()> {
        match &self.config {
            Some(config) => {
                write_synced(&dir.join(ARCHITECTURE), &serde_json::to_vec_pretty(config)?)
            }
            None => Ok(()),
        }
    }

    fn save<M: Module>(
        &self,
        name: &str,
        step: u64,
        value: Option<f64>,
        model: &M,
    ) -> anyhow::Result<()> {
        let root = checkpoint::real_folder(&self.dir, FOLDER, "saved models")?;
        crate::util::fs::create_dir_all(&root)?;
        let tmp = join_inside(&root, &[&format!("{TMP}{name}")])?;
        let removing = |p: &Path| format!("removing {}", p.display());
        if fs::symlink_metadata(&tmp).is_ok() {
            fs::remove_dir_all(&tmp).with_context(|| removing(&tmp))?;
        }
        fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let record = tmp.join(MODEL);
        save_record(model, &record)?;
        sync(&record)?;
        self.describe(&tmp)?;
        let saved = Saved {
            name: name.to_string(),
            step,
            monitor: self.monitor.clone(),
            mode: self.mode,
            value,
        };
        write_synced(&tmp.join(SAVED), &serde_json::to_vec_pretty(&saved)?)?;
        let seal = Seal {
            files: file_hashes(&tmp)?,
        };
        write_synced(&tmp.join(SEAL), &serde_json::to_vec_pretty(&seal)?)?;
        sync(&tmp)?;
        let done = join_inside(&root, &[name])?;
        if fs::symlink_metadata(&done).is_ok() {
            fs::remove_dir_all(&done).with_context(|| removing(&done))?;
        }
        fs::rename(&tmp, &done).with_context(|| format!("publishing {}", done.display()))?;
        sync(&root)
    }
}

fn row_value(best: Option<(u64, f64)>) -> f64 {
    best.map(|(_, v)| v).unwrap_or(f64::NAN)
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    sync(path)
}

/// Flushes a file or directory to disk (a directory: the names in it).
fn sync(path: &Path) -> anyhow::Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", path.display()))
}

/// Which model of a variant to read.
#[derive(Clone, Debug, PartialEq)]
pub enum Which {
    Final,
    Best,
    /// The rotating checkpoint of this step.
    Step(u64),
}

impl std::str::FromStr for Which {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            FINAL => Ok(Which::Final),
            BEST => Ok(Which::Best),
            _ => match s.parse::<u64>() {
                Ok(step) if step > 0 => Ok(Which::Step(step)),
                _ => bail_user!(
                    "--checkpoint {}: expected final, best or the step of a kept checkpoint",
                    s.escape_debug()
                ),
            },
        }
    }
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Which::Final => f.write_str(FINAL),
            Which::Best => f.write_str(BEST),
            Which::Step(s) => write!(f, "step-{s}"),
        }
    }
}

/// A saved model of a variant, its files checked against their SHA-256s.
pub struct SavedModel {
    /// The folder it was read from.
    pub dir: PathBuf,
    pub config: ModelConfig,
    /// Steps trained.
    pub step: u64,
    /// `saved.json` (a rotating checkpoint has none).
    pub saved: Option<Saved>,
}

impl SavedModel {
    /// The model `which` of the variant in `variant_dir`.
    pub fn open(variant_dir: &Path, which: &Which) -> anyhow::Result<Self> {
        let (dir, saved) = match which {
            Which::Step(step) => (
                checkpoint::sealed_at(variant_dir, *step, &[ARCHITECTURE])?,
                None,
            ),
            Which::Final | Which::Best => {
                let name = which.to_string();
                let root = checkpoint::real_folder(variant_dir, FOLDER, "saved models")?;
                let dir = join_inside(&root, &[&name])?;
                if !dir.is_dir() {
                    bail_user!(
                        "{} does not exist: {}",
                        dir.display(),
                        match which {
                            Which::Final =>
                                "the variant has not finished training (or diverged), \
                                             or its kind saves no model",
                            _ =>
                                "the variant has not been evaluated yet, or its kind saves no model",
                        }
                    );
                }
                let seal: Seal = read_json(&dir.join(SEAL))?;
                for required in [MODEL, ARCHITECTURE, SAVED] {
                    if !seal.files.contains_key(required) {
                        bail_user!("{}: does not list {required}", dir.join(SEAL).display());
                    }
                }
                check_hashes(&dir, &seal.files)
                    .map_err(|why| user_error!("{}: {why}", dir.display()))?;
                let saved: Saved = read_json(&dir.join(SAVED))?;
                (dir, Some(saved))
            }
        };
        let step = match (&saved, which) {
            (Some(s), _) => s.step,
            (None, Which::Step(s)) => *s,
            (None, _) => unreachable!("final and best have saved.json"),
        };
        let config_path = dir.join(ARCHITECTURE);
        let config: ModelConfig = read_json(&config_path)?;
        let record_bytes = fs::metadata(dir.join(MODEL))
            .with_context(|| format!("reading {}", dir.join(MODEL).display()))?
            .len();
        config.check(&config_path, record_bytes)?;
        Ok(Self {
            dir,
            config,
            step,
            saved,
        })
    }

    /// The network with the saved weights, on `device`.
    pub fn load(&self, device: &Device) -> anyhow::Result<SavedNet> {
        let path = self.dir.join(MODEL);
        let fail = |e| user_error!("cannot load {}: {e}", path.display());
        Ok(match self.config.build(device) {
            SavedNet::Mlp(m) => SavedNet::Mlp(m.try_load_file(&path).map_err(fail)?),
            SavedNet::Classifier(m) => SavedNet::Classifier(m.try_load_file(&path).map_err(fail)?),
            SavedNet::MobileNetV2(m) => {
                SavedNet::MobileNetV2(m.try_load_file(&path).map_err(fail)?)
            }
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| user_error!("{}: unreadable: {e}", path.display()))
}

/// A saved model rebuilt.
pub enum SavedNet {
    Mlp(Mlp),
    Classifier(Classifier),
    MobileNetV2(MobileNetV2),
}

impl SavedNet {
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]` -> logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            SavedNet::Mlp(m) => m.forward(x.flatten(1, 3)).logits,
            SavedNet::Classifier(m) => m.forward(x),
            SavedNet::MobileNetV2(m) => m.forward(x),
        }
    }

    /// The weights as a safetensors file: each tensor named by its path in the module
    /// (`hidden.0.weight`), enum variants left out; `metadata` added to the header.
    pub fn safetensors(&self, metadata: &[(&str, String)]) -> anyhow::Result<Vec<u8>> {
        let mut store = SafetensorsStore::from_bytes(None).skip_enum_variants(true);
        for (k, v) in metadata {
            store = store.metadata(*k, v.clone());
        }
        let saved = match self {
            SavedNet::Mlp(m) => m.save_into(&mut store),
            SavedNet::Classifier(m) => m.save_into(&mut store),
            SavedNet::MobileNetV2(m) => m.save_into(&mut store),
        };
        saved.map_err(|e| anyhow::anyhow!("writing safetensors: {e}"))?;
        store
            .get_bytes()
            .map_err(|e| anyhow::anyhow!("writing safetensors: {e}"))
    }
}

/// The test images `test` describes, from `data` (the dataset it names, already loaded with
/// its limits).
pub fn test_split(data: &Dataset, test: &TestData) -> Split {
    let corruption = CorruptionSpec {
        labels: 0.0,
        images: test.images,
    };
    let (_, split, _) = corrupt::prepare(data, &corruption, test.whiten, test.seed);
    match test.resize {
        Some(size) => resize_split(&split, size),
        None => split,
    }
}

/// A model's scores on a split.
pub struct Scores {
    pub examples: usize,
    /// Mean cross-entropy, summed per batch as the training loop's evaluation sums it.
    pub loss: f64,
    pub accuracy: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Loss, accuracy and confusion matrix of `net` on `split`, `batch` images at a time, on an
/// inference device.
pub fn score(
    net: &SavedNet,
    split: &Split,
    batch: usize,
    classes: usize,
    device: &Device,
) -> Scores {
    let mut confusion = vec![vec![0u64; classes]; classes];
    let (mut loss, mut correct) = (0.0f64, 0u64);
    for (x, y) in chunks(split, batch, device) {
        let logits = net.forward(x);
        let predicted = logits.clone().argmax(1).squeeze_dim::<1>(1);
        let truth: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
        loss += cross_entropy(logits, y).sum().into_scalar::<f32>() as f64;
        for (t, p) in truth.iter().zip(predicted.into_data().iter::<i64>()) {
            let (t, p) = (*t as usize, p as usize);
            confusion[t][p.min(classes - 1)] += 1;
            correct += u64::from(t == p);
        }
    }
    let n = split.n.max(1) as f64;
    Scores {
        examples: split.n,
        loss: loss / n,
        accuracy: correct as f64 / n,
        confusion,
    }
}
