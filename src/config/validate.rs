//! Value checks that types alone cannot express, run before any training.

use super::{Arch, ExperimentSpec, ImageCorruption, Kind, Optimizer, Schedule};

pub struct Problem {
    pub path: String,
    pub message: String,
}

pub fn check(spec: &ExperimentSpec) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut require = |ok: bool, path: &str, message: String| {
        if !ok {
            out.push(Problem {
                path: path.to_string(),
                message,
            });
        }
    };
    let (m, t, e) = (&spec.model, &spec.train, &spec.eval);

    require(
        matches!(spec.device.as_str(), "flex" | "wgpu" | "cuda"),
        "device",
        format!(
            "unknown device `{}`; expected flex, wgpu or cuda",
            spec.device
        ),
    );
    if let Err(e) = crate::data::registry::spec(&spec.data.dataset) {
        require(false, "data.dataset", e.to_string());
    }

    require(
        !m.hidden.is_empty(),
        "model.hidden",
        "needs at least one hidden layer".into(),
    );
    require(
        m.hidden.iter().all(|&w| w > 0),
        "model.hidden",
        "layer widths must be positive".into(),
    );
    require(
        (0.0..1.0).contains(&m.dropout),
        "model.dropout",
        format!("must be in [0, 1), got {}", m.dropout),
    );
    require(
        m.init_std.is_finite() && m.init_std > 0.0,
        "model.init_std",
        format!("must be positive, got {}", m.init_std),
    );

    require(t.steps > 0, "train.steps", "must be at least 1".into());
    require(
        t.batch_size > 0,
        "train.batch_size",
        "must be at least 1".into(),
    );
    require(
        !(m.batch_norm && t.batch_size == 1),
        "train.batch_size",
        "batch normalization needs a batch of at least 2: with 1 example the batch variance is \
         zero and every normalized value is 0"
            .into(),
    );
    require(
        t.lr.is_finite() && t.lr > 0.0,
        "train.lr",
        format!("must be positive, got {}", t.lr),
    );
    require(
        (0.0..1.0).contains(&t.momentum),
        "train.momentum",
        format!("must be in [0, 1), got {}", t.momentum),
    );
    require(
        !t.nesterov || t.momentum > 0.0,
        "train.nesterov",
        "Nesterov momentum needs train.momentum > 0".into(),
    );
    require(
        !t.nesterov || t.optimizer == Optimizer::Sgd,
        "train.nesterov",
        "Nesterov momentum is an SGD option".into(),
    );
    require(
        t.weight_decay.is_finite() && t.weight_decay >= 0.0,
        "train.weight_decay",
        format!("must be >= 0, got {}", t.weight_decay),
    );
    for (key, v) in [
        ("train.beta1", t.beta1),
        ("train.beta2", t.beta2),
        ("train.rms_decay", t.rms_decay),
    ] {
        require(
            (0.0..1.0).contains(&v),
            key,
            format!("must be in [0, 1), got {v}"),
        );
    }
    require(
        t.epsilon.is_finite() && t.epsilon > 0.0,
        "train.epsilon",
        format!("must be positive, got {}", t.epsilon),
    );
    if matches!(t.schedule, Schedule::Step | Schedule::Exponential) {
        require(
            t.step_size > 0,
            "train.step_size",
            "must be at least 1".into(),
        );
        require(
            t.gamma.is_finite() && t.gamma > 0.0,
            "train.gamma",
            format!("must be positive, got {}", t.gamma),
        );
    }
    require(
        t.min_lr.is_finite() && t.min_lr >= 0.0 && t.min_lr <= t.lr,
        "train.min_lr",
        format!("must be in [0, lr], got {}", t.min_lr),
    );
    require(
        t.checkpoint_every == 0 || t.keep_checkpoints > 0,
        "train.keep_checkpoints",
        "must keep at least 1 checkpoint when checkpoint_every > 0".into(),
    );

    require(e.every > 0, "eval.every", "must be at least 1".into());
    require(
        (0.0..=1.0).contains(&e.target_accuracy),
        "eval.target_accuracy",
        format!("is a fraction in [0, 1], got {}", e.target_accuracy),
    );
    require(
        e.probe_images > 0,
        "eval.probe_images",
        "must be at least 1".into(),
    );
    let last = m.hidden.last().copied().unwrap_or(0);
    require(
        e.probe_unit < last.max(1),
        "eval.probe_unit",
        format!("the last hidden layer has {last} units; probe_unit must be below that"),
    );

    // Zhang et al. 2017: architectures, corruption, augmentation, stopping at a fit.
    let c = &spec.corruption;
    let fitting = spec.kind == Kind::RandomLabels;
    require(
        m.width.is_finite() && m.width > 0.0,
        "model.width",
        format!("must be positive, got {}", m.width),
    );
    require(
        m.arch == Arch::Mlp || fitting,
        "model.arch",
        format!(
            "`{}` is a random_labels architecture; {} uses arch = \"mlp\"",
            m.arch.as_str(),
            spec.kind.as_str()
        ),
    );
    require(
        !(m.arch == Arch::AlexnetSmall && m.batch_norm),
        "model.batch_norm",
        "alexnet_small has no batch normalization (it uses local response normalization)".into(),
    );
    require(
        m.arch == Arch::Mlp || m.dropout == 0.0,
        "model.dropout",
        format!("dropout is an mlp option; {} has none", m.arch.as_str()),
    );
    require(
        (0.0..=1.0).contains(&c.labels),
        "corruption.labels",
        format!("is a probability in [0, 1], got {}", c.labels),
    );
    require(
        matches!(spec.kind, Kind::RandomLabels | Kind::Expressivity)
            || (c.labels == 0.0 && c.images == ImageCorruption::None),
        "corruption",
        format!(
            "only random_labels and expressivity corrupt data; remove [corruption] from this {} spec",
            spec.kind.as_str()
        ),
    );
    require(
        spec.data.random_crop <= 8,
        "data.random_crop",
        format!(
            "is a shift of at most 8 pixels, got {}",
            spec.data.random_crop
        ),
    );
    require(
        spec.data.random_crop == 0 || fitting,
        "data.random_crop",
        format!(
            "only random_labels augments images; {} does not",
            spec.kind.as_str()
        ),
    );
    require(
        !spec.data.whiten || matches!(spec.kind, Kind::RandomLabels | Kind::Expressivity),
        "data.whiten",
        format!(
            "only random_labels and expressivity whiten images; {} does not",
            spec.kind.as_str()
        ),
    );
    require(
        (0.0..=1.0).contains(&e.stop_at_train_accuracy),
        "eval.stop_at_train_accuracy",
        format!("is a fraction in [0, 1], got {}", e.stop_at_train_accuracy),
    );
    require(
        e.stop_at_train_accuracy == 0.0 || fitting,
        "eval.stop_at_train_accuracy",
        format!(
            "only random_labels measures training-set accuracy; {} does not",
            spec.kind.as_str()
        ),
    );
    super::mobilenet::check(spec, &mut out);
    super::ssl::check(spec, &mut out);
    super::rcnn::check(spec, &mut out);
    out
}

/// The checker of a kind's own section (`[mobilenet]`, `[ssl]`, ...): records first whether the
/// section belongs to the spec's kind, then returns `require(ok, path, message)`, which records
/// a problem whenever `ok` is false.
pub(super) fn section_checker<'a>(
    spec: &ExperimentSpec,
    out: &'a mut Vec<Problem>,
    section: &str,
    kind: Kind,
) -> impl FnMut(bool, &str, String) + 'a {
    if spec.kind != kind {
        out.push(Problem {
            path: section.to_string(),
            message: format!(
                "the [{section}] section is for kind `{}`, not `{}`",
                kind.as_str(),
                spec.kind.as_str()
            ),
        });
    }
    move |ok: bool, path: &str, message: String| {
        if !ok {
            out.push(Problem {
                path: path.to_string(),
                message,
            });
        }
    }
}
