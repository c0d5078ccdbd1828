//! IDX reading and writing through the public API, and loading IDX folders as datasets.

use std::fs;
use std::path::Path;

use runner::data::idx::{self, IdxImages};
use runner::data::registry::{self, DatasetSpec, Format, IDX_FILES};
use runner::error::is_user_error;

fn images(n: usize) -> IdxImages {
    IdxImages {
        n,
        rows: 28,
        cols: 28,
        pixels: (0..n * 784).map(|i| (i * 7 % 256) as u8).collect(),
    }
}

/// The error's full text, which must name `path`, and must mark the error as the user's.
fn user_error_naming(err: anyhow::Error, path: &Path) -> String {
    let msg = format!("{err:#}");
    assert!(is_user_error(&err), "not a user error: {msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg} does not name {}",
        path.display()
    );
    msg
}

#[test]
fn round_trip_gzip_and_raw() {
    let dir = tempfile::tempdir().unwrap();
    for gzip in [true, false] {
        let img = dir.path().join(format!("images-{gzip}"));
        let lab = dir.path().join(format!("labels-{gzip}"));
        idx::write_images(&img, &images(5), gzip).unwrap();
        idx::write_labels(&lab, &[0, 1, 2, 3, 9], gzip).unwrap();
        assert_eq!(idx::read_images(&img).unwrap(), images(5));
        assert_eq!(idx::read_labels(&lab).unwrap(), vec![0, 1, 2, 3, 9]);
    }
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let gz_named_plain = dir.path().join("train-images-idx3-ubyte");
    let plain_named_gz = dir.path().join("train-images-idx3-ubyte.gz");
    idx::write_images(&gz_named_plain, &images(2), true).unwrap();
    idx::write_images(&plain_named_gz, &images(2), false).unwrap();
    assert_eq!(idx::read_images(&gz_named_plain).unwrap(), images(2));
    assert_eq!(idx::read_images(&plain_named_gz).unwrap(), images(2));
}

#[test]
fn truncated_raw_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short-images.idx");
    let bytes = idx::encode_images(&images(3)).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let msg = user_error_naming(idx::read_images(&path).unwrap_err(), &path);
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("3 x 28 x 28 = 2352"), "{msg}");
}

#[test]
fn truncated_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.gz");
    idx::write_images(&path, &images(50), true).unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = user_error_naming(idx::read_images(&path).unwrap_err(), &path);
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn corrupt_gzip_body() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.gz");
    idx::write_labels(&path, &vec![3; 5000], true).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // the stored length no longer matches
    fs::write(&path, &bytes).unwrap();
    let msg = user_error_naming(idx::read_labels(&path).unwrap_err(), &path);
    assert!(msg.contains("corrupt or truncated gzip"), "{msg}");
}

#[test]
fn bad_magic_and_wrong_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-idx.bin");
    fs::write(&path, b"PK\x03\x04 this is a zip file").unwrap();
    let msg = user_error_naming(idx::read_images(&path).unwrap_err(), &path);
    assert!(msg.contains("bad magic 0x504b0304"), "{msg}");

    let labels = dir.path().join("labels.gz");
    idx::write_labels(&labels, &[1, 2, 3], true).unwrap();
    let msg = user_error_naming(idx::read_images(&labels).unwrap_err(), &labels);
    assert!(msg.contains("looks like a labels file"), "{msg}");

    let floats = dir.path().join("floats.idx");
    fs::write(&floats, [0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    let msg = user_error_naming(idx::read_labels(&floats).unwrap_err(), &floats);
    assert!(msg.contains("wrong IDX data type 0x0d"), "{msg}");

    let missing = dir.path().join("absent.gz");
    user_error_naming(idx::read_labels(&missing).unwrap_err(), &missing);
}

const TINY: DatasetSpec = DatasetSpec {
    name: "tiny",
    description: "a test set",
    num_classes: 10,
    train_size: 4,
    test_size: 2,
    format: Format::Idx,
    base_url: None,
    files: &[],
    debian_package: None,
};

fn write_set(dir: &Path, train_labels: &[u8], test_labels: &[u8]) {
    let img = |n: usize| IdxImages {
        n,
        rows: 2,
        cols: 3,
        pixels: [0u8, 51, 255, 102, 153, 204].repeat(n),
    };
    idx::write_images(&dir.join(IDX_FILES[0]), &img(4), true).unwrap();
    idx::write_labels(&dir.join(IDX_FILES[1]), train_labels, true).unwrap();
    // The decompressed form of a name is accepted as well.
    idx::write_images(&dir.join("t10k-images-idx3-ubyte"), &img(2), false).unwrap();
    idx::write_labels(&dir.join(IDX_FILES[3]), test_labels, true).unwrap();
}

#[test]
fn load_scales_pixels_and_records_files() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &[0, 1, 2, 9], &[5, 6]);
    let ds = registry::load_from_dir(&TINY, dir.path()).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (4, 2));
    assert_eq!(
        (ds.train.channels, ds.train.height, ds.train.width),
        (1, 2, 3)
    );
    assert_eq!(ds.train.image(3), &[0.0, 0.2, 1.0, 0.4, 0.6, 0.8]);
    assert_eq!(ds.test.labels, vec![5, 6]);
    assert_eq!(ds.files.len(), 4);
    assert!(ds.files[2].0.ends_with("t10k-images-idx3-ubyte"));
    for (path, sha) in &ds.files {
        assert_eq!(
            sha,
            &runner::util::hash::sha256_file(Path::new(path)).unwrap()
        );
    }
}

#[test]
fn load_rejects_inconsistent_sets() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &[0, 1, 2], &[5, 6]);
    let err = registry::load_from_dir(&TINY, dir.path()).unwrap_err();
    assert!(is_user_error(&err));
    assert!(format!("{err}").contains("holds 4 images but"), "{err}");

    write_set(dir.path(), &[0, 1, 2, 3], &[5, 10]);
    let err = registry::load_from_dir(&TINY, dir.path()).unwrap_err();
    assert!(
        format!("{err}").contains("test label 10 is out of range"),
        "{err}"
    );

    fs::remove_file(dir.path().join(IDX_FILES[3])).unwrap();
    let err = registry::load_from_dir(&TINY, dir.path()).unwrap_err();
    assert!(
        format!("{err}").contains("does not hold dataset `tiny`"),
        "{err}"
    );
}

#[test]
fn verify_flags_a_modified_file() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = registry::DataOptions::default()
        .shipped_dir()
        .join("mnist-10k");
    let copy = dir.path().join("mnist-10k");
    fs::create_dir_all(&copy).unwrap();
    for f in IDX_FILES {
        fs::copy(shipped.join(f), copy.join(f)).unwrap();
    }
    let opts = registry::DataOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    assert!(registry::verify("mnist-10k", &opts).unwrap().ok());

    // Same labels, stored uncompressed under the .gz name: not the published bytes, so
    // refused at load (with a hint at the name), and verify must say so.
    let labels = idx::read_labels(&copy.join(IDX_FILES[1])).unwrap();
    idx::write_labels(&copy.join(IDX_FILES[1]), &labels, false).unwrap();
    let err = runner::data::load("mnist-10k", &opts).unwrap_err();
    let msg = format!("{err}");
    assert!(
        msg.contains(&format!(
            "{} is not the published file",
            copy.join(IDX_FILES[1]).display()
        )) && msg.contains("not gzip-compressed"),
        "{msg}"
    );
    let report = registry::verify("mnist-10k", &opts).unwrap();
    assert!(!report.ok());
    assert_eq!(report.dir, copy);
    let bad: Vec<_> = report
        .files
        .iter()
        .filter(|f| matches!(f.status, registry::CheckStatus::Mismatch { .. }))
        .collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].path.ends_with(IDX_FILES[1]));

    // Under the decompressed name, the same bytes are mnist-10k's (its decompressed
    // checksums are known): loaded and verified.
    let raw = copy.join(IDX_FILES[1].trim_end_matches(".gz"));
    fs::rename(copy.join(IDX_FILES[1]), &raw).unwrap();
    runner::data::load("mnist-10k", &opts).unwrap();
    assert!(registry::verify("mnist-10k", &opts).unwrap().ok());
    // Every label shifted by one: loadable as IDX, but refused, and verify says so.
    let shifted: Vec<u8> = labels.iter().map(|l| (l + 1) % 10).collect();
    idx::write_labels(&raw, &shifted, false).unwrap();
    let err = runner::data::load("mnist-10k", &opts).unwrap_err();
    assert!(runner::error::is_user_error(&err));
    assert!(format!("{err}").contains("its SHA-256 is"), "{err}");
    let report = registry::verify("mnist-10k", &opts).unwrap();
    assert!(report.mismatched());
}

/// Runs where Debian's dataset-fashion-mnist is installed (it is on the dev machines); the
/// files there are recompressed, so this checks the registry's alternate checksums too.
#[test]
fn debian_fashion_mnist_when_installed() {
    let system = Path::new(registry::SYSTEM_DIR).join("fashion-mnist");
    if !system.join(IDX_FILES[0]).is_file() {
        eprintln!("skipped: {} not installed", system.display());
        return;
    }
    let opts = registry::DataOptions::default();
    let report = registry::verify("fashion-mnist", &opts).unwrap();
    if report.dir == system {
        assert!(report.ok(), "{report:?}");
    }
    let ds = runner::data::load("fashion-mnist", &opts).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (60_000, 10_000));
    assert_eq!(ds.train.image_len(), 784);
}

#[test]
fn list_reports_the_shipped_set() {
    let infos = runner::data::list(&registry::DataOptions::default());
    let names: Vec<_> = infos.iter().map(|i| i.name).collect();
    assert_eq!(names, ["mnist-10k", "mnist", "fashion-mnist", "cifar10"]);
    let shipped = &infos[0];
    assert!(shipped.found.is_some() && !shipped.fetchable);
    assert_eq!((shipped.train_size, shipped.test_size), (7996, 2004));
}

/// Arbitrary bytes, and valid files with bytes flipped, cut, or headers rewritten: every one
/// reads or fails with a user error, without a panic or an abort. Bounded in time.
#[test]
fn fuzz_idx_reader_never_panics() {
    use rand::{Rng, SeedableRng};
    use std::io::Write;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0x1d8);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz");
    let seeds = [
        idx::encode_images(&IdxImages {
            n: 3,
            rows: 2,
            cols: 4,
            pixels: (0..24).collect(),
        })
        .unwrap(),
        idx::encode_labels(&[1, 2, 3, 4, 5]).unwrap(),
        idx::encode_images(&images(2)).unwrap(),
    ];
    let gzip = |b: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b).unwrap();
        enc.finish().unwrap()
    };
    let start = std::time::Instant::now();
    let mut cases = 0;
    while cases < 20_000 && start.elapsed() < std::time::Duration::from_secs(3) {
        cases += 1;
        let mut bytes = match rng.random_range(0..4) {
            0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
            // A valid header's magic with arbitrary dimensions and a short payload.
            1 => {
                let mut b = vec![0, 0, 8, *[1u8, 3].get(rng.random_range(0..2)).unwrap()];
                for _ in 0..b[3] {
                    let d: u32 = match rng.random_range(0..3) {
                        0 => rng.random(),
                        1 => rng.random_range(0..8),
                        _ => u32::MAX - rng.random_range(0..4),
                    };
                    b.extend_from_slice(&d.to_be_bytes());
                }
                b.extend((0..rng.random_range(0..32)).map(|_| rng.random::<u8>()));
                b
            }
            _ => seeds[rng.random_range(0..seeds.len())].clone(),
        };
        // Mutate: flip bytes, cut, extend.
        for _ in 0..rng.random_range(0..4) {
            if !bytes.is_empty() {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
        }
        if rng.random_bool(0.3) {
            bytes.truncate(rng.random_range(0..=bytes.len()));
        }
        if rng.random_bool(0.5) {
            bytes = gzip(&bytes);
            if rng.random_bool(0.3) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            if rng.random_bool(0.2) {
                bytes.truncate(rng.random_range(0..=bytes.len()));
            }
        }
        fs::write(&path, &bytes).unwrap();
        let result = std::panic::catch_unwind(|| {
            [
                idx::read_images(&path).map(|_| ()),
                idx::read_labels(&path).map(|_| ()),
                idx::parse_bytes(&bytes, idx::IMAGES_MAGIC).map(|_| ()),
                idx::parse_bytes(&bytes, idx::LABELS_MAGIC).map(|_| ()),
            ]
        });
        let results = result.unwrap_or_else(|_| panic!("reader panicked on {bytes:02x?}"));
        for r in results {
            if let Err(e) = r {
                assert!(is_user_error(&e), "not a user error on {bytes:02x?}: {e:#}");
            }
        }
    }
    eprintln!("{cases} cases in {:?}", start.elapsed());
    assert!(cases > 100, "only {cases} cases ran");
}
