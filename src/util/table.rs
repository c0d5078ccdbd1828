//! The one Markdown table renderer: summaries, seed tables, reports and claim tables.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Right-aligned cells and `---:` separators (columns of numbers).
    Right,
}

/// A Markdown table; `|` inside a cell is escaped and widths count characters, so `±` and
/// `—` line up.
pub fn markdown_table(header: &[String], rows: &[Vec<String>], align: Align) -> String {
    let escape = |c: &String| c.replace('|', "\\|");
    let header: Vec<String> = header.iter().map(escape).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(escape).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let pad = " ".repeat(w - c.chars().count());
                match align {
                    Align::Left => format!("{c}{pad}"),
                    Align::Right => format!("{pad}{c}"),
                }
            })
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(String::as_str).collect());
    match align {
        Align::Left => {
            let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out += &line(dashes.iter().map(String::as_str).collect());
        }
        Align::Right => {
            let dashes: Vec<String> = widths
                .iter()
                .map(|w| format!("{}:", "-".repeat(w + 1)))
                .collect();
            out += &format!("|{}|\n", dashes.join("|"));
        }
    }
    for r in &rows {
        let mut cells: Vec<&str> = r.iter().map(String::as_str).collect();
        cells.resize(header.len(), "");
        out += &line(cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn left_and_right_alignment() {
        let header = s(&["a", "value"]);
        let rows = vec![s(&["x|y", "1 ± 2"])];
        assert_eq!(
            markdown_table(&header, &rows, Align::Left),
            "| a    | value |\n| ---- | ----- |\n| x\\|y | 1 ± 2 |\n"
        );
        assert_eq!(
            markdown_table(&header, &rows, Align::Right),
            "|    a | value |\n|-----:|------:|\n| x\\|y | 1 ± 2 |\n"
        );
    }
}

/// How a number is shown in a table people read (files keep the full value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// As written.
    Raw,
    /// A fraction as a percentage with two decimals: `0.9731` -> `97.31%`.
    Percent,
    /// Fixed decimals.
    Fixed(usize),
    /// Scientific notation with these decimals: `1.2e-5`.
    Sci(usize),
    /// A fraction in points (x 100) with these decimals, as the R-CNN paper prints mAP.
    Points(usize),
}

impl Show {
    /// `x` shown this way; `None` for [`Show::Raw`] (keep the text as written).
    pub fn format(self, x: f64) -> Option<String> {
        match self {
            Show::Raw => None,
            Show::Percent => Some(format!("{:.2}%", 100.0 * x)),
            Show::Fixed(d) => Some(format!("{x:.d$}")),
            Show::Sci(d) => Some(format!("{x:.d$e}")),
            Show::Points(d) => Some(format!("{:.d$}", 100.0 * x)),
        }
    }
}

/// A named column and how a table shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub show: Show,
}

impl Column {
    pub const fn new(name: &'static str, show: Show) -> Self {
        Self { name, show }
    }
}
