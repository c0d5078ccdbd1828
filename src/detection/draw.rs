//! Drawings of a canvas with its ground truth and detections, since people look at boxes:
//! an RGB PNG upscaled [`SCALE`] times, ground-truth boxes in green, each detection in its
//! class's colour with a label (class and score) in a built-in 3x5 pixel font.

use std::path::Path;

use anyhow::Result;

use super::{BBox, Canvas, image_io};

/// Output pixels per canvas pixel.
pub const SCALE: usize = 3;
/// Ground-truth boxes.
pub const TRUTH: [u8; 3] = [40, 220, 60];
/// Detection colours by class (cycled); none is green, so detections and ground truth differ.
pub const PALETTE: [[u8; 3]; 10] = [
    [230, 40, 40],
    [255, 140, 0],
    [250, 230, 40],
    [40, 200, 230],
    [60, 90, 255],
    [220, 60, 220],
    [255, 150, 190],
    [150, 90, 255],
    [180, 120, 60],
    [200, 200, 200],
];
/// Each glyph pixel becomes a `FONT_SCALE x FONT_SCALE` block.
const FONT_SCALE: usize = 2;

/// Writes `canvas` upscaled with its ground-truth boxes and `detections` (`(box, class,
/// score)`), each labelled `CLASS SCORE` (the class's name from `class_names`, upper-cased and
/// cut to 8 letters, or its index).
pub fn write_png(
    path: &Path,
    canvas: &Canvas,
    detections: &[(BBox, usize, f32)],
    class_names: Option<&[String]>,
) -> Result<()> {
    let side = canvas.size * SCALE;
    let mut img = Image {
        side,
        rgb: Vec::with_capacity(side * side * 3),
    };
    for y in 0..side {
        for x in 0..side {
            let v = image_io::to_byte(canvas.pixels[(y / SCALE) * canvas.size + x / SCALE]);
            img.rgb.extend([v, v, v]);
        }
    }
    for o in &canvas.objects {
        img.rectangle(&o.bbox, TRUTH);
    }
    for (b, class, _) in detections {
        img.rectangle(b, PALETTE[class % PALETTE.len()]);
    }
    // Labels last, so boxes never cross them.
    for (b, class, score) in detections {
        let name = class_names
            .and_then(|n| n.get(*class))
            .map_or_else(|| class.to_string(), |n| n.chars().take(8).collect());
        let text = format!("{} {}", name.to_uppercase(), score_text(*score));
        img.label(b, &text, PALETTE[class % PALETTE.len()]);
    }
    image_io::write_png(path, side, side, true, &img.rgb)
}

/// Scores in `[0, 1)` as `.87`; others (SVM margins) with two decimals.
fn score_text(score: f32) -> String {
    let s = format!("{score:.2}");
    match s.strip_prefix("0.") {
        Some(rest) => format!(".{rest}"),
        None => s,
    }
}

struct Image {
    side: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn put(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if (0..self.side as i64).contains(&x) && (0..self.side as i64).contains(&y) {
            let at = (y as usize * self.side + x as usize) * 3;
            self.rgb[at..at + 3].copy_from_slice(&colour);
        }
    }

    /// A 2-pixel outline just inside the box's scaled edges.
    fn rectangle(&mut self, b: &BBox, colour: [u8; 3]) {
        let s = SCALE as f32;
        let (x1, y1) = ((b.x1 * s).round() as i64, (b.y1 * s).round() as i64);
        let (x2, y2) = ((b.x2 * s).round() as i64 - 1, (b.y2 * s).round() as i64 - 1);
        for t in 0..2 {
            for x in x1..=x2 {
                self.put(x, y1 + t, colour);
                self.put(x, y2 - t, colour);
            }
            for y in y1..=y2 {
                self.put(x1 + t, y, colour);
                self.put(x2 - t, y, colour);
            }
        }
    }

    /// `text` in black on a `colour` strip above the box's top-left corner (inside the box
    /// when the top is too close to the image edge).
    fn label(&mut self, b: &BBox, text: &str, colour: [u8; 3]) {
        let glyph_w = 4 * FONT_SCALE;
        let height = 7 * FONT_SCALE;
        let width = text.chars().count() * glyph_w + FONT_SCALE;
        let x0 = (b.x1 * SCALE as f32).round() as i64;
        let top = (b.y1 * SCALE as f32).round() as i64;
        let y0 = if top >= height as i64 {
            top - height as i64
        } else {
            top + 2
        };
        for y in 0..height as i64 {
            for x in 0..width as i64 {
                self.put(x0 + x, y0 + y, colour);
            }
        }
        for (i, ch) in text.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for c in 0..3 {
                    if bits >> (2 - c) & 1 == 1 {
                        for dy in 0..FONT_SCALE {
                            for dx in 0..FONT_SCALE {
                                let x =
                                    x0 + (FONT_SCALE + i * glyph_w + c * FONT_SCALE + dx) as i64;
                                let y = y0 + ((1 + r) * FONT_SCALE + dy) as i64;
                                self.put(x, y, [0, 0, 0]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The 3x5 glyph of `ch`: five rows, the top first, 3 bits each (left = high bit). Digits,
/// letters (upper case), `. - / :` and space; anything else is a full block.
fn glyph(ch: char) -> [u8; 5] {
    match ch.to_ascii_uppercase() {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'J' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'Q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'W' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'X' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'Z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        ' ' => [0; 5],
        _ => [0b111; 5],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Object;

    #[test]
    fn boxes_and_labels_land_where_they_belong() {
        let mut pixels = vec![0.0; 32 * 32];
        pixels[0] = 1.0;
        let canvas = Canvas {
            size: 32,
            pixels,
            objects: vec![Object {
                bbox: BBox::new(4.0, 10.0, 14.0, 20.0),
                class: 3,
            }],
        };
        let det = (BBox::new(16.0, 12.0, 30.0, 30.0), 7, 0.87);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.png");
        write_png(&path, &canvas, &[det], None).unwrap();
        let (w, h, rgb, bytes) = image_io::read_png(&path).unwrap();
        assert_eq!((w, h, rgb), (96, 96, true));
        let at = |x: usize, y: usize| -> [u8; 3] {
            let i = (y * w + x) * 3;
            [bytes[i], bytes[i + 1], bytes[i + 2]]
        };
        assert_eq!(at(1, 1), [255; 3], "the canvas, upscaled");
        assert_eq!(at(4, 4), [0; 3]);
        // Ground truth: x from 12 to 41, y from 30 to 59 in the 3x image.
        assert_eq!(at(12, 45), TRUTH);
        assert_eq!(at(41, 45), TRUTH);
        assert_eq!(at(25, 59), TRUTH);
        assert_eq!(at(25, 45), [0; 3], "inside stays the canvas");
        // The detection's right edge, in class 7's colour; its label strip above the top-left
        // corner holds black glyph pixels on the class colour.
        assert_eq!(at(89, 70), PALETTE[7]);
        let strip: Vec<[u8; 3]> = (22..36)
            .flat_map(|y| (48..80).map(move |x| (x, y)))
            .map(|(x, y)| at(x, y))
            .collect();
        assert!(strip.contains(&PALETTE[7]) && strip.contains(&[0, 0, 0]));
    }

    #[test]
    fn scores_and_glyphs() {
        assert_eq!(score_text(0.871), ".87");
        assert_eq!(score_text(-1.234), "-1.23");
        assert_eq!(score_text(2.0), "2.00");
        for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-/: ".chars() {
            assert_ne!(glyph(ch), [0b111; 5], "{ch}");
        }
        // Distinct digits look distinct.
        let digits: std::collections::BTreeSet<_> = ('0'..='9').map(glyph).collect();
        assert_eq!(digits.len(), 10);
    }
}
