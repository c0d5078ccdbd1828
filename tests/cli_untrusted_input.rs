//! Hostile input through the real binary: names, paths and option values that try to break out
//! of a generated Slurm script, and dataset files whose headers lie about their sizes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Files named `pwned*` anywhere under `dir`: proof that an injected command ran.
fn pwned_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with("pwned") {
                found.push(p);
            }
        }
    }
    found
}

/// sbatch's reading of the value of one `#SBATCH` option (src/sbatch/opt.c, `_get_argument`):
/// `"` toggles quoting, `\` escapes the next character, an unescaped `#` ends the line,
/// unquoted whitespace ends the value. Returns the value and the rest of the line.
fn sbatch_value(line: &str) -> (String, &str) {
    let mut value = String::new();
    let (mut quoted, mut escape) = (false, false);
    for (i, c) in line.char_indices() {
        if !quoted && c.is_whitespace() {
            return (value, &line[i..]);
        }
        if escape {
            escape = false;
            value.push(c);
        } else if c == '\\' {
            escape = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == '#' {
            return (value, &line[i..]);
        } else {
            value.push(c);
        }
    }
    (value, "")
}

/// Every kind of shell metacharacter, in a form that can be a path component.
const HOSTILE: &str = "q'u\"o $(touch pwned1) `touch pwned2`; touch pwned3 & # %A \\ ~";

#[test]
fn hostile_paths_and_values_reach_the_job_intact_and_run_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    // The executable, the spec, the sweep dir and the data dir all live under hostile names.
    let bin_dir = root.join(format!("bin {HOSTILE}"));
    std::fs::create_dir(&bin_dir).unwrap();
    let exe = bin_dir.join("runner");
    std::fs::copy(env!("CARGO_BIN_EXE_runner"), &exe).unwrap();
    let spec_dir = root.join(format!("spec {HOSTILE}"));
    std::fs::create_dir(&spec_dir).unwrap();
    let spec = spec_dir.join(format!("tiny {HOSTILE}.toml"));
    std::fs::copy(tiny_spec(), &spec).unwrap();
    let data = root.join(format!("data {HOSTILE}"));
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::symlink(repo().join("data/mnist-10k"), data.join("mnist-10k")).unwrap();
    let sweep = root.join(format!("sweep {HOSTILE}"));
    let partition = format!("gpu {HOSTILE}");

    let mut command = Command::new(&exe);
    command
        .current_dir(root)
        .arg("sweep")
        .arg(&spec)
        .arg("--dir")
        .arg(&sweep)
        .arg("--data-dir")
        .arg(&data)
        .args(["--set", "train.steps=20", "--seeds", "4", "--slurm"])
        .arg("--partition")
        .arg(&partition);
    // `exe` was written just now; another test thread forking at that moment holds its
    // write descriptor until its exec, and exec then fails with ETXTBSY. Try again.
    let out = (0..50)
        .find_map(|_| match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                None
            }
            other => Some(other.unwrap()),
        })
        .expect("the fake sbatch stayed busy for 5 s");
    assert!(out.status.success(), "{}", stderr(&out));
    let script_path = sweep.join("sweep.sbatch");
    let script = std::fs::read_to_string(&script_path).unwrap();

    // sbatch reads each directive value back as it was meant.
    let directive = |key: &str| {
        let line = script
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#SBATCH --{key}=")))
            .unwrap_or_else(|| panic!("no --{key} in\n{script}"));
        let (value, rest) = sbatch_value(line);
        assert_eq!(rest, "", "--{key}: trailing {rest:?} in\n{script}");
        value
    };
    let logs = sweep.join("logs").display().to_string().replace('%', "%%");
    assert_eq!(directive("output"), format!("{logs}/slurm-%A_%a.out"));
    assert_eq!(directive("partition"), partition);
    let job = directive("job-name");
    assert!(
        job.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)),
        "{job}"
    );
    // Bash sees comments, directives and exactly three commands.
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(commands.len(), 3, "{script}");
    assert_eq!(commands[0], "set -eu");
    assert!(commands[1].starts_with("cd "), "{script}");
    assert!(commands[2].starts_with("exec "), "{script}");

    // Run the task script with a stand-in for runner that records the arguments it gets.
    let args_file = root.join("args");
    std::fs::write(&exe, "#!/bin/sh\nprintf '%s\\0' \"$@\" > \"$ARGS_OUT\"\n").unwrap();
    let ran = Command::new("bash")
        .arg(&script_path)
        .current_dir(root)
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("ARGS_OUT", &args_file)
        .env_remove("SLURM_CPUS_PER_TASK")
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}\n{script}", stderr(&ran));
    assert_eq!(pwned_files(root), Vec::<PathBuf>::new(), "{script}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.split_terminator('\0').collect();
    let abs = |p: &Path| std::path::absolute(p).unwrap().display().to_string();
    assert_eq!(
        args,
        [
            "run-cell",
            &abs(&sweep),
            "3",
            "--threads",
            "1",
            "--data-dir",
            &abs(&data)
        ],
        "{script}"
    );
}

#[test]
fn a_control_character_in_anything_that_reaches_the_slurm_script_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let injected = "x\ntouch pwned\n#";
    let evil_spec = root.join(format!("spec{injected}.toml"));
    std::fs::copy(tiny_spec(), &evil_spec).unwrap();
    let tiny = tiny_spec().display().to_string();
    let name = format!("name={injected}");
    let quoted_name = format!("name={injected:?}");
    let partition = format!("--partition={injected}");
    let sbatch = format!("--sbatch=--account={injected}");
    let evil_spec = evil_spec.display().to_string();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("the spec's name", vec![&tiny, "--set", &name]),
        (
            "the spec's name (TOML string)",
            vec![&tiny, "--set", &quoted_name],
        ),
        ("the spec's path", vec![&evil_spec]),
        ("--partition", vec![&tiny, &partition]),
        ("--sbatch", vec![&tiny, &sbatch]),
    ];
    for (i, (what, args)) in cases.into_iter().enumerate() {
        let sweep = root.join(format!("sweep{i}"));
        let out = runner()
            .current_dir(root)
            .arg("sweep")
            .args(&args)
            .arg("--dir")
            .arg(&sweep)
            .arg("--slurm")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        assert!(
            !sweep.join("sweep.sbatch").exists(),
            "{what}: a script was written:\n{}",
            std::fs::read_to_string(sweep.join("sweep.sbatch")).unwrap()
        );
        let err = stderr(&out);
        assert!(!err.contains("internal error"), "{what}: {err}");
    }
    // A newline in the sweep directory itself: refused before any script exists.
    let sweep = root.join(format!("sweep{injected}"));
    let out = runner()
        .current_dir(root)
        .args(["sweep", &tiny, "--slurm", "--dir"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("control character"),
        "{}",
        stderr(&out)
    );
    assert!(!sweep.join("sweep.sbatch").exists());
    assert_eq!(pwned_files(root), Vec::<PathBuf>::new());
}

/// Runs the binary with `args` under an address-space limit of `limit` bytes, so that
/// anything sized by a lying header fails here instead of eating the machine.
fn run_limited(args: &[&str], limit: u64) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = runner();
    cmd.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// A clean user error (exit 1) that names `file`, not an abort or an internal error.
fn assert_user_error_naming(out: &std::process::Output, file: &Path) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(!err.contains("internal error"), "{err}");
    assert!(!err.contains("memory allocation"), "{err}");
    err
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_cifar_tar_header_claiming_a_huge_member_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("cifar10");
    std::fs::create_dir(&dir).unwrap();
    let archive = dir.join("cifar-10-binary.tar.gz");
    let mut header = tar::Header::new_gnu();
    header
        .set_path("cifar-10-batches-bin/data_batch_1.bin")
        .unwrap();
    header.set_size(1 << 40);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend_from_slice(&[0u8; 3073]);
    std::fs::write(&archive, gzip(&tar)).unwrap();
    let results = tempfile::tempdir().unwrap();
    let out = run_limited(
        &[
            "run",
            tiny_spec().to_str().unwrap(),
            "--set",
            "data.dataset=cifar10",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--results",
            results.path().to_str().unwrap(),
        ],
        4 << 30,
    );
    let err = assert_user_error_naming(&out, &archive);
    assert!(
        err.contains("claims 1099511627776 bytes") || err.contains("SHA-256"),
        "{err}"
    );
}

/// A mnist-10k folder under `data` with the shipped labels and test files and `images` as
/// its training images, stored under the decompressed name (so `data verify` reads it).
fn mnist_with_train_images(data: &Path, images: &[u8]) -> PathBuf {
    let dir = data.join("mnist-10k");
    std::fs::create_dir(&dir).unwrap();
    for f in [
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(repo().join("data/mnist-10k").join(f), dir.join(f)).unwrap();
    }
    let path = dir.join("train-images-idx3-ubyte");
    std::fs::write(&path, images).unwrap();
    path
}

#[test]
fn an_idx_gzip_bomb_stops_at_the_size_its_header_declares() {
    // 10 images of 28x28, then 2 GiB more zeros as 64 gzip members of 32 MiB each.
    let mut first = vec![0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28];
    first.resize(16 + 10 * 784, 0);
    let mut bomb = gzip(&first);
    let member = gzip(&vec![0u8; 32 << 20]);
    for _ in 0..64 {
        bomb.extend_from_slice(&member);
    }
    let data = tempfile::tempdir().unwrap();
    let path = mnist_with_train_images(data.path(), &bomb);
    let out = run_limited(
        &["data", "verify", "mnist-10k", "--data-dir"]
            .into_iter()
            .chain([data.path().to_str().unwrap()])
            .collect::<Vec<_>>(),
        1 << 30,
    );
    let err = assert_user_error_naming(&out, &path);
    assert!(err.contains("size mismatch"), "{err}");
}

#[test]
fn idx_headers_claiming_huge_dims_are_clear_errors() {
    let huge: [(&str, Vec<u8>); 3] = [
        (
            "truncated",
            vec![
                0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3,
            ],
        ),
        (
            "more than its gzip data can hold",
            gzip(&[0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]),
        ),
        (
            "overflow",
            gzip(&[
                0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ]),
        ),
    ];
    for (want, bytes) in huge {
        let data = tempfile::tempdir().unwrap();
        let path = mnist_with_train_images(data.path(), &bytes);
        let out = run_limited(
            &[
                "data",
                "verify",
                "mnist-10k",
                "--data-dir",
                data.path().to_str().unwrap(),
            ],
            1 << 30,
        );
        let err = assert_user_error_naming(&out, &path);
        assert!(err.contains(want), "{want}: {err}");
    }
}
