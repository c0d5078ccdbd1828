//! `runner eval`: a saved model of a run scored on its test set, or on another compatible one
//! (another dataset, a corruption); accuracy, loss and the confusion matrix, printed and
//! written as CSV into the variant's `eval/` folder.

use std::path::{Path, PathBuf};

use super::run_options;
use crate::cli::ExecArgs;
use crate::config::{DataSpec, ImageCorruption, Override, did_you_mean};
use crate::kinds::{self, Datasets};
use crate::run::{run_dir, session};
use crate::train::saved_model::{
    self, SavedModel, Scores, TestData, Which, dataset_shape, shape_text,
};
use crate::util::fs::{join_inside, write_atomic};
use crate::util::table::{Align, markdown_table};
use crate::{bail_user, user_error};

/// The keys `runner eval --set` takes: what makes the test images.
const KEYS: [&str; 6] = [
    "data.dataset",
    "data.test_limit",
    "data.train_limit",
    "data.whiten",
    "corruption.images",
    "seed",
];

pub fn eval(
    run: &Path,
    variant: Option<&str>,
    which: &Which,
    sets: &[Override],
    exec: &ExecArgs,
) -> anyhow::Result<()> {
    let opts = run_options(exec, PathBuf::new())?;
    let (name, vdir, model) = open_model(run, variant, which)?;
    let mut test = model.config.test.clone();
    for s in sets {
        apply(&mut test, s)?;
    }
    let (shape, classes) = dataset_shape(&test.dataset)
        .map_err(|e| user_error!("--set data.dataset={}: {e}", test.dataset))?;
    let c = &model.config;
    if shape != c.input || classes > c.classes {
        bail_user!(
            "--set data.dataset={}: its images are {} with {classes} classes; the model of \
             variant `{name}` takes {} images and {} classes",
            test.dataset,
            shape_text(shape),
            shape_text(c.input),
            c.classes
        );
    }
    let mut datasets = Datasets::new(opts.data.clone());
    let data_spec = DataSpec {
        dataset: test.dataset.clone(),
        train_limit: test.train_limit,
        test_limit: test.test_limit,
        ..DataSpec::default()
    };
    datasets.preload(&data_spec)?;
    let data = datasets.get(&data_spec)?;
    let split = saved_model::test_split(&data, &test);
    let device = session::make_device(opts.device.as_deref().unwrap_or("flex"))?;
    let net = model.load(&device)?;
    let scores = saved_model::score(&net, &split, test.batch, c.classes, &device);

    let label = file_label(which, &c.test, &test);
    let out = eval_dir(&vdir)?;
    crate::util::fs::create_dir_all(&out)?;
    let summary = join_inside(&out, &[&format!("{label}.csv")])?;
    let confusion = join_inside(&out, &[&format!("{label}-confusion.csv")])?;
    write_atomic(
        &summary,
        summary_csv(which, model.step, &test, &scores).as_bytes(),
    )?;
    write_atomic(&confusion, confusion_csv(&scores).as_bytes())?;

    println!(
        "{name}, {which} (step {}) on {} test images of {}{}: accuracy {}, loss {}\n",
        model.step,
        scores.examples,
        test.dataset,
        match test.images {
            ImageCorruption::None => String::new(),
            other => format!(", images {}", corruption_name(other)),
        },
        scores.accuracy,
        scores.loss
    );
    let header: Vec<String> = std::iter::once("true \\ predicted".to_string())
        .chain((0..scores.confusion.len()).map(|p| p.to_string()))
        .collect();
    let rows: Vec<Vec<String>> = scores
        .confusion
        .iter()
        .enumerate()
        .map(|(t, row)| {
            std::iter::once(t.to_string())
                .chain(row.iter().map(u64::to_string))
                .collect()
        })
        .collect();
    println!("{}", markdown_table(&header, &rows, Align::Right));
    println!("wrote {} and {}", summary.display(), confusion.display());
    Ok(())
}

/// The variant's name and folder in run dir `run`, and its model `which` (files checked).
/// `variant` may be left out when the run has one.
pub(super) fn open_model(
    run: &Path,
    variant: Option<&str>,
    which: &Which,
) -> anyhow::Result<(String, PathBuf, SavedModel)> {
    let spec_path = run.join("spec.toml");
    let text = match std::fs::read(&spec_path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| user_error!("{} is not UTF-8 text", spec_path.display()))?,
        Err(_) => bail_user!("{} is not a run directory (no spec.toml)", run.display()),
    };
    let loaded = kinds::load_str(&text, &spec_path.display().to_string(), &[])?;
    let names: Vec<&str> = loaded.variants.iter().map(|v| v.name.as_str()).collect();
    let name = match variant {
        Some(v) if names.contains(&v) => v.to_string(),
        Some(v) => bail_user!(
            "--variant {v}: {} has no variant `{v}`{}; variants: {}",
            run.display(),
            did_you_mean(v, names.iter().copied()),
            names.join(", ")
        ),
        None if names.len() == 1 => names[0].to_string(),
        None => bail_user!(
            "{} has {} variants: name one with --variant ({})",
            run.display(),
            names.len(),
            names.join(", ")
        ),
    };
    let vdir = run_dir::variant_dir(run, &name)?;
    let model = SavedModel::open(&vdir, which)?;
    Ok((name, vdir, model))
}

/// Applies one `--set` to the test data.
fn apply(test: &mut TestData, set: &Override) -> anyhow::Result<()> {
    let key = set.path.join(".");
    let bad = |what: &str| user_error!("--set {}: {key}: {what}", set.raw);
    let whole = || {
        set.value
            .as_integer()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| bad("must be a whole number, 0 or more"))
    };
    match key.as_str() {
        "data.dataset" => {
            test.dataset = set
                .value
                .as_str()
                .ok_or_else(|| bad("must be a dataset name"))?
                .to_string();
        }
        "data.test_limit" => test.test_limit = whole()? as usize,
        "data.train_limit" => test.train_limit = whole()? as usize,
        "seed" => test.seed = whole()?,
        "data.whiten" => {
            test.whiten = set
                .value
                .as_bool()
                .ok_or_else(|| bad("must be true or false"))?;
        }
        "corruption.images" => {
            test.images = set.value.clone().try_into().map_err(|_| {
                bad("must be one of: none, shuffled_pixels, random_pixels, gaussian")
            })?;
        }
        _ => bail_user!(
            "--set {}: `runner eval` does not take `{key}`{}; it takes: {}",
            set.raw,
            did_you_mean(&key, KEYS.iter().copied()),
            KEYS.join(", ")
        ),
    }
    Ok(())
}

fn corruption_name(images: ImageCorruption) -> String {
    serde_json::to_value(images)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The eval files' name: the checkpoint and dataset, then what differs from the run's own
/// test images (`final-mnist-10k`, `best-mnist-10k-gaussian`, `step-20-fashion-mnist-test100`).
fn file_label(which: &Which, run: &TestData, test: &TestData) -> String {
    let mut label = format!("{which}-{}", test.dataset);
    if test.images != run.images {
        label += &format!("-{}", corruption_name(test.images));
    }
    if test.whiten != run.whiten {
        label += if test.whiten {
            "-whitened"
        } else {
            "-unwhitened"
        };
    }
    if test.test_limit != run.test_limit {
        label += &format!("-test{}", test.test_limit);
    }
    if test.train_limit != run.train_limit {
        label += &format!("-train{}", test.train_limit);
    }
    if test.seed != run.seed {
        label += &format!("-seed{}", test.seed);
    }
    label
}

/// The variant's `eval/` folder, refusing one that is a symbolic link.
fn eval_dir(vdir: &Path) -> anyhow::Result<PathBuf> {
    let dir = join_inside(vdir, &["eval"])?;
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| !m.is_dir() || m.file_type().is_symlink()) {
        bail_user!(
            "{} is not a directory (or is a symbolic link); runner writes evaluations into a \
             real folder of that name",
            dir.display()
        );
    }
    Ok(dir)
}

/// One row: what was evaluated and the scores (numbers as metrics.csv writes them).
fn summary_csv(which: &Which, step: u64, test: &TestData, s: &Scores) -> String {
    format!(
        "checkpoint,step,dataset,images,whiten,examples,accuracy,loss\n{which},{step},{},{},{},{},{},{}\n",
        test.dataset,
        corruption_name(test.images),
        test.whiten,
        s.examples,
        s.accuracy,
        s.loss
    )
}

/// `confusion[true][predicted]` with a header of predicted classes.
fn confusion_csv(s: &Scores) -> String {
    let classes = s.confusion.len();
    let mut out = String::from("true");
    for p in 0..classes {
        out += &format!(",predicted_{p}");
    }
    out.push('\n');
    for (t, row) in s.confusion.iter().enumerate() {
        out += &t.to_string();
        for n in row {
            out += &format!(",{n}");
        }
        out.push('\n');
    }
    out
}
