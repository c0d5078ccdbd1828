//! Datasets: IDX and CIFAR readers, the registry of known datasets (files, SHA-256s, where to
//! find or fetch them), and the in-memory form every experiment consumes.

pub mod augment;
mod catalog;
pub mod cifar;
pub mod corrupt;
pub mod fetch;
mod hash_cache;
pub mod idx;
mod load;
mod locate;
pub mod preprocess;
mod verify;

/// The registry of known datasets, as one namespace over the files that hold it: what each
/// dataset is (`catalog.rs`), where it is looked for (`locate.rs`), reading it (`load.rs`)
/// and checking it (`verify.rs`, at every load; the SHA-256s remembered by `hash_cache.rs`).
pub mod registry {
    pub use super::catalog::{DATASETS, DatasetSpec, FileSpec, Format, IDX_FILES, spec};
    pub use super::load::{load, load_from_dir};
    pub use super::locate::{
        DATA_ENV, DataOptions, DatasetInfo, Place, SYSTEM_DIR, list, locate, places,
    };
    pub use super::verify::{CheckStatus, FileCheck, VerifyReport, verify};
}

pub use fetch::{FetchReport, fetch};
pub use registry::{DataOptions, DatasetInfo, VerifyReport, list, load, verify};

/// One split of an image-classification dataset, held in memory.
#[derive(Clone, Debug)]
pub struct Split {
    /// `n * channels * height * width` pixel values in `[0, 1]`, image-major, CHW within an image.
    pub images: Vec<f32>,
    /// One class index per image.
    pub labels: Vec<u8>,
    pub n: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Split {
    /// Values per image (`channels * height * width`).
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// A split from raw bytes (CHW per image), each pixel scaled to `byte / 255`.
    ///
    /// # Panics
    /// If `pixels.len() != labels.len() * channels * height * width` (readers check sizes
    /// before calling this).
    pub fn from_bytes(
        pixels: &[u8],
        labels: Vec<u8>,
        channels: usize,
        height: usize,
        width: usize,
    ) -> Split {
        let n = labels.len();
        assert_eq!(pixels.len(), n * channels * height * width, "pixel count");
        Split {
            images: pixels.iter().map(|&b| f32::from(b) / 255.0).collect(),
            labels,
            n,
            channels,
            height,
            width,
        }
    }
}

/// A loaded dataset: its splits plus the provenance recorded in a run's manifest.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub num_classes: usize,
    pub train: Split,
    pub test: Split,
    /// `(file path, SHA-256 hex)` of every file the dataset was read from; the path absolute,
    /// symlinks resolved.
    pub files: Vec<(String, String)>,
    /// Where it was found and what its files were checked against.
    pub source: Source,
}

/// Where a dataset was read from, as a run's manifest records it: the place it was found in
/// the search order (`--data-dir`, `$RUNNER_DATA`, the shipped copy, ...), the folder, and each
/// file with its SHA-256 and the verdict of the check against the published one.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub dataset: String,
    /// `--data-dir`, `$RUNNER_DATA`, `shipped`, `system`, `cache`, or `folder` (a folder
    /// named directly, outside the search).
    pub found_in: String,
    /// The folder, absolute, symlinks resolved.
    pub dir: String,
    pub files: Vec<SourceFile>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub sha256: String,
    /// `published` (the SHA-256 is the published file's) or `unpublished` (none is known for
    /// this file, so it was not checked); a mismatch stops the load.
    pub sha256_check: String,
}
