//! Detection canvases on disk: 8-bit PNGs plus `boxes.csv` and `boxes.json` for other tools.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{BBox, Canvas, Object, image_io};

/// `boxes.json`: every canvas (also those without objects) and its objects.
#[derive(Serialize, Deserialize)]
struct BoxesJson {
    size: usize,
    canvases: Vec<CanvasJson>,
}

#[derive(Serialize, Deserialize)]
struct CanvasJson {
    image: String,
    objects: Vec<ObjectJson>,
}

#[derive(Serialize, Deserialize)]
struct ObjectJson {
    class: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_name: Option<String>,
    x1: f32,
    y1: f32,
    x2: f32,
    y2: f32,
}

/// The file name of canvas `i` in a directory written by [`write_dir`].
pub fn image_name(i: usize) -> String {
    format!("canvas_{i:05}.png")
}

/// Writes `canvas_00000.png`, ... (8-bit gray, value `round(255 p)`), `boxes.csv` (columns
/// `image, class, x1, y1, x2, y2, class_name`; one row per object; boxes cover
/// `[x1, x2) x [y1, y2)` in pixels) and `boxes.json` (`{"size", "canvases": [{"image",
/// "objects": [{"class", "class_name", "x1", "y1", "x2", "y2"}]}]}`, listing canvases
/// without objects too) into `dir`, creating it.
pub fn write_dir(dir: &Path, canvases: &[Canvas], class_names: Option<&[String]>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name_of = |class: usize| class_names.and_then(|n| n.get(class)).cloned();
    let csv_path = dir.join("boxes.csv");
    let mut csv = csv::Writer::from_path(&csv_path)
        .with_context(|| format!("creating {}", csv_path.display()))?;
    csv.write_record(["image", "class", "x1", "y1", "x2", "y2", "class_name"])?;
    let mut json = BoxesJson {
        size: canvases.first().map_or(0, |c| c.size),
        canvases: Vec::with_capacity(canvases.len()),
    };
    for (i, canvas) in canvases.iter().enumerate() {
        let image = image_name(i);
        let bytes: Vec<u8> = canvas
            .pixels
            .iter()
            .map(|&v| image_io::to_byte(v))
            .collect();
        image_io::write_png(&dir.join(&image), canvas.size, canvas.size, false, &bytes)?;
        let mut objects = Vec::with_capacity(canvas.objects.len());
        for o in &canvas.objects {
            let b = o.bbox;
            let class_name = name_of(o.class);
            csv.write_record([
                image.clone(),
                o.class.to_string(),
                b.x1.to_string(),
                b.y1.to_string(),
                b.x2.to_string(),
                b.y2.to_string(),
                class_name.clone().unwrap_or_default(),
            ])?;
            objects.push(ObjectJson {
                class: o.class,
                class_name,
                x1: b.x1,
                y1: b.y1,
                x2: b.x2,
                y2: b.y2,
            });
        }
        json.canvases.push(CanvasJson { image, objects });
    }
    csv.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    let json_path = dir.join("boxes.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))
}

/// Reads a directory written by [`write_dir`] (its `boxes.json` and PNGs); pixels come back
/// quantised to multiples of 1/255.
pub fn read_dir(dir: &Path) -> Result<Vec<Canvas>> {
    let json_path = dir.join("boxes.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("reading {}", json_path.display()))?;
    let boxes: BoxesJson =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", json_path.display()))?;
    boxes
        .canvases
        .into_iter()
        .map(|c| {
            let path = dir.join(&c.image);
            let (w, h, bytes) = image_io::read_gray_png(&path)?;
            if w != boxes.size || h != boxes.size {
                bail!(
                    "{}: {w}x{h}, but boxes.json says {}x{}",
                    path.display(),
                    boxes.size,
                    boxes.size
                );
            }
            Ok(Canvas {
                size: boxes.size,
                pixels: bytes.iter().map(|&b| f32::from(b) / 255.0).collect(),
                objects: c
                    .objects
                    .iter()
                    .map(|o| Object {
                        bbox: BBox::new(o.x1, o.y1, o.x2, o.y2),
                        class: o.class,
                    })
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataOptions, Dataset};
    use crate::detection::canvas::{CanvasConfig, generate};

    fn mnist() -> Dataset {
        crate::data::load("mnist-10k", &DataOptions::default()).expect("shipped mnist-10k")
    }

    #[test]
    fn written_pngs_and_box_files_read_back() {
        let data = mnist();
        let canvases = generate(&data.test, &CanvasConfig::default(), 4, 2);
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..10).map(|d| format!("digit{d}")).collect();
        write_dir(dir.path(), &canvases, Some(&names)).unwrap();
        let back = read_dir(dir.path()).unwrap();
        assert_eq!(back.len(), canvases.len());
        for (a, b) in canvases.iter().zip(&back) {
            assert_eq!(a.objects, b.objects);
            for (p, q) in a.pixels.iter().zip(&b.pixels) {
                assert!((p - q).abs() <= 0.5 / 255.0 + 1e-6);
            }
        }
        let (w, h, bytes) = image_io::read_gray_png(&dir.path().join("canvas_00003.png")).unwrap();
        assert_eq!((w, h), (96, 96));
        assert_eq!(
            bytes[5 * 96 + 7],
            image_io::to_byte(canvases[3].pixels[5 * 96 + 7])
        );
        let mut rows = csv::Reader::from_path(dir.path().join("boxes.csv")).unwrap();
        let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            ["image", "class", "x1", "y1", "x2", "y2", "class_name"]
        );
        let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
        let total: usize = canvases.iter().map(|c| c.objects.len()).sum();
        assert_eq!(records.len(), total);
        let first = &canvases[0].objects[0];
        assert_eq!(&records[0][0], "canvas_00000.png");
        assert_eq!(records[0][1].parse::<usize>().unwrap(), first.class);
        assert_eq!(records[0][2].parse::<f32>().unwrap(), first.bbox.x1);
        assert_eq!(records[0][5].parse::<f32>().unwrap(), first.bbox.y2);
        assert_eq!(&records[0][6], names[first.class]);
    }
}
