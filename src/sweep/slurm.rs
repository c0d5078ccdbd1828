//! A sweep as a Slurm job array: one task per cell, each running
//! `runner run-cell SWEEP $SLURM_ARRAY_TASK_ID`, at most K at once, a log per task.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::Plan;
use crate::{bail_user, user_error};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: usize,
    pub gpus: Option<String>,
    pub mem: Option<String>,
    /// More `#SBATCH` lines, verbatim (`--account=x`, `--qos=y`).
    pub extra: Vec<String>,
    /// At most this many tasks at once (`%K`).
    pub max_parallel: usize,
}

pub const SCRIPT: &str = "sweep.sbatch";

/// Writes `SWEEP/sweep.sbatch`. Paths are made absolute: the job runs on another node.
///
/// Everything that enters the script goes through one of three doors, so no value can add a
/// line or a command to it: shell words through [`shell_quote`] (POSIX single quotes), the
/// values of `#SBATCH` lines through [`sbatch_quote`] (sbatch reads those lines with its own
/// quoting, not the shell's), and comments verbatim. All three refuse control characters
/// (a newline would end a comment or a directive and start a command) with a user error that
/// names the value. The job name is reduced to letters, digits and `._+-`.
pub fn write_script(
    sweep: &Path,
    plan: &Plan,
    opts: &Options,
    exe: &Path,
    run_cell_args: &[String],
) -> anyhow::Result<PathBuf> {
    let sweep = std::path::absolute(sweep)?;
    let cwd = std::env::current_dir()?;
    let script = sweep.join(SCRIPT);
    let n = plan.cells.len();
    let word = |what: &str, p: &Path| -> anyhow::Result<String> {
        Ok(shell_quote(script_text(what, path_text(what, p)?)?))
    };
    let mut s = String::new();
    writeln!(s, "#!/bin/bash")?;
    writeln!(
        s,
        "# Slurm job array written by `runner sweep --slurm`: {n} cells of {} ({}).",
        script_text("the spec's name", &plan.name)?,
        script_text("the spec's path", &plan.spec_source)?
    )?;
    writeln!(
        s,
        "# Submit all:         sbatch {}",
        word("the sweep directory", &script)?
    )?;
    writeln!(
        s,
        "# Only some cells:    sbatch --array=2,5-7 {}   (`runner status {}` prints the list)",
        word("the sweep directory", &script)?,
        word("the sweep directory", &sweep)?
    )?;
    writeln!(
        s,
        "# A cell that already finished exits at once; an interrupted one resumes from its checkpoints."
    )?;
    writeln!(s, "#SBATCH --job-name={}", job_name(&plan.name)?)?;
    writeln!(
        s,
        "#SBATCH --array=0-{}%{}",
        n.saturating_sub(1),
        opts.max_parallel.max(1)
    )?;
    // `%` starts a Slurm filename pattern (`%A`, `%a`); the folder's own are doubled.
    let logs = path_text("the sweep directory", &sweep.join("logs"))?.replace('%', "%%");
    writeln!(
        s,
        "#SBATCH --output={}",
        sbatch_quote("the sweep directory", &format!("{logs}/slurm-%A_%a.out"))?
    )?;
    writeln!(s, "#SBATCH --cpus-per-task={}", opts.cpus_per_task.max(1))?;
    let values = [
        ("partition", &opts.partition),
        ("time", &opts.time),
        ("gpus", &opts.gpus),
        ("mem", &opts.mem),
    ];
    for (key, value) in values {
        if let Some(v) = value {
            writeln!(
                s,
                "#SBATCH --{key}={}",
                sbatch_quote(&format!("--{key}"), v)?
            )?;
        }
    }
    for e in &opts.extra {
        // Verbatim by design (several options, sbatch's own quoting), but one line only.
        writeln!(s, "#SBATCH {}", script_text("--sbatch", e)?)?;
    }
    writeln!(s, "set -eu")?;
    writeln!(s, "cd {}", word("the current directory", &cwd)?)?;
    let mut cmd = format!(
        "exec {} run-cell {} \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
        word("the runner executable's path", exe)?,
        word("the sweep directory", &sweep)?,
        opts.cpus_per_task.max(1)
    );
    for a in run_cell_args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(script_text("a run-cell argument", a)?));
    }
    writeln!(s, "{cmd}")?;
    crate::util::fs::write_atomic(&script, s.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", script.display()))?;
    }
    Ok(script)
}

/// Submits the script (optionally only the cells in `array`), returning the job id and
/// recording it in `SWEEP/slurm-jobs.txt` for `runner status`.
pub fn submit(sweep: &Path, script: &Path, array: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(a) = array {
        cmd.arg(format!("--array={a}"));
    }
    cmd.arg(script);
    let out = cmd.output().map_err(|e| {
        user_error!(
            "cannot run sbatch ({e}); is Slurm installed here? The script is {}",
            script.display()
        )
    })?;
    if !out.status.success() {
        bail_user!(
            "sbatch failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let job = text.trim().split(';').next().unwrap_or("").to_string();
    if job.is_empty() {
        bail_user!("sbatch printed no job id: {text}");
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sweep.join("slurm-jobs.txt"))?;
    writeln!(
        f,
        "{job} {} {}",
        array.unwrap_or("all"),
        crate::run::manifest::now()
    )?;
    Ok(job)
}

/// Job ids submitted for this sweep.
pub fn submitted_jobs(sweep: &Path) -> Vec<String> {
    std::fs::read_to_string(sweep.join("slurm-jobs.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Array tasks of these jobs that Slurm still knows: `(task index, state)` such as
/// `(3, "PENDING")`; `None` when squeue cannot be asked.
pub fn queued_tasks(jobs: &[String]) -> Option<Vec<(usize, String)>> {
    if jobs.is_empty() {
        return Some(Vec::new());
    }
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "-j"])
        .arg(jobs.join(","))
        .output()
        .ok()?;
    if !out.status.success() {
        // squeue fails for job ids it no longer knows; ask one by one.
        if jobs.len() > 1 {
            let mut all = Vec::new();
            for j in jobs {
                all.extend(queued_tasks(std::slice::from_ref(j)).unwrap_or_default());
            }
            return Some(all);
        }
        return Some(Vec::new());
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (id, state) = l.trim().split_once(' ')?;
                let (_, task) = id.split_once('_')?;
                Some((task.parse().ok()?, state.trim().to_string()))
            })
            .collect(),
    )
}

/// `s` as one POSIX shell word: unchanged when it is made only of characters no shell treats
/// specially, otherwise in single quotes, inside which nothing is special; a `'` in `s`
/// becomes `'\''` (close, an escaped quote, reopen). The one quoting function for shell
/// words in generated scripts; callers pass values through [`script_text`] first.
pub fn shell_quote(s: &str) -> String {
    if plain(s) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `s` as the value of an `#SBATCH` option. sbatch splits these lines itself: whitespace ends
/// a value unless inside double quotes, `\` escapes the next character and an unescaped `#`
/// starts a comment (even inside quotes). So a value with any of these is double-quoted with
/// `\`, `"` and `#` escaped. A shell never reads these lines (they are comments to it).
pub fn sbatch_quote(what: &str, s: &str) -> anyhow::Result<String> {
    let s = script_text(what, s)?;
    if plain(s) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// `s` unchanged, or a user error naming `what` when it holds a control character: a newline
/// (or carriage return, form feed...) in a comment or an `#SBATCH` line would start a new line
/// of the script, which bash runs.
pub fn script_text<'a>(what: &str, s: &'a str) -> anyhow::Result<&'a str> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        bail_user!(
            "{what} {s:?} holds the control character {c:?}; nothing with control characters \
             can go into a Slurm script"
        );
    }
    Ok(s)
}

/// Non-empty and made only of characters that neither a shell nor sbatch treats specially.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
}

/// A path as text, refusing paths that are not UTF-8 (they would be written wrongly).
fn path_text<'a>(what: &str, p: &'a Path) -> anyhow::Result<&'a str> {
    p.to_str().ok_or_else(|| {
        user_error!(
            "{what} {} is not valid UTF-8; it cannot go into a Slurm script",
            p.display()
        )
    })
}

/// `runner-NAME` with every character but letters, digits and `._+-` replaced by `_`: a job
/// name is a label in `squeue`, never worth quoting. A name with control characters is
/// refused all the same, as a sign of a spec that should not be run.
fn job_name(name: &str) -> anyhow::Result<String> {
    let name = script_text("the spec's name", name)?;
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(format!("runner-{clean}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings an attacker would put in a name or a path.
    const HOSTILE: &[&str] = &[
        "",
        "plain",
        "two words",
        "it's",
        "''",
        "'; touch /tmp/pwned; '",
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        "${HOME}",
        "a;b&&c||d|e>f<g",
        "\\'\\\"",
        "\"quoted\" # comment",
        "*?[a-z]~!{a,b}",
        "-n",
        "é unicode ✓",
    ];

    /// What `sh` makes of `word` as one argument (the word itself when quoting is right).
    fn through_sh(word: &str) -> Vec<String> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {word}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{word}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_terminator('\0').map(str::to_string).collect()
    }

    #[test]
    fn shell_quote_gives_one_word_with_the_same_text() {
        let mut all: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        // Shell quoting itself copes with line breaks (script_text refuses them earlier).
        all.push("line\nbreak; touch /tmp/pwned".into());
        for s in &all {
            assert_eq!(through_sh(&shell_quote(s)), vec![s.clone()], "{s:?}");
        }
        assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    /// sbatch's reading of one `#SBATCH` value (src/sbatch/opt.c, `_get_argument`): `"`
    /// toggles quoting, `\\` escapes the next character, an unescaped `#` ends the line,
    /// unquoted whitespace ends the value. Returns the value and what is left of the line.
    fn sbatch_reads(line: &str) -> (String, String) {
        let mut value = String::new();
        let (mut quoted, mut escape) = (false, false);
        let mut rest = line.char_indices();
        for (i, c) in rest.by_ref() {
            if !quoted && c.is_whitespace() {
                return (value, line[i..].to_string());
            }
            if escape {
                escape = false;
                value.push(c);
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                quoted = !quoted;
            } else if c == '#' {
                return (value, line[i..].to_string());
            } else {
                value.push(c);
            }
        }
        (value, String::new())
    }

    #[test]
    fn sbatch_quote_gives_one_value_with_the_same_text() {
        for s in HOSTILE.iter().filter(|s| !s.is_empty()) {
            let q = sbatch_quote("x", s).unwrap();
            assert_eq!(
                sbatch_reads(&q),
                (s.to_string(), String::new()),
                "{s:?} as {q}"
            );
        }
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for bad in [
            "a\nb",
            "a\rb",
            "\n#SBATCH --x",
            "tab\there",
            "nul\0",
            "del\u{7f}",
        ] {
            let err = script_text("the spec's name", bad).unwrap_err();
            assert!(crate::error::is_user_error(&err), "{err}");
            assert!(format!("{err}").contains("control character"), "{err}");
            assert!(sbatch_quote("--partition", bad).is_err());
            assert!(job_name(bad).is_err());
        }
    }

    #[test]
    fn job_names_keep_only_safe_characters() {
        assert_eq!(job_name("bn-lr_0.1+x").unwrap(), "runner-bn-lr_0.1+x");
        assert_eq!(
            job_name("$(rm -rf ~); `x` 'y' \"z\"").unwrap(),
            "runner-__rm_-rf______x___y___z_"
        );
    }

    fn plan(name: &str, spec_source: &str) -> Plan {
        Plan {
            format: super::super::FORMAT,
            name: name.into(),
            spec_source: spec_source.into(),
            spec_sha256: String::new(),
            config_sha256: String::new(),
            sets: Vec::new(),
            grid: Vec::new(),
            seeds: Vec::new(),
            cells: Vec::new(),
        }
    }

    #[test]
    fn a_script_is_written_only_when_nothing_can_break_out() {
        let dir = tempfile::tempdir().unwrap();
        let exe = Path::new("/usr/bin/runner");
        let write = |plan: &Plan, opts: &Options| {
            write_script(dir.path(), plan, opts, exe, &["--data-dir".into()])
        };
        let injected = "x\ntouch /tmp/pwned\n#";
        assert!(write(&plan(injected, "s.toml"), &Options::default()).is_err());
        assert!(write(&plan("ok", injected), &Options::default()).is_err());
        let opts = Options {
            partition: Some(injected.into()),
            ..Default::default()
        };
        assert!(write(&plan("ok", "s.toml"), &opts).is_err());
        let opts = Options {
            extra: vec![injected.into()],
            ..Default::default()
        };
        assert!(write(&plan("ok", "s.toml"), &opts).is_err());
        assert!(!dir.path().join(SCRIPT).exists());

        let opts = Options {
            partition: Some("a b#c".into()),
            ..Default::default()
        };
        let path = write(&plan("$(x) `y`; z", "s.toml"), &opts).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.contains("#SBATCH --job-name=runner-__x___y___z\n"),
            "{text}"
        );
        assert!(text.contains("#SBATCH --partition=\"a b\\#c\"\n"), "{text}");
    }
}
