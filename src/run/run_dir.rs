//! Run directories: `results/<spec name>/<timestamp>[-n]/`, new for every run. `create_dir`
//! fails when the name exists, so two runs starting in the same second get different dirs.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub fn create(results: &Path, spec_name: &str) -> anyhow::Result<PathBuf> {
    let parent = results.join(spec_name);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 0.. {
        let name = if n == 0 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!()
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
}
