//! Downloads against a real HTTP server on 127.0.0.1 (never the internet): checksums,
//! atomic placement, and clear errors.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use runner::data::fetch::{self, Action};
use runner::data::idx::{self, IdxImages};
use runner::data::registry::{self, DataOptions, DatasetSpec, Format, IDX_FILES};
use runner::error::is_user_error;
use runner::util::hash::sha256_bytes;

/// What the server answers for one path.
#[derive(Clone)]
enum Reply {
    Ok(Vec<u8>),
    /// Announces the full length, sends only `sent` bytes, then closes.
    CutShort(Vec<u8>, usize),
}

/// A minimal HTTP/1.1 server in a background thread; unknown paths get 404. Counts requests
/// per path so tests can tell whether a file was downloaded again.
struct Server {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counter = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &routes, &counter);
            }
        });
        Server { base, hits }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    hits: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let (status, body, sent) = match routes.get(&path) {
        Some(Reply::Ok(body)) => ("200 OK", body.clone(), body.len()),
        Some(Reply::CutShort(body, sent)) => ("200 OK", body.clone(), *sent),
        None => ("404 Not Found", b"no such file".to_vec(), 12),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body[..sent])?;
    stream.flush()
}

/// A small IDX gz set (train 6, test 4) as `(file name, bytes)`, in [`IDX_FILES`] order.
fn idx_set() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let img = |n: usize| IdxImages {
        n,
        rows: 28,
        cols: 28,
        pixels: (0..n * 784).map(|i| (i % 256) as u8).collect(),
    };
    idx::write_images(&dir.path().join(IDX_FILES[0]), &img(6), true).unwrap();
    idx::write_labels(&dir.path().join(IDX_FILES[1]), &[0, 1, 2, 3, 4, 5], true).unwrap();
    idx::write_images(&dir.path().join(IDX_FILES[2]), &img(4), true).unwrap();
    idx::write_labels(&dir.path().join(IDX_FILES[3]), &[6, 7, 8, 9], true).unwrap();
    IDX_FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.path().join(f)).unwrap()))
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

const SMALL: DatasetSpec = DatasetSpec {
    name: "small",
    description: "served by the test",
    num_classes: 10,
    train_size: 6,
    test_size: 4,
    format: Format::Idx,
    base_url: None,
    files: &[],
    debian_package: None,
};

#[test]
fn fetch_verifies_places_and_skips_present_files() {
    let set = idx_set();
    let routes = set
        .iter()
        .map(|(name, bytes)| (format!("/sets/small/{name}"), Reply::Ok(bytes.clone())))
        .collect();
    let server = Server::start(routes);
    let sums: Vec<(String, String)> = set
        .iter()
        .map(|(name, bytes)| (name.clone(), sha256_bytes(bytes)))
        .collect();
    let files: Vec<(&str, &str)> = sums.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let dest = tempfile::tempdir().unwrap();
    let dest = dest.path().join("cache/small");

    let base = format!("{}/sets/small/", server.base);
    let mut progress_calls = 0;
    let fetched =
        fetch::fetch_files_with(&base, &files, &dest, &mut |_| progress_calls += 1).unwrap();
    assert_eq!(fetched.len(), 4);
    assert!(progress_calls >= 4);
    for (f, (name, bytes)) in fetched.iter().zip(&set) {
        assert_eq!(f.action, Action::Downloaded);
        assert_eq!(&f.name, name);
        assert_eq!(f.url, format!("{}/sets/small/{name}", server.base));
        assert_eq!(f.bytes, bytes.len() as u64);
        assert_eq!(&std::fs::read(&f.path).unwrap(), bytes);
    }
    let mut expected: Vec<String> = IDX_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(files_in(&dest), expected, "no temporary files left behind");

    let ds = registry::load_from_dir(&SMALL, &dest).unwrap();
    assert_eq!((ds.train.n, ds.test.n), (6, 4));

    // A second fetch finds every file in place and does not download again.
    let again = fetch::fetch_files(&base, &files, &dest).unwrap();
    assert!(again.iter().all(|f| f.action == Action::AlreadyPresent));
    assert_eq!(server.hits(&format!("/sets/small/{}", IDX_FILES[0])), 1);

    // A damaged copy in place is replaced.
    std::fs::write(dest.join(IDX_FILES[3]), b"junk").unwrap();
    let third = fetch::fetch_files(&base, &files, &dest).unwrap();
    assert_eq!(third[3].action, Action::Downloaded);
    assert_eq!(std::fs::read(dest.join(IDX_FILES[3])).unwrap(), set[3].1);
}

#[test]
fn corrupted_body_is_rejected_and_leaves_nothing() {
    let (name, bytes) = idx_set().remove(0);
    let mut corrupted = bytes.clone();
    corrupted[100] ^= 0x55;
    let server = Server::start(HashMap::from([(
        format!("/{name}"),
        Reply::Ok(corrupted.clone()),
    )]));
    let dest = tempfile::tempdir().unwrap();
    let want = sha256_bytes(&bytes);

    let err = fetch::fetch_files(&server.base, &[(&name, &want)], dest.path()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(is_user_error(&err), "{msg}");
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert!(msg.contains(&format!("expected SHA-256 {want}")), "{msg}");
    assert!(
        msg.contains(&format!("got {}", sha256_bytes(&corrupted))),
        "{msg}"
    );
    assert!(msg.contains(&format!("{}/{name}", server.base)), "{msg}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new());
}

#[test]
fn missing_file_gives_a_clear_404() {
    let server = Server::start(HashMap::new());
    let dest = tempfile::tempdir().unwrap();
    let sha = "0".repeat(64);
    let err = fetch::fetch_files(&server.base, &[("absent.gz", &sha)], dest.path()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(is_user_error(&err), "{msg}");
    assert!(msg.contains("HTTP 404"), "{msg}");
    assert!(msg.contains(&format!("{}/absent.gz", server.base)), "{msg}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new());
}

#[test]
fn connection_cut_short_leaves_nothing() {
    let (name, bytes) = idx_set().remove(0);
    let cut = Reply::CutShort(bytes.clone(), bytes.len() / 3);
    let server = Server::start(HashMap::from([(format!("/{name}"), cut)]));
    let dest = tempfile::tempdir().unwrap();
    let sha = sha256_bytes(&bytes);
    let err = fetch::fetch_files(&server.base, &[(&name, &sha)], dest.path()).unwrap_err();
    assert!(is_user_error(&err), "{err:#}");
    assert!(format!("{err:#}").contains(&name), "{err:#}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new());
}

#[test]
fn unreachable_server_is_a_user_error() {
    // Bind then drop, so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dest = tempfile::tempdir().unwrap();
    let sha = "0".repeat(64);
    let base = format!("http://127.0.0.1:{port}");
    let err = fetch::fetch_files(&base, &[("x.gz", &sha)], dest.path()).unwrap_err();
    assert!(is_user_error(&err), "{err:#}");
    assert!(format!("{err:#}").contains(&base), "{err:#}");
}

#[test]
fn file_names_cannot_escape_the_destination() {
    let dest = tempfile::tempdir().unwrap();
    let sha = "0".repeat(64);
    for bad in ["../evil", "a/b", ".."] {
        let err = fetch::fetch_files("http://127.0.0.1:9", &[(bad, &sha)], dest.path());
        assert!(err.is_err(), "{bad}");
    }
}

/// The registry path: `fetch_with` a mirror serving `MIRROR/NAME/FILE`, into a cache folder
/// that `load` then finds. Uses the shipped mnist-10k files, whose checksums the registry knows.
#[test]
fn registry_fetch_from_a_mirror_then_load_from_cache() {
    let shipped = DataOptions::default().shipped_dir().join("mnist-10k");
    let routes = IDX_FILES
        .iter()
        .map(|f| {
            let bytes = std::fs::read(shipped.join(f)).unwrap();
            (format!("/mirror/mnist-10k/{f}"), Reply::Ok(bytes))
        })
        .collect();
    let server = Server::start(routes);
    let tmp = tempfile::tempdir().unwrap();
    let opts = DataOptions {
        data_dir: None,
        shipped_dir: Some(tmp.path().join("nothing-shipped")),
        cache_dir: Some(tmp.path().join("cache")),
    };
    let mirror = format!("{}/mirror", server.base);
    let report = fetch::fetch_with("mnist-10k", &opts, Some(&mirror), &mut |_| {}).unwrap();
    assert_eq!(report.dir, tmp.path().join("cache/mnist-10k"));
    assert!(report.files.iter().all(|f| f.action == Action::Downloaded));

    assert_eq!(
        registry::locate("mnist-10k", &opts).unwrap(),
        Some(report.dir.clone())
    );
    let ds = runner::data::load("mnist-10k", &opts).unwrap();
    assert_eq!(ds.train.n + ds.test.n, 10_000);
    assert!(registry::verify("mnist-10k", &opts).unwrap().ok());

    // Without a mirror, a shipped-only dataset has nothing to download from.
    let err = fetch::fetch_with("mnist-10k", &opts, None, &mut |_| {}).unwrap_err();
    assert!(format!("{err}").contains("not downloadable"), "{err}");
    let err = fetch::fetch_with("mnst", &opts, None, &mut |_| {}).unwrap_err();
    assert!(format!("{err}").contains("did you mean `mnist`"), "{err}");
}
