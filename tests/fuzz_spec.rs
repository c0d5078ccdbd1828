//! Fuzzing the spec loader and `--set` parsing with seeded mutations of every shipped spec and
//! arbitrary bytes: never a panic, every error the user's (exit 1, not an internal error) and
//! naming the file (or `--set`); a sample of the mutants through the real binary's `check`
//! exits 0 or 1 with the file on stderr's first line.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use runner::config::Override;

use common::{repo, runner, stderr};

/// Every `.toml` under experiments/, sorted (a fixed corpus for fixed seeds).
fn shipped_specs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join("experiments"), &mut out);
    out.sort();
    assert!(out.len() >= 10, "{out:?}");
    out
}

/// Values of the wrong type, out of range, or hostile, for a key's right-hand side.
const HOSTILE_VALUES: &[&str] = &[
    "-1",
    "0",
    "-0.0",
    "1e400",
    "-1e400",
    "1e-400",
    "99999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "nan",
    "inf",
    "-inf",
    "\"NaN\"",
    "\"inf\"",
    "\"\"",
    "\"../../x\"",
    "\"/tmp/x\"",
    "\"a\\nb\"",
    "\"\\u0000\"",
    "\"\u{202e}\u{1F600}\"",
    "true",
    "[]",
    "[[]]",
    "[1, \"a\"]",
    "[100000000]",
    "[-1]",
    "{}",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "'''multi\nline'''",
];

/// One seeded mutation of `text`: a byte flip, a truncation, a deleted or duplicated line, a
/// value replaced by a hostile one, a duplicated table, or a few of these at once.
fn mutate(text: &str, rng: &mut Pcg64) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..=3) {
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let pick = rng.random_range(0..lines.len());
        bytes = match rng.random_range(0..7) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
                bytes
            }
            1 => {
                bytes.truncate(rng.random_range(0..=bytes.len()));
                bytes
            }
            2 => join(
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != pick)
                    .map(|p| *p.1),
            ),
            3 => join(
                lines
                    .iter()
                    .enumerate()
                    .flat_map(|(i, l)| std::iter::repeat_n(*l, if i == pick { 2 } else { 1 })),
            ),
            4 | 5 => {
                // A value swapped: the line `key = value` keeps its key.
                let line = String::from_utf8_lossy(lines[pick]);
                let value = HOSTILE_VALUES[rng.random_range(0..HOSTILE_VALUES.len())];
                let new = match line.split_once('=') {
                    Some((key, _)) => format!("{key}= {value}"),
                    None => format!("x = {value}"),
                };
                let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                out[pick] = new.into_bytes();
                out.join(&b'\n')
            }
            _ => {
                // A table or array-of-tables header, with the lines up to the next header,
                // appended again at the end.
                let headers: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].first() == Some(&b'['))
                    .collect();
                if headers.is_empty() {
                    bytes
                } else {
                    let start = headers[rng.random_range(0..headers.len())];
                    let end = headers
                        .iter()
                        .copied()
                        .find(|&h| h > start)
                        .unwrap_or(lines.len());
                    let mut out = bytes.clone();
                    out.push(b'\n');
                    out.extend(join(lines[start..end].iter().copied()));
                    out
                }
            }
        };
    }
    bytes
}

fn join<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    lines.collect::<Vec<_>>().join(&b'\n')
}

/// Loads `bytes` as the spec `origin` with `sets`: no panic, and an error is the user's and
/// names `origin` (or `--set`, for an edit's own error). Returns whether it loaded.
fn load_is_sound(bytes: &[u8], origin: &str, sets: &[Override], case: &str) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let result = catch_unwind(AssertUnwindSafe(|| {
        runner::kinds::load_str(&text, origin, sets)
    }));
    let Ok(result) = result else {
        panic!("{case}: the loader panicked on:\n{text}");
    };
    if let Err(e) = &result {
        let message = format!("{e:#}");
        assert!(
            runner::error::is_user_error(e),
            "{case}: not a user error: {message}\n{text}"
        );
        assert!(
            message.contains(origin) || (!sets.is_empty() && message.contains("--set")),
            "{case}: the error does not name the file: {message}\n{text}"
        );
    }
    result.is_ok()
}

#[test]
fn mutated_shipped_specs_never_panic_and_errors_name_the_file() {
    let mut rng = Pcg64::seed_from_u64(12);
    let (mut loaded, mut refused) = (0, 0);
    for path in shipped_specs() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.strip_prefix(repo()).unwrap().display().to_string();
        for i in 0..1000 {
            let bytes = mutate(&text, &mut rng);
            match load_is_sound(&bytes, &name, &[], &format!("{name} mutant {i}")) {
                true => loaded += 1,
                false => refused += 1,
            }
        }
    }
    // Both sides are exercised: mutants that still load (a deleted optional line, a duplicated
    // variant table that is refused by name, ...) and mutants that do not.
    assert!(
        loaded > 1000 && refused > 1000,
        "{loaded} loaded, {refused} refused"
    );
}

#[test]
fn arbitrary_bytes_never_panic_the_loader() {
    let mut rng = Pcg64::seed_from_u64(7);
    // Bytes from a TOML-ish alphabet find the parser's corners sooner than uniform ones.
    const ALPHABET: &[u8] = b"[]{}=\"'.,#\n -+_0123456789aeinrtvxEkn\\\t\r\x00\xff";
    for i in 0..3000 {
        let len = rng.random_range(0..200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.random_bool(0.8) {
                    ALPHABET[rng.random_range(0..ALPHABET.len())]
                } else {
                    rng.random()
                }
            })
            .collect();
        let _ = load_is_sound(&bytes, "fuzz.toml", &[], &format!("bytes {i}"));
    }
}

/// `--set` strings: keys from the shipped specs' paths (into arrays and tables, through
/// variants, absent ones), hostile values, unicode and `=` inside.
#[test]
fn set_strings_never_panic_and_errors_name_set() {
    let mut rng = Pcg64::seed_from_u64(3);
    const KEYS: &[&str] = &[
        "name",
        "seed",
        "kind",
        "train.lr",
        "train.steps",
        "train.batch_size",
        "model.hidden",
        "model.hidden.0",
        "model.width",
        "data",
        "data.dataset",
        "variant",
        "variant.0",
        "variant.bn",
        "variant.bn.train.lr",
        "variant.bn.name",
        "variant.*.train.lr",
        "expect",
        "expect.0.claim",
        "mobilenet.resolution",
        "rcnn.canvas.size",
        "rcnn.conv_channels.1",
        "ssl",
        "a..b",
        ".x",
        "x.",
        " ",
        "",
        "ü.ß",
        "\u{1F600}",
        "train.lr.x",
        "train=lr",
    ];
    let specs = shipped_specs();
    let texts: Vec<(String, String)> = specs
        .iter()
        .map(|p| {
            (
                p.strip_prefix(repo()).unwrap().display().to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    for i in 0..3000 {
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let value = HOSTILE_VALUES[rng.random_range(0..HOSTILE_VALUES.len())];
        let raw = match rng.random_range(0..4) {
            0 => format!("{key}={value}"),
            1 => format!("{key}={value}={value}"),
            2 => key.to_string(),
            _ => format!(" {key} = {} ", &value[..value.len() / 2]),
        };
        let case = format!("--set {raw:?} ({i})");
        let parsed = catch_unwind(|| raw.parse::<Override>())
            .unwrap_or_else(|_| panic!("{case}: parsing panicked"));
        let set = match parsed {
            Ok(set) => set,
            Err(e) => {
                let message = format!("{e:#}");
                assert!(runner::error::is_user_error(&e), "{case}: {message}");
                assert!(message.starts_with("--set "), "{case}: {message}");
                continue;
            }
        };
        let (name, text) = &texts[rng.random_range(0..texts.len())];
        let _ = load_is_sound(text.as_bytes(), name, &[set], &format!("{case} on {name}"));
    }
}

/// A sample of the mutants through `runner check FILE`: exit 0 or 1 only (never a panic's 101,
/// an abort's 134 or an internal error's 2), and a failure's first line names the file.
#[test]
fn mutants_through_the_binary_exit_0_or_1_naming_the_file() {
    let mut rng = Pcg64::seed_from_u64(99);
    let dir = tempfile::tempdir().unwrap();
    let specs = shipped_specs();
    for i in 0..60 {
        let source = &specs[i % specs.len()];
        let bytes = mutate(&std::fs::read_to_string(source).unwrap(), &mut rng);
        let path = dir.path().join(format!("mutant-{i}.toml"));
        std::fs::write(&path, &bytes).unwrap();
        let out = runner().arg("check").arg(&path).output().unwrap();
        let err = stderr(&out);
        let case = format!(
            "{} mutant {i}:\n{}",
            source.display(),
            String::from_utf8_lossy(&bytes)
        );
        match out.status.code() {
            Some(0) => {}
            Some(1) => {
                let first = err.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with("error: ") && first.contains(&path.display().to_string()),
                    "{case}\n{err}"
                );
            }
            code => panic!("exit {code:?}: {case}\n{err}"),
        }
    }
}
