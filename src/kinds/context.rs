//! What a kind's `run` works with: the device, its output directory, the progress observer
//! and the run's datasets, loaded once and shared by the variants.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;

use crate::config::{DataSpec, ExperimentSpec};
use crate::data::{self, DataOptions, Dataset};
use crate::train::{self, LoopConfig, Observer, Outcome, Task};

/// What a kind's `run` gets: where to write, which device, the loaded data, and where to
/// report progress.
pub struct Context<'a> {
    /// An autodiff device; `.inner()` gives the inference device.
    pub device: Device,
    /// The variant's output directory.
    pub dir: PathBuf,
    pub observer: &'a mut dyn Observer,
    pub datasets: &'a Datasets,
}

impl Context<'_> {
    /// Runs the training loop on `task` with the spec's settings.
    pub fn train<T: Task>(
        &mut self,
        spec: &ExperimentSpec,
        task: &mut T,
    ) -> anyhow::Result<Outcome> {
        let dir = self.dir.clone();
        self.train_in(&dir, spec, task)
    }

    /// [`Context::train`] with metrics and checkpoints in `dir` instead of the variant's
    /// directory: for a kind whose variants share a training stage (R-CNN's cached CNNs).
    pub fn train_in<T: Task>(
        &mut self,
        dir: &Path,
        spec: &ExperimentSpec,
        task: &mut T,
    ) -> anyhow::Result<Outcome> {
        let cfg = LoopConfig {
            train: &spec.train,
            eval_every: spec.eval.every,
            seed: spec.seed,
            device: &self.device,
            dir,
            tensorboard: spec.output.tensorboard,
        };
        train::run(task, &cfg, self.observer)
    }

    pub fn dataset(&self, spec: &DataSpec) -> anyhow::Result<Arc<Dataset>> {
        self.datasets.get(spec)
    }
}

/// Datasets loaded once per run and shared by its variants, with the spec's size limits applied.
pub struct Datasets {
    options: DataOptions,
    loaded: HashMap<String, Arc<Dataset>>,
}

impl Datasets {
    pub fn new(options: DataOptions) -> Self {
        Self {
            options,
            loaded: HashMap::new(),
        }
    }

    /// Loads what `spec` names (once); call for every variant before training starts, so a
    /// missing dataset stops the run before any work.
    pub fn preload(&mut self, spec: &DataSpec) -> anyhow::Result<()> {
        let key = key(spec);
        if !self.loaded.contains_key(&key) {
            let mut ds = data::load(&spec.dataset, &self.options)?;
            limit(&mut ds.train, spec.train_limit);
            limit(&mut ds.test, spec.test_limit);
            self.loaded.insert(key, Arc::new(ds));
        }
        Ok(())
    }

    pub fn get(&self, spec: &DataSpec) -> anyhow::Result<Arc<Dataset>> {
        self.loaded
            .get(&key(spec))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("dataset {} was not preloaded", spec.dataset))
    }

    /// Where each dataset was read from, for the manifest, by name (one per dataset: the
    /// size limits do not change where it is read from).
    pub fn sources(&self) -> Vec<data::Source> {
        let mut sources: Vec<data::Source> =
            self.loaded.values().map(|d| d.source.clone()).collect();
        sources.sort_by(|a, b| a.dataset.cmp(&b.dataset));
        sources.dedup();
        sources
    }

    /// `(file, sha256)` of every file read, for the manifest.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .loaded
            .values()
            .flat_map(|d| d.files.iter().cloned())
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

fn key(spec: &DataSpec) -> String {
    format!("{}/{}/{}", spec.dataset, spec.train_limit, spec.test_limit)
}

fn limit(split: &mut data::Split, n: usize) {
    if n > 0 && n < split.n {
        split.images.truncate(n * split.image_len());
        split.labels.truncate(n);
        split.n = n;
    }
}
