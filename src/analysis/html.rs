//! `report.html`: the whole report as one self-contained page, the one a researcher sends a
//! colleague. It renders the cells that report.md renders (the group tables and the claim
//! table, built once in `aggregate` and `claims`), with the verdicts coloured, the learning
//! curves inline as SVG, the warnings, and each run's manifest facts and resolved spec folded.
//!
//! No script, no stylesheet or font from elsewhere: it opens the same offline. Every text that
//! comes from a spec or a run dir (names, claims, labels, the spec itself) is escaped, so a
//! claim reading `<script>` shows as text. Like report.md it holds no time and no absolute run
//! path, so the page of a sweep that was killed and continued is that of an uninterrupted one.

use std::path::{Component, Path, PathBuf};

use super::aggregate::{Collection, Run, group_cells};
use super::claims::{self, ClaimResult, Verdict};

/// What the page shows, beyond the collection: per group, its plot's SVG text (as plotters
/// wrote it: text and attribute values escaped), and the warnings of the report.
pub struct Page<'a> {
    pub collection: &'a Collection,
    pub claims: &'a [ClaimResult],
    pub plots: &'a [Option<String>],
    pub warnings: &'a [String],
}

const STYLE: &str = "
body { font-family: sans-serif; color: #1a1a1a; max-width: 1120px; margin: 1.5em auto;
  padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
/* A table wider than the page scrolls on its own, not the page. */
.scroll { overflow-x: auto; margin: 0.6em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #c8c8c8; padding: 0.25em 0.55em; text-align: left;
  vertical-align: top; }
th { background: #f0f0f0; }
td.pass, td.fail, td.missing { white-space: nowrap; }
td.pass { background: #d9f2d9; color: #0b5a0b; font-weight: bold; }
td.fail { background: #f9d6d6; color: #8f0d0d; font-weight: bold; }
td.missing { background: #ececec; color: #555; font-weight: bold; }
td.why { color: #8f0d0d; font-weight: bold; }
.scorecard { font-size: 1.15em; font-weight: bold; }
.warnings li { color: #7a4b00; }
figure { margin: 0.8em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
details { margin: 0.4em 0; border: 1px solid #ddd; padding: 0.3em 0.6em; }
summary { cursor: pointer; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dt { font-weight: bold; }
dd { margin: 0; font-family: monospace; word-break: break-all; }
";

/// The page's HTML5 text.
pub fn render(page: &Page) -> String {
    let c = page.collection;
    let mut names: Vec<&str> = Vec::new();
    for g in &c.groups {
        if !names.contains(&g.name.as_str()) {
            names.push(&g.name);
        }
    }
    let title = format!("Results: {}", names.join(", "));
    let runs: Vec<&Run> = c.groups.iter().flat_map(|g| &g.runs).collect();
    let base = base(&runs);
    let shown: Vec<String> = runs.iter().map(|r| below(&r.dir, &base)).collect();
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    out += "<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += &format!("<title>{}</title>\n", esc(&title));
    out += &format!("<style>{STYLE}</style>\n</head>\n<body>\n");
    out += &format!("<h1>{}</h1>\n", esc(&title));
    out += &format!(
        "<p>{} run(s) in {} configuration(s): {}.</p>\n",
        runs.len(),
        c.groups.len(),
        shown
            .iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    warnings(&mut out, page, &base);
    claims_section(&mut out, page.claims);
    out += "<h2 id=\"tables\">Tables and learning curves</h2>\n";
    let mut last_name = None;
    for (i, g) in c.groups.iter().enumerate() {
        if last_name != Some(&g.name) {
            out += &format!(
                "<h3>{} (<code>{}</code>)</h3>\n",
                esc(&g.name),
                esc(&g.kind)
            );
            last_name = Some(&g.name);
        }
        if !g.label.is_empty() {
            out += &format!("<h4><code>{}</code></h4>\n", esc(&g.label));
        }
        out += &format!(
            "<p>Mean ± std over {} seed(s) ({}).</p>\n",
            g.runs.len(),
            esc(&g.seeds().join(", "))
        );
        let t = group_cells(g);
        table(&mut out, &t.header, &t.rows, |_, _| None);
        if !t.same.is_empty() {
            out += &format!("<p>Same in every row: {}.</p>\n", esc(&t.same.join("; ")));
        }
        if let Some(svg) = page.plots.get(i).and_then(Option::as_ref) {
            out += &format!(
                "<figure>\n{}\n<figcaption>Learning curves{}</figcaption>\n</figure>\n",
                svg.trim(),
                if g.runs.len() > 1 {
                    ": the line is the mean over the seeds, the band spans their minimum to maximum"
                } else {
                    ""
                }
            );
        }
    }
    out += "<h2 id=\"runs\">Runs</h2>\n";
    out += "<p>What produced each run (its <code>manifest.json</code>) and its resolved \
            <code>spec.toml</code>, every default spelled out.</p>\n";
    for (run, name) in runs.iter().zip(&shown) {
        run_details(&mut out, run, name);
    }
    out += "</body>\n</html>\n";
    out
}

fn warnings(out: &mut String, page: &Page, base: &Path) {
    let skipped = page
        .collection
        .skipped
        .iter()
        .map(|(d, why)| format!("skipped {}: {why}", below(d, base)));
    let all: Vec<String> = page.warnings.iter().cloned().chain(skipped).collect();
    if all.is_empty() {
        return;
    }
    *out += "<h2 id=\"warnings\">Warnings</h2>\n<ul class=\"warnings\">\n";
    for w in all {
        *out += &format!("<li>{}</li>\n", esc(&w));
    }
    *out += "</ul>\n";
}

fn claims_section(out: &mut String, results: &[ClaimResult]) {
    *out += "<h2 id=\"claims\">Claims of the paper</h2>\n";
    if results.is_empty() {
        *out += &format!("<p>{}</p>\n", esc(claims::NONE_DECLARED));
        return;
    }
    *out += &format!(
        "<p class=\"scorecard\">{}</p>\n",
        esc(&claims::scorecard(results))
    );
    *out += "<p>Each claim is judged on the mean over the seeds of its configuration; \
             <em>check</em> is what PASS needs, with the other side's value (in red where it \
             failed); <em>note</em> gives the seeds used, or why a result is missing.</p>\n";
    let (header, rows) = claims::cells(results);
    let result_col = header.iter().position(|h| h == "result");
    let check_col = header.iter().position(|h| h == "check");
    table(out, &header, &rows, |i, j| {
        let v = results[i].verdict;
        if Some(j) == result_col {
            Some(match v {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
                Verdict::Missing => "missing",
            })
        } else if Some(j) == check_col && v == Verdict::Fail {
            Some("why")
        } else {
            None
        }
    });
}

/// A table of escaped cells; `class(row, column)` names a cell's class.
fn table(
    out: &mut String,
    header: &[String],
    rows: &[Vec<String>],
    class: impl Fn(usize, usize) -> Option<&'static str>,
) {
    *out += "<div class=\"scroll\"><table>\n<thead><tr>";
    for h in header {
        *out += &format!("<th>{}</th>", esc(h));
    }
    *out += "</tr></thead>\n<tbody>\n";
    for (i, row) in rows.iter().enumerate() {
        *out += "<tr>";
        for (j, cell) in row.iter().enumerate() {
            match class(i, j) {
                Some(c) => *out += &format!("<td class=\"{c}\">{}</td>", esc(cell)),
                None => *out += &format!("<td>{}</td>", esc(cell)),
            }
        }
        *out += "</tr>\n";
    }
    *out += "</tbody>\n</table></div>\n";
}

fn run_details(out: &mut String, run: &Run, name: &str) {
    let m = &run.manifest;
    let seed = run
        .seed
        .map(|s| s.to_string())
        .unwrap_or_else(|| "?".into());
    *out += &format!(
        "<details>\n<summary><code>{}</code>, seed {}</summary>\n<dl>\n",
        esc(name),
        esc(&seed)
    );
    let mut fact = |k: &str, v: &str| *out += &format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v));
    fact("seed", &seed);
    fact(
        "git commit",
        m.git_commit.as_deref().unwrap_or("(none recorded)"),
    );
    fact(
        "runner",
        &format!("{} (burn {})", m.runner_version, m.burn_version),
    );
    fact("backend", &m.backend);
    fact("threads", &m.threads.to_string());
    if m.datasets.is_empty() {
        fact("data", "(no dataset file read)");
    }
    for (file, sha) in &m.datasets {
        fact("data", &format!("{file}  sha256 {sha}"));
    }
    *out += "</dl>\n";
    *out += &format!(
        "<pre><code>{}</code></pre>\n</details>\n",
        esc(&run.spec_text)
    );
}

/// Where the page's paths start: the folder that all the runs share (with one run, the folder
/// it lies in), so that the page does not depend on where the results lie.
fn base(runs: &[&Run]) -> PathBuf {
    match runs {
        [] => PathBuf::new(),
        [one] => one.dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => {
            let parts: Vec<Vec<Component>> =
                runs.iter().map(|r| r.dir.components().collect()).collect();
            let shortest = parts.iter().map(Vec::len).min().unwrap_or(0);
            let shared = (0..shortest)
                .take_while(|&k| parts.iter().all(|p| p[k] == parts[0][k]))
                .count();
            parts[0][..shared].iter().collect()
        }
    }
}

/// `dir` below `base`, or all of it where it is not below.
fn below(dir: &Path, base: &Path) -> String {
    match dir.strip_prefix(base) {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.display().to_string(),
        _ => dir.display().to_string(),
    }
}

/// Text for HTML content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc("<script>alert('x & \"y\"')</script>"),
            "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;"
        );
    }
}
