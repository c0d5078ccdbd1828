//! `runner data`: list, fetch and verify the registered datasets.

use crate::cli::DataCommand;
use crate::data::{self, DataOptions};
use crate::user_error;

pub fn data(command: DataCommand, opts: DataOptions) -> anyhow::Result<()> {
    match command {
        DataCommand::List => {
            println!(
                "{:<14} {:>7} {:>7} {:>7}  found at / how to get",
                "dataset", "classes", "train", "test"
            );
            for d in data::registry::list(&opts) {
                let where_ = match (&d.found, d.fetchable, d.debian_package) {
                    (Some(p), _, _) => p.display().to_string(),
                    (None, _, _) if d.problem.is_some() => {
                        format!("not found: {}", d.problem.as_deref().unwrap_or_default())
                    }
                    (None, true, Some(pkg)) => format!(
                        "not found: `runner data fetch {}` or apt-get install {pkg}",
                        d.name
                    ),
                    (None, true, None) => format!("not found: `runner data fetch {}`", d.name),
                    (None, false, _) => "not found".to_string(),
                };
                println!(
                    "{:<14} {:>7} {:>7} {:>7}  {where_}",
                    d.name, d.num_classes, d.train_size, d.test_size
                );
                println!("{:<14} {}", "", d.description);
            }
            Ok(())
        }
        DataCommand::Fetch { name } => {
            eprintln!("fetching {name} ...");
            let report = data::fetch::fetch(&name, &opts)?;
            for f in &report.files {
                let what = match f.action {
                    data::fetch::Action::Downloaded => "downloaded",
                    data::fetch::Action::AlreadyPresent => "already present",
                };
                println!(
                    "{what:<16} {} ({} bytes, sha256 {})",
                    f.path.display(),
                    f.bytes,
                    f.sha256
                );
            }
            println!("{} is in {}", report.name, report.dir.display());
            Ok(())
        }
        DataCommand::Verify { name } => {
            let names: Vec<String> = match name {
                Some(n) => vec![n],
                None => {
                    let infos = data::registry::list(&opts);
                    let found: Vec<String> = infos
                        .iter()
                        .filter(|d| d.found.is_some())
                        .map(|d| d.name.to_string())
                        .collect();
                    if found.is_empty() {
                        let why = infos.iter().find_map(|d| d.problem.clone());
                        return Err(user_error!(
                            "nothing to verify: {}",
                            why.unwrap_or_else(|| "no known dataset was found \
                                                  (see `runner data list`)"
                                .into())
                        ));
                    }
                    found
                }
            };
            let (mut bad, mut unverified) = (Vec::new(), Vec::new());
            for n in &names {
                let report = data::registry::verify(n, &opts)?;
                println!("{} ({}):", report.name, report.dir.display());
                for f in &report.files {
                    println!("  {}  {}  {}", f.sha256, f.path.display(), f.status);
                }
                if report.mismatched() {
                    bad.push(n.clone());
                } else if !report.ok() {
                    unverified.push(n.clone());
                }
            }
            if !bad.is_empty() {
                Err(user_error!(
                    "checksum mismatch in: {}; those files are not the published ones, and \
                     runner refuses to train on them: replace them with fresh copies",
                    bad.join(", ")
                ))
            } else if !unverified.is_empty() {
                Err(user_error!(
                    "not verified: {} (files in a form with no known checksum; see above)",
                    unverified.join(", ")
                ))
            } else {
                println!("ok: every file matches its published SHA-256");
                Ok(())
            }
        }
    }
}
