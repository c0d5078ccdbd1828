//! IDX files, the MNIST format: a 4-byte magic (two zero bytes, a data-type code, the number
//! of dimensions), one big-endian `u32` per dimension, then the values. Only unsigned bytes
//! (type 0x08) are read: every dataset runner knows stores pixels and labels that way.
//! Files may be raw or gzip; which one is decided by the gzip magic bytes, not the name,
//! because mirrors and package managers do not agree on names.

use std::fs;
use std::io::{self, BufReader, Read, Write};
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

/// The largest payload a header may declare: 2 GiB, four times EMNIST's largest file (and
/// forty times MNIST's). Nothing larger is ever allocated, whatever a header says.
pub const MAX_PAYLOAD: u64 = 1 << 31;
/// Deflate cannot compress better than 1032:1, so a gzip file of `n` bytes inflates to at
/// most about `1032 * n`: a header declaring more is a lie, found before anything is read.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Reads an images file (magic 0x00000803), raw or gzip.
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let (dims, pixels) = read_file(path, IMAGES_MAGIC)?;
    Ok(IdxImages {
        n: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads a labels file (magic 0x00000801), raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_file(path, LABELS_MAGIC)?.1)
}

/// Reads an IDX file, raw or gzip, from its header on: the payload size the header declares
/// is checked against the file's length (raw) or what its gzip data can hold, and against
/// [`MAX_PAYLOAD`], before anything is allocated; then exactly that much is read, and the
/// stream must end there.
fn read_file(path: &Path, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let cannot = |e: io::Error| user_error!("cannot read {}: {e}", path.display());
    let mut file = fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let mut head = Vec::with_capacity(2);
    (&mut file).take(2).read_to_end(&mut head).map_err(cannot)?;
    let stream = io::Cursor::new(head.clone()).chain(BufReader::new(file));
    let result = if head == GZIP_MAGIC {
        let room = Room::AtMost(
            len.saturating_mul(DEFLATE_MAX_RATIO),
            "its gzip data can hold",
        );
        decode(MultiGzDecoder::new(stream), magic, room)
    } else {
        decode(stream, magic, Room::Exact(len))
    };
    result.map_err(|e| match e {
        Failure::Format(msg) => at(path, msg),
        Failure::Io(e) if head == GZIP_MAGIC => {
            user_error!("{}: corrupt or truncated gzip data ({e})", path.display())
        }
        Failure::Io(e) => cannot(e),
    })
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

/// How many payload bytes the stream can hold.
#[derive(Clone, Copy)]
enum Room {
    /// The stream is exactly this long (a raw file, or bytes in memory).
    Exact(u64),
    /// At most this many bytes, for the reason given ("its gzip data can hold").
    AtMost(u64, &'static str),
}

enum Failure {
    /// What is wrong with the contents, without the path (the caller adds it).
    Format(String),
    /// Reading failed (for gzip: corrupt or truncated compressed data).
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::Format(msg)
    }
}

/// Up to `n` bytes of `r`: fewer only at the end of the stream.
fn read_up_to(r: &mut impl Read, n: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n).read_to_end(&mut out)?;
    Ok(out)
}

/// Checks the header against `magic` and the payload size it declares against `room` and
/// [`MAX_PAYLOAD`] before reading the payload; returns the dimensions and the payload.
fn decode(
    mut r: impl Read,
    magic: u32,
    room: Room,
) -> std::result::Result<(Vec<usize>, Vec<u8>), Failure> {
    let want_dims = (magic & 0xff) as usize;
    let what = if want_dims == 3 { "images" } else { "labels" };
    let bytes = read_up_to(&mut r, 4)?;
    if bytes.len() < 4 {
        return Err(format!("not an IDX file: only {} bytes", bytes.len()).into());
    }
    let got = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: bad magic 0x{got:08x} (expected 0x{magic:08x}, {what})"
        )
        .into());
    }
    if bytes[2] != UNSIGNED_BYTE {
        return Err(format!(
            "wrong IDX data type 0x{:02x} (magic 0x{got:08x}); only unsigned bytes (0x08) are supported",
            bytes[2]
        )
        .into());
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
        )
        .into());
    }
    let header_len = 4 + 4 * ndims;
    let dim_bytes = read_up_to(&mut r, 4 * ndims as u64)?;
    if dim_bytes.len() < 4 * ndims {
        return Err(format!(
            "truncated header: {} bytes, the header alone needs {header_len}",
            4 + dim_bytes.len()
        )
        .into());
    }
    let dims: Vec<u32> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    let want = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .ok_or_else(|| format!("header dimensions {shape} overflow"))?;
    let declares = format!("header says {shape} = {want} bytes of {what}");
    match room {
        Room::Exact(len) => {
            let have = len.saturating_sub(header_len as u64);
            if have != want {
                let kind = if have < want {
                    "truncated"
                } else {
                    "size mismatch"
                };
                return Err(format!("{kind}: {declares}, the file holds {have}").into());
            }
        }
        Room::AtMost(max, why) if want > max => {
            return Err(format!("{declares}, more than {why} ({max})").into());
        }
        Room::AtMost(..) => {}
    }
    if want > MAX_PAYLOAD {
        return Err(format!(
            "{declares}, more than the {MAX_PAYLOAD} this reader accepts (no IDX dataset is that large)"
        )
        .into());
    }
    let mut payload = Vec::with_capacity(want as usize);
    (&mut r).take(want).read_to_end(&mut payload)?;
    if (payload.len() as u64) < want {
        return Err(format!("truncated: {declares}, the file holds {}", payload.len()).into());
    }
    // The stream must end here; reading to its end also checks a gzip trailer's CRC.
    if !read_up_to(&mut r, 1)?.is_empty() {
        return Err(format!("size mismatch: {declares}, the file holds more").into());
    }
    let dims = dims.into_iter().map(|d| d as usize).collect();
    Ok((dims, payload))
}

/// [`decode`] of bytes in memory (tests and fuzzing): the same checks as a raw file.
pub fn parse_bytes(bytes: &[u8], magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    decode(bytes, magic, Room::Exact(bytes.len() as u64)).map_err(|e| match e {
        Failure::Format(msg) => user_error!("{msg}"),
        Failure::Io(e) => user_error!("{e}"),
    })
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
            let err = parse_bytes(&bytes, IMAGES_MAGIC).unwrap_err().to_string();
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
