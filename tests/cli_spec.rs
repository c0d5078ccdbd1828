//! Spec errors (golden messages), `--set` overrides and `check`, on the real binary.

mod common;

use common::*;

/// Writes `text` to a temp spec and returns `(exit code, stderr)` of `runner check` on it.
fn check(text: &str, sets: &[&str]) -> (Option<i32>, String, String) {
    check_spec(text, sets)
}

fn tiny() -> String {
    std::fs::read_to_string(tiny_spec()).unwrap()
}

#[test]
fn typo_in_a_key_names_line_col_key_and_suggestion() {
    let (code, err, _) = check(&tiny().replace("activation = ", "activaton = "), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:13:1: model.activaton: unknown key `activaton` (did you mean `activation`?); \
         known keys here: arch, width, hidden, activation, batch_norm, dropout, init_std"
    );
}

#[test]
fn unknown_value_suggests_the_closest() {
    let (code, err, _) = check(&tiny().replace("\"sigmoid\"", "\"sigmod\""), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:13:1: model.activation: unknown value `sigmod` (did you mean `sigmoid`?); \
         expected one of: sigmoid, relu, tanh"
    );
}

#[test]
fn a_typo_inside_a_variant_points_into_the_variant() {
    let text = tiny().replace("model.batch_norm = true", "model.batchnorm = true");
    let (code, err, _) = check(&text, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: SPEC:33:7: model.batchnorm: unknown key `batchnorm` (did you mean `batch_norm`?)"),
        "{err}"
    );
}

#[test]
fn wrong_types_and_syntax_errors_are_located() {
    let (code, err, _) = check(&tiny().replace("steps = 60", "steps = \"many\""), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:17:1: train.steps: expected a whole number (0 or more), got the string \"many\""
    );
    // Type names in the words of a spec's reader, not Rust's.
    let (_, err, _) = check(&tiny(), &["model.hidden=[1.5]"]);
    assert!(
        err.ends_with("model.hidden.0: expected a whole number (0 or more), got 1.5"),
        "{err}"
    );
    let (_, err, _) = check(&tiny(), &["model.hidden=100"]);
    assert!(
        err.ends_with("model.hidden: expected a list, got 100"),
        "{err}"
    );
    let (_, err, _) = check(&tiny(), &["model.batch_norm=1"]);
    assert!(err.ends_with("expected true or false, got 1"), "{err}");
    // A float that is a whole number is taken where a whole number is expected.
    let (code, err, resolved) = check(&tiny(), &["train.steps=1e4"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(resolved.contains("steps = 10000\n"), "{resolved}");

    let (code, err, _) = check(&tiny().replace("steps = 60", "steps = "), &[]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: SPEC:17:9: invalid TOML"), "{err}");
}

#[test]
fn impossible_values_are_rejected_before_training() {
    let cases = [
        (
            "train.lr=0",
            "error: --set train.lr=0: train.lr: must be positive, got 0",
        ),
        (
            "train.lr=-1",
            "error: --set train.lr=-1: train.lr: must be positive, got -1",
        ),
        (
            "train.batch_size=0",
            "error: --set train.batch_size=0: train.batch_size: must be at least 1",
        ),
        (
            "data.dataset=mnist10k",
            "error: --set data.dataset=mnist10k: data.dataset: unknown dataset `mnist10k` \
             (did you mean `mnist-10k`?); known datasets: mnist-10k, mnist, fashion-mnist, cifar10",
        ),
        (
            "model.activation=softplus",
            "error: --set model.activation=softplus: model.activation: unknown value `softplus`; \
             expected one of: sigmoid, relu, tanh",
        ),
        (
            "train.lrate=0.3",
            "error: --set train.lrate=0.3: train.lrate: unknown key `lrate` (did you mean `lr`?); \
             known keys here: steps, batch_size, optimizer, lr, momentum, nesterov, weight_decay, \
             beta1, beta2, epsilon, rms_decay, rmsprop_style, decay_skips, schedule, \
             step_size, gamma, min_lr, checkpoint_every, keep_checkpoints, monitor, monitor_mode",
        ),
    ];
    for (set, expected) in cases {
        let (code, err, _) = check(&tiny(), &[set]);
        assert_eq!(code, Some(1), "{set}");
        assert_eq!(err, expected);
    }
}

#[test]
fn batch_norm_with_batch_size_one_is_rejected() {
    let (code, err, _) = check(&tiny(), &["variant.bn.train.batch_size=1"]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: --set variant.bn.train.batch_size=1: train.batch_size: batch normalization needs a batch of at least 2"),
        "{err}"
    );
    // The baseline alone may use batch size 1.
    let (code, err, _) = check(&tiny(), &["variant.baseline.train.batch_size=1"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn set_overrides_base_and_one_variant() {
    let (code, err, out) = check(
        &tiny(),
        &[
            "train.steps=7",
            "variant.bn.train.lr=0.25",
            "model.hidden=[8]",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let resolved: toml::Table = toml::from_str(&out).unwrap();
    let variants = resolved["variant"].as_array().unwrap();
    let get = |i: usize, sec: &str, key: &str| variants[i][sec][key].clone();
    assert_eq!(get(0, "train", "steps").as_integer(), Some(7));
    assert_eq!(get(1, "train", "steps").as_integer(), Some(7));
    assert_eq!(get(0, "train", "lr").as_float(), Some(0.5));
    assert_eq!(get(1, "train", "lr").as_float(), Some(0.25));
    assert_eq!(get(1, "model", "batch_norm").as_bool(), Some(true));
    assert_eq!(get(0, "model", "hidden").as_array().unwrap().len(), 1);
    assert!(err.contains("2 variant(s): baseline, bn"), "{err}");
}

#[test]
fn set_shadowed_by_a_variant_warns() {
    let (code, err, _) = check(&tiny(), &["model.batch_norm=false"]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains("warning: --set model.batch_norm=false: variant(s) bn set `model.batch_norm`"),
        "{err}"
    );
}

#[test]
fn bad_set_syntax_and_unknown_variant() {
    let (code, err, _) = check(&tiny(), &["train.lr"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("expected KEY=VALUE"), "{err}");
    let (code, err, _) = check(&tiny(), &["variant.bm.train.lr=1"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: --set variant.bm.train.lr=1: no variant `bm`; variants: baseline, bn"
    );
}

#[test]
fn duplicate_variant_names_and_missing_name_are_rejected() {
    let text = tiny().replace("name = \"bn\"", "name = \"baseline\"");
    let (code, err, _) = check(&text, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:32:1: variant name `baseline` is used twice"
    );
    let (code, err, _) = check("kind = \"bn_ablation\"\n", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(err, "error: SPEC: missing required key `name`");
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    assert_eq!(run(&["frobnicate"]).status.code(), Some(1));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
    let out = run(&["run", "/nonexistent/spec.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/spec.toml"));
}

const DIR_RULE: &str =
    "must be non-empty and use only letters, digits, '-', '_' and '.' (it names a directory)";

#[test]
fn the_spec_name_is_checked_like_a_variant_name() {
    // (TOML string body, as the message shows the name)
    let bad = [
        ("../../x", "../../x"),
        ("/tmp/x", "/tmp/x"),
        ("", ""),
        ("..", ".."),
        (".hidden", ".hidden"),
        ("a/b", "a/b"),
        ("a\\\\b", "a\\\\b"),
        ("a\\nb", "a\\nb"),
        ("a\\u0007b", "a\\u{7}b"),
        ("a b", "a b"),
    ];
    for (body, shown) in bad {
        // Without variants the name is also the one variant's folder; with them, the run's.
        let lone = format!("name = \"{body}\"\nkind = \"bn_ablation\"\n");
        let many = tiny().replace("name = \"tiny\"", &format!("name = \"{body}\""));
        for text in [lone, many] {
            let (code, err, _) = check(&text, &[]);
            assert_eq!(code, Some(1), "{body}: {err}");
            assert_eq!(err, format!("error: SPEC:1:1: name `{shown}` {DIR_RULE}"));
        }
    }
    // A variant name breaks the same rule with the same words.
    let (code, err, _) = check(&tiny().replace("name = \"bn\"", "name = \"a\\tb\""), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        format!("error: SPEC:32:1: variant name `a\\tb` {DIR_RULE}")
    );
}

#[test]
fn a_set_name_is_checked_like_the_file_name() {
    let lone = "name = \"lone\"\nkind = \"bn_ablation\"\n".to_string();
    for text in [tiny(), lone] {
        for (value, shown) in [
            ("../../x", "../../x"),
            ("/tmp/x", "/tmp/x"),
            ("", ""),
            ("..", ".."),
            ("a\\b", "a\\\\b"),
            ("a\nb", "a\\nb"),
        ] {
            let set = format!("name={value}");
            let (code, err, _) = check(&text, &[&set]);
            assert_eq!(code, Some(1), "{set}: {err}");
            assert_eq!(
                err,
                format!(
                    "error: --set {}: name `{shown}` {DIR_RULE}",
                    set.escape_debug()
                )
            );
        }
        let (code, err, _) = check(&text, &["name=fine-name_2.0"]);
        assert_eq!(code, Some(0), "{err}");
    }
    // A variant's name is not the spec's to change by --set (it was a way to give one variant
    // a spec name of its own).
    let (code, err, _) = check(&tiny(), &["variant.bn.name=../x"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("a variant's name is fixed by the spec"),
        "{err}"
    );
}

#[test]
fn sizes_beyond_the_machines_memory_are_spec_errors_naming_the_key() {
    for (set, key) in [
        ("model.hidden=[100000000]", "model.hidden"),
        ("train.batch_size=1099511627776", "train.batch_size"),
    ] {
        let (code, err, _) = check(&tiny(), &[set]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.starts_with(&format!(
                "error: --set {set}: {key}: this variant needs about "
            )) && err.contains("GiB to train")
                && err.contains("this machine has"),
            "{err}"
        );
    }
    let mobilenet =
        std::fs::read_to_string(repo().join("experiments/smoke/mobilenet_tiny.toml")).unwrap();
    let (code, err, _) = check(&mobilenet, &["mobilenet.resolution=100000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("mobilenet.resolution: this variant needs about"),
        "{err}"
    );
    // And `run` stops there too, before any allocation.
    let results = tempfile::tempdir().unwrap();
    let out = runner()
        .args(["run", tiny_spec().to_str().unwrap(), "--results"])
        .arg(results.path())
        .args(["--set", "model.hidden=[100000000]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs about"), "{}", stderr(&out));
}

/// `train.rmsprop_style` and `train.decay_skips`: wrong values are located, and settings the
/// spec's optimizer would ignore are errors, not silent no-ops.
#[test]
fn rmsprop_style_and_decay_skips_are_checked() {
    let cases = [
        (
            vec!["train.rmsprop_style=keras"],
            "error: --set train.rmsprop_style=keras: train.rmsprop_style: unknown value `keras`; \
             expected one of: pytorch, tensorflow",
        ),
        (
            vec!["train.rmsprop_style=tensorflow"],
            "error: --set train.rmsprop_style=tensorflow: train.rmsprop_style: is an RMSProp \
             option; set train.optimizer = \"rmsprop\" or leave it out",
        ),
        (
            vec!["train.decay_skips=[\"depthwise\"]"],
            "error: --set train.decay_skips=[\"depthwise\"]: train.decay_skips: names parameters \
             that weight decay skips, but train.weight_decay is 0",
        ),
        (
            vec![
                "train.weight_decay=1e-4",
                "train.decay_skips=[\"bias\", \"bias\"]",
            ],
            "error: --set train.decay_skips=[\"bias\", \"bias\"]: train.decay_skips: lists \
             `bias` twice",
        ),
    ];
    for (sets, expected) in cases {
        let (code, err, _) = check(&tiny(), &sets);
        assert_eq!(code, Some(1), "{sets:?}");
        assert_eq!(err, expected, "{sets:?}");
    }
    let (code, err, _) = check(
        &tiny(),
        &[
            "train.weight_decay=1e-4",
            "train.decay_skips=[\"batchnorm\"]",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("train.decay_skips") && err.contains("unknown value `batchnorm`"),
        "{err}"
    );
    // In a file: located at the value.
    let text = tiny().replace("[train]\n", "[train]\nrmsprop_style = \"tf\"\n");
    let (code, err, _) = check(&text, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: SPEC:") && err.contains("train.rmsprop_style: unknown value `tf`"),
        "{err}"
    );
    // Accepted where they apply, and an old spec resolves without them.
    let (code, err, resolved) = check(
        &tiny(),
        &[
            "train.optimizer=rmsprop",
            "train.rmsprop_style=tensorflow",
            "train.weight_decay=1e-4",
            "train.decay_skips=[\"batch_norm\", \"depthwise\"]",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        resolved.contains("rmsprop_style = \"tensorflow\""),
        "{resolved}"
    );
    let (code, _, resolved) = check(&tiny(), &[]);
    assert_eq!(code, Some(0));
    assert!(!resolved.contains("rmsprop_style") && !resolved.contains("decay_skips"));
}
