//! SHA-256s of dataset files, remembered across runs so that verifying a dataset at load costs
//! a hash only the first time: `<cache dir>/checksums.tsv` (the cache dir is
//! `$XDG_CACHE_HOME/runner` or `~/.cache/runner`), one line per file,
//! `sha256 size mtime ctime dev inode canonical-path`, tab-separated.
//!
//! An entry is used only while the file's canonical path, size, modification time, change
//! time and inode are all as recorded. The change time cannot be set back from user space
//! (`touch` sets the modification time only), so an edit that keeps the size and restores the
//! modification time still misses. A file changed in the last second is never remembered (a
//! change within the file system's timestamp resolution after hashing would go unseen). A
//! missing, unreadable, garbled or unwritable cache file only means hashing again.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::util::hash::sha256_file;

/// The cache file's name inside the cache dir.
pub const FILE: &str = "checksums.tsv";
/// At most this many files are remembered (the oldest entries go first).
const MAX_ENTRIES: usize = 4096;
/// Files changed more recently than this are hashed every time.
const SETTLE: Duration = Duration::from_secs(1);

/// What must be unchanged for a remembered SHA-256 to stand.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    dev: u64,
    ino: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Whether the file last changed at least [`SETTLE`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let settle = SETTLE.as_nanos() as i128;
        self.mtime_ns.max(self.ctime_ns) + settle <= now_ns
    }
}

/// A file's SHA-256, and whether it came from the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    pub sha256: String,
    pub cached: bool,
}

/// The remembered SHA-256s, read from and written back to one cache file.
pub struct HashCache {
    path: Option<PathBuf>,
    /// Canonical path to (stamp, sha256), with the order entries were added in.
    entries: HashMap<PathBuf, (Stamp, String, u64)>,
    next: u64,
    /// Entries found wrong, not to be merged back from the file.
    forgotten: Vec<PathBuf>,
    changed: bool,
}

impl HashCache {
    /// The cache in file `path` (`None`: remember nothing).
    pub fn open(path: Option<PathBuf>) -> HashCache {
        let mut cache = HashCache {
            path,
            entries: HashMap::new(),
            next: 0,
            forgotten: Vec::new(),
            changed: false,
        };
        if let Some(text) = cache
            .path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            for line in text.lines() {
                if let Some((path, stamp, sha)) = parse(line) {
                    let order = cache.next;
                    cache.next += 1;
                    cache.entries.insert(path, (stamp, sha, order));
                }
            }
        }
        cache
    }

    /// The SHA-256 of file `path`: remembered when its stamp is unchanged, else hashed (and
    /// remembered when the file has settled and did not change while being hashed).
    pub fn sha256(&mut self, path: &Path) -> Result<Hashed> {
        let canonical = std::fs::canonicalize(path).ok();
        let before = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
        if let (Some(c), Some(stamp)) = (&canonical, &before)
            && let Some((s, sha, _)) = self.entries.get(c)
            && s == stamp
        {
            return Ok(Hashed {
                sha256: sha.clone(),
                cached: true,
            });
        }
        let started = SystemTime::now();
        let sha256 = sha256_file(path)?;
        let after = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
        if let (Some(c), Some(stamp)) = (canonical, before)
            && after.as_ref() == Some(&stamp)
            && stamp.settled(started)
            && storable(&c)
        {
            let order = self.next;
            self.next += 1;
            self.entries.insert(c, (stamp, sha256.clone(), order));
            self.changed = true;
        }
        Ok(Hashed {
            sha256,
            cached: false,
        })
    }

    /// Forgets `path` (its remembered SHA-256 turned out wrong).
    pub fn forget(&mut self, path: &Path) {
        if let Ok(c) = std::fs::canonicalize(path) {
            self.changed |= self.entries.remove(&c).is_some();
            self.forgotten.push(c);
        }
    }

    /// Writes the cache back if anything changed; failures are ignored (the next load hashes
    /// again). Another process's entries written since [`HashCache::open`] are kept.
    pub fn save(mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        if !self.changed {
            return;
        }
        // Merge with what another process may have written meanwhile; this process's own
        // entries win.
        let theirs = HashCache::open(Some(path.clone()));
        for (p, (stamp, sha, _)) in theirs.entries {
            if !self.entries.contains_key(&p)
                && !self.forgotten.contains(&p)
                && std::fs::metadata(&p).is_ok()
            {
                self.entries.insert(p, (stamp, sha, 0));
            }
        }
        let mut entries: Vec<_> = self.entries.into_iter().collect();
        entries.sort_by_key(|(_, (_, _, order))| *order);
        let skip = entries.len().saturating_sub(MAX_ENTRIES);
        let mut text = String::new();
        for (p, (s, sha, _)) in entries.into_iter().skip(skip) {
            text += &format!(
                "{sha}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                s.size,
                s.mtime_ns,
                s.ctime_ns,
                s.dev,
                s.ino,
                p.display()
            );
        }
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = crate::util::fs::write_atomic(&path, text.as_bytes());
        }
    }
}

/// Whether `path` survives a round trip through one line of the file.
fn storable(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| !s.contains(['\t', '\n', '\r']))
}

fn parse(line: &str) -> Option<(PathBuf, Stamp, String)> {
    let mut f = line.splitn(7, '\t');
    let sha = f.next()?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let stamp = Stamp {
        size: f.next()?.parse().ok()?,
        mtime_ns: f.next()?.parse().ok()?,
        ctime_ns: f.next()?.parse().ok()?,
        dev: f.next()?.parse().ok()?,
        ino: f.next()?.parse().ok()?,
    };
    let path = PathBuf::from(f.next()?);
    path.is_absolute().then(|| (path, stamp, sha.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn remembers_settled_files_and_misses_on_any_change() {
        let tmp = tempfile::tempdir().unwrap();
        let cache_file = tmp.path().join("cache/checksums.tsv");
        let data = tmp.path().join("a.bin");
        write(&data, b"abc");
        let abc = crate::util::hash::sha256_bytes(b"abc");

        // Just written: hashed, not remembered.
        let mut cache = HashCache::open(Some(cache_file.clone()));
        assert!(!cache.sha256(&data).unwrap().cached);
        assert!(!cache.sha256(&data).unwrap().cached);
        cache.save();
        assert!(!cache_file.exists());

        std::thread::sleep(SETTLE + Duration::from_millis(50));
        let mut cache = HashCache::open(Some(cache_file.clone()));
        let first = cache.sha256(&data).unwrap();
        assert_eq!((first.sha256.as_str(), first.cached), (abc.as_str(), false));
        cache.save();
        let text = std::fs::read_to_string(&cache_file).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with(&abc), "{text}");

        // Another process (a new cache) finds it, even through another path to the file.
        let mut cache = HashCache::open(Some(cache_file.clone()));
        let again = cache.sha256(&tmp.path().join(".").join("a.bin")).unwrap();
        assert_eq!((again.sha256.as_str(), again.cached), (abc.as_str(), true));

        // Same size, modification time put back: the change time still differs.
        let mtime = std::fs::metadata(&data).unwrap().modified().unwrap();
        write(&data, b"abd");
        std::fs::File::options()
            .write(true)
            .open(&data)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let mut cache = HashCache::open(Some(cache_file.clone()));
        let changed = cache.sha256(&data).unwrap();
        assert!(!changed.cached);
        assert_eq!(changed.sha256, crate::util::hash::sha256_bytes(b"abd"));
    }

    #[test]
    fn garbage_or_unwritable_caches_only_mean_hashing() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("a.bin");
        write(&data, b"abc");
        let garbage = tmp.path().join("garbage.tsv");
        std::fs::write(&garbage, "not\ta\tcache\n\u{0}\u{1}\nzz\t1\t2\n").unwrap();
        let mut cache = HashCache::open(Some(garbage));
        assert!(!cache.sha256(&data).unwrap().cached);
        cache.save();
        // A cache path under a file: nothing can be written there, and nothing fails.
        let mut cache = HashCache::open(Some(data.join("checksums.tsv")));
        assert!(!cache.sha256(&data).unwrap().cached);
        cache.forget(&data);
        cache.save();
        let mut none = HashCache::open(None);
        assert!(!none.sha256(&data).unwrap().cached);
        none.save();
    }
}
