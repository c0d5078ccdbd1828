//! What the loader needs to know about an experiment kind: its name, its own TOML section,
//! which generic settings it reads, and its value checks. Each kind declares one
//! [`KindSchema`] (kinds/registry.rs lists them) and the loader is handed the list, so config
//! itself names no kind.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ExperimentSpec;
use super::memory::Estimate;
use super::validate::Problem;

/// A deserialization error inside a kind's section, with the key path it happened at.
pub type SectionError = serde_path_to_error::Error<toml::de::Error>;

pub struct KindSchema {
    /// The spec's `kind = "..."`.
    pub name: &'static str,
    /// The kind's own `[section]`, if it has one.
    pub section: Option<SectionDef>,
    /// Generic settings only some kinds read; a spec of a kind that does not read one must
    /// leave it at its default.
    pub uses: Uses,
    /// The kind's own value checks, run after the generic ones.
    pub check: fn(&ExperimentSpec, &mut Vec<Problem>),
    /// What a variant needs in memory to train (`None`: not estimated for this kind or
    /// configuration); over the machine's memory it is a spec error, before any allocation.
    pub memory: fn(&ExperimentSpec) -> Option<Estimate>,
}

/// A kind's own TOML section (`[mobilenet]`, `[ssl]`, ...), with its settings type's defaults.
pub struct SectionDef {
    pub name: &'static str,
    /// The section as written (`None` = left out) read into the settings type and written back
    /// with every default spelled out.
    pub resolve: fn(Option<toml::Value>) -> Result<toml::Value, SectionError>,
}

impl SectionDef {
    /// The section `name`, read as `T`.
    pub const fn of<T: Serialize + DeserializeOwned + Default>(name: &'static str) -> Self {
        Self {
            name,
            resolve: resolve::<T>,
        }
    }
}

fn resolve<T: Serialize + DeserializeOwned + Default>(
    value: Option<toml::Value>,
) -> Result<toml::Value, SectionError> {
    let settings = match value {
        None => T::default(),
        Some(v) => deserialize(v)?,
    };
    Ok(toml::Value::try_from(&settings).expect("settings serialize to TOML"))
}

/// Deserializes `value` as `T`, taking a float that is a whole number (`1e4`, `100.0`) where a
/// whole number is expected: `steps = 1e4` is a common way to write 10000.
pub fn deserialize<T: DeserializeOwned>(mut value: toml::Value) -> Result<T, SectionError> {
    // Without a whole-number float there is nothing to retry with, and no copy to keep.
    if !has_whole_float(&value) {
        return serde_path_to_error::deserialize(value);
    }
    // Each retry turns one more float into an integer; a spec has only so many keys.
    for _ in 0..256 {
        match serde_path_to_error::deserialize(value.clone()) {
            Err(e) if wants_integer(&e) => {
                let Some(slot) = at(&mut value, e.path()) else {
                    return Err(e);
                };
                let toml::Value::Float(x) = *slot else {
                    return Err(e);
                };
                if x.fract() != 0.0 || x.abs() > 9e15 {
                    return Err(e);
                }
                *slot = toml::Value::Integer(x as i64);
            }
            other => return other,
        }
    }
    serde_path_to_error::deserialize(value)
}

fn has_whole_float(v: &toml::Value) -> bool {
    match v {
        toml::Value::Float(x) => x.fract() == 0.0,
        toml::Value::Array(a) => a.iter().any(has_whole_float),
        toml::Value::Table(t) => t.values().any(has_whole_float),
        _ => false,
    }
}

/// A float where serde wanted an integer type.
fn wants_integer(e: &SectionError) -> bool {
    let m = e.inner().message();
    m.starts_with("invalid type: floating point")
        && ["u8", "u16", "u32", "u64", "usize", "i32", "i64"]
            .iter()
            .any(|t| m.ends_with(&format!("expected {t}")))
}

fn at<'a>(
    value: &'a mut toml::Value,
    path: &serde_path_to_error::Path,
) -> Option<&'a mut toml::Value> {
    use serde_path_to_error::Segment;
    let mut v = value;
    for seg in path.iter() {
        v = match seg {
            Segment::Map { key } => v.as_table_mut()?.get_mut(key)?,
            Segment::Seq { index } => v.as_array_mut()?.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The generic settings that belong to some kinds only (Zhang et al.'s randomization tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct Uses {
    /// `model.arch` other than `mlp` (the convolutional nets of Zhang et al.).
    pub conv_archs: bool,
    /// `[corruption]`: random labels and randomized images.
    pub corruption: bool,
    /// `data.random_crop` augmentation.
    pub random_crop: bool,
    /// `data.whiten` per-image whitening.
    pub whiten: bool,
    /// `eval.stop_at_train_accuracy`: stopping once the training set is fitted.
    pub stop_at_fit: bool,
}

impl Uses {
    /// Reads none of them.
    pub const NONE: Uses = Uses {
        conv_archs: false,
        corruption: false,
        random_crop: false,
        whiten: false,
        stop_at_fit: false,
    };
}

/// The resolved section of a spec's kind, kept as TOML until the kind reads it as its type.
#[derive(Clone, Debug, PartialEq)]
pub struct KindSection {
    pub name: String,
    pub value: toml::Value,
}
