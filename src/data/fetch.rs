//! Downloads dataset files into the cache, verified by SHA-256. Each file streams into a
//! temporary file in the destination folder and is renamed into place only when its checksum
//! matches, so an interrupted or corrupt download never leaves a file `load` would read.
//! Library code prints nothing: callers get a report and, optionally, progress callbacks.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::registry::{DataOptions, spec};
use crate::util::hash::{hex, sha256_file};
use crate::{bail_user, user_error};

/// Environment variable replacing every dataset's canonical base URL with a mirror that
/// serves `MIRROR/NAME/FILE`.
pub const BASE_URL_ENV: &str = "RUNNER_DATA_BASE_URL";

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Downloaded,
    /// Already in place with the right checksum; not downloaded again.
    AlreadyPresent,
}

/// One file in place after a fetch.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub name: String,
    pub url: String,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub action: Action,
}

/// The outcome of [`fetch`].
#[derive(Clone, Debug)]
pub struct FetchReport {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<Fetched>,
}

/// Progress of one download, for a caller that draws a bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    pub file: &'a str,
    pub done: u64,
    /// From `Content-Length`, when the server sent one.
    pub total: Option<u64>,
}

/// Downloads registry dataset `name` into the cache (`CACHE/NAME/`), honouring
/// `$RUNNER_DATA_BASE_URL`.
pub fn fetch(name: &str, opts: &DataOptions) -> Result<FetchReport> {
    let mirror = std::env::var(BASE_URL_ENV).ok().filter(|v| !v.is_empty());
    fetch_with(name, opts, mirror.as_deref(), &mut |_| {})
}

/// [`fetch`] with an explicit mirror (serving `MIRROR/NAME/FILE`; `None`: the canonical URL,
/// ignoring the environment) and a progress callback.
pub fn fetch_with(
    name: &str,
    opts: &DataOptions,
    mirror: Option<&str>,
    progress: &mut dyn FnMut(Progress),
) -> Result<FetchReport> {
    let spec = spec(name)?;
    let base = match (mirror, spec.base_url) {
        (Some(m), _) => format!("{}/{}", m.trim_end_matches('/'), spec.name),
        (None, Some(b)) => b.to_string(),
        (None, None) => bail_user!(
            "dataset `{name}` is not downloadable: it ships with runner's source in data/{name}/ \
             (rebuild it with scripts/data/make_mnist10k.sh)"
        ),
    };
    let cache = opts.cache_dir().ok_or_else(|| {
        user_error!("no cache folder to download into: set $XDG_CACHE_HOME or $HOME")
    })?;
    let dir = cache.join(spec.name);
    let files: Vec<(&str, &str)> = spec.files.iter().map(|f| (f.name, f.sha256)).collect();
    let files = fetch_files_with(&base, &files, &dir, progress)?;
    Ok(FetchReport {
        name: spec.name.to_string(),
        dir,
        files,
    })
}

/// Downloads each `(file name, SHA-256)` from `BASE_URL/NAME` into `dest_dir`, skipping
/// files already there with the right checksum. The core of [`fetch`]; tests call it with
/// their own files and a loopback server.
pub fn fetch_files(
    base_url: &str,
    files: &[(&str, &str)],
    dest_dir: &Path,
) -> Result<Vec<Fetched>> {
    fetch_files_with(base_url, files, dest_dir, &mut |_| {})
}

/// [`fetch_files`] with a progress callback.
pub fn fetch_files_with(
    base_url: &str,
    files: &[(&str, &str)],
    dest_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Fetched>> {
    for (name, _) in files {
        // Names come from the registry or a test, but a path separator would write outside
        // dest_dir, so refuse rather than trust.
        anyhow::ensure!(
            !name.is_empty() && !name.contains(['/', '\\']) && *name != "..",
            "bad file name {name:?}"
        );
    }
    std::fs::create_dir_all(dest_dir)
        .map_err(|e| user_error!("cannot create {}: {e}", dest_dir.display()))?;
    let agent = agent(base_url);
    files
        .iter()
        .map(|&(name, sha256)| {
            let url = format!("{}/{name}", base_url.trim_end_matches('/'));
            let path = dest_dir.join(name);
            if path.is_file() && sha256_file(&path)? == sha256 {
                return Ok(Fetched {
                    name: name.to_string(),
                    url,
                    bytes: std::fs::metadata(&path)?.len(),
                    path,
                    sha256: sha256.to_string(),
                    action: Action::AlreadyPresent,
                });
            }
            download(&agent, &url, &path, name, sha256, progress)
        })
        .collect()
}

fn agent(base_url: &str) -> ureq::Agent {
    let loopback =
        matches!(host(base_url), "localhost" | "::1") || host(base_url).starts_with("127.");
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        // The checksums are of the files as stored; never let the transport re-encode them.
        .accept_encoding("identity")
        .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")));
    if loopback {
        // A proxy cannot reach this machine's loopback; go direct whatever the environment says.
        config = config.proxy(None);
    }
    config.build().new_agent()
}

/// The host of a URL, without brackets or port.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
}

fn download(
    agent: &ureq::Agent,
    url: &str,
    path: &Path,
    name: &str,
    sha256: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched> {
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => {
            user_error!("downloading {url}: the server answered HTTP {code}")
        }
        other => user_error!("downloading {url}: {other}"),
    })?;
    let total = response.body().content_length();
    let dir = path.parent().context("destination has no folder")?;
    // In the destination folder so the final rename stays on one filesystem (atomic); dropped
    // (and so deleted) on every early return.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| user_error!("cannot create a file in {}: {e}", dir.display()))?;
    let mut reader = response.body_mut().as_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => bail_user!("downloading {url}: {e} after {done} bytes"),
        };
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .map_err(|e| user_error!("writing {}: {e}", tmp.path().display()))?;
        done += n as u64;
        progress(Progress {
            file: name,
            done,
            total,
        });
    }
    let got = hex(&hasher.finalize());
    if got != sha256 {
        bail_user!(
            "downloading {url}: checksum mismatch: expected SHA-256 {sha256}, got {got} \
             ({done} bytes); the download was discarded"
        );
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| {
        user_error!(
            "cannot move the download to {}: {}",
            path.display(),
            e.error
        )
    })?;
    Ok(Fetched {
        name: name.to_string(),
        url: url.to_string(),
        path: path.to_path_buf(),
        sha256: got,
        bytes: done,
        action: Action::Downloaded,
    })
}

#[cfg(test)]
mod tests {
    use super::host;

    #[test]
    fn hosts() {
        assert_eq!(host("http://127.0.0.1:8080/x/"), "127.0.0.1");
        assert_eq!(host("http://[::1]:80/"), "::1");
        assert_eq!(host("https://user@example.org/a"), "example.org");
        assert_eq!(
            host("https://www.cs.toronto.edu/~kriz/"),
            "www.cs.toronto.edu"
        );
    }
}
