//! Writing files so that readers never see half of one, building the paths they go to so
//! that none leaves the directory it is meant for, and locks that keep two processes out of
//! the same directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

/// `base` joined with `names`, each of which must be exactly one path component: not empty,
/// not `.` or `..`, no `/` or `\`, no control character (so nothing absolute either). The
/// result is provably inside `base`; every directory the tool creates under the results dir (run,
/// variant, checkpoint dirs) is made through this, so a name that slipped past validation is an
/// error here rather than a write elsewhere.
///
/// A component below `base` that exists as a symbolic link is refused too (a user error naming
/// it): a variant or checkpoint folder replaced by a link to another disk would have every
/// write and deletion land there. Links in `base` itself stay allowed (results/ may well be a
/// link to a bigger disk), since the user chose that path.
pub fn join_inside(base: &Path, names: &[&str]) -> anyhow::Result<PathBuf> {
    let mut out = base.to_path_buf();
    for name in names {
        let mut parts = Path::new(name).components();
        let one_normal = matches!(
            (parts.next(), parts.next()),
            (Some(Component::Normal(c)), None) if c == std::ffi::OsStr::new(name)
        );
        if !one_normal || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
            anyhow::bail!(
                "refusing to use `{}` as a name under {}: it must be a single path component \
                 (no '/', '\\', '..', '.' or control characters)",
                name.escape_debug(),
                base.display()
            );
        }
        out.push(name);
        if std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink()) {
            crate::bail_user!(
                "{} is a symbolic link; runner reads and writes below {} only through real \
                 files and directories (links there could send writes and deletions anywhere): \
                 replace the link by what it points to",
                out.display(),
                base.display()
            );
        }
    }
    debug_assert!(out.starts_with(base));
    Ok(out)
}

/// `std::fs::create_dir_all` with the path in the error ("creating X: Not a directory").
pub fn create_dir_all(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
}

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

/// An exclusive lock (`flock`) on a lock file, held until dropped or the process ends (the
/// kernel releases it even after `kill -9`, so a stale lock file never blocks anyone).
pub struct FileLock(#[allow(dead_code)] File);

/// Takes an exclusive lock on `path` (creating the file if needed), retrying for up to `wait`
/// (a `status` probe holds a lock for a moment); `None` when another process holds it. A lock
/// file that is a symbolic link is refused (`O_NOFOLLOW`): a dangling one would have the file
/// created wherever it points.
pub fn try_lock(path: &Path, wait: Duration) -> anyhow::Result<Option<FileLock>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => crate::user_error!(
                "{} is a symbolic link; runner takes its locks only on a real file there: \
                 remove the link",
                path.display()
            ),
            _ => anyhow::Error::new(e).context(format!("opening lock file {}", path.display())),
        })?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(FileLock(file))),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
}

/// Whether some process holds the lock on `path` right now (probes without waiting; a missing
/// file is not locked).
pub fn is_locked(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn join_inside_accepts_plain_names_and_refuses_everything_that_could_leave_base() {
        let base = Path::new("/r/results");
        assert_eq!(
            super::join_inside(base, &["tiny", "20250101-000000"]).unwrap(),
            base.join("tiny/20250101-000000")
        );
        assert_eq!(super::join_inside(base, &[]).unwrap(), base);
        for bad in [
            "", ".", "..", "/", "/tmp/x", "../x", "a/..", "a/b", "a/", "./a", "a\\b", "a\nb",
            "a\tb", "a\0b", "\u{7f}",
        ] {
            let err = super::join_inside(base, &["ok", bad])
                .unwrap_err()
                .to_string();
            assert!(err.contains("single path component"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn join_inside_refuses_a_symlink_below_base_but_not_one_in_base() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        // results/ is a link to another disk: allowed, the user chose it.
        let disk = tmp.path().join("disk");
        std::fs::create_dir_all(disk.join("run/bn")).unwrap();
        let results = tmp.path().join("results");
        std::os::unix::fs::symlink(&disk, &results).unwrap();
        assert_eq!(
            super::join_inside(&results, &["run", "bn", "metrics.csv"]).unwrap(),
            results.join("run/bn/metrics.csv")
        );
        // A variant dir, or a file in it, replaced by a link pointing outside: refused.
        std::os::unix::fs::symlink(&outside, disk.join("run/base")).unwrap();
        std::os::unix::fs::symlink(outside.join("x"), disk.join("run/bn/metrics.csv")).unwrap();
        for names in [
            &["run", "base"][..],
            &["run", "base", "checkpoints"],
            &["run", "bn", "metrics.csv"],
        ] {
            let err = super::join_inside(&results, names).unwrap_err();
            assert!(crate::error::is_user_error(&err), "{err}");
            assert!(
                err.to_string().contains("is a symbolic link"),
                "{names:?}: {err}"
            );
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn a_lock_file_that_is_a_symlink_is_refused_and_its_target_not_created() {
        use std::time::Duration;
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        let path = tmp.path().join(".lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = super::try_lock(&path, Duration::ZERO).err().unwrap();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(!target.exists());
    }

    #[test]
    fn a_held_lock_keeps_others_out_until_dropped() {
        use std::time::Duration;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".lock");
        assert!(!super::is_locked(&path));
        let held = super::try_lock(&path, Duration::ZERO).unwrap().unwrap();
        assert!(super::is_locked(&path));
        // flock locks belong to the open file, so a second open in this process conflicts too.
        assert!(
            super::try_lock(&path, Duration::from_millis(120))
                .unwrap()
                .is_none()
        );
        drop(held);
        assert!(!super::is_locked(&path));
        assert!(super::try_lock(&path, Duration::ZERO).unwrap().is_some());
    }

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
