//! Region warping (R-CNN Section 2.1 and Appendix A): a proposal is dilated so that, once
//! warped, it is surrounded by `padding` pixels of image context (the paper: 16 pixels at 227),
//! then the dilated box is resized anisotropically to the CNN's square input with bilinear
//! interpolation. Parts of the dilated box beyond the canvas are filled with 0 (the canvases'
//! background, and the value the CNN saw around every pre-training digit); the paper fills with
//! the image mean, which it subtracts before the CNN, so outside is 0 there too.

use super::{BBox, Canvas};

/// The box that, warped to `size` pixels, puts `proposal` in the central `size - 2*padding`
/// pixels: each side scaled by `size / (size - 2*padding)` about the box centre.
pub fn dilate(proposal: &BBox, size: usize, padding: usize) -> BBox {
    assert!(
        2 * padding < size,
        "padding {padding} leaves nothing of a {size}px warp"
    );
    let scale = size as f32 / (size - 2 * padding) as f32;
    let (cx, cy) = (
        0.5 * (proposal.x1 + proposal.x2),
        0.5 * (proposal.y1 + proposal.y2),
    );
    // A degenerate proposal still samples a pixel-sized window.
    let hw = 0.5 * proposal.width().max(1.0) * scale;
    let hh = 0.5 * proposal.height().max(1.0) * scale;
    BBox::new(cx - hw, cy - hh, cx + hw, cy + hh)
}

/// Writes the `size x size` warp of `proposal` (with context `padding`) into `out`.
///
/// Output pixel (row i, column j) samples the canvas at the centre of the matching cell of the
/// dilated box, `x = x1 + (j + 0.5) * w / size`, bilinearly between the four nearest pixel
/// centres (pixel k's centre is at k + 0.5). A sample inside the canvas (`0 <= x <= canvas
/// size`) clamps to the border pixels, as image resizing does; a sample outside is 0.
pub fn warp_into(canvas: &Canvas, proposal: &BBox, size: usize, padding: usize, out: &mut [f32]) {
    assert_eq!(out.len(), size * size);
    let b = dilate(proposal, size, padding);
    let n = canvas.size;
    let axis = |start: f32, len: f32| -> Vec<Option<(usize, usize, f32)>> {
        (0..size)
            .map(|o| {
                let u = start + (o as f32 + 0.5) * len / size as f32;
                if !(0.0..=n as f32).contains(&u) {
                    return None;
                }
                let src = (u - 0.5).clamp(0.0, (n - 1) as f32);
                let lo = (src.floor() as usize).min(n - 1);
                let hi = (lo + 1).min(n - 1);
                Some((lo, hi, src - lo as f32))
            })
            .collect()
    };
    let xs = axis(b.x1, b.width());
    let ys = axis(b.y1, b.height());
    let p = &canvas.pixels;
    for (row, y) in out.chunks_exact_mut(size).zip(&ys) {
        for (v, x) in row.iter_mut().zip(&xs) {
            *v = match (y, x) {
                (Some((y0, y1, fy)), Some((x0, x1, fx))) => {
                    let top = p[y0 * n + x0] * (1.0 - fx) + p[y0 * n + x1] * fx;
                    let bottom = p[y1 * n + x0] * (1.0 - fx) + p[y1 * n + x1] * fx;
                    top * (1.0 - fy) + bottom * fy
                }
                _ => 0.0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;
    use crate::data::augment::resize_split;

    fn canvas(size: usize) -> Canvas {
        Canvas {
            size,
            pixels: (0..size * size)
                .map(|i| ((i * 7919) % 101) as f32 / 100.0)
                .collect(),
            objects: Vec::new(),
        }
    }

    fn resized(c: &Canvas, size: usize) -> Vec<f32> {
        let split = Split {
            images: c.pixels.clone(),
            labels: vec![0],
            n: 1,
            channels: 1,
            height: c.size,
            width: c.size,
        };
        resize_split(&split, size).images
    }

    #[test]
    fn the_whole_canvas_without_padding_is_a_resize() {
        let c = canvas(24);
        let whole = BBox::new(0.0, 0.0, 24.0, 24.0);
        for size in [8, 24, 40] {
            let mut out = vec![0.0; size * size];
            warp_into(&c, &whole, size, 0, &mut out);
            for (a, b) in out.iter().zip(resized(&c, size)) {
                assert!((a - b).abs() < 1e-5, "size {size}");
            }
        }
    }

    #[test]
    fn padding_adds_context_around_the_box() {
        let c = canvas(32);
        // A 16x16 box warped to 16 with 4 pixels of context: the dilated box is 32x32 (the
        // whole canvas), so the warp is the canvas downsampled 2x, and the box's own pixels
        // land in the central 8x8.
        let b = BBox::new(8.0, 8.0, 24.0, 24.0);
        assert_eq!(dilate(&b, 16, 4), BBox::new(0.0, 0.0, 32.0, 32.0));
        let mut out = vec![0.0; 256];
        warp_into(&c, &b, 16, 4, &mut out);
        for (a, e) in out.iter().zip(resized(&c, 16)) {
            assert!((a - e).abs() < 1e-5);
        }
    }

    #[test]
    fn outside_the_canvas_is_zero() {
        let c = Canvas {
            size: 10,
            pixels: vec![1.0; 100],
            objects: Vec::new(),
        };
        // The right half of this box lies beyond the canvas.
        let b = BBox::new(5.0, 0.0, 15.0, 10.0);
        let mut out = vec![0.0; 100];
        warp_into(&c, &b, 10, 0, &mut out);
        for row in out.chunks(10) {
            assert_eq!(row, [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        }
    }
}
