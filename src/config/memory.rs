//! A variant's memory before it trains: parameters with their gradients and optimizer state,
//! activations at the batch size, and the dataset in memory, so that an absurd size in a spec
//! (`model.hidden = [100000000]`, `train.batch_size = 2^40`) is a located error rather than an
//! allocation failure that aborts the process.

use super::ExperimentSpec;
use crate::data::registry::{self, Format};

/// Bytes a variant needs, and the setting that contributes most.
#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    pub bytes: f64,
    pub key: &'static str,
}

/// f32 copies of every parameter held while training: the weights, their gradients and up to
/// two optimizer moments (Adam).
pub const PARAM_COPIES: f64 = 4.0;
/// f32 copies of every activation: forward values, their gradients, and the inputs autodiff
/// keeps for the backward pass.
pub const ACTIVATION_COPIES: f64 = 4.0;

/// Height, width and channels of a registered dataset's images, known without reading it.
pub fn image_shape(dataset: &str) -> Option<[usize; 3]> {
    let ds = registry::spec(dataset).ok()?;
    Some(match ds.format {
        Format::Idx => [28, 28, 1],
        Format::Cifar10 => [32, 32, 3],
    })
}

/// The dataset's images as f32 in memory.
pub fn data_bytes(spec: &ExperimentSpec) -> f64 {
    let Ok(ds) = registry::spec(&spec.data.dataset) else {
        return 0.0;
    };
    let [h, w, c] = image_shape(&spec.data.dataset).unwrap_or([0, 0, 0]);
    let limit = |n: usize, cap: usize| if cap > 0 { n.min(cap) } else { n };
    let images =
        limit(ds.train_size, spec.data.train_limit) + limit(ds.test_size, spec.data.test_limit);
    4.0 * (images * h * w * c) as f64
}

/// The `[model]` MLP (kinds that train it): `params` weights and the widths at the batch size.
pub fn mlp(spec: &ExperimentSpec) -> Option<Estimate> {
    let [h, w, c] = image_shape(&spec.data.dataset)?;
    let classes = registry::spec(&spec.data.dataset).ok()?.num_classes as f64;
    let mut params = 0.0;
    let mut width_in = (h * w * c) as f64;
    for &width in &spec.model.hidden {
        params += (width_in + 1.0) * width as f64;
        width_in = width as f64;
    }
    params += (width_in + 1.0) * classes;
    let units: f64 = spec.model.hidden.iter().map(|&u| u as f64).sum::<f64>() + classes;
    Some(estimate(
        spec,
        params,
        units * spec.train.batch_size as f64,
        "model.hidden",
    ))
}

/// Combines the parts; `params_key` names the setting behind the parameter count.
pub fn estimate(
    spec: &ExperimentSpec,
    params: f64,
    activations: f64,
    params_key: &'static str,
) -> Estimate {
    let mut est = of_parts(&[
        (training_bytes(params, 0.0), params_key),
        (training_bytes(0.0, activations), "train.batch_size"),
    ]);
    est.bytes += data_bytes(spec);
    est
}

/// Bytes of training a net of `params` parameters whose activations at the batch size are
/// `activations` values: every copy [`PARAM_COPIES`] and [`ACTIVATION_COPIES`] count, in f32.
pub fn training_bytes(params: f64, activations: f64) -> f64 {
    4.0 * (PARAM_COPIES * params + ACTIVATION_COPIES * activations)
}

/// The sum of `(bytes, key)` parts, named by the key of the largest.
pub fn of_parts(parts: &[(f64, &'static str)]) -> Estimate {
    let largest =
        parts.iter().copied().fold(
            (f64::NEG_INFINITY, ""),
            |a, b| if b.0 > a.0 { b } else { a },
        );
    Estimate {
        bytes: parts.iter().map(|p| p.0).sum(),
        key: largest.1,
    }
}

/// Names the memory, in GiB, that estimates are compared with instead of the machine's (a
/// share of a machine others use too, a container whose limit MemTotal does not show).
pub const LIMIT_ENV: &str = "RUNNER_MEMORY_GIB";

/// The memory estimates are compared with: `$RUNNER_MEMORY_GIB` when set, else this machine's
/// (MemTotal), if it can be read; read once per process (a spec may have thousands of
/// variants). A `$RUNNER_MEMORY_GIB` that is not a positive number is an error (its text).
pub fn machine_bytes() -> Result<Option<f64>, String> {
    static TOTAL: std::sync::OnceLock<Result<Option<f64>, String>> = std::sync::OnceLock::new();
    TOTAL
        .get_or_init(|| match std::env::var_os(LIMIT_ENV) {
            None => Ok(read_mem_total()),
            Some(v) => match v.to_str().and_then(|t| t.trim().parse::<f64>().ok()) {
                Some(g) if g.is_finite() && g > 0.0 => Ok(Some(g * (1u64 << 30) as f64)),
                _ => Err(format!(
                    "${LIMIT_ENV} must be a positive number of GiB, got {:?}",
                    v.to_string_lossy()
                )),
            },
        })
        .clone()
}

fn read_mem_total() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

/// `12.3 GiB`.
pub fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}
