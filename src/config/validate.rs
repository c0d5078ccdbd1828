//! Value checks that types alone cannot express, run before any training.

use super::memory;
use super::schema::{KindSchema, Uses};
use super::{Arch, ExperimentSpec, ImageCorruption, Optimizer, RmspropStyle, Schedule};

/// A value that fails a check, at its dotted key path.
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// `require(ok, path, message)`: records a problem at `path` whenever `ok` is false.
pub fn requirer(out: &mut Vec<Problem>) -> impl FnMut(bool, &str, String) + '_ {
    move |ok: bool, path: &str, message: String| {
        if !ok {
            out.push(Problem {
                path: path.to_string(),
                message,
            });
        }
    }
}

/// The generic checks, then the kind's own; `kinds` (every registered kind) names, in the
/// messages, the kinds that do read a setting this kind does not.
pub fn check(spec: &ExperimentSpec, kind: &KindSchema, kinds: &[&KindSchema]) -> Vec<Problem> {
    let mut out = Vec::new();
    generic(spec, kind, kinds, &mut out);
    (kind.check)(spec, &mut out);
    // Only a spec that is otherwise sound: its sizes are what the estimate reads.
    if out.is_empty() {
        memory_check(spec, kind, &mut out);
    }
    out
}

/// The kind's estimate of the variant's memory against the memory there is.
fn memory_check(spec: &ExperimentSpec, kind: &KindSchema, out: &mut Vec<Problem>) {
    let have = match memory::machine_bytes() {
        Ok(Some(have)) => have,
        Ok(None) => return,
        Err(message) => {
            out.push(Problem {
                path: memory::LIMIT_ENV.to_string(),
                message,
            });
            return;
        }
    };
    if let Some(need) = (kind.memory)(spec)
        && need.bytes > have
    {
        let whose = match std::env::var_os(memory::LIMIT_ENV) {
            Some(_) => format!("${} allows", memory::LIMIT_ENV),
            None => "this machine has".to_string(),
        };
        out.push(Problem {
            path: need.key.to_string(),
            message: format!(
                "this variant needs about {} to train (parameters with gradients and optimizer \
                 state, activations at batch {}, the data); {whose} {}",
                memory::gib(need.bytes),
                spec.train.batch_size,
                memory::gib(have)
            ),
        });
    }
}

fn generic(
    spec: &ExperimentSpec,
    kind: &KindSchema,
    kinds: &[&KindSchema],
    out: &mut Vec<Problem>,
) {
    let mut require = requirer(out);
    let users = |uses: fn(&Uses) -> bool| -> (String, bool) {
        let names: Vec<&str> = kinds
            .iter()
            .filter(|k| uses(&k.uses))
            .map(|k| k.name)
            .collect();
        let plural = names.len() > 1;
        let text = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            Some((last, _)) => last.to_string(),
            None => "no kind".into(),
        };
        (text, plural)
    };
    // "only X augments" / "only X and Y whiten"
    let only = |uses: fn(&Uses) -> bool, singular: &str, plural: &str| {
        let (names, many) = users(uses);
        format!("only {names} {}", if many { plural } else { singular })
    };
    let (m, t, e) = (&spec.model, &spec.train, &spec.eval);

    require(
        super::DEVICES.contains(&spec.device.as_str()),
        "device",
        super::unknown_device(&spec.device),
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
    require(
        t.rmsprop_style == RmspropStyle::Pytorch || t.optimizer == Optimizer::Rmsprop,
        "train.rmsprop_style",
        "is an RMSProp option; set train.optimizer = \"rmsprop\" or leave it out".into(),
    );
    require(
        t.decay_skips.is_empty() || t.weight_decay > 0.0,
        "train.decay_skips",
        "names parameters that weight decay skips, but train.weight_decay is 0".into(),
    );
    for (i, skip) in t.decay_skips.iter().enumerate() {
        require(
            !t.decay_skips[..i].contains(skip),
            "train.decay_skips",
            format!("lists `{}` twice", skip.name()),
        );
    }
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
    require(
        !t.monitor.is_empty(),
        "train.monitor",
        "must name a metrics.csv column (test_accuracy by default)".into(),
    );

    require(e.every > 0, "eval.every", "must be at least 1".into());
    require(
        (0.0..=1.0).contains(&e.target_accuracy),
        "eval.target_accuracy",
        format!("is a fraction in [0, 1], got {}", e.target_accuracy),
    );
    // Zhang et al. 2017: architectures, corruption, augmentation, stopping at a fit.
    let c = &spec.corruption;
    let uses = kind.uses;
    require(
        m.width.is_finite() && m.width > 0.0,
        "model.width",
        format!("must be positive, got {}", m.width),
    );
    require(
        m.arch == Arch::Mlp || uses.conv_archs,
        "model.arch",
        format!(
            "`{}` is a {} architecture; {} uses arch = \"mlp\"",
            m.arch.as_str(),
            users(|u| u.conv_archs).0,
            spec.kind
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
        uses.corruption || (c.labels == 0.0 && c.images == ImageCorruption::None),
        "corruption",
        format!(
            "{} data; remove [corruption] from this {} spec",
            only(|u| u.corruption, "corrupts", "corrupt"),
            spec.kind
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
        spec.data.random_crop == 0 || uses.random_crop,
        "data.random_crop",
        format!(
            "{} images; {} does not",
            only(|u| u.random_crop, "augments", "augment"),
            spec.kind
        ),
    );
    require(
        !spec.data.whiten || uses.whiten,
        "data.whiten",
        format!(
            "{} images; {} does not",
            only(|u| u.whiten, "whitens", "whiten"),
            spec.kind
        ),
    );
    require(
        (0.0..=1.0).contains(&e.stop_at_train_accuracy),
        "eval.stop_at_train_accuracy",
        format!("is a fraction in [0, 1], got {}", e.stop_at_train_accuracy),
    );
    require(
        e.stop_at_train_accuracy == 0.0 || uses.stop_at_fit,
        "eval.stop_at_train_accuracy",
        format!(
            "{} training-set accuracy; {} does not",
            only(|u| u.stop_at_fit, "measures", "measure"),
            spec.kind
        ),
    );
}
