//! IDX files, the MNIST format: a 4-byte magic (two zero bytes, a data-type code, the number
//! of dimensions), one big-endian `u32` per dimension, then the values. Only unsigned bytes
//! (type 0x08) are read: every dataset runner knows stores pixels and labels that way.
//! Files may be raw or gzip; which one is decided by the gzip magic bytes, not the name,
//! because mirrors and package managers do not agree on names.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::user_error;

/// Magic of a 3-dimensional unsigned-byte array: `[n, rows, cols]` images.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of a 1-dimensional unsigned-byte array: `[n]` labels.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const UNSIGNED_BYTE: u8 = 0x08;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `n` greyscale images of `rows x cols` bytes, image-major, row-major within an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Reads an images file (magic 0x00000803), raw or gzip.
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gzip(path)?;
    let (dims, payload) = parse(&bytes, IMAGES_MAGIC).map_err(|e| at(path, e))?;
    Ok(IdxImages {
        n: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: payload.to_vec(),
    })
}

/// Reads a labels file (magic 0x00000801), raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gzip(path)?;
    let (_, payload) = parse(&bytes, LABELS_MAGIC).map_err(|e| at(path, e))?;
    Ok(payload.to_vec())
}

/// The file's bytes, gunzipped when they start with the gzip magic.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = fs::read(path).map_err(|e| user_error!("cannot read {}: {e}", path.display()))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| user_error!("{}: corrupt or truncated gzip data ({e})", path.display()))?;
    Ok(out)
}

/// Writes images as IDX, gzip-compressed when `gzip` (with a zero mtime, so output is
/// reproducible byte for byte).
pub fn write_images(path: &Path, images: &IdxImages, gzip: bool) -> Result<()> {
    write(path, &encode_images(images)?, gzip)
}

/// Writes labels as IDX, gzip-compressed when `gzip`.
pub fn write_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<()> {
    write(path, &encode_labels(labels)?, gzip)
}

/// The raw IDX bytes of an images array.
pub fn encode_images(images: &IdxImages) -> Result<Vec<u8>> {
    let IdxImages { n, rows, cols, .. } = *images;
    let expected = n.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    anyhow::ensure!(
        expected == Some(images.pixels.len()),
        "IdxImages holds {} pixels, not {n} x {rows} x {cols}",
        images.pixels.len()
    );
    encode(IMAGES_MAGIC, &[n, rows, cols], &images.pixels)
}

/// The raw IDX bytes of a labels array.
pub fn encode_labels(labels: &[u8]) -> Result<Vec<u8>> {
    encode(LABELS_MAGIC, &[labels.len()], labels)
}

fn encode(magic: u32, dims: &[usize], payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + payload.len());
    out.extend_from_slice(&magic.to_be_bytes());
    for &d in dims {
        let d = u32::try_from(d).context("IDX dimensions must fit in 32 bits")?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    Ok(out)
}

fn write(path: &Path, bytes: &[u8], gzip: bool) -> Result<()> {
    let write = || -> std::io::Result<()> {
        if gzip {
            let mut enc = GzEncoder::new(fs::File::create(path)?, Compression::best());
            enc.write_all(bytes)?;
            enc.finish()?.sync_all()
        } else {
            fs::write(path, bytes)
        }
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

fn at(path: &Path, msg: String) -> anyhow::Error {
    user_error!("{}: {msg}", path.display())
}

/// Checks the header against `magic` and the payload size against the header; returns the
/// dimensions and the payload. Errors say what is wrong without the path (the caller adds it).
fn parse(bytes: &[u8], magic: u32) -> std::result::Result<(Vec<usize>, &[u8]), String> {
    let want_dims = (magic & 0xff) as usize;
    let what = if want_dims == 3 { "images" } else { "labels" };
    if bytes.len() < 4 {
        return Err(format!("not an IDX file: only {} bytes", bytes.len()));
    }
    let got = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: bad magic 0x{got:08x} (expected 0x{magic:08x}, {what})"
        ));
    }
    if bytes[2] != UNSIGNED_BYTE {
        return Err(format!(
            "wrong IDX data type 0x{:02x} (magic 0x{got:08x}); only unsigned bytes (0x08) are supported",
            bytes[2]
        ));
    }
    let ndims = bytes[3] as usize;
    if ndims != want_dims {
        let hint = match ndims {
            1 => " (this looks like a labels file)",
            3 => " (this looks like an images file)",
            _ => "",
        };
        return Err(format!(
            "magic 0x{got:08x} declares {ndims} dimensions, expected {want_dims} for {what}{hint}"
        ));
    }
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(format!(
            "truncated header: {} bytes, the header alone needs {header_len}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    let want = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("header dimensions {shape} overflow"))?;
    let have = bytes.len() - header_len;
    if have != want {
        let kind = if have < want {
            "truncated"
        } else {
            "size mismatch"
        };
        return Err(format!(
            "{kind}: header says {shape} = {want} bytes of {what}, the file holds {have}"
        ));
    }
    Ok((dims, &bytes[header_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IdxImages {
        IdxImages {
            n: 3,
            rows: 2,
            cols: 4,
            pixels: (0..24).map(|v| v * 10).collect(),
        }
    }

    fn message(err: &anyhow::Error) -> String {
        format!("{err:#}")
    }

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        for gzip in [false, true] {
            let img = dir.path().join(format!("img{gzip}"));
            let lab = dir.path().join(format!("lab{gzip}"));
            write_images(&img, &sample(), gzip).unwrap();
            write_labels(&lab, &[1, 0, 9], gzip).unwrap();
            assert_eq!(fs::read(&img).unwrap().starts_with(&GZIP_MAGIC), gzip);
            assert_eq!(read_images(&img).unwrap(), sample());
            assert_eq!(read_labels(&lab).unwrap(), vec![1, 0, 9]);
        }
    }

    #[test]
    fn gzip_output_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write_images(&a, &sample(), true).unwrap();
        write_images(&b, &sample(), true).unwrap();
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
    }

    #[test]
    fn header_errors() {
        let good = encode_images(&sample()).unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0, 0], "only 2 bytes"),
            (vec![1, 2, 3, 4, 0, 0, 0, 0], "bad magic 0x01020304"),
            (
                [&[0, 0, 0x0d, 3][..], &good[4..]].concat(),
                "wrong IDX data type 0x0d",
            ),
            (encode_labels(&[1, 2]).unwrap(), "looks like a labels file"),
            (good[..10].to_vec(), "truncated header"),
            (
                good[..good.len() - 1].to_vec(),
                "truncated: header says 3 x 2 x 4 = 24",
            ),
            ([&good[..], &[7]].concat(), "size mismatch"),
            (
                [
                    0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                ]
                .to_vec(),
                "overflow",
            ),
        ];
        for (bytes, want) in cases {
            let err = parse(&bytes, IMAGES_MAGIC).unwrap_err();
            assert!(err.contains(want), "expected {want:?} in {err:?}");
        }
    }

    #[test]
    fn errors_name_the_file_and_are_user_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken-images.gz");
        let mut gz = Vec::new();
        let mut enc = GzEncoder::new(&mut gz, Compression::default());
        enc.write_all(&encode_images(&sample()).unwrap()).unwrap();
        enc.finish().unwrap();
        fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let err = read_images(&path).unwrap_err();
        assert!(message(&err).contains("broken-images.gz"), "{err:#}");
        assert!(message(&err).contains("gzip"), "{err:#}");
        assert!(crate::error::is_user_error(&err));

        let missing = dir.path().join("nope");
        let err = read_labels(&missing).unwrap_err();
        assert!(message(&err).contains("nope") && crate::error::is_user_error(&err));
    }
}
