//! CIFAR-10, binary version: each batch file is a run of 3073-byte records, one label byte
//! then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each row-major 32x32), which is
//! already the CHW layout [`crate::data::Split`] wants. Batches are read from extracted
//! `.bin` files or straight out of `cifar-10-binary.tar.gz`, so a fetched tarball is usable
//! without unpacking it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use anyhow::{Context, Result};
use flate2::read::GzDecoder;

use crate::{bail_user, user_error};

pub const SIDE: usize = 32;
pub const CHANNELS: usize = 3;
pub const IMAGE_LEN: usize = CHANNELS * SIDE * SIDE;
pub const RECORD_LEN: usize = 1 + IMAGE_LEN;
pub const NUM_CLASSES: u8 = 10;
/// Training batches, in the order their records are concatenated.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const TEST_FILE: &str = "test_batch.bin";
/// The folder the tarball unpacks into.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";
/// The archive as distributed, holding [`ARCHIVE_DIR`].
pub const ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// Records in each published batch file.
pub const BATCH_RECORDS: usize = 10_000;
/// The size of each published batch file, the most any batch may hold: 30,730,000 bytes.
pub const BATCH_BYTES: u64 = (BATCH_RECORDS * RECORD_LEN) as u64;
/// The most `cifar-10-binary.tar.gz` may inflate to: its six batches plus 1 MiB for tar
/// headers and the small files beside them. Inflation stops there, so a gzip bomb
/// costs neither memory nor much time.
pub const MAX_TAR_BYTES: u64 = 6 * BATCH_BYTES + (1 << 20);

/// The records of one batch file, split into labels and pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub labels: Vec<u8>,
    /// `labels.len() * IMAGE_LEN` bytes, CHW per image.
    pub pixels: Vec<u8>,
}

/// Reads one extracted batch file, refusing (before reading) one larger than a published
/// batch.
pub fn read_batch(path: &Path) -> Result<Batch> {
    let cannot = |e: io::Error| user_error!("cannot read {}: {e}", path.display());
    let file = File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    if len > BATCH_BYTES {
        bail_user!(
            "{}: {len} bytes, more than a CIFAR-10 batch file ({BATCH_BYTES} bytes, \
             {BATCH_RECORDS} records); not a CIFAR-10 binary batch",
            path.display()
        );
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(BATCH_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > BATCH_BYTES {
        bail_user!(
            "{}: grew past {BATCH_BYTES} bytes while being read",
            path.display()
        );
    }
    decode_batch(&bytes, &path.display().to_string())
}

/// Splits batch bytes into labels and pixels; `source` names the file in errors.
pub fn decode_batch(bytes: &[u8], source: &str) -> Result<Batch> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_LEN) {
        bail_user!(
            "{source}: {} bytes is not a whole number of {RECORD_LEN}-byte CIFAR-10 records \
             (truncated or not a CIFAR-10 binary batch)",
            bytes.len()
        );
    }
    let n = bytes.len() / RECORD_LEN;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * IMAGE_LEN);
    for (i, record) in bytes.chunks_exact(RECORD_LEN).enumerate() {
        if record[0] >= NUM_CLASSES {
            bail_user!(
                "{source}: record {i} has label {}, CIFAR-10 labels are 0..=9 \
                 (corrupt, or the CIFAR-100 format)",
                record[0]
            );
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(Batch { labels, pixels })
}

/// The bytes of a batch file holding these records (for tests and conversions).
pub fn encode_batch(batch: &Batch) -> Vec<u8> {
    let mut out = Vec::with_capacity(batch.labels.len() * RECORD_LEN);
    for (label, image) in batch
        .labels
        .iter()
        .zip(batch.pixels.chunks_exact(IMAGE_LEN))
    {
        out.push(*label);
        out.extend_from_slice(image);
    }
    out
}

/// A reader that fails once more than `limit` bytes have been read through it, and says so
/// in `hit` (the error itself may come back wrapped by the tar reader).
struct Bounded<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // At the limit: the stream may end here; one more byte is one too many.
            let mut one = [0u8; 1];
            if !buf.is_empty() && self.inner.read(&mut one)? > 0 {
                self.hit.set(true);
                return Err(io::Error::other("decompressed size limit reached"));
            }
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The batch members of a CIFAR-10 tarball ([`TRAIN_FILES`] and [`TEST_FILE`], in any
/// folder), keyed by file name. Reads the gzip stream once; other members are skipped. Every
/// read is bounded: a member whose tar header claims more than [`BATCH_BYTES`] is refused
/// before anything is allocated for it, and inflation stops at [`MAX_TAR_BYTES`].
pub fn read_tar_gz(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let file = File::open(path).map_err(|e| user_error!("cannot read {}: {e}", path.display()))?;
    let hit = Rc::new(Cell::new(false));
    let gz = Bounded {
        inner: GzDecoder::new(BufReader::new(file)),
        left: MAX_TAR_BYTES,
        hit: hit.clone(),
    };
    let corrupt = |e: io::Error| {
        if hit.get() {
            user_error!(
                "{}: decompresses to more than {MAX_TAR_BYTES} bytes, more than the CIFAR-10 \
                 archive holds (not the CIFAR-10 binary version, or a gzip bomb)",
                path.display()
            )
        } else {
            user_error!(
                "{}: corrupt or truncated tar.gz archive ({e})",
                path.display()
            )
        }
    };
    let mut archive = tar::Archive::new(gz);
    let mut members = BTreeMap::new();
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        let name = entry.path().map_err(corrupt)?;
        let Some(name) = name.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let wanted = TRAIN_FILES.contains(&name.as_str()) || name == TEST_FILE;
        if !entry.header().entry_type().is_file() || !wanted {
            continue;
        }
        let size = entry.size();
        if size > BATCH_BYTES {
            bail_user!(
                "{}: the tar header of {name} claims {size} bytes, more than a CIFAR-10 batch \
                 ({BATCH_BYTES} bytes); the archive is corrupt or not CIFAR-10",
                path.display()
            );
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry.take(size).read_to_end(&mut bytes).map_err(corrupt)?;
        if (bytes.len() as u64) < size {
            bail_user!(
                "{}: corrupt or truncated tar.gz archive ({name} ends after {} of the {size} \
                 bytes its tar header claims)",
                path.display(),
                bytes.len()
            );
        }
        members.insert(name, bytes);
    }
    Ok(members)
}

/// Decodes the named member of a tarball read by [`read_tar_gz`].
pub fn batch_from_archive(
    members: &BTreeMap<String, Vec<u8>>,
    archive: &Path,
    name: &str,
) -> Result<Batch> {
    let bytes = members.get(name).ok_or_else(|| {
        user_error!(
            "{}: the archive has no {name} (not the CIFAR-10 binary version?)",
            archive.display()
        )
    })?;
    decode_batch(bytes, &format!("{}:{name}", archive.display()))
}

/// Concatenates batches in order.
pub fn concat(batches: Vec<Batch>) -> Batch {
    batches.into_iter().fold(
        Batch {
            labels: Vec::new(),
            pixels: Vec::new(),
        },
        |mut acc, b| {
            acc.labels.extend(b.labels);
            acc.pixels.extend(b.pixels);
            acc
        },
    )
}

/// Writes a batch file (tests build small fake CIFAR sets with it).
pub fn write_batch(path: &Path, batch: &Batch) -> Result<()> {
    fs::write(path, encode_batch(batch)).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize) -> Batch {
        Batch {
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            pixels: (0..n * IMAGE_LEN).map(|i| (i % 251) as u8).collect(),
        }
    }

    #[test]
    fn round_trip() {
        let b = batch(4);
        assert_eq!(decode_batch(&encode_batch(&b), "x").unwrap(), b);
    }

    #[test]
    fn rejects_partial_records_and_bad_labels() {
        let mut bytes = encode_batch(&batch(2));
        let err = decode_batch(&bytes[..bytes.len() - 5], "b.bin").unwrap_err();
        assert!(format!("{err}").contains("b.bin: 6141 bytes"), "{err}");
        assert!(crate::error::is_user_error(&err));
        assert!(decode_batch(&[], "e.bin").is_err());
        bytes[RECORD_LEN] = 42;
        let err = decode_batch(&bytes, "b.bin").unwrap_err();
        assert!(format!("{err}").contains("record 1 has label 42"), "{err}");
    }

    #[test]
    fn reads_members_from_a_tarball() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.tar.gz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        let mut tar = tar::Builder::new(gz);
        let bytes = encode_batch(&batch(3));
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("{ARCHIVE_DIR}/{TEST_FILE}"),
            &bytes[..],
        )
        .unwrap();
        tar.into_inner().unwrap().finish().unwrap();

        let members = read_tar_gz(&path).unwrap();
        assert_eq!(
            batch_from_archive(&members, &path, TEST_FILE).unwrap(),
            batch(3)
        );
        let err = batch_from_archive(&members, &path, TRAIN_FILES[0]).unwrap_err();
        assert!(
            format!("{err}").contains("has no data_batch_1.bin"),
            "{err}"
        );

        fs::write(&path, b"\x1f\x8b\x08\x00garbage").unwrap();
        let err = read_tar_gz(&path).unwrap_err();
        assert!(format!("{err}").contains("c.tar.gz: corrupt"), "{err}");
    }
}
