//! Reading a spec: TOML text -> base table + `[[variant]]` overrides + `--set` edits ->
//! one validated [`ExperimentSpec`] per variant. Every error names where it came from.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::expect::{self, Expect};
use super::locate::{SourceMap, join};
use super::overrides::{self, Override};
use super::schema::{KindSchema, KindSection};
use super::{ExperimentSpec, validate};
use crate::{bail_user, user_error};

/// A spec file read and resolved: one entry per variant, in file order.
#[derive(Clone, Debug)]
pub struct LoadedSpec {
    pub source: Option<PathBuf>,
    pub variants: Vec<Variant>,
    /// Warnings for the user (e.g. a `--set` that every variant overrides).
    pub warnings: Vec<String>,
    /// The paper's claims (`[[expect]]`), checked by `runner report --check`.
    pub expects: Vec<Expect>,
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    /// The paper's figures for this variant, shown beside ours.
    pub paper: BTreeMap<String, toml::Value>,
    pub spec: ExperimentSpec,
}

impl LoadedSpec {
    pub fn name(&self) -> &str {
        &self.variants[0].spec.name
    }

    pub fn first(&self) -> &ExperimentSpec {
        &self.variants[0].spec
    }

    /// The fully resolved spec as TOML (all defaults spelled out), loadable again as is.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let first = self.first();
        let mut top = toml::Table::new();
        top.insert("name".into(), first.name.clone().into());
        top.insert("kind".into(), first.kind.clone().into());
        top.insert("description".into(), first.description.clone().into());
        let mut variants = Vec::new();
        for v in &self.variants {
            let mut t = v.spec.to_table()?;
            for shared in ["name", "kind", "description"] {
                t.remove(shared);
            }
            t.insert("name".into(), v.name.clone().into());
            if !v.paper.is_empty() {
                t.insert(
                    "paper".into(),
                    toml::Value::Table(v.paper.clone().into_iter().collect()),
                );
            }
            variants.push(toml::Value::Table(t));
        }
        top.insert("variant".into(), toml::Value::Array(variants));
        if !self.expects.is_empty() {
            top.insert("expect".into(), toml::Value::try_from(&self.expects)?);
        }
        Ok(toml::to_string(&top)?)
    }
}

/// Reads the spec at `path` for the registered `kinds`, with `--set` edits applied.
pub fn load_file(
    path: &Path,
    sets: &[Override],
    kinds: &[&KindSchema],
) -> anyhow::Result<LoadedSpec> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| user_error!("cannot read spec {}: {e}", path.display()))?;
    let mut spec = load_str(&src, &path.display().to_string(), sets, kinds)?;
    spec.source = Some(path.to_path_buf());
    Ok(spec)
}

pub fn load_str(
    src: &str,
    origin: &str,
    sets: &[Override],
    kinds: &[&KindSchema],
) -> anyhow::Result<LoadedSpec> {
    let map = SourceMap::parse(src, origin)?;
    let mut base: toml::Table = toml::from_str(src).map_err(|e| user_error!("{origin}: {e}"))?;
    let mut variants = take_variants(&mut base, &map)?;
    let expects = expect::take(&mut base, &map)?;

    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let by_name: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut warnings = Vec::new();
    for set in sets {
        if set.path[0] == "variant" {
            let Some(name) = set.path.get(1).filter(|_| set.path.len() > 2) else {
                bail_user!(
                    "--set {}: use variant.NAME.KEY=VALUE to change one variant",
                    set.raw
                );
            };
            let Some(&i) = by_name.get(name.as_str()) else {
                bail_user!(
                    "--set {}: no variant `{name}`{}; variants: {}",
                    set.raw,
                    did_you_mean(name, names.iter().map(String::as_str)),
                    names.join(", ")
                );
            };
            if set.path[2] == "name" {
                bail_user!(
                    "--set {}: a variant's name is fixed by the spec (it names the variant's \
                     directory); the spec's own name is --set name=...",
                    set.raw
                );
            }
            let v = &mut variants[i];
            overrides::apply(&mut v.table, &set.path[2..], set.value.clone(), &set.raw)?;
            v.sets.push(set.path[2..].join("."));
        } else {
            overrides::apply(&mut base, &set.path, set.value.clone(), &set.raw)?;
            let key = set.path.join(".");
            let shadowing: Vec<&str> = variants
                .iter()
                .filter(|v| get_path(&v.table, &set.path).is_some())
                .map(|v| v.name.as_str())
                .collect();
            if !shadowing.is_empty() {
                warnings.push(format!(
                    "--set {}: variant(s) {} set `{key}` themselves and keep their value; \
                     use --set variant.NAME.{key}=... to change one",
                    set.raw,
                    shadowing.join(", ")
                ));
            }
        }
    }
    check_spec_name(&base, sets, &map)?;
    let base_sets: Vec<String> = sets
        .iter()
        .filter(|s| s.path[0] != "variant")
        .map(|s| s.path.join("."))
        .collect();

    let mut resolved = Vec::with_capacity(variants.len());
    for raw in variants {
        let mut merged = base.clone();
        deep_merge(&mut merged, raw.table);
        let blame = Blame {
            map: &map,
            variant_prefix: raw.index.map(|i| format!("variant.{i}")),
            sets: raw.sets.iter().chain(&base_sets).cloned().collect(),
            all_sets: sets,
        };
        let spec = resolve(merged, kinds, &blame)?;
        let kind = schema_of(&spec, kinds);
        if let Some(problem) = validate::check(&spec, kind, kinds).into_iter().next() {
            return Err(blame.error(&problem.path, &problem.message));
        }
        resolved.push(Variant {
            name: raw.name,
            paper: raw.paper,
            spec,
        });
    }
    let names: Vec<&str> = resolved.iter().map(|v| v.name.as_str()).collect();
    let known: HashSet<&str> = names.iter().copied().collect();
    for v in &resolved {
        let target = &v.spec.eval.target_variant;
        if !target.is_empty() && !known.contains(target.as_str()) {
            bail_user!(
                "{}: eval.target_variant: no variant `{target}`{}; variants: {}",
                map.locate("eval.target_variant"),
                did_you_mean(target, names.iter().copied()),
                names.join(", ")
            );
        }
    }
    expect::validate(&expects, &names, &map)?;
    Ok(LoadedSpec {
        source: None,
        variants: resolved,
        warnings,
        expects,
    })
}

/// One variant's merged table -> its spec: the kinds' sections are taken out first (config has
/// no field for them), the rest is read as [`ExperimentSpec`], then the spec's kind's own
/// section is resolved with its defaults.
fn resolve(
    mut merged: toml::Table,
    kinds: &[&KindSchema],
    blame: &Blame,
) -> anyhow::Result<ExperimentSpec> {
    let section_names: Vec<&str> = kinds
        .iter()
        .filter_map(|k| Some(k.section.as_ref()?.name))
        .collect();
    let mut sections: Vec<(&KindSchema, toml::Value)> = Vec::new();
    for k in kinds {
        if let Some(def) = &k.section
            && let Some(value) = merged.remove(def.name)
        {
            sections.push((k, value));
        }
    }
    let mut spec: ExperimentSpec =
        super::schema::deserialize(toml::Value::Table(merged)).map_err(|e| {
            let (path, message) = describe_serde_error(&e, &section_names);
            blame.error(&path, &message)
        })?;
    let Some(kind) = kinds.iter().find(|k| k.name == spec.kind) else {
        let names: Vec<&str> = kinds.iter().map(|k| k.name).collect();
        return Err(blame.error(
            "kind",
            &format!(
                "unknown value `{}`{}; expected one of: {}",
                spec.kind,
                did_you_mean(&spec.kind, names.iter().copied()),
                names.join(", ")
            ),
        ));
    };
    let mut own = None;
    for (owner, value) in sections {
        let name = owner.section.as_ref().map_or("", |d| d.name);
        if owner.name != kind.name {
            return Err(blame.error(
                name,
                &format!(
                    "the [{name}] section is for kind `{}`, not `{}`",
                    owner.name, kind.name
                ),
            ));
        }
        own = Some(value);
    }
    if let Some(def) = &kind.section {
        let value = (def.resolve)(own).map_err(|e| {
            let (path, message) = describe_serde_error(&e, &[]);
            blame.error(&join(def.name, &path), &message)
        })?;
        spec.section = Some(KindSection {
            name: def.name.to_string(),
            value,
        });
    }
    Ok(spec)
}

/// The schema of a resolved spec's kind (the loader checked that it is registered).
fn schema_of<'a>(spec: &ExperimentSpec, kinds: &[&'a KindSchema]) -> &'a KindSchema {
    kinds
        .iter()
        .find(|k| k.name == spec.kind)
        .expect("resolve() checked the kind")
}

struct RawVariant {
    /// Position in the `variant` array; `None` for the implicit single variant.
    index: Option<usize>,
    name: String,
    paper: BTreeMap<String, toml::Value>,
    table: toml::Table,
    /// Keys changed by `--set variant.NAME.KEY=...`.
    sets: Vec<String>,
}

/// Why `name` cannot name a directory, or `None` when it can: the rule for the spec's name and
/// for variant names alike. It admits no path separator, no `..`, no control character.
fn dir_name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!ok).then(|| {
        format!(
            "`{}` must be non-empty and use only letters, digits, '-', '_' and '.' (it names \
             a directory)",
            name.escape_debug()
        )
    })
}

/// Checks the spec's own `name` (the folder of its runs under the results dir), as the file
/// or the last `--set name=...` gives it. A name that is not a string is left to the schema.
fn check_spec_name(base: &toml::Table, sets: &[Override], map: &SourceMap) -> anyhow::Result<()> {
    let Some(toml::Value::String(name)) = base.get("name") else {
        return Ok(());
    };
    let Some(problem) = dir_name_problem(name) else {
        return Ok(());
    };
    match sets.iter().rev().find(|s| s.path == ["name"]) {
        Some(set) => bail_user!("--set {}: name {problem}", set.raw.escape_debug()),
        None => bail_user!("{}: name {problem}", map.locate("name")),
    }
}

fn take_variants(base: &mut toml::Table, map: &SourceMap) -> anyhow::Result<Vec<RawVariant>> {
    let Some(value) = base.remove("variant") else {
        // The implicit single variant is named after the spec, as the file names it.
        let name = base
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("main")
            .to_string();
        if let Some(problem) = dir_name_problem(&name) {
            bail_user!("{}: name {problem}", map.locate("name"));
        }
        return Ok(vec![RawVariant {
            index: None,
            name,
            paper: BTreeMap::new(),
            table: toml::Table::new(),
            sets: Vec::new(),
        }]);
    };
    let toml::Value::Array(items) = value else {
        bail_user!(
            "{}: `variant` must be an array of tables ([[variant]])",
            map.locate("variant")
        );
    };
    if items.is_empty() {
        bail_user!("{}: `variant` is empty", map.locate("variant"));
    }
    let mut out: Vec<RawVariant> = Vec::with_capacity(items.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = map.locate(&format!("variant.{i}"));
        let toml::Value::Table(mut table) = item else {
            bail_user!("{at}: each variant must be a table ([[variant]])");
        };
        let name = match table.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(_) => bail_user!(
                "{}: variant name must be a string",
                map.locate(&format!("variant.{i}.name"))
            ),
            None => bail_user!("{at}: variant {} has no `name`", i + 1),
        };
        let name_at = map.locate(&format!("variant.{i}.name"));
        if let Some(problem) = dir_name_problem(&name) {
            bail_user!("{name_at}: variant name {problem}");
        }
        if !seen.insert(name.clone()) {
            bail_user!("{name_at}: variant name `{name}` is used twice");
        }
        let paper = match table.remove("paper") {
            None => BTreeMap::new(),
            Some(toml::Value::Table(t)) => t.into_iter().collect(),
            Some(_) => bail_user!(
                "{}: `paper` must be a table of the paper's figures, e.g. paper = {{ max_accuracy = 0.722 }}",
                map.locate(&format!("variant.{i}.paper"))
            ),
        };
        out.push(RawVariant {
            index: Some(i),
            name,
            paper,
            table,
            sets: Vec::new(),
        });
    }
    Ok(out)
}

/// Decides which piece of user input an error at a key path belongs to.
struct Blame<'a> {
    map: &'a SourceMap,
    variant_prefix: Option<String>,
    sets: Vec<String>,
    all_sets: &'a [Override],
}

impl Blame<'_> {
    fn error(&self, path: &str, message: &str) -> anyhow::Error {
        if path.is_empty() {
            return user_error!("{}: {message}", self.map.locate(path));
        }
        let related = |a: &str, b: &str| {
            a == b || a.starts_with(&format!("{b}.")) || b.starts_with(&format!("{a}."))
        };
        if let Some(set) = self.sets.iter().find(|s| related(path, s)) {
            let raw = self
                .all_sets
                .iter()
                .find(|o| o.path.join(".").ends_with(set.as_str()))
                .map(|o| o.raw.as_str())
                .unwrap_or(set);
            return user_error!("--set {raw}: {path}: {message}");
        }
        if let Some(prefix) = &self.variant_prefix {
            let in_variant = join(prefix, path);
            if self.map.has(&in_variant) {
                return user_error!("{}: {path}: {message}", self.map.locate(&in_variant));
            }
        }
        user_error!("{}: {path}: {message}", self.map.locate(path))
    }
}

/// The dotted key path of a deserialization error and a message with a did-you-mean;
/// `top_level_extra` are keys the top level also knows (the kinds' sections).
pub(super) fn describe_serde_error(
    err: &serde_path_to_error::Error<toml::de::Error>,
    top_level_extra: &[&str],
) -> (String, String) {
    let mut path = err
        .path()
        .to_string()
        .replace('[', ".")
        .replace(']', "")
        .trim_start_matches('.')
        .to_string();
    if path == "?" {
        path.clear();
    }
    let inner = err.inner().message().trim().to_string();
    let quoted = backticked(&inner);
    if let Some(rest) = inner.strip_prefix("unknown field ") {
        let key = quoted.first().cloned().unwrap_or_default();
        if !path.ends_with(&key) {
            path = join(&path, &key);
        }
        let mut expected = quoted[1.min(quoted.len())..].to_vec();
        if !path.contains('.') {
            expected.extend(top_level_extra.iter().map(|s| s.to_string()));
        }
        let hint = did_you_mean(&key, expected.iter().map(String::as_str));
        let _ = rest;
        return (
            path,
            format!(
                "unknown key `{key}`{hint}; known keys here: {}",
                expected.join(", ")
            ),
        );
    }
    if inner.starts_with("unknown variant ") {
        let value = quoted.first().cloned().unwrap_or_default();
        let expected = &quoted[1.min(quoted.len())..];
        let hint = did_you_mean(&value, expected.iter().map(String::as_str));
        return (
            path,
            format!(
                "unknown value `{value}`{hint}; expected one of: {}",
                expected.join(", ")
            ),
        );
    }
    if let Some(rest) = inner.strip_prefix("invalid type: ") {
        return (path, in_words(rest).unwrap_or(inner));
    }
    if let Some(field) = inner.strip_prefix("missing field ") {
        let field = field.trim_matches('`');
        return (path.clone(), format!("missing required key `{field}`"));
    }
    (path, inner)
}

/// serde's `floating point `1.5`, expected u64` in the words of a spec's reader:
/// `expected a whole number, got 1.5`.
fn in_words(rest: &str) -> Option<String> {
    let (got, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)",
        "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "a sequence" => "a list",
        "a boolean" => "true or false",
        "a string" => "a string (in quotes)",
        other if other.starts_with("struct ") || other == "a map" => "a table",
        other => other,
    };
    let got = match got.split_once(' ') {
        Some(("floating" | "integer", _)) | Some(("boolean", _)) => {
            got.rsplit('`').nth(1).unwrap_or(got).to_string()
        }
        Some(("string", s)) => format!("the string {s}"),
        _ if got == "sequence" => "a list".into(),
        _ if got == "map" => "a table".into(),
        _ => got.to_string(),
    };
    Some(format!("expected {expected}, got {got}"))
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `; did you mean `x`?` when a candidate is close to `word`, else empty.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn deep_merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn get_path<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let v = table.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        get_path(v.as_table()?, rest)
    }
}
