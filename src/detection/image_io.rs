//! 8-bit PNG files for canvases and drawings, readable by any image tool.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Writes `data` (`height` rows of `width` pixels, 1 byte per pixel for gray, 3 for RGB).
pub fn write_png(path: &Path, width: usize, height: usize, rgb: bool, data: &[u8]) -> Result<()> {
    let channels = if rgb { 3 } else { 1 };
    assert_eq!(data.len(), width * height * channels, "PNG buffer size");
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    enc.set_color(if rgb {
        png::ColorType::Rgb
    } else {
        png::ColorType::Grayscale
    });
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .with_context(|| format!("writing {}", path.display()))?;
    writer
        .write_image_data(data)
        .and_then(|()| writer.finish())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads an 8-bit grayscale PNG: `(width, height, pixels)`.
pub fn read_gray_png(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let (w, h, rgb, bytes) = read_png(path)?;
    if rgb {
        bail!("{}: expected a grayscale PNG, found RGB", path.display());
    }
    Ok((w, h, bytes))
}

/// Reads an 8-bit grayscale or RGB PNG: `(width, height, is RGB, pixels)`.
pub fn read_png(path: &Path) -> Result<(usize, usize, bool, Vec<u8>)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = png::Decoder::new(BufReader::new(file))
        .read_info()
        .with_context(|| format!("reading {}", path.display()))?;
    let size = reader
        .output_buffer_size()
        .with_context(|| format!("{}: image too large", path.display()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .with_context(|| format!("reading {}", path.display()))?;
    let rgb = match (info.color_type, info.bit_depth) {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => false,
        (png::ColorType::Rgb, png::BitDepth::Eight) => true,
        (color, depth) => {
            let color = match color {
                png::ColorType::Grayscale => "grayscale",
                png::ColorType::Rgb => "RGB",
                png::ColorType::Indexed => "palette (indexed)",
                png::ColorType::GrayscaleAlpha => "grayscale with alpha",
                png::ColorType::Rgba => "RGBA",
            };
            bail!(
                "{}: expected an 8-bit grayscale or RGB PNG, found {color} at {} bits per \
                 sample",
                path.display(),
                depth as u8
            )
        }
    };
    buf.truncate(info.buffer_size());
    Ok((info.width as usize, info.height as usize, rgb, buf))
}

/// A `[0, 1]` value as a byte (rounded, clamped).
pub fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}
