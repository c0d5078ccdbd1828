//! How detection canvases are laid out: [`CanvasConfig`], its defaults and its checks.

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

/// How canvases are laid out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanvasConfig {
    /// Canvas side in pixels.
    pub size: usize,
    /// Objects per canvas, uniform in `min_objects..=max_objects` (fewer only when the canvas
    /// cannot fit them within `max_overlap`: each object gets [`ATTEMPTS`] placements).
    pub min_objects: usize,
    pub max_objects: usize,
    /// Side in pixels of a pasted image's whole frame (a 28x28 digit scaled to `s x s`, `s`
    /// uniform in `min_scale..=max_scale`; non-square images keep their aspect ratio, the
    /// longer side being `s`). MNIST ink fills about 20 of the 28 rows, so a digit's box is
    /// about `0.7 s` tall.
    pub min_scale: usize,
    pub max_scale: usize,
    /// Largest IoU allowed between two objects' boxes; overlapping digits are max-composited,
    /// so both stay visible.
    pub max_overlap: f32,
    /// A pixel of a scaled image is ink when above this; the ground-truth box is the tight
    /// box of the ink (not the image frame).
    pub ink_threshold: f32,
    /// Unlabelled fragments per canvas: a `clutter_crop`-pixel square cut from a random image
    /// of the same split, scaled like an object and placed clear of every object's box, so
    /// that background regions are not all empty black.
    pub clutter: usize,
    pub clutter_crop: usize,
    /// Standard deviation of Gaussian pixel noise added last (clamped to `[0, 1]`); 0 = none.
    pub noise_std: f32,
}

impl Default for CanvasConfig {
    fn default() -> Self {
        Self {
            size: 96,
            min_objects: 2,
            max_objects: 4,
            min_scale: 24,
            max_scale: 52,
            max_overlap: 0.1,
            ink_threshold: 0.1,
            clutter: 2,
            clutter_crop: 7,
            noise_std: 0.0,
        }
    }
}

/// Random placements tried per object or fragment before it is dropped.
pub const ATTEMPTS: usize = 100;

impl CanvasConfig {
    /// Checks the settings; [`generate`] expects a config that passed.
    ///
    /// [`generate`]: super::canvas::generate
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.size >= 8,
            "canvas size {} is below 8 pixels",
            self.size
        );
        ensure!(
            self.min_objects <= self.max_objects,
            "min_objects {} exceeds max_objects {}",
            self.min_objects,
            self.max_objects
        );
        ensure!(
            1 <= self.min_scale && self.min_scale <= self.max_scale,
            "need 1 <= min_scale <= max_scale, got {} and {}",
            self.min_scale,
            self.max_scale
        );
        ensure!(
            self.max_scale <= self.size,
            "max_scale {} exceeds the canvas size {}",
            self.max_scale,
            self.size
        );
        ensure!(
            (0.0..=1.0).contains(&self.max_overlap),
            "max_overlap {} is not in [0, 1]",
            self.max_overlap
        );
        ensure!(
            (0.0..1.0).contains(&self.ink_threshold),
            "ink_threshold {} is not in [0, 1)",
            self.ink_threshold
        );
        ensure!(
            self.clutter == 0 || self.clutter_crop >= 1,
            "clutter_crop must be at least 1 pixel"
        );
        ensure!(
            self.noise_std >= 0.0 && self.noise_std.is_finite(),
            "noise_std {} must be finite and >= 0",
            self.noise_std
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_read_from_toml_with_defaults() {
        use crate::detection::selective_search::{Channel, SelectiveSearchConfig};
        let cfg: CanvasConfig = toml::from_str("size = 128\nclutter = 0").unwrap();
        assert_eq!((cfg.size, cfg.clutter), (128, 0));
        assert_eq!(cfg.max_objects, CanvasConfig::default().max_objects);
        assert!(toml::from_str::<CanvasConfig>("sise = 128").is_err());
        let ss: SelectiveSearchConfig =
            toml::from_str("ks = [50.0]\nchannels = [\"sqrt\"]").unwrap();
        assert_eq!((ss.ks, ss.channels), (vec![50.0], vec![Channel::Sqrt]));
        assert_eq!(ss.min_size, SelectiveSearchConfig::default().min_size);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let ok = CanvasConfig::default();
        assert!(ok.validate().is_ok());
        let bad = [
            CanvasConfig {
                min_objects: 5,
                ..ok.clone()
            },
            CanvasConfig {
                max_scale: 200,
                ..ok.clone()
            },
            CanvasConfig {
                max_overlap: 1.5,
                ..ok.clone()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }
}
