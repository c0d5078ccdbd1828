//! Object detection on canvases of real digits (R-CNN, Girshick et al. 2014): the box type every
//! part shares, the canvases, and (in submodules) proposals, suppression and evaluation.

pub mod canvas;
mod canvas_config;
mod canvas_io;
pub mod draw;
pub mod image_io;
pub mod segment;
pub mod selective_search;

/// An axis-aligned box in pixel coordinates of a canvas: it covers `[x1, x2) x [y1, y2)`, so its
/// width is `x2 - x1` (no VOC-style `+ 1`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Intersection over union; 0 for two empty boxes.
    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = BBox::new(
            self.x1.max(other.x1),
            self.y1.max(other.y1),
            self.x2.min(other.x2),
            self.y2.min(other.y2),
        )
        .area();
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// A ground-truth object on a canvas.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Object {
    pub bbox: BBox,
    /// Class index in the source dataset (0..num_classes); background is not a class here.
    pub class: usize,
}

/// One detection image: a square grayscale canvas with its ground truth.
#[derive(Clone, Debug)]
pub struct Canvas {
    /// Side length in pixels.
    pub size: usize,
    /// `size * size` values in `[0, 1]`, row-major.
    pub pixels: Vec<f32>,
    pub objects: Vec<Object>,
}

pub mod ap;
pub mod bbox_regression;
pub mod nms;
pub mod svm;
pub mod warp;
