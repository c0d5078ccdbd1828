//! Sweeps: a spec, a grid of `--set` overrides and a number of seeds, expanded into a stable,
//! numbered plan of cells written to a sweep directory; each cell runs into its own run dir
//! under `cells/NNNN/`, locally with K worker processes or as a Slurm job array.
//!
//! ```text
//! SWEEP/plan.json        the plan: spec, common --set, grid, seeds, and every cell's overrides
//! SWEEP/plan.csv         the same cells, one row each, for people
//! SWEEP/spec.toml        the spec file's text as it was when the sweep was planned
//! SWEEP/cells/NNNN/      cell NNNN: lock, state.json, and the run dir <name>/<timestamp>/
//! SWEEP/logs/            one log per cell attempt (local workers) or per Slurm array task
//! SWEEP/sweep.sbatch     with --slurm: the job array script
//! SWEEP/report/          after a local sweep: report.md, report.csv, claims.csv, plots/
//! ```

pub mod cell;
pub mod live;
pub mod local;
pub mod slurm;
pub mod status;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{LoadedSpec, Override};
use crate::{bail_user, user_error};

/// Version of the plan.json format.
const FORMAT: u32 = 1;

/// One axis of the grid: a `--set` key and its values (TOML text, as on the command line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Axis {
    type Err = anyhow::Error;

    /// `KEY=V1,V2,...`; commas inside `[...]`, `{...}` or quotes do not split.
    fn from_str(raw: &str) -> anyhow::Result<Self> {
        let Some((key, values)) = raw.split_once('=') else {
            bail_user!("--grid {raw}: expected KEY=V1,V2,..., e.g. --grid train.lr=0.1,0.5");
        };
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|p| p.trim().is_empty()) {
            bail_user!("--grid {raw}: the key `{key}` has an empty part");
        }
        let values = split_top_level(values);
        if values.iter().any(|v| v.is_empty()) {
            bail_user!("--grid {raw}: empty value in the list");
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut cur) = (0i32, None::<char>, String::new());
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// One cell: the spec with these `--set` overrides. The same index always means the same cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub index: usize,
    /// The grid point, `key=value` joined by spaces (empty without a grid).
    pub point: String,
    pub seed: u64,
    /// Every override of this cell, in order: the common ones, the grid point, then the seed.
    pub sets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    /// The spec's `name`.
    pub name: String,
    /// The spec file as given when the sweep was planned (its text is in `spec.toml`).
    pub spec_source: String,
    pub spec_sha256: String,
    /// SHA-256 of what the cells train: every cell's resolved variants, without the spec's
    /// description and the paper's figures and claims, which change no result. Editing those
    /// keeps the sweep; editing a setting makes a new one.
    pub config_sha256: String,
    pub sets: Vec<String>,
    pub grid: Vec<Axis>,
    pub seeds: Vec<u64>,
    pub cells: Vec<Cell>,
}

/// What to sweep, from the command line.
pub struct Request<'a> {
    pub spec: &'a Path,
    pub sets: &'a [Override],
    pub grid: &'a [Axis],
    /// Run this many seeds, from `first_seed` (default: the spec's own seed); `None`: the
    /// spec's seed only, unchanged.
    pub seeds: Option<usize>,
    pub first_seed: Option<u64>,
}

impl Plan {
    /// Expands the grid (first `--grid` outermost, seeds innermost) and validates every cell,
    /// so a bad value is reported before anything runs. Returns the plan and the spec's text.
    pub fn build(req: &Request) -> anyhow::Result<(Plan, String, Vec<String>)> {
        let text = std::fs::read_to_string(req.spec)
            .map_err(|e| user_error!("cannot read spec {}: {e}", req.spec.display()))?;
        let base = crate::kinds::load_file(req.spec, req.sets)?;
        let mut warnings = base.warnings.clone();
        let seeds: Vec<u64> = match req.seeds {
            None => Vec::new(),
            Some(0) => bail_user!("--seeds must be at least 1"),
            Some(n) => {
                let first = req.first_seed.unwrap_or(base.first().seed);
                (0..n as u64).map(|i| first + i).collect()
            }
        };
        if req.first_seed.is_some() && req.seeds.is_none() {
            bail_user!("--first-seed needs --seeds N");
        }
        for (i, a) in req.grid.iter().enumerate() {
            if req.grid[..i].iter().any(|b| b.key == a.key) {
                bail_user!("--grid {}: the key is given twice", a.key);
            }
            if a.key == "seed" {
                bail_user!("--grid seed=...: use --seeds N (and --first-seed S) for seeds");
            }
        }
        let points = grid_points(req.grid);
        let sets: Vec<String> = req.sets.iter().map(|s| s.raw.clone()).collect();
        let mut cells = Vec::new();
        let mut config = Sha256::new();
        for point in &points {
            let seed_list: Vec<Option<u64>> = if seeds.is_empty() {
                vec![None]
            } else {
                seeds.iter().copied().map(Some).collect()
            };
            for seed in seed_list {
                let mut cell_sets = sets.clone();
                cell_sets.extend(point.iter().cloned());
                if let Some(s) = seed {
                    cell_sets.push(format!("seed={s}"));
                }
                let loaded = load_with(req.spec, &cell_sets).map_err(|e| {
                    if point.is_empty() {
                        e
                    } else {
                        user_error!("{e} (in the grid point {})", point.join(" "))
                    }
                })?;
                for v in &loaded.variants {
                    let mut spec = v.spec.clone();
                    spec.description.clear();
                    config.update(serde_json::to_vec(&(&v.name, &spec))?);
                }
                for w in loaded.warnings {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
                cells.push(Cell {
                    index: cells.len(),
                    point: point.join(" "),
                    seed: seed.unwrap_or(loaded.variants[0].spec.seed),
                    sets: cell_sets,
                });
            }
        }
        let plan = Plan {
            format: FORMAT,
            name: base.name().to_string(),
            spec_source: req.spec.display().to_string(),
            spec_sha256: crate::util::hash::hex(&Sha256::digest(text.as_bytes())),
            config_sha256: crate::util::hash::hex(&config.finalize()),
            sets,
            grid: req.grid.to_vec(),
            seeds,
            cells,
        };
        Ok((plan, text, warnings))
    }

    /// A short digest of what the plan runs (the cells' configurations, overrides, grid,
    /// seeds): the default sweep dir is named after it, so the same command finds the same
    /// sweep again.
    pub fn digest(&self) -> String {
        let key =
            serde_json::to_string(&(&self.config_sha256, &self.sets, &self.grid, &self.seeds))
                .expect("plan serializes");
        crate::util::hash::hex(&Sha256::digest(key.as_bytes()))[..10].to_string()
    }

    /// The same cells training the same configurations (the spec's path, description,
    /// paper figures and claims may differ).
    pub fn same_as(&self, other: &Plan) -> bool {
        self.config_sha256 == other.config_sha256 && self.cells == other.cells
    }

    pub fn read(dir: &Path) -> anyhow::Result<Plan> {
        let path = dir.join("plan.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            user_error!(
                "{} is not a sweep directory (no plan.json: {e})",
                dir.display()
            )
        })?;
        let plan: Plan = serde_json::from_slice(&bytes)
            .map_err(|e| user_error!("corrupt sweep plan {}: {e}", path.display()))?;
        if plan.format != FORMAT {
            bail_user!(
                "{}: plan format {} is not supported by this runner (expects {FORMAT})",
                path.display(),
                plan.format
            );
        }
        Ok(plan)
    }

    pub fn cell(&self, index: usize) -> anyhow::Result<&Cell> {
        self.cells.get(index).ok_or_else(|| {
            user_error!(
                "no cell {index}: the sweep has {} cells (0-{})",
                self.cells.len(),
                self.cells.len().saturating_sub(1)
            )
        })
    }

    /// Digits in cell directory names (at least 4).
    pub fn width(&self) -> usize {
        self.cells.len().saturating_sub(1).to_string().len().max(4)
    }

    /// A cell's label for people: its grid point and seed.
    pub fn label(&self, cell: &Cell) -> String {
        let seed = format!("seed={}", cell.seed);
        if cell.point.is_empty() {
            seed
        } else {
            format!("{} {seed}", cell.point)
        }
    }

    fn csv(&self) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["cell", "point", "seed", "sets"])?;
        for c in &self.cells {
            w.write_record([
                c.index.to_string(),
                c.point.clone(),
                c.seed.to_string(),
                c.sets.join(" "),
            ])?;
        }
        Ok(w.into_inner()?)
    }
}

/// The spec of one cell, loaded from the sweep's copy of the spec text.
pub fn load_cell(sweep: &Path, cell: &Cell) -> anyhow::Result<LoadedSpec> {
    load_with(&sweep.join("spec.toml"), &cell.sets)
}

fn load_with(spec: &Path, sets: &[String]) -> anyhow::Result<LoadedSpec> {
    let overrides = sets
        .iter()
        .map(|s| s.parse::<Override>())
        .collect::<anyhow::Result<Vec<_>>>()?;
    crate::kinds::load_file(spec, &overrides)
}

/// Cartesian product of the axes, first axis outermost; one empty point without axes.
fn grid_points(grid: &[Axis]) -> Vec<Vec<String>> {
    let mut points = vec![Vec::new()];
    for axis in grid {
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(format!("{}={v}", axis.key));
                    q
                })
            })
            .collect();
    }
    points
}

/// The directory of cell `index`.
pub fn cell_dir(sweep: &Path, plan: &Plan, index: usize) -> PathBuf {
    sweep
        .join("cells")
        .join(format!("{index:0width$}", width = plan.width()))
}

/// Creates the sweep dir with its plan, or checks that an existing one holds the same plan.
/// Two processes creating the same sweep at once both succeed (the files are identical);
/// a different plan in an existing dir is an error, never an overwrite.
pub fn materialize(dir: &Path, plan: &Plan, spec_text: &str) -> anyhow::Result<Materialized> {
    if dir.join("plan.json").exists() {
        let existing = Plan::read(dir)?;
        if !existing.same_as(plan) {
            bail_user!(
                "{} holds a different sweep (planned from {} with {} cells); choose another \
                 --dir, or leave out --dir to get a directory of its own",
                dir.display(),
                existing.spec_source,
                existing.cells.len()
            );
        }
        return Ok(Materialized::Existing);
    }
    std::fs::create_dir_all(dir.join("cells"))
        .map_err(|e| user_error!("cannot create sweep dir {}: {e}", dir.display()))?;
    crate::util::fs::create_dir_all(&dir.join("logs"))?;
    crate::util::fs::write_atomic(&dir.join("spec.toml"), spec_text.as_bytes())?;
    crate::util::fs::write_atomic(&dir.join("plan.csv"), &plan.csv()?)?;
    crate::util::fs::write_atomic(&dir.join("plan.json"), &serde_json::to_vec_pretty(plan)?)?;
    // Another process may have written its plan at the same moment: whichever rename came
    // last is the plan; a different one means two sweeps raced for one explicit --dir.
    let written = Plan::read(dir)?;
    if !written.same_as(plan) {
        bail_user!(
            "another sweep was planned into {} at the same time; choose another --dir",
            dir.display()
        );
    }
    Ok(Materialized::New)
}

pub enum Materialized {
    New,
    /// The directory already held this plan (a sweep being continued).
    Existing,
}

/// How many worker threads each of `jobs` processes gets on this machine (at least 1).
pub fn threads_per_job(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (cores / jobs.max(1)).max(1)
}

/// `0-3,5,7-9`: Slurm's `--array` syntax for a sorted list of indices.
pub fn ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_values_split_at_top_level_commas() {
        let a: Axis = "model.hidden=[50,50],[100, 100],\"a,b\"".parse().unwrap();
        assert_eq!(a.key, "model.hidden");
        assert_eq!(a.values, ["[50,50]", "[100, 100]", "\"a,b\""]);
        assert!("train.lr".parse::<Axis>().is_err());
        assert!("train.lr=0.1,,0.2".parse::<Axis>().is_err());
    }

    #[test]
    fn grid_points_are_ordered_first_axis_outermost() {
        let grid = [
            "a=1,2".parse::<Axis>().unwrap(),
            "b=x,y,z".parse::<Axis>().unwrap(),
        ];
        let pts = grid_points(&grid);
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[0], ["a=1", "b=x"]);
        assert_eq!(pts[1], ["a=1", "b=y"]);
        assert_eq!(pts[3], ["a=2", "b=x"]);
        assert_eq!(grid_points(&[]), vec![Vec::<String>::new()]);
    }

    #[test]
    fn array_ranges() {
        assert_eq!(ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }
}
