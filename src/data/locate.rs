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

impl Place {
    /// A place the user named (`--data-dir`, `$RUNNER_DATA`): when set, the dataset must be
    /// there, never silently taken from a later place.
    pub fn explicit(&self) -> bool {
        matches!(self.origin, "--data-dir" | "$RUNNER_DATA")
    }
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

impl Found {
    /// Every file, in the order they are read.
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            Found::Idx(paths) => paths.to_vec(),
            Found::CifarBins(paths) => paths.clone(),
            Found::CifarArchive(path) => vec![path.clone()],
        }
    }
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
            let archive = dir.join(cifar::ARCHIVE);
            archive.is_file().then_some(Found::CifarArchive(archive))
        }
    }
}

/// The first folder, in search order, that holds all of dataset `name`; `None` when none
/// does. A `--data-dir` or `$RUNNER_DATA` that is set but does not hold the dataset (the
/// folder does not exist, or lacks some of its files) is an error naming what is missing:
/// the places after it are never searched.
pub fn locate(name: &str, opts: &DataOptions) -> Result<Option<PathBuf>> {
    let spec = spec(name)?;
    Ok(search(spec, opts)?.map(|(_, dir, _)| dir))
}

/// Where [`load`] and [`verify`] read dataset `spec` from; an error saying where it was looked
/// for and how to get it when it is nowhere.
///
/// [`load`]: super::load::load
/// [`verify`]: super::verify::verify
pub(super) fn locate_spec(spec: &DatasetSpec, opts: &DataOptions) -> Result<Located> {
    search(spec, opts)?.ok_or_else(|| not_found(spec, opts))
}

/// What [`locate_spec`] found: the place's origin ([`Place::origin`]), the folder, its files.
pub(super) type Located = (&'static str, PathBuf, Found);

fn search(spec: &DatasetSpec, opts: &DataOptions) -> Result<Option<Located>> {
    for place in places(spec.name, opts) {
        let Some(dir) = &place.dir else {
            continue;
        };
        if let Some(found) = find_in(spec, dir) {
            return Ok(Some((place.origin, dir.clone(), found)));
        }
        if place.explicit() {
            return Err(not_in_place(spec, &place, dir));
        }
    }
    Ok(None)
}

/// The files of `spec` that `dir` lacks, as the error messages name them.
fn missing_files(spec: &DatasetSpec, dir: &Path) -> Vec<String> {
    match spec.format {
        Format::Idx => IDX_FILES
            .iter()
            .filter(|name| {
                let raw = name.trim_end_matches(".gz");
                !dir.join(name).is_file() && !dir.join(raw).is_file()
            })
            .map(|name| name.to_string())
            .collect(),
        Format::Cifar10 => vec![expected_files(spec)],
    }
}

/// `--data-dir` or `$RUNNER_DATA` is set but does not hold dataset `spec` (in `dir`).
fn not_in_place(spec: &DatasetSpec, place: &Place, dir: &Path) -> anyhow::Error {
    let root = dir.parent().unwrap_or(dir);
    let what = match place.origin {
        "$RUNNER_DATA" => format!("$RUNNER_DATA ({})", root.display()),
        origin => format!("{origin} {}", root.display()),
    };
    let mut msg = if !root.is_dir() {
        format!(
            "{what} does not exist (it was to hold dataset `{}` as {})",
            spec.name,
            dir.display()
        )
    } else if !dir.is_dir() {
        format!(
            "dataset `{}` is not in {what}: there is no folder {}",
            spec.name,
            dir.display()
        )
    } else {
        format!(
            "dataset `{}` is incomplete in {what}: {} lacks {}",
            spec.name,
            dir.display(),
            missing_files(spec, dir).join(", ")
        )
    };
    msg += &format!(
        "\nWhen {} is set, datasets are read from there only. The folder needs: {}.\n\
         Put the files there, or {} to use the other places (see `runner data list`).\n\
         To get the files:\n",
        place.origin,
        expected_files(spec),
        match place.origin {
            "$RUNNER_DATA" => "unset $RUNNER_DATA",
            _ => "leave out --data-dir",
        }
    );
    msg += &how_to_get(spec);
    user_error!("{}", msg.trim_end())
}

pub(super) fn expected_files(spec: &DatasetSpec) -> String {
    match spec.format {
        Format::Idx => format!("{} (gzip or not)", IDX_FILES.join(", ")),
        Format::Cifar10 => format!(
            "{}, or {}/{{{}, {}}}",
            cifar::ARCHIVE,
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
    msg += &how_to_get(spec);
    msg += "  or put the files in --data-dir DIR/NAME/ or $RUNNER_DATA/NAME/";
    user_error!("{msg}")
}

/// The ways to get dataset `spec`, one indented line each.
pub(super) fn how_to_get(spec: &DatasetSpec) -> String {
    let mut msg = String::new();
    if spec.base_url.is_some() {
        msg += &format!("  runner data fetch {}\n", spec.name);
    } else {
        msg += &format!(
            "  it ships with runner's source in data/{}/; scripts/data/make_mnist10k.sh \
             rebuilds it\n",
            spec.name
        );
    }
    if let Some(pkg) = spec.debian_package {
        msg += &format!(
            "  apt-get install {pkg}   (installs into {SYSTEM_DIR}/{})\n",
            spec.name
        );
    }
    msg
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
    /// Why it cannot be loaded although a place was named (`--data-dir` or `$RUNNER_DATA`
    /// lacks it): the first line of that error.
    pub problem: Option<String>,
    /// Whether `fetch` can download it.
    pub fetchable: bool,
    pub debian_package: Option<&'static str>,
}

/// Every known dataset, with where each was found.
pub fn list(opts: &DataOptions) -> Vec<DatasetInfo> {
    DATASETS
        .iter()
        .map(|spec| {
            let (found, problem) = match search(spec, opts) {
                Ok(found) => (found.map(|(_, dir, _)| dir), None),
                Err(e) => (None, e.to_string().lines().next().map(String::from)),
            };
            DatasetInfo {
                name: spec.name,
                description: spec.description,
                num_classes: spec.num_classes,
                train_size: spec.train_size,
                test_size: spec.test_size,
                found,
                problem,
                fetchable: spec.base_url.is_some(),
                debian_package: spec.debian_package,
            }
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
        let shipped = DataOptions::default().shipped_dir().join("mnist-10k");
        let copy = dir.path().join("mnist-10k");
        // --data-dir without the dataset's folder, then with an incomplete copy: errors naming
        // the folder and what it lacks, never a fall-through to later places.
        let err = load("mnist-10k", &opts).unwrap_err();
        let msg = format!("{err}");
        assert!(
            msg.starts_with(&format!(
                "dataset `mnist-10k` is not in --data-dir {}: there is no folder {}",
                dir.path().display(),
                copy.display()
            )),
            "{msg}"
        );
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(shipped.join(IDX_FILES[0]), copy.join(IDX_FILES[0])).unwrap();
        let err = load("mnist-10k", &opts).unwrap_err();
        let msg = format!("{err}");
        assert!(
            msg.starts_with(&format!(
                "dataset `mnist-10k` is incomplete in --data-dir {}: {} lacks {}",
                dir.path().display(),
                copy.display(),
                IDX_FILES[1..].join(", ")
            )),
            "{msg}"
        );
        assert!(crate::error::is_user_error(&err));
        assert_eq!(list(&opts)[0].found, None);
        assert!(list(&opts)[0].problem.as_ref().unwrap().contains("lacks"));

        for f in IDX_FILES {
            std::fs::copy(shipped.join(f), copy.join(f)).unwrap();
        }
        let found = locate("mnist-10k", &opts).unwrap().unwrap();
        assert_eq!(found, copy);

        // A --data-dir that does not exist.
        let gone = DataOptions {
            data_dir: Some(dir.path().join("gone")),
            ..opts.clone()
        };
        let msg = format!("{}", load("mnist-10k", &gone).unwrap_err());
        assert!(
            msg.starts_with(&format!(
                "--data-dir {} does not exist",
                dir.path().join("gone").display()
            )),
            "{msg}"
        );

        // Nothing named and nothing anywhere: every place is listed.
        let nowhere = DataOptions {
            data_dir: None,
            ..opts
        };
        std::fs::create_dir_all(dir.path().join("no-cache/mnist-10k")).unwrap();
        if std::env::var_os(DATA_ENV).is_none() && !Path::new(SYSTEM_DIR).join("mnist-10k").exists()
        {
            let msg = format!("{}", load("mnist-10k", &nowhere).unwrap_err());
            assert!(msg.contains("dataset `mnist-10k` not found"), "{msg}");
            assert!(
                msg.contains("(incomplete)") && msg.contains(SYSTEM_DIR),
                "{msg}"
            );
            assert!(msg.contains("no-shipped"), "{msg}");
        }
    }
}
