//! Loading a known dataset, or a folder of its files, into a [`Dataset`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::catalog::{DatasetSpec, Format, spec};
use super::hash_cache::{self, HashCache};
use super::locate::{DataOptions, Found, expected_files, find_in, how_to_get, locate_spec};
use super::verify::reference;
use super::{Dataset, Source, SourceFile, Split, cifar, idx};
use crate::util::hash::sha256_file;
use crate::{bail_user, user_error};

/// Loads dataset `name` from the first place that holds it, after checking every file with a
/// published SHA-256 against it (a mismatch is an error). The SHA-256s are remembered in the
/// cache dir (see [`hash_cache`]), so a second load of unchanged files hashes nothing.
///
/// [`hash_cache`]: super::hash_cache
pub fn load(name: &str, opts: &DataOptions) -> Result<Dataset> {
    let spec = spec(name)?;
    let (origin, dir, found) = locate_spec(spec, opts)?;
    let cache = HashCache::open(opts.cache_dir().map(|d| d.join(hash_cache::FILE)));
    read_found(spec, origin, &dir, found, cache)
}

/// Loads a dataset described by `spec` from `dir` (which holds the files directly), for
/// datasets outside the registry and for tests. Files are checked against the SHA-256s
/// `spec` lists, as [`load`] does (hashed afresh, nothing remembered).
pub fn load_from_dir(spec: &DatasetSpec, dir: &Path) -> Result<Dataset> {
    let found = find_in(spec, dir).ok_or_else(|| {
        user_error!(
            "{} does not hold dataset `{}`: expected {}",
            dir.display(),
            spec.name,
            expected_files(spec)
        )
    })?;
    read_found(spec, "folder", dir, found, HashCache::open(None))
}

/// Every file of `found` with its SHA-256, each checked against the registry before anything
/// is read from it: its path as the manifest records it, absolute with symlinks resolved (the
/// file actually read, whatever the working directory).
fn checked_files(
    spec: &DatasetSpec,
    found: &Found,
    cache: &mut HashCache,
) -> Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    for path in found.paths() {
        let mut sha256 = cache.sha256(&path)?.sha256;
        let reference = reference(spec, &path);
        if let Some(reference) = &reference
            && !reference.accepts(&sha256)
        {
            // A remembered SHA-256 is never the last word against the data.
            cache.forget(&path);
            sha256 = sha256_file(&path)?;
            if !reference.accepts(&sha256) {
                bail_user!(
                    "{} is not the published file of dataset `{}`: its SHA-256 is {sha256}, \
                     expected {}. It was changed or damaged, and training on it would give \
                     other results than the dataset's.{}\nReplace it with the original \
                     (`runner data verify {}` checks every file). To get it:\n{}",
                    path.display(),
                    spec.name,
                    reference.expected,
                    not_gzip_hint(spec, &path),
                    spec.name,
                    how_to_get(spec).trim_end()
                );
            }
        }
        files.push(SourceFile {
            path: real_path(&path),
            sha256,
            sha256_check: match reference {
                Some(_) => "published",
                None => "unpublished",
            }
            .into(),
        });
    }
    Ok(files)
}

/// `path` absolute, symlinks resolved (as given when it cannot be resolved).
fn real_path(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// For an IDX `.gz` file that is not gzip: where a decompressed copy belongs.
fn not_gzip_hint(spec: &DatasetSpec, path: &Path) -> String {
    use std::io::Read;
    let name = path.file_name().and_then(|n| n.to_str());
    let (Format::Idx, Some(name)) = (spec.format, name) else {
        return String::new();
    };
    let mut magic = [0u8; 2];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    match name.strip_suffix(".gz") {
        Some(raw) if read.is_ok() && magic != [0x1f, 0x8b] => {
            format!(" It is not gzip-compressed: a decompressed copy belongs under the name {raw}.")
        }
        _ => String::new(),
    }
}

fn read_found(
    spec: &DatasetSpec,
    origin: &str,
    dir: &Path,
    found: Found,
    mut cache: HashCache,
) -> Result<Dataset> {
    let checked = checked_files(spec, &found, &mut cache);
    cache.save();
    let source = Source {
        dataset: spec.name.to_string(),
        found_in: origin.to_string(),
        dir: real_path(dir),
        files: checked?,
    };
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
    Ok(Dataset {
        name: spec.name.to_string(),
        num_classes: spec.num_classes,
        train,
        test,
        files: source
            .files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect(),
        source,
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

#[cfg(test)]
mod tests {
    use super::super::verify::verify;
    use super::*;

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
}
