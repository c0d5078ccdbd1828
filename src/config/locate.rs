//! Maps dotted key paths of a TOML document to `file:line:col`, so that errors found after
//! merging and deserializing (where spans are lost) still point into the user's file.

use std::collections::HashMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::user_error;

pub struct SourceMap {
    origin: String,
    line_starts: Vec<usize>,
    /// Dotted path (`variant.1.model.hidden`) -> span of its key.
    keys: HashMap<String, Range<usize>>,
}

impl SourceMap {
    /// Parses `src` for its key positions; a syntax error becomes a located user error.
    pub fn parse(src: &str, origin: &str) -> anyhow::Result<Self> {
        let mut map = SourceMap {
            origin: origin.to_string(),
            line_starts: std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            keys: HashMap::new(),
        };
        let table = DeTable::parse(src).map_err(|e| {
            let at = e
                .span()
                .map(|s| map.position(s.start))
                .unwrap_or_else(|| origin.to_string());
            user_error!("{at}: invalid TOML: {}", e.message().trim())
        })?;
        map.walk_table(table.get_ref(), "");
        Ok(map)
    }

    fn walk_table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table {
            let path = join(prefix, key.get_ref());
            self.keys.insert(path.clone(), key.span());
            self.walk_value(value.get_ref(), &path);
        }
    }

    fn walk_value(&mut self, value: &DeValue<'_>, path: &str) {
        match value {
            DeValue::Table(t) => self.walk_table(t, path),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = join(path, &i.to_string());
                    self.keys.insert(item_path.clone(), item.span());
                    self.walk_value(item.get_ref(), &item_path);
                }
            }
            _ => {}
        }
    }

    /// `origin:line:col` of the byte offset.
    pub fn position(&self, offset: usize) -> String {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let col = offset - self.line_starts[line - 1] + 1;
        format!("{}:{line}:{col}", self.origin)
    }

    /// Whether the document itself spells out this path.
    pub fn has(&self, path: &str) -> bool {
        self.keys.contains_key(path)
    }

    /// The position of `path`, or of its nearest ancestor that the document spells out.
    pub fn locate(&self, path: &str) -> String {
        let mut p = path;
        loop {
            if let Some(span) = self.keys.get(p) {
                return self.position(span.start);
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return self.origin.clone(),
            }
        }
    }
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
