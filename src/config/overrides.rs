//! `--set KEY=VALUE` edits: dotted paths into the spec, values parsed as TOML where they
//! parse and taken as plain strings otherwise (so `--set model.activation=relu` works).

use std::str::FromStr;

use crate::{bail_user, user_error};

#[derive(Clone, Debug)]
pub struct Override {
    /// The text the user gave, for messages.
    pub raw: String,
    pub path: Vec<String>,
    pub value: toml::Value,
}

impl FromStr for Override {
    type Err = anyhow::Error;

    fn from_str(raw: &str) -> anyhow::Result<Self> {
        let Some((key, value)) = raw.split_once('=') else {
            bail_user!("--set {raw}: expected KEY=VALUE, e.g. --set train.lr=0.5");
        };
        let key = key.trim();
        let path: Vec<String> = key.split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(|p| p.is_empty()) {
            bail_user!("--set {raw}: the key `{key}` has an empty part");
        }
        let value = parse_value(value.trim());
        Ok(Override {
            raw: raw.to_string(),
            path,
            value,
        })
    }
}

fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// Sets `path` in `table` to `value`, creating intermediate tables.
pub fn apply(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
    raw: &str,
) -> anyhow::Result<()> {
    let (last, parents) = path.split_last().expect("override paths are non-empty");
    let mut cur = table;
    for part in parents {
        let entry = cur
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| user_error!("--set {raw}: `{part}` is a value, not a table"))?;
    }
    cur.insert(last.clone(), value);
    Ok(())
}
