//! Run directories: `results/<spec name>/<timestamp>[-n]/`, new for every run. `create_dir`
//! fails when the name exists, so two runs starting in the same second get different dirs.
//! Every path here is built by [`join_inside`], so none leaves the results dir whatever the
//! names (the loader has already rejected names that are not one plain path component).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::util::fs::join_inside;

pub fn create(results: &Path, spec_name: &str) -> anyhow::Result<PathBuf> {
    let parent = join_inside(results, &[spec_name])?;
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 0.. {
        let name = if n == 0 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = join_inside(&parent, &[&name])?;
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!()
}

/// The directory of variant `name` in run dir `run`.
pub fn variant_dir(run: &Path, name: &str) -> anyhow::Result<PathBuf> {
    join_inside(run, &[name])
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_second_runs_get_distinct_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<_> = (0..3)
            .map(|_| super::create(tmp.path(), "x").unwrap())
            .collect();
        assert_ne!(dirs[0], dirs[1]);
        assert_ne!(dirs[1], dirs[2]);
    }

    #[test]
    fn a_name_that_would_leave_the_results_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let results = tmp.path().join("results");
        for bad in ["../x", "/tmp/x", "..", "", "a/b"] {
            assert!(super::create(&results, bad).is_err(), "{bad:?}");
            assert!(super::variant_dir(&results, bad).is_err(), "{bad:?}");
        }
        // Nothing was created, inside or out.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
