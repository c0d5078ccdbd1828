//! Writing files so that readers never see half of one.

use std::path::Path;

use anyhow::Context;

/// Writes `bytes` to `path` via a temporary file and a rename, so readers never see half a file.
/// The temporary file has a unique name in the same directory, so two processes writing the
/// same file at once (two sweeps reporting on one cell) each rename a whole file into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let context = || format!("writing {}", path.display());
    // Results are for reading by others (a cluster's shared filesystem): not tempfile's 0600.
    let mut tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(context)?;
    tmp.write_all(bytes).with_context(context)?;
    // On disk before the rename: after a crash the name holds the old bytes or the new ones.
    tmp.as_file().sync_data().with_context(context)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(context)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn concurrent_atomic_writes_each_land_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.csv");
        let contents: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'a' + i; 10_000]).collect();
        std::thread::scope(|s| {
            for bytes in &contents {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        super::write_atomic(path, bytes).unwrap();
                    }
                });
            }
        });
        assert!(contents.contains(&std::fs::read(&path).unwrap()));
        // Nothing but the file itself is left behind.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
