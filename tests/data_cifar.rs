//! CIFAR-10 through the registry: extracted batches and the tarball give the same dataset,
//! and corrupt batches are rejected naming the file. Uses tiny fake batches (3 records each).

use std::fs::{self, File};
use std::path::Path;

use runner::data::cifar::{self, Batch, IMAGE_LEN, TEST_FILE, TRAIN_FILES};
use runner::data::registry::{self, CheckStatus, DataOptions};
use runner::error::is_user_error;

fn batch(seed: usize) -> Batch {
    Batch {
        labels: (0..3).map(|i| ((seed + i) % 10) as u8).collect(),
        pixels: (0..3 * IMAGE_LEN)
            .map(|i| ((i + seed) % 256) as u8)
            .collect(),
    }
}

fn all_names() -> Vec<&'static str> {
    TRAIN_FILES.iter().copied().chain([TEST_FILE]).collect()
}

fn write_extracted(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (i, name) in all_names().into_iter().enumerate() {
        cifar::write_batch(&dir.join(name), &batch(i)).unwrap();
    }
}

fn write_tarball(path: &Path) {
    let gz = flate2::write::GzEncoder::new(File::create(path).unwrap(), Default::default());
    let mut tar = tar::Builder::new(gz);
    // Members out of order, plus the text file the real archive has: order must not matter.
    let mut names = all_names();
    names.reverse();
    for (name, bytes) in names
        .iter()
        .map(|n| {
            let i = all_names().iter().position(|m| m == n).unwrap();
            (n.to_string(), cifar::encode_batch(&batch(i)))
        })
        .chain([("batches.meta.txt".to_string(), b"airplane\n".to_vec())])
    {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("cifar-10-batches-bin/{name}"),
            &bytes[..],
        )
        .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// CIFAR-10's layout without its checksums: the fake batches here are not CIFAR-10, and
/// loading them as `cifar10` is refused (below).
const FAKE_CIFAR: registry::DatasetSpec = registry::DatasetSpec {
    name: "fake-cifar10",
    description: "tiny fake batches in CIFAR-10's format",
    num_classes: 10,
    train_size: 15,
    test_size: 3,
    format: registry::Format::Cifar10,
    base_url: None,
    files: &[],
    debian_package: None,
};

#[test]
fn extracted_and_archived_forms_load_the_same() {
    let spec = &FAKE_CIFAR;
    let root = tempfile::tempdir().unwrap();

    let extracted = root.path().join("extracted");
    write_extracted(&extracted.join(cifar::ARCHIVE_DIR));
    let a = registry::load_from_dir(spec, &extracted).unwrap();

    let archived = root.path().join("archived");
    fs::create_dir_all(&archived).unwrap();
    write_tarball(&archived.join("cifar-10-binary.tar.gz"));
    let b = registry::load_from_dir(spec, &archived).unwrap();

    assert_eq!((a.train.n, a.test.n), (15, 3));
    assert_eq!(
        (a.train.channels, a.train.height, a.train.width),
        (3, 32, 32)
    );
    assert_eq!(a.train.labels, b.train.labels);
    assert_eq!(a.train.images, b.train.images);
    assert_eq!(a.test.images, b.test.images);
    // Batches concatenate in order 1..5: the first image of batch 2 is train image 3.
    assert_eq!(a.train.image(3)[0], 1.0 / 255.0);
    assert_eq!(a.files.len(), 6);
    assert_eq!(b.files.len(), 1);

    // Under the registered name, the fake tarball is not the published one; the extracted
    // batches have no published checksums, so only their contents are checked.
    let cifar10 = registry::spec("cifar10").unwrap();
    let err = registry::load_from_dir(cifar10, &archived).unwrap_err();
    assert!(is_user_error(&err));
    let msg = format!("{err}");
    assert!(
        msg.contains("cifar-10-binary.tar.gz is not the published file of dataset `cifar10`")
            && msg.contains(&format!("expected {}", cifar10.files[0].sha256)),
        "{msg}"
    );
    registry::load_from_dir(cifar10, &extracted).unwrap();
}

#[test]
fn verify_size_checks_extracted_batches() {
    let root = tempfile::tempdir().unwrap();
    write_extracted(&root.path().join("cifar10"));
    let opts = DataOptions {
        data_dir: Some(root.path().to_path_buf()),
        ..Default::default()
    };
    let report = registry::verify("cifar10", &opts).unwrap();
    assert_eq!(report.files.len(), 6);
    // The fake batches hold 3 records, not 10,000, so every one is flagged.
    assert!(!report.ok());
    assert!(report.files.iter().all(|f| matches!(
        &f.status,
        CheckStatus::Mismatch { expected } if expected.starts_with("30730000 bytes")
    )));

    // A tarball that is not the published one is flagged by checksum.
    let other = tempfile::tempdir().unwrap();
    fs::create_dir_all(other.path().join("cifar10")).unwrap();
    write_tarball(&other.path().join("cifar10/cifar-10-binary.tar.gz"));
    let opts = DataOptions {
        data_dir: Some(other.path().to_path_buf()),
        ..Default::default()
    };
    let report = registry::verify("cifar10", &opts).unwrap();
    assert!(!report.ok());
    assert!(matches!(
        &report.files[0].status,
        CheckStatus::Mismatch { expected }
            if expected == "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    ));
}

#[test]
fn corrupt_batch_names_the_file() {
    let spec = registry::spec("cifar10").unwrap();
    let root = tempfile::tempdir().unwrap();
    write_extracted(root.path());
    let victim = root.path().join(TRAIN_FILES[2]);
    let bytes = fs::read(&victim).unwrap();
    fs::write(&victim, &bytes[..bytes.len() - 1]).unwrap();
    let err = registry::load_from_dir(spec, root.path()).unwrap_err();
    assert!(is_user_error(&err));
    let msg = format!("{err:#}");
    assert!(msg.contains(&victim.display().to_string()), "{msg}");
    assert!(msg.contains("3073-byte"), "{msg}");

    let tarball = root.path().join("t.tar.gz");
    write_tarball(&tarball);
    let bytes = fs::read(&tarball).unwrap();
    fs::write(&tarball, &bytes[..bytes.len() / 2]).unwrap();
    let err = cifar::read_tar_gz(&tarball).unwrap_err();
    assert!(is_user_error(&err));
    assert!(
        format!("{err:#}").contains("t.tar.gz: corrupt or truncated"),
        "{err:#}"
    );
}

/// Arbitrary bytes as a batch, and small tarballs with mutated tar headers, sizes, names and
/// compressed bytes: each one reads or fails with a user error, without a panic or an abort
/// (a tar header may claim any size). Bounded in time.
#[test]
fn fuzz_cifar_readers_never_panic() {
    use rand::{Rng, SeedableRng};
    use std::io::Write;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0xc1fa);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.tar.gz");
    let record = cifar::encode_batch(&batch(1));
    let gzip = |b: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b).unwrap();
        enc.finish().unwrap()
    };
    let check = |r: anyhow::Result<()>, what: &str| {
        if let Err(e) = r {
            assert!(is_user_error(&e), "not a user error on {what}: {e:#}");
        }
    };
    let start = std::time::Instant::now();
    let mut cases = 0;
    while cases < 5_000 && start.elapsed() < std::time::Duration::from_secs(3) {
        cases += 1;
        // A batch: arbitrary bytes, or records with a byte changed here and there.
        let mut b: Vec<u8> = if rng.random_bool(0.5) {
            (0..rng.random_range(0..4 * cifar::RECORD_LEN))
                .map(|_| rng.random())
                .collect()
        } else {
            record[..cifar::RECORD_LEN * rng.random_range(0..=3)].to_vec()
        };
        if !b.is_empty() && rng.random_bool(0.5) {
            let i = rng.random_range(0..b.len());
            b[i] = rng.random();
        }
        let r = std::panic::catch_unwind(|| cifar::decode_batch(&b, "fuzz").map(|_| ()));
        check(r.expect("decode_batch panicked"), "a batch");

        // A tarball of one or two members whose headers may lie.
        let mut tar = Vec::new();
        for _ in 0..rng.random_range(1..=2) {
            let name =
                [TEST_FILE, TRAIN_FILES[0], "batches.meta.txt", "x.bin"][rng.random_range(0..4)];
            let body_len = rng.random_range(0..=2 * cifar::RECORD_LEN);
            let mut header = tar::Header::new_gnu();
            header
                .set_path(format!("cifar-10-batches-bin/{name}"))
                .unwrap();
            header.set_size(match rng.random_range(0..4) {
                0 => rng.random(),
                1 => 1 << rng.random_range(20..63),
                _ => body_len as u64,
            });
            header.set_mode(0o644);
            header.set_entry_type(if rng.random_bool(0.9) {
                tar::EntryType::Regular
            } else {
                tar::EntryType::new(rng.random())
            });
            header.set_cksum();
            let mut h = header.as_bytes().to_vec();
            if rng.random_bool(0.3) {
                let i = rng.random_range(0..h.len());
                h[i] = rng.random();
            }
            tar.extend_from_slice(&h);
            tar.extend((0..body_len).map(|i| record[i % record.len()]));
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        }
        if rng.random_bool(0.7) {
            tar.extend_from_slice(&[0; 1024]);
        }
        let mut gz = gzip(&tar);
        if rng.random_bool(0.2) {
            let i = rng.random_range(0..gz.len());
            gz[i] = rng.random();
        }
        if rng.random_bool(0.1) {
            gz.truncate(rng.random_range(0..=gz.len()));
        }
        fs::write(&path, &gz).unwrap();
        let r = std::panic::catch_unwind(|| cifar::read_tar_gz(&path).map(|_| ()));
        let r = r.unwrap_or_else(|_| panic!("read_tar_gz panicked on {gz:02x?}"));
        check(r, "a tarball");
    }
    eprintln!("{cases} cases in {:?}", start.elapsed());
    assert!(cases > 100, "only {cases} cases ran");
}

/// A tarball whose members inflate past what the CIFAR-10 archive can hold stops there.
#[test]
fn tarball_inflation_is_bounded() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    let mut enc =
        flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
    // A skipped member larger than the whole archive may be: its header tells no lie.
    let size = cifar::MAX_TAR_BYTES + (8 << 20);
    let mut header = tar::Header::new_gnu();
    header.set_path("cifar-10-batches-bin/readme.html").unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    enc.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..size.div_ceil(1 << 20) {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap();
    let err = cifar::read_tar_gz(&path).unwrap_err();
    assert!(is_user_error(&err));
    assert!(
        format!("{err:#}").contains("bomb.tar.gz: decompresses to more than"),
        "{err:#}"
    );

    // A batch member claiming more than a batch holds is refused at its header.
    let path = dir.path().join("liar.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
    let mut header = tar::Header::new_gnu();
    header
        .set_path("cifar-10-batches-bin/test_batch.bin")
        .unwrap();
    header.set_size(cifar::BATCH_BYTES + 1);
    header.set_mode(0o644);
    header.set_cksum();
    enc.write_all(header.as_bytes()).unwrap();
    enc.finish().unwrap();
    let err = cifar::read_tar_gz(&path).unwrap_err();
    assert!(
        format!("{err:#}").contains("the tar header of test_batch.bin claims 30730001 bytes"),
        "{err:#}"
    );

    // An extracted batch file larger than a batch is refused before it is read.
    let big = dir.path().join("data_batch_1.bin");
    File::create(&big)
        .unwrap()
        .set_len(cifar::BATCH_BYTES + cifar::RECORD_LEN as u64)
        .unwrap();
    let err = cifar::read_batch(&big).unwrap_err();
    assert!(is_user_error(&err));
    assert!(
        format!("{err:#}").contains("more than a CIFAR-10 batch file"),
        "{err:#}"
    );
}
