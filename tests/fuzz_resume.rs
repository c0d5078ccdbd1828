//! A bounded, seeded fuzz of `runner resume` on mutated run dirs (issue 12): a finished tiny
//! run, made resumable again (bn's result.json removed, as if killed after its step-40
//! checkpoint), is copied once per case, damaged as a careless or hostile user could damage it
//! (files truncated, garbled, deleted, replaced by symlinks pointing outside, checkpoint
//! folders swapped, junk rows appended, kept rows edited), and resumed. Whatever the damage:
//! - the process never panics (exit 2 or a signal is a bug);
//! - exit 0 only with every variant's metrics.csv byte-identical to the uninterrupted run's;
//! - otherwise exit 1 with a message naming a path in the run dir;
//! - nothing outside the results dir changes: a sentinel dir, the targets of the symlinks.
//!
//! The seed is fixed (`RUNNER_FUZZ_SEED` picks another) so a failure replays; each failure
//! names the mutations that caused it.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Random cases after the fixed ones; each resume of the tiny run takes well under a second.
const RANDOM_CASES: usize = 36;
const VARIANTS: [&str; 2] = ["baseline", "bn"];

/// splitmix64: a seeded stream of numbers, enough to pick mutations reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a mutation does to one entry of the run dir.
#[derive(Clone, Copy, Debug)]
enum Op {
    Truncate,
    Garble,
    Delete,
    /// Replaced by a symlink to a file outside the results dir.
    LinkOutsideFile,
    /// Replaced by a symlink to a directory outside (holding a copy of what was there).
    LinkOutsideDir,
    /// Replaced by a symlink to a path outside that does not exist.
    LinkDangling,
    AppendJunk,
    /// The last digit of a kept row (line 2) changed.
    EditKeptRow,
    /// A file replaced by an empty directory, a directory by an empty file.
    SwapKind,
}

const OPS: [Op; 9] = [
    Op::Truncate,
    Op::Garble,
    Op::Delete,
    Op::LinkOutsideFile,
    Op::LinkOutsideDir,
    Op::LinkDangling,
    Op::AppendJunk,
    Op::EditKeptRow,
    Op::SwapKind,
];

/// One mutation: `op` on the entry `path` (relative to the run dir), or the two checkpoint
/// folders of a variant swapped.
#[derive(Clone, Debug)]
enum Mutation {
    On(Op, String),
    SwapCheckpoints(&'static str),
}

/// The scratch area: `results/` (the tool's), `outside/` (the sentinel, which must never
/// change), and the template run dir to copy for each case.
struct World {
    root: tempfile::TempDir,
    template: PathBuf,
    reference: BTreeMap<&'static str, Vec<u8>>,
}

impl World {
    fn results(&self) -> PathBuf {
        self.root.path().join("results")
    }

    fn outside(&self) -> PathBuf {
        self.root.path().join("outside")
    }
}

fn setup() -> World {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    let finished = run_tiny(&results, &[]);
    let reference = VARIANTS
        .iter()
        .map(|v| (*v, fs::read(finished.join(v).join("metrics.csv")).unwrap()))
        .collect();
    fs::remove_file(finished.join("bn/result.json")).unwrap();
    let template = finished;
    let outside = root.path().join("outside");
    fs::create_dir_all(outside.join("links")).unwrap();
    fs::write(
        outside.join("target.csv"),
        "step,epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy\n20,0.4,0.5,1,1,1,1\n",
    )
    .unwrap();
    World {
        root,
        template,
        reference,
    }
}

/// Every entry under `dir` (not following symlinks), relative, with what it holds: a file's
/// bytes, a symlink's target, or nothing for a directory.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if m.file_type().is_symlink() {
                let target = fs::read_link(&p).unwrap();
                out.insert(rel, Some(target.as_os_str().as_encoded_bytes().to_vec()));
            } else if m.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn remove(path: &Path) {
    if fs::symlink_metadata(path).unwrap().is_dir() {
        fs::remove_dir_all(path).unwrap();
    } else {
        fs::remove_file(path).unwrap();
    }
}

/// The entries of the run dir a mutation may hit: every file and folder in it, but not the
/// lock file's absence or the dir itself.
fn entries(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = snapshot(dir)
        .into_keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn apply(world: &World, dir: &Path, case: usize, m: &Mutation, rng: &mut Rng) {
    let (op, rel) = match m {
        Mutation::SwapCheckpoints(v) => {
            let ck = dir.join(v).join("checkpoints");
            let (a, b) = (ck.join("step-0000000020"), ck.join("step-0000000040"));
            if a.exists() && b.exists() {
                let tmp = ck.join("swap");
                fs::rename(&a, &tmp).unwrap();
                fs::rename(&b, &a).unwrap();
                fs::rename(&tmp, &b).unwrap();
            }
            return;
        }
        Mutation::On(op, rel) => (*op, rel),
    };
    let path = dir.join(rel);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return; // gone with an earlier mutation of this case
    };
    let is_file = meta.is_file();
    match op {
        Op::Truncate if is_file => {
            let len = meta.len();
            let keep = if len == 0 { 0 } else { rng.next() % len };
            fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(keep)
                .unwrap();
        }
        Op::Garble if is_file && meta.len() > 0 => {
            let mut bytes = fs::read(&path).unwrap();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            fs::write(&path, bytes).unwrap();
        }
        Op::AppendJunk if is_file => {
            let junk: &[u8] = match rng.below(3) {
                0 => b"9999,1,0.5,0.1,0.99,0.1,0.99\n",
                1 => b"not,a,row\n",
                _ => b"\xff\xfe\x00junk",
            };
            let mut bytes = fs::read(&path).unwrap();
            bytes.extend_from_slice(junk);
            fs::write(&path, bytes).unwrap();
        }
        Op::EditKeptRow if is_file => {
            // The last digit of line 2: still a number, another one.
            let mut bytes = fs::read(&path).unwrap();
            let line2 = bytes.iter().position(|&b| b == b'\n').map(|i| i + 1);
            let end = line2.map(|s| s + bytes[s..].iter().take_while(|&&b| b != b'\n').count());
            if let (Some(s), Some(e)) = (line2, end)
                && let Some(i) = (s..e).rev().find(|&i| bytes[i].is_ascii_digit())
            {
                bytes[i] = if bytes[i] == b'9' { b'1' } else { bytes[i] + 1 };
                fs::write(&path, bytes).unwrap();
            }
        }
        Op::Delete => remove(&path),
        Op::LinkOutsideFile => {
            remove(&path);
            std::os::unix::fs::symlink(world.outside().join("target.csv"), &path).unwrap();
        }
        Op::LinkOutsideDir => {
            let target = world.outside().join("links").join(format!("case-{case}"));
            if meta.is_dir() {
                copy_dir(&path, &target);
            } else {
                fs::create_dir_all(&target).unwrap();
            }
            remove(&path);
            std::os::unix::fs::symlink(&target, &path).unwrap();
        }
        Op::LinkDangling => {
            remove(&path);
            let target = world.outside().join(format!("absent-{case}"));
            std::os::unix::fs::symlink(target, &path).unwrap();
        }
        Op::SwapKind => {
            remove(&path);
            if is_file {
                fs::create_dir(&path).unwrap();
            } else {
                fs::write(&path, b"").unwrap();
            }
        }
        // An op that does not apply to this kind of entry does nothing.
        _ => {}
    }
}

/// The fixed cases: the classes of damage that have let resume write outside or end with other
/// metrics, then the random ones.
fn cases(world: &World, rng: &mut Rng) -> Vec<Vec<Mutation>> {
    let on = |op, rel: &str| Mutation::On(op, rel.to_string());
    let mut cases = vec![
        vec![on(Op::LinkOutsideDir, "bn")],
        vec![on(Op::LinkOutsideDir, "baseline")],
        vec![on(Op::LinkOutsideDir, "bn/checkpoints")],
        vec![on(Op::LinkOutsideDir, "bn/model")],
        vec![on(Op::LinkOutsideDir, "bn/tb")],
        vec![on(Op::LinkOutsideFile, "bn/metrics.csv")],
        vec![on(Op::LinkOutsideFile, "baseline/metrics.csv")],
        vec![on(Op::LinkDangling, "baseline/metrics.csv")],
        vec![on(Op::LinkDangling, ".lock")],
        vec![on(Op::LinkOutsideFile, "manifest.json")],
        vec![on(Op::LinkOutsideFile, "summary.csv")],
        vec![on(Op::EditKeptRow, "bn/metrics.csv")],
        vec![on(Op::EditKeptRow, "baseline/metrics.csv")],
        vec![on(Op::AppendJunk, "baseline/metrics.csv")],
        vec![on(Op::Delete, "baseline/metrics.csv")],
        vec![Mutation::SwapCheckpoints("bn")],
    ];
    let targets = entries(&world.template);
    for _ in 0..RANDOM_CASES {
        let n = 1 + rng.below(2);
        cases.push(
            (0..n)
                .map(|_| {
                    if rng.below(12) == 0 {
                        Mutation::SwapCheckpoints(VARIANTS[rng.below(VARIANTS.len())])
                    } else {
                        let op = *rng.pick(&OPS);
                        on(op, rng.pick(&targets).as_str())
                    }
                })
                .collect(),
        );
    }
    cases
}

#[test]
fn resume_on_a_mutated_run_dir_never_panics_never_writes_outside_and_succeeds_only_byte_identical()
{
    let seed = std::env::var("RUNNER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng(seed);
    let world = setup();
    let top_level = || {
        let mut names: Vec<_> = fs::read_dir(world.root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let top_before = top_level();
    let mut failures = Vec::new();
    for (i, mutations) in cases(&world, &mut rng).iter().enumerate() {
        let dir = world.results().join("fuzz").join(format!("case-{i:02}"));
        copy_dir(&world.template, &dir);
        for m in mutations {
            apply(&world, &dir, i, m, &mut rng);
        }
        let outside_before = snapshot(&world.outside());
        let out = run(&["resume", dir.to_str().unwrap(), "-q", "--threads", "1"]);
        let err = stderr(&out);
        let what = format!("case {i} {mutations:?} (seed {seed})");
        match out.status.code() {
            None => failures.push(format!("{what}: killed by a signal; stderr: {err}")),
            Some(0) => {
                for v in VARIANTS {
                    let path = dir.join(v).join("metrics.csv");
                    let link = fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
                    if link || fs::read(&path).ok().as_ref() != Some(&world.reference[v]) {
                        failures.push(format!(
                            "{what}: exit 0, but {v}/metrics.csv is not the uninterrupted \
                             run's{}; stderr: {err}",
                            if link { " (a symlink)" } else { "" }
                        ));
                    }
                }
            }
            Some(1) if err.contains(dir.to_str().unwrap()) && !err.contains("panicked") => {}
            Some(code) => failures.push(format!(
                "{what}: exit {code} without naming a path in the run dir, or a panic; \
                 stderr: {err}"
            )),
        }
        if snapshot(&world.outside()) != outside_before {
            failures.push(format!(
                "{what}: the resume changed the dir outside results/"
            ));
        }
        if top_level() != top_before {
            failures.push(format!("{what}: the resume wrote next to results/"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
