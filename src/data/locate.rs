//! Where runner looks for a dataset on disk, finding its files there, and what it says when
//! they are nowhere.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::catalog::{DATASETS, DatasetSpec, Format, IDX_FILES, spec};
use super::cifar;
use crate::user_error;

/// Debian's data packages install here, one folder per dataset.
pub const SYSTEM_DIR: &str = "/usr/share/datasets";
/// Environment variable naming a folder that holds one sub-folder per dataset.
pub const DATA_ENV: &str = "RUNNER_DATA";

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

/// The files a dataset was found as, in the folder that holds them.
#[derive(Clone, Debug)]
pub(super) enum Found {
    /// IDX: the four files in [`IDX_FILES`] order (each `.gz` or decompressed).
    Idx([PathBuf; 4]),
    /// CIFAR-10: the five training batches then the test batch.
    CifarBins(Vec<PathBuf>),
    CifarArchive(PathBuf),
}

/// What `dir` holds of the dataset, if all of it.
pub(super) fn find_in(spec: &DatasetSpec, dir: &Path) -> Option<Found> {
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

pub(super) fn locate_spec(spec: &DatasetSpec, opts: &DataOptions) -> Option<(PathBuf, Found)> {
    places(spec.name, opts)
        .into_iter()
        .filter_map(|p| p.dir)
        .find_map(|dir| find_in(spec, &dir).map(|found| (dir, found)))
}

pub(super) fn expected_files(spec: &DatasetSpec) -> String {
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

pub(super) fn not_found(spec: &DatasetSpec, opts: &DataOptions) -> anyhow::Error {
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

#[cfg(test)]
mod tests {
    use super::super::load::load;
    use super::*;

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
