//! The memory estimate of every kind on the real binary: an absurd size in a spec is a spec
//! error naming the key and the estimate, in `check` as in `run`, before anything is allocated
//! (without the estimate these specs abort on a failed allocation, or run the machine out of
//! memory).

mod common;

use common::{repo, runner, stderr};

/// `runner check` and `runner run` of the smoke spec `name` with `sets`, and `$RUNNER_MEMORY_GIB`
/// when given: both exit 1 with `error: --set <the set>: <key>: this variant needs about N GiB`
/// first, and `run` leaves nothing in its results dir.
fn refused(name: &str, sets: &[&str], limit_gib: Option<&str>, key: &str) {
    let spec = repo().join(format!("experiments/smoke/{name}.toml"));
    let results = tempfile::tempdir().unwrap();
    for command in ["check", "run"] {
        let mut cmd = runner();
        cmd.arg(command).arg(&spec);
        if command == "run" {
            cmd.args(["-q", "--results"]).arg(results.path());
        }
        for s in sets {
            cmd.args(["--set", s]);
        }
        match limit_gib {
            Some(gib) => cmd.env("RUNNER_MEMORY_GIB", gib),
            None => cmd.env_remove("RUNNER_MEMORY_GIB"),
        };
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command} {sets:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        let located = format!("error: --set {}: {key}: this variant needs about ", sets[0]);
        assert!(
            first.starts_with(&located) && first.contains(" GiB to train"),
            "{command} {sets:?}: {err}"
        );
        let have = if limit_gib.is_some() {
            "$RUNNER_MEMORY_GIB allows"
        } else {
            "this machine has"
        };
        assert!(first.contains(have), "{err}");
        assert!(!err.contains("memory allocation"), "{err}");
    }
    let left: Vec<_> = std::fs::read_dir(results.path()).unwrap().collect();
    assert!(left.is_empty(), "run wrote {left:?}");
}

#[test]
fn an_absurd_width_of_the_convolutional_nets_is_refused() {
    for (arch, bn) in [
        ("alexnet_small", "false"),
        ("inception_small", "false"),
        ("inception_small", "true"),
    ] {
        refused(
            "random_labels_tiny",
            &[
                "model.width=3000",
                &format!("model.arch={arch}"),
                &format!("model.batch_norm={bn}"),
            ],
            None,
            "model.width",
        );
    }
    // A batch the net's feature maps cannot hold.
    refused(
        "random_labels_tiny",
        &["train.batch_size=4000000000", "model.arch=inception_small"],
        None,
        "train.batch_size",
    );
}

#[test]
fn absurd_rcnn_sizes_are_refused() {
    for (set, key) in [
        // Canvases and the features of their regions.
        ("rcnn.train_canvases=1000000000", "rcnn.train_canvases"),
        ("rcnn.canvas.size=1000000", "rcnn.canvas.size"),
        // The CNN's input: its feature maps and fc6.
        ("rcnn.warp_size=100000", "rcnn.warp_size"),
        ("rcnn.fc_units=10000000", "rcnn.fc_units"),
        ("rcnn.finetune_batch=100000000000", "rcnn.finetune_batch"),
    ] {
        refused("rcnn_tiny", &[set], None, key);
    }
}

#[test]
fn expressivity_needs_its_n_by_d_matrices() {
    // n is bounded by the dataset: the whole of mnist-10k (7,996 x 784 values, in f32 and
    // f64) does not fit in 0.05 GiB, 300 digits do.
    refused(
        "expressivity_tiny",
        &["data.train_limit=0"],
        Some("0.05"),
        "data.train_limit",
    );
    let out = runner()
        .args(["check", "experiments/smoke/expressivity_tiny.toml"])
        .env("RUNNER_MEMORY_GIB", "0.05")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_memory_limit_that_is_not_a_positive_number_is_an_error_naming_it() {
    for bad in ["", "lots", "-1", "0", "NaN", "inf"] {
        let out = runner()
            .args(["check", "experiments/smoke/tiny.toml"])
            .env("RUNNER_MEMORY_GIB", bad)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {err}");
        assert!(
            err.lines()
                .next()
                .unwrap_or_default()
                .contains("RUNNER_MEMORY_GIB: $RUNNER_MEMORY_GIB must be a positive number of GiB"),
            "{bad:?}: {err}"
        );
    }
}
