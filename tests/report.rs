//! `runner report`: aggregation over seeds, grouping by configuration, claims, on hand-made
//! run dirs of a kind this binary does not have (the report reads only files).

mod common;

use std::path::Path;

use common::*;

/// A finished run dir of a made-up kind, with a summary row per variant
/// `(name, final_test_accuracy, steps_to_target, params)` and a metrics.csv each.
fn fake_run(dir: &Path, lr: f64, seed: u64, rows: &[(&str, f64, Option<u64>, u64)], expects: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let mut spec = format!(
        "name = \"fake\"\nkind = \"random_labels\"\ndescription = \"made up\"\n{expects}\n"
    );
    for (v, ..) in rows {
        spec += &format!(
            "[[variant]]\nname = \"{v}\"\nseed = {seed}\ndevice = \"flex\"\n[variant.train]\nlr = {lr}\nsteps = 100\n[variant.paper]\nacc = \"9{seed}%\"\n\n"
        );
    }
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"runner_version":"0","burn_version":"0","backend":"flex","threads":1,"command_line":[],
            "spec_source":null,"git_commit":null,"datasets":[],"started":"x","finished":"y","resumed":[]}"#,
    )
    .unwrap();
    let mut csv = String::from(
        "variant,status,steps,params,final_test_accuracy,steps_to_target,train_seconds,paper_acc\n",
    );
    for (v, acc, to, params) in rows {
        csv += &format!(
            "{v},done,100,{params},{acc},{},1.{seed},9{seed}%\n",
            to.map(|s| s.to_string()).unwrap_or_default()
        );
        let vdir = dir.join(v);
        std::fs::create_dir_all(&vdir).unwrap();
        std::fs::write(
            vdir.join("metrics.csv"),
            format!(
                "step,test_accuracy,train_loss\n50,{},1.0\n100,{acc},0.5\n",
                acc / 2.0
            ),
        )
        .unwrap();
    }
    std::fs::write(dir.join("summary.csv"), csv).unwrap();
}

const EXPECTS: &str = r#"
[[expect]]
claim = "b beats a"
variant = "b"
metric = "final_test_accuracy"
above = "a"

[[expect]]
claim = "a is near the paper"
variant = "a"
metric = "final_test_accuracy"
paper = 0.5
tolerance = 0.01

[[expect]]
claim = "b reaches the target sooner"
variant = "b"
metric = "steps_to_target"
below = "a"

[[expect]]
claim = "b at step 50 is half its end"
variant = "b"
metric = "test_accuracy"
step = 50
at_most = { variant = "b", metric = "final_test_accuracy" }

[[expect]]
claim = "b gets to 30% by step 50"
variant = "b"
metric = "test_accuracy"
reach = 0.3
at_most = 50

[[expect]]
claim = "b gets to a's final accuracy by the end"
variant = "b"
metric = "test_accuracy"
reach = { variant = "a", metric = "final_test_accuracy" }
at_most = 100

[[expect]]
claim = "a column nobody writes"
variant = "a"
metric = "probe_p50"
at_least = 0
"#;

fn fixture() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    // Two seeds at lr 0.1, one at lr 0.2; `a` never reaches the target in seed 2.
    fake_run(
        &t.path().join("r1"),
        0.1,
        1,
        &[("a", 0.50, Some(80), 10), ("b", 0.70, Some(40), 12)],
        EXPECTS,
    );
    fake_run(
        &t.path().join("r2"),
        0.1,
        2,
        &[("a", 0.52, None, 10), ("b", 0.74, Some(60), 12)],
        EXPECTS,
    );
    fake_run(
        &t.path().join("r3"),
        0.2,
        1,
        &[("a", 0.60, Some(50), 10), ("b", 0.55, Some(40), 12)],
        EXPECTS,
    );
    t
}

#[test]
fn report_groups_by_config_and_averages_over_seeds() {
    let t = fixture();
    let out = run(&["report", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    // Two configurations of `fake`, labelled by what differs.
    assert!(md.contains("## fake (`random_labels`)"), "{md}");
    assert!(md.contains("### train.lr=0.1"), "{md}");
    assert!(md.contains("### train.lr=0.2"), "{md}");
    assert!(md.contains("Mean ± std over 2 seed(s) (1, 2)."), "{md}");
    // a: 0.50 and 0.52 -> 51.00 ± 1.41; b: 72.00 ± 2.83.
    assert!(md.contains("51.00 ± 1.41"), "{md}");
    assert!(md.contains("72.00 ± 2.83"), "{md}");
    // steps_to_target: a reached it in one seed of two.
    assert!(md.contains("80 (1/2)"), "{md}");
    // Constant columns are folded into one line; timings are left out.
    assert!(md.contains("Same in every row: steps = 100"), "{md}");
    assert!(!md.contains("train_seconds"), "{md}");
    // The paper's column beside ours.
    assert!(md.contains("paper_acc"), "{md}");

    let out = run(&["report", t.path().to_str().unwrap(), "--format", "csv"]);
    assert!(out.status.success());
    let csv_text = stdout(&out);
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let rows: Vec<_> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 4, "{csv_text}");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("config")], "train.lr=0.1");
    assert_eq!(&rows[0][col("variant")], "a");
    assert_eq!(&rows[0][col("runs")], "2");
    assert_eq!(&rows[0][col("final_test_accuracy_mean")], "0.51");
    assert_eq!(&rows[0][col("steps_to_target_n")], "1");
}

#[test]
fn check_prints_pass_fail_missing_and_exits_3_on_fail() {
    let t = fixture();
    let out = run(&["report", t.path().to_str().unwrap(), "--check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    assert!(stderr(&out).contains("FAIL"), "{}", stderr(&out));
    let line = |config: &str, claim: &str| {
        text.lines()
            .find(|l| l.contains(config) && l.contains(claim))
            .unwrap_or_else(|| panic!("no row {config} {claim} in\n{text}"))
            .to_string()
    };
    // lr 0.1: b (72%) above a (51%); a 51% within 1% of 50%; b's steps (40, 60 -> 50) below a's
    // (80 and never -> never); b at step 50 (36%) <= its end.
    assert!(line("train.lr=0.1", "b beats a").contains("PASS"));
    assert!(line("train.lr=0.1", "b beats a").contains("> a 51.00%"));
    assert!(line("train.lr=0.1", "a is near the paper").contains("PASS"));
    assert!(line("train.lr=0.1", "b reaches the target sooner").contains("PASS"));
    assert!(line("train.lr=0.1", "b reaches the target sooner").contains("never"));
    assert!(line("train.lr=0.1", "b at step 50").contains("PASS"));
    assert!(line("train.lr=0.1", "a column nobody writes").contains("MISSING"));
    // lr 0.2: b (55%) is below a (60%); a (60%) is 10 points off the paper.
    assert!(line("train.lr=0.2", "b beats a").contains("FAIL"));
    assert!(line("train.lr=0.2", "a is near the paper").contains("FAIL"));
    // b reaches 30% at step 50 (lr 0.1) but only at 100 (lr 0.2, 27.5% at 50); a's final
    // accuracy at 100 (lr 0.1) but never (lr 0.2: 55% < 60%).
    assert!(line("train.lr=0.1", "b gets to 30%").contains("| 50 "));
    assert!(line("train.lr=0.1", "b gets to 30%").contains("PASS"));
    assert!(line("train.lr=0.2", "b gets to 30%").contains("FAIL"));
    assert!(line("train.lr=0.1", "b gets to a's final").contains("PASS"));
    assert!(
        line("train.lr=0.1", "b gets to a's final")
            .contains("steps to test_accuracy ≥ a final_test_accuracy")
    );
    assert!(line("train.lr=0.2", "b gets to a's final").contains("never"));
    assert!(text.contains("8 PASS, 4 FAIL, 2 MISSING"), "{text}");

    // Only the first configuration: everything PASSes or is MISSING, exit 0.
    let out = run(&[
        "report",
        t.path().join("r1").to_str().unwrap(),
        t.path().join("r2").to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn out_writes_tables_claims_and_svg_plots() {
    let t = fixture();
    let out_dir = t.path().join("rep");
    let out = run(&[
        "report",
        t.path().join("r1").to_str().unwrap(),
        t.path().join("r2").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in ["report.md", "report.csv", "claims.csv", "plots/fake.svg"] {
        assert!(out_dir.join(f).is_file(), "missing {f}");
    }
    let svg = std::fs::read_to_string(out_dir.join("plots/fake.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    assert!(svg.contains("test_accuracy") && svg.contains("train_loss"));
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("![learning curves](plots/fake.svg)"));
    // The report folder itself is not mistaken for runs, and a second report is identical.
    let again = run(&[
        "report",
        t.path().join("r1").to_str().unwrap(),
        t.path().join("r2").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(out_dir.join("report.md")).unwrap(),
        md
    );
}

#[test]
fn unfinished_and_duplicate_runs_are_skipped_and_nothing_found_is_an_error() {
    let t = fixture();
    // A copy of r1: same configuration and seed.
    let dup = t.path().join("zz-dup");
    fake_run(
        &dup,
        0.1,
        1,
        &[("a", 0.0, None, 10), ("b", 0.0, None, 12)],
        EXPECTS,
    );
    // An unfinished run.
    let unfinished = t.path().join("zz-unfinished");
    fake_run(&unfinished, 0.3, 1, &[("a", 0.1, None, 10)], EXPECTS);
    let m = std::fs::read_to_string(unfinished.join("manifest.json")).unwrap();
    std::fs::write(
        unfinished.join("manifest.json"),
        m.replace("\"finished\":\"y\"", "\"finished\":null"),
    )
    .unwrap();
    let out = run(&["report", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("zz-dup: same configuration and seed"), "{err}");
    assert!(err.contains("zz-unfinished: unfinished"), "{err}");
    assert!(stdout(&out).contains("51.00 ± 1.41"));

    let empty = tempfile::tempdir().unwrap();
    let out = run(&["report", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no finished runs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_finished_run_without_summary_rows_is_skipped_as_corrupt() {
    let t = fixture();
    // A finished run (another lr, so a group of its own) whose summary.csv lost its rows:
    // header only, then empty.
    let cut = t.path().join("zz-cut");
    fake_run(
        &cut,
        0.3,
        1,
        &[("a", 0.1, None, 10), ("b", 0.2, None, 10)],
        EXPECTS,
    );
    let header = std::fs::read_to_string(cut.join("summary.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    for (text, why) in [
        (header + "\n", "no rows"),
        (String::new(), "no rows, no header"),
    ] {
        std::fs::write(cut.join("summary.csv"), text).unwrap();
        let out = run(&["report", t.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("skipped {}: ", cut.display()))
                && err.contains(&format!(
                    "summary.csv: {why} (a finished run has one per variant)"
                )),
            "{err}"
        );
        let md = stdout(&out);
        assert!(!md.contains("train.lr=0.3"), "{md}");
        assert!(!md.contains("over 0 seed"), "{md}");
        assert!(md.contains("51.00 ± 1.41"), "{md}");

        // On its own it is no finished run at all.
        let out = run(&["report", cut.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("no finished runs") && err.contains(why),
            "{err}"
        );
    }
}

/// `runner check` on tiny.toml plus `extra`; returns the exit code, stderr (with tiny's own
/// claims counted away: `expect.N` of the first added claim reads `expect.0`), and the line
/// number of `extra`'s first line.
fn check_spec(extra: &str) -> (Option<i32>, String, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.toml");
    let base = std::fs::read_to_string(tiny_spec()).unwrap();
    let first = base.lines().count() + 1;
    std::fs::write(&path, base + extra).unwrap();
    let own = std::fs::read_to_string(tiny_spec())
        .unwrap()
        .matches("[[expect]]")
        .count();
    let out = run(&["check", path.to_str().unwrap()]);
    (
        out.status.code(),
        stderr(&out)
            .replace(&path.display().to_string(), "SPEC")
            .replace(&format!("expect.{own}"), "expect.0"),
        first,
    )
}

#[test]
fn expect_entries_are_validated_with_locations() {
    let (code, err, l) = check_spec(
        "[[expect]]\nclaim = \"x\"\nvariant = \"bn\"\nmetric = \"params\"\nat_lest = 3\n",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with(&format!(
            "error: SPEC:{}:1: expect.0.at_lest: unknown key `at_lest` (did you mean `at_least`?)",
            l + 4
        )),
        "{err}"
    );
    let (code, err, l) = check_spec(
        "[[expect]]\nclaim = \"x\"\nvariant = \"baselin\"\nmetric = \"params\"\nat_least = 3\n",
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim(),
        format!(
            "error: SPEC:{}:1: expect.0.variant: no variant `baselin` (did you mean `baseline`?); variants: baseline, bn",
            l + 2
        )
    );
    let (code, err, l) =
        check_spec("[[expect]]\nclaim = \"x\"\nvariant = \"bn\"\nmetric = \"params\"\n");
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("SPEC:{l}:1: expect.0: a claim needs a check")),
        "{err}"
    );
    let (code, err, _) = check_spec(
        "[[expect]]\nclaim = \"x\"\nvariant = \"bn\"\nmetric = \"params\"\ntolerance = 1\n",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("expect.0.tolerance: a tolerance needs the paper's figure"),
        "{err}"
    );
    let (code, err, _) = check_spec(
        "[[expect]]\nclaim = \"x\"\nvariant = \"bn\"\nmetric = \"params\"\nabove = [1]\n",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("expect.0.above: expected a number, a variant name, or a table"),
        "{err}"
    );
    // A good one survives into the resolved spec.
    let (code, err, _) = check_spec(
        "[[expect]]\nclaim = \"x\"\nvariant = \"bn\"\nmetric = \"params\"\nabove = { variant = \"baseline\", metric = \"params\" }\nmargin = 1\n",
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn report_writes_plots_beside_the_run_by_default_and_warns_when_there_is_no_curve() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let out = run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("report/plots/tiny.svg")).unwrap();
    // Axes say what they show; no tick reads -0.0.
    let texts: Vec<&str> = svg.lines().map(str::trim).collect();
    assert!(texts.contains(&"step"), "no x axis label");
    // The panel's caption and its y axis label.
    assert!(
        texts.iter().filter(|t| **t == "test_accuracy").count() >= 2,
        "no y axis label"
    );
    assert!(!texts.iter().any(|t| t.starts_with("-0.0")), "a -0.0 tick");
    assert!(dir.join("report/report.md").is_file());

    // One evaluation per variant: no curves, and a warning saying why.
    let once = tempfile::tempdir().unwrap();
    let dir = run_tiny(once.path(), &["eval.every=1000"]);
    let out = run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no learning curves: each variant was evaluated once"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("report/plots/tiny.svg").exists());
}

/// A claim whose text is markup, and a description (shown in the folded spec) that tries to
/// close the `<pre>` it sits in: report.html must show both as text.
const HOSTILE: &str = r#"
[[expect]]
claim = "<script>alert('claim')</script> & <b>bold</b>"
variant = "a"
metric = "final_test_accuracy"
at_least = 0
"#;

fn hostile_fixture() -> tempfile::TempDir {
    let t = fixture();
    let expects = format!("{EXPECTS}{HOSTILE}");
    for (dir, lr, seed, rows) in [
        (
            "r1",
            0.1,
            1,
            [("a", 0.50, Some(80), 10), ("b", 0.70, Some(40), 12)],
        ),
        (
            "r2",
            0.1,
            2,
            [("a", 0.52, None, 10), ("b", 0.74, Some(60), 12)],
        ),
        (
            "r3",
            0.2,
            1,
            [("a", 0.60, Some(50), 10), ("b", 0.55, Some(40), 12)],
        ),
    ] {
        let dir = t.path().join(dir);
        fake_run(&dir, lr, seed, &rows, &expects);
        let spec = std::fs::read_to_string(dir.join("spec.toml"))
            .unwrap()
            .replace(
                "description = \"made up\"",
                "description = \"</code></pre><script>alert('spec')</script>\"",
            );
        std::fs::write(dir.join("spec.toml"), spec).unwrap();
    }
    t
}

/// The elements of `html` nest: every element opened is closed in order, except HTML's void
/// elements and SVG's self-closed ones (`<rect .../>`); text holds no stray `<`.
fn assert_elements_nest(html: &str) {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];
    let body = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("an HTML5 doctype");
    let mut open: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find('<') {
        let after = &rest[at + 1..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag at {}", &after[..after.len().min(80)]));
        let tag = &after[..end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "a stray `<` in text: <{tag}>");
        if let Some(closing) = tag.strip_prefix('/') {
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("</{closing}> closes nothing"));
            assert_eq!(top, name, "<{top}> closed by </{closing}>");
        } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
        rest = &after[end + 1..];
    }
    assert!(open.is_empty(), "never closed: {open:?}");
}

#[test]
fn report_html_is_one_self_contained_page_with_verdicts_curves_and_escaped_text() {
    let t = hostile_fixture();
    let out = run(&["report", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(t.path().join("report/report.html")).unwrap();
    assert_elements_nest(&html);
    // Nothing from elsewhere, and no script at all: the markup of the spec is text.
    let lower = html.to_lowercase();
    for bad in [
        "src=\"http",
        "href=\"http",
        "<link",
        "<script",
        "<img",
        "@import",
        "url(",
    ] {
        assert!(!lower.contains(bad), "report.html holds {bad}");
    }
    assert!(html.contains(
        "<td>&lt;script&gt;alert(&#39;claim&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;</td>"
    ));
    assert!(html.contains(
        "description = &quot;&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(&#39;spec&#39;)"
    ));
    // The claim table: one row per claim and configuration, each verdict in its colour's class,
    // what a FAIL needed marked, and the scorecard above it.
    let claims = &html[html.find("id=\"claims\"").unwrap()..html.find("id=\"tables\"").unwrap()];
    assert_eq!(claims.matches("<tr>").count(), 1 + 2 * 8, "{claims}");
    assert_eq!(claims.matches("<td class=\"pass\">PASS</td>").count(), 10);
    assert_eq!(claims.matches("<td class=\"fail\">FAIL</td>").count(), 4);
    assert_eq!(
        claims.matches("<td class=\"missing\">MISSING</td>").count(),
        2
    );
    assert_eq!(claims.matches("<td class=\"why\">").count(), 4);
    assert!(claims.contains("<tr><td>fake</td><td>train.lr=0.2</td><td>b beats a</td>"));
    assert!(
        claims.contains("<td class=\"why\">&gt; a 60.00%</td>"),
        "{claims}"
    );
    assert!(claims.contains("<p class=\"scorecard\">10 PASS, 4 FAIL, 2 MISSING</p>"));
    // The tables of report.md, from the same cells; a plot inline per configuration.
    assert!(html.contains("<h4><code>train.lr=0.1</code></h4>"));
    assert!(html.contains("<td>51.00 ± 1.41</td>"));
    assert!(html.contains("Same in every row: steps = 100"));
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains("<figure>\n<svg "));
    // Each run folded with its facts and spec; named below the folder they share.
    assert_eq!(html.matches("<details>").count(), 3);
    for run in ["r1", "r2", "r3"] {
        assert!(
            html.contains(&format!("<summary><code>{run}</code>, seed ")),
            "{run}"
        );
    }
    assert!(html.contains("<dt>threads</dt><dd>1</dd>"));
    assert!(!html.contains(&t.path().display().to_string()));

    // Where the runs lie changes nothing: a second tree of the same runs gives the same page.
    let other = hostile_fixture();
    let out = run(&["report", other.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(other.path().join("report/report.html")).unwrap(),
        html
    );
}

#[test]
fn report_html_of_a_real_run_holds_its_manifest_facts_and_spec() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let out = run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote 5 files"), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("report/report.html")).unwrap();
    assert_elements_nest(&html);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for pair in manifest["datasets"].as_array().unwrap() {
        let (file, sha) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        assert!(
            html.contains(&format!("<dt>data</dt><dd>{file}  sha256 {sha}</dd>")),
            "{file}"
        );
    }
    let threads = manifest["threads"].as_u64().unwrap();
    assert!(html.contains(&format!("<dt>threads</dt><dd>{threads}</dd>")));
    assert!(html.contains("<dt>seed</dt><dd>3</dd>"));
    assert!(html.contains("<dt>git commit</dt>"));
    // The resolved spec, every default spelled out, as the run dir holds it.
    let spec = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
    assert!(
        html.contains(&spec.replace('"', "&quot;")),
        "the spec is not shown whole"
    );
    assert!(html.contains("<p class=\"scorecard\">2 PASS, 0 FAIL, 0 MISSING</p>"));
    assert_eq!(html.matches("<svg ").count(), 1);
}

/// `--scorecard` folds the claims of real runs of three papers into one row each, in the
/// registry's order, with a total; `--check` beside it still exits 3 on a FAIL.
#[test]
fn scorecard_has_one_row_per_paper_with_its_claim_counts() {
    let results = tempfile::tempdir().unwrap();
    let smoke = repo().join("experiments/smoke");
    let run_smoke = |spec: &str, sets: &[&str]| {
        let path = smoke.join(spec);
        let mut args = vec!["run", path.to_str().unwrap(), "-q", "--threads", "1"];
        args.extend(["--results", results.path().to_str().unwrap()]);
        for s in sets {
            args.extend(["--set", s]);
        }
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    run_smoke("claims_bn_tiny.toml", &[]);
    run_smoke("ssl_reweight_claims_tiny.toml", &[]);
    // Broken on purpose: both of its claims FAIL.
    run_smoke(
        "mobilenet_claims_tiny.toml",
        &[
            "mobilenet.rows=[[1,16,1,1],[3,24,2,2],[3,32,3,2],[3,64,4,2],[3,96,3,1],[3,160,3,2],[3,320,1,1]]",
        ],
    );
    let dir = results.path().to_str().unwrap();
    let out = run(&["report", dir, "--scorecard"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let rows: Vec<Vec<String>> = table
        .lines()
        .skip(2)
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        names,
        [
            "Ioffe & Szegedy 2015, Batch Normalization",
            "Sandler et al. 2018, MobileNetV2",
            "Ren, Yeh & Schwing 2020, Not All Unlabeled Data are Equal",
            "all"
        ],
        "{table}"
    );
    let counts = |r: &[String]| r[2..6].join(" ");
    assert_eq!(counts(&rows[0]), "2 2 0 0", "{table}");
    assert_eq!(counts(&rows[1]), "2 0 2 0", "{table}");
    assert_eq!(counts(&rows[2]), "2 2 0 0", "{table}");
    assert_eq!(counts(&rows[3]), "6 4 2 0", "{table}");
    let minutes: f64 = rows[3][6].parse().unwrap();
    assert!((0.0..5.0).contains(&minutes), "{table}");

    let out = run(&["report", dir, "--scorecard", "--check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), table);
}
