//! A sweep through a real one-node Slurm cluster (slurmctld + slurmd + munge on localhost,
//! started by this test with its own config, ports, key and state, and stopped at the end).
//!
//! Needs Debian's `slurm-wlm` and `munge` and root (the daemons run as root and munged as the
//! `munge` user); `.ci/run` installs them. So the test is `#[ignore]`d: a plain `cargo test`
//! lists it as ignored (a visible skip, not a green line), and `.ci/run` runs it with
//! `--include-ignored`. Run without them, it fails and says what is missing.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn have(cmd: &str) -> bool {
    [
        "/usr/bin",
        "/usr/sbin",
        "/bin",
        "/sbin",
        "/usr/local/bin",
        "/usr/local/sbin",
    ]
    .iter()
    .any(|d| Path::new(d).join(cmd).is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why this machine cannot run the cluster, if it cannot.
fn missing() -> Option<String> {
    let tools = [
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "sinfo",
        "munged",
        "runuser",
    ];
    let absent: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if !absent.is_empty() {
        return Some(format!(
            "not installed: {} (apt-get install slurm-wlm munge)",
            absent.join(", ")
        ));
    }
    if !is_root() {
        return Some("the Slurm daemons need root".into());
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cluster; stops its daemons when dropped.
struct Cluster {
    root: PathBuf,
    conf: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let tmp = tempfile::Builder::new()
            .prefix("runner-slurm-")
            .tempdir_in("/tmp")
            .unwrap();
        let root = tmp.path().to_path_buf();
        let chmod = |p: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        chmod(&root, 0o755);
        for d in ["munge", "state", "spool", "log"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        // munge: a private key, socket and daemon, run as the munge user.
        let munge = root.join("munge");
        let mut key = vec![0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key)
            .unwrap();
        std::fs::write(munge.join("munge.key"), key).unwrap();
        chmod(&munge.join("munge.key"), 0o400);
        run_ok(
            Command::new("chown")
                .args(["-R", "munge:munge"])
                .arg(&munge),
        );
        chmod(&munge, 0o711);
        let p = |name: &str| munge.join(name).display().to_string();
        run_ok(Command::new("runuser").args([
            "-u",
            "munge",
            "--",
            "munged",
            &format!("--key-file={}", p("munge.key")),
            &format!("--socket={}", p("munge.sock")),
            &format!("--pid-file={}", p("munged.pid")),
            &format!("--log-file={}", p("munged.log")),
            &format!("--seed-file={}", p("munged.seed")),
        ]));

        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        let cpus = std::thread::available_parallelism().unwrap().get();
        let r = |s: &str| root.join(s).display().to_string();
        let conf_text = format!(
            "ClusterName=runnertest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={sock}\n\
             CredType=cred/munge\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             ReturnToService=2\n\
             MpiDefault=none\n\
             SchedulerType=sched/backfill\n\
             JobCompType=jobcomp/none\n\
             AccountingStorageType=accounting_storage/none\n\
             StateSaveLocation={state}\n\
             SlurmdSpoolDir={spool}\n\
             SlurmctldPidFile={ctld_pid}\n\
             SlurmdPidFile={slurmd_pid}\n\
             SlurmctldLogFile={ctld_log}\n\
             SlurmdLogFile={slurmd_log}\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN\n\
             PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
            sock = p("munge.sock"),
            state = r("state"),
            spool = r("spool"),
            ctld_pid = r("slurmctld.pid"),
            slurmd_pid = r("slurmd.pid"),
            ctld_log = r("log/slurmctld.log"),
            slurmd_log = r("log/slurmd.log"),
        );
        let conf = root.join("slurm.conf");
        std::fs::write(&conf, conf_text).unwrap();
        let cluster = Cluster {
            root: root.clone(),
            conf: conf.clone(),
            _tmp: tmp,
        };
        run_ok(Command::new("slurmctld").arg("-f").arg(&conf).arg("-i"));
        run_ok(
            Command::new("slurmd")
                .arg("-f")
                .arg(&conf)
                .args(["-N", &host]),
        );
        // Wait for the node to come up idle.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = cluster
                .cmd("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .unwrap();
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if state == "idle" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not come up (sinfo: {state:?}); logs in {}:\n{}",
                root.display(),
                cluster.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        cluster
    }

    /// A Slurm client command talking to this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn runner(&self) -> Command {
        let mut c = runner();
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn logs(&self) -> String {
        ["log/slurmctld.log", "log/slurmd.log", "munge/munged.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.root.join(f)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "== {f}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pid = |f: &str| {
            std::fs::read_to_string(self.root.join(f))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
        };
        let files = ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"];
        let pids: Vec<i32> = files.iter().filter_map(|f| pid(f)).collect();
        for p in &pids {
            let _ = Command::new("kill").arg(p.to_string()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && pids
                .iter()
                .any(|p| Path::new(&format!("/proc/{p}")).exists())
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        for p in &pids {
            if Path::new(&format!("/proc/{p}")).exists() {
                let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
            }
        }
    }
}

/// `runner status` until every cell is done (or a deadline), returning the last output.
fn wait_done(cluster: &Cluster, sweep: &Path, cells: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let out = cluster.runner().arg("status").arg(sweep).output().unwrap();
        let text = stdout(&out);
        assert!(out.status.success(), "{}", stderr(&out));
        if text.contains(&format!("{cells} cells: {cells} done")) {
            return text;
        }
        assert!(
            text.contains(" 0 failed, "),
            "a cell failed:\n{text}\n{}",
            cluster.logs()
        );
        assert!(
            Instant::now() < deadline,
            "the array did not finish:\n{text}\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
#[ignore = "needs a real Slurm (sbatch); .ci/run runs it with --include-ignored"]
fn a_sweep_runs_as_a_slurm_job_array_and_aggregates() {
    if let Some(why) = missing() {
        panic!(
            "the Slurm test cannot run: {why}; it needs a real Slurm (.ci/run installs it), \
             and a plain `cargo test` skips it as ignored"
        );
    }
    let cluster = Cluster::start();
    let t = tempfile::tempdir().unwrap();
    let sweep = t.path().join("sweep");
    let out = cluster
        .runner()
        .args([
            "sweep",
            tiny_spec().to_str().unwrap(),
            "--grid",
            "train.lr=0.2,0.5",
            "--seeds",
            "2",
            "--set",
            "train.steps=40",
            "--dir",
            sweep.to_str().unwrap(),
            "--jobs",
            "2",
            "--slurm",
            "--submit",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("submitted job array"),
        "{}",
        stdout(&out)
    );
    let script = std::fs::read_to_string(sweep.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2"), "{script}");

    let text = wait_done(&cluster, &sweep, 4);
    assert!(text.contains("all done"), "{text}");
    // One log per array task.
    let logs: Vec<String> = std::fs::read_dir(sweep.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("slurm-"))
        .collect();
    assert_eq!(logs.len(), 4, "{logs:?}");
    // Each cell knows the Slurm task that ran it.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sweep.join("cells/0003/state.json")).unwrap())
            .unwrap();
    assert!(
        state["slurm_job"]
            .as_str()
            .is_some_and(|j| j.ends_with("_3")),
        "{state}"
    );

    // A lost cell shows as missing, with the --array list that re-runs only it.
    std::fs::remove_dir_all(sweep.join("cells/0002")).unwrap();
    let out = cluster.runner().arg("status").arg(&sweep).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("3 done, 0 running, 0 queued, 0 failed, 1 missing"),
        "{text}"
    );
    assert!(text.contains("--array=2 "), "{text}");
    run_ok(
        cluster
            .cmd("sbatch")
            .arg("--array=2")
            .arg(sweep.join("sweep.sbatch")),
    );
    wait_done(&cluster, &sweep, 4);

    // The report aggregates the array's cells: two configurations over two seeds.
    let out = cluster
        .runner()
        .args(["report", sweep.to_str().unwrap(), "--out"])
        .arg(sweep.join("report"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.contains("### train.lr=0.2") && md.contains("### train.lr=0.5"),
        "{md}"
    );
    assert_eq!(
        md.matches("Mean ± std over 2 seed(s) (3, 4).").count(),
        2,
        "{md}"
    );
    assert!(sweep.join("report/plots/tiny-train.lr_0.5.svg").is_file());
    let check = cluster
        .runner()
        .args(["report", sweep.to_str().unwrap(), "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(
        stdout(&check).contains("4 PASS, 0 FAIL, 0 MISSING"),
        "{}",
        stdout(&check)
    );
}
