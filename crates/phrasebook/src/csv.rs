//! CSV round-trip of a book's forbidden rules and scripts, for QA leads who live in Excel.
//!
//! Export writes UTF-8 with a BOM (so Excel detects the encoding) and one row per rule/script;
//! list cells (phrases, patterns, allow, emotions, tags) hold one item per line inside the cell.
//! Import runs every row through the same checks as the TOML loader, with problems naming the
//! CSV file and row, and renders the result back to TOML for the book directory.

use serde::Serialize;

use crate::load::{Builder, RawRule, RawScript};
use crate::model::*;
use crate::{Problem, Problems};

pub(crate) const BOM: &str = "\u{feff}";
const RULE_HEADER: &[&str] = &[
    "id", "category", "severity", "phrases", "patterns", "allow", "boundary", "position",
    "rewrite", "note", "file",
];
const SCRIPT_HEADER: &[&str] = &[
    "id",
    "intent",
    "stage",
    "emotions",
    "style",
    "urgent",
    "tags",
    "priority",
    "text",
    "title",
    "urgent_kind",
    "safety",
    "file",
];

/// Script columns added after the first release: an older CSV without them still imports.
/// Columns an import accepts missing. `file`: the book file a row lives in (export writes it, so
/// a book that spreads rules or scripts over several files comes back into the same files);
/// empty or missing means `forbidden.toml` / `scripts.toml`.
const SCRIPT_OPTIONAL: &[&str] = &["title", "urgent_kind", "safety", "file"];

/// First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"):
/// `=HYPERLINK(…)` from a phrasebook would run in the QA lead's Excel.
const FORMULA_START: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// Defuses a cell the OWASP way: a leading `'` makes spreadsheets show it as text. A cell that
/// already starts with `'` gets one too, so `import` can strip exactly one and the round trip
/// is lossless.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_START) || cell.starts_with('\'') {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes `defuse`: one leading `'` before a formula character or another `'` is removed (a
/// spreadsheet that saved the cell may also have dropped it already, which reads the same).
pub(crate) fn restore(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest.to_string(),
        _ => cell,
    }
}

pub(crate) fn write_csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail; errors would only come from the writer.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| defuse(c).into_owned()));
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("{BOM}{}", String::from_utf8_lossy(&bytes))
}

fn lines(items: &[String]) -> String {
    items.join("\n")
}

/// A list of closed-set members as one id per line.
fn ids<T: Copy>(items: &[T], id: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|&t| id(t)).collect::<Vec<_>>().join("\n")
}

/// Forbidden rules as CSV.
pub fn rules_to_csv(rules: &[ForbiddenRule]) -> String {
    write_csv(
        RULE_HEADER,
        rules.iter().map(|r| {
            vec![
                r.id.clone(),
                r.category.as_str().to_string(),
                r.severity.as_str().to_string(),
                lines(&r.phrases),
                lines(&r.patterns),
                lines(&r.allow),
                r.boundary.to_string(),
                match r.position {
                    Position::Anywhere => "any".into(),
                    Position::Start => "start".into(),
                },
                r.rewrite.clone(),
                r.note.clone(),
                r.origin.file.clone(),
            ]
        }),
    )
}

/// Scripts as CSV.
pub fn scripts_to_csv(scripts: &[Script]) -> String {
    write_csv(
        SCRIPT_HEADER,
        scripts.iter().map(|s| {
            vec![
                s.id.clone(),
                s.intent.as_str().to_string(),
                s.stage.as_str().to_string(),
                ids(&s.emotions, |e| e.as_str()),
                s.style.map(|x| x.as_str()).unwrap_or("any").to_string(),
                s.urgent.to_string(),
                ids(&s.tags, |t| t.as_str()),
                s.priority.to_string(),
                s.text.clone(),
                s.title.clone(),
                s.urgent_kind.map(|k| k.as_str()).unwrap_or("").to_string(),
                s.safety.map(|k| k.as_str()).unwrap_or("").to_string(),
                s.origin.file.clone(),
            ]
        }),
    )
}

/// Parsed CSV rows keyed by header name; problems name `file:row` (the row Excel shows).
struct Rows<'a> {
    file: &'a str,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn read_csv<'a>(file: &'a str, text: &str, want: &[&str]) -> Result<Rows<'a>, Problems> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        // The row number Excel shows: the header is row 1, the n-th record row n + 1, whatever
        // line breaks inside quoted cells do to the file's line count.
        let line = i + 1;
        match rec {
            Err(e) => problems.push(problem(file, i + 1, None, format!("CSV: {e}"))),
            Ok(rec) if header.is_empty() => {
                header = rec.iter().map(|h| h.trim().to_string()).collect();
                for w in want {
                    if !header.iter().any(|h| h == w) && !SCRIPT_OPTIONAL.contains(w) {
                        problems.push(problem(file, line, None, format!("missing column {w:?}")));
                    }
                }
                for h in &header {
                    if !want.contains(&h.as_str()) {
                        problems.push(problem(file, line, None, format!("unknown column {h:?}")));
                    }
                }
            }
            Ok(rec) => {
                if rec.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                rows.push((
                    line,
                    rec.iter()
                        .map(|c| restore(c.replace("\r\n", "\n")))
                        .collect(),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Rows { file, header, rows })
    } else {
        Err(Problems(problems))
    }
}

fn problem(file: &str, line: usize, id: Option<&str>, message: String) -> Problem {
    Problem {
        origin: Origin {
            file: file.to_string(),
            line,
        },
        id: id.map(str::to_string),
        message,
    }
}

impl Rows<'_> {
    fn get<'r>(&self, row: &'r [String], col: &str) -> &'r str {
        self.header
            .iter()
            .position(|h| h == col)
            .and_then(|i| row.get(i))
            .map_or("", |s| s.as_str())
    }
    fn list(&self, row: &[String], col: &str) -> Vec<String> {
        self.get(row, col)
            .split('\n')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
    fn bool(&self, row: &[String], col: &str, line: usize, out: &mut Vec<Problem>) -> bool {
        match self.get(row, col).trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            other => {
                out.push(problem(
                    self.file,
                    line,
                    None,
                    format!("{col}: {other:?} is not true/false"),
                ));
                false
            }
        }
    }
    fn opt(&self, row: &[String], col: &str) -> Option<String> {
        let v = self.get(row, col).trim();
        (!v.is_empty()).then(|| v.to_string())
    }
}

/// Reads forbidden rules from CSV with the loader's checks; problems name `file:row`.
pub fn rules_from_csv(file: &str, text: &str) -> Result<Vec<ForbiddenRule>, Problems> {
    Ok(placed_rules_from_csv(file, text)?
        .into_iter()
        .map(|p| p.item)
        .collect())
}

/// A definition read from CSV and the book file its row names (`file` column; `None` when
/// empty). The definition's `origin` is its CSV row.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed<T> {
    pub file: Option<String>,
    pub item: T,
}

/// [`rules_from_csv`] with each rule's `file` column.
pub fn placed_rules_from_csv(
    file: &str,
    text: &str,
) -> Result<Vec<Placed<ForbiddenRule>>, Problems> {
    let rows = read_csv(file, text, RULE_HEADER)?;
    let mut b = Builder::default();
    let mut extra = Vec::new();
    let mut files = Vec::new();
    for (line, row) in &rows.rows {
        files.push(rows.opt(row, "file"));
        let raw = RawRule {
            id: rows.get(row, "id").trim().to_string(),
            category: rows.get(row, "category").trim().to_string(),
            severity: rows.get(row, "severity").trim().to_string(),
            phrases: rows.list(row, "phrases"),
            patterns: rows.list(row, "patterns"),
            allow: rows.list(row, "allow"),
            boundary: rows.bool(row, "boundary", *line, &mut extra),
            position: rows.opt(row, "position"),
            rewrite: rows.get(row, "rewrite").to_string(),
            note: rows.get(row, "note").to_string(),
        };
        b.rule(
            raw,
            Origin {
                file: file.into(),
                line: *line,
            },
        );
    }
    b.problems.extend(extra);
    if b.problems.is_empty() {
        // No problem means every row became a rule, in row order.
        Ok(files
            .into_iter()
            .zip(b.book.rules)
            .map(|(file, item)| Placed { file, item })
            .collect())
    } else {
        Err(Problems(b.problems))
    }
}

/// Reads scripts from CSV with the loader's checks (slots against `slots`); problems name
/// `file:row`.
pub fn scripts_from_csv(
    file: &str,
    text: &str,
    slots: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Script>, Problems> {
    Ok(placed_scripts_from_csv(file, text, slots)?
        .into_iter()
        .map(|p| p.item)
        .collect())
}

/// [`scripts_from_csv`] with each script's `file` column.
pub fn placed_scripts_from_csv(
    file: &str,
    text: &str,
    slots: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Placed<Script>>, Problems> {
    let rows = read_csv(file, text, SCRIPT_HEADER)?;
    let mut b = Builder::default();
    b.book.slots = slots.clone();
    let mut extra = Vec::new();
    let mut files = Vec::new();
    for (line, row) in &rows.rows {
        files.push(rows.opt(row, "file"));
        let priority = match rows.get(row, "priority").trim() {
            "" => 0,
            p => p.parse().unwrap_or_else(|_| {
                extra.push(problem(
                    file,
                    *line,
                    None,
                    format!("priority: {p:?} is not a whole number"),
                ));
                0
            }),
        };
        let raw = RawScript {
            id: rows.get(row, "id").trim().to_string(),
            intent: rows.get(row, "intent").trim().to_string(),
            stage: rows.get(row, "stage").trim().to_string(),
            emotions: rows.list(row, "emotions"),
            style: rows.opt(row, "style"),
            urgent: rows.bool(row, "urgent", *line, &mut extra),
            tags: rows.list(row, "tags"),
            text: rows.get(row, "text").to_string(),
            priority,
            title: rows.get(row, "title").trim().to_string(),
            urgent_kind: rows.opt(row, "urgent_kind"),
            safety: rows.opt(row, "safety"),
        };
        b.script(
            raw,
            Origin {
                file: file.into(),
                line: *line,
            },
        );
    }
    b.check_slots();
    b.problems.extend(extra);
    if b.problems.is_empty() {
        Ok(files
            .into_iter()
            .zip(b.book.scripts)
            .map(|(file, item)| Placed { file, item })
            .collect())
    } else {
        Err(Problems(b.problems))
    }
}

#[derive(Serialize)]
struct RuleOut<'a> {
    id: &'a str,
    category: RuleCategory,
    severity: Severity,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    phrases: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    patterns: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    allow: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    boundary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<&'a str>,
    rewrite: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    note: &'a str,
}

#[derive(Serialize)]
struct ScriptOut<'a> {
    id: &'a str,
    intent: Intent,
    stage: Stage,
    #[serde(skip_serializing_if = "<[EmotionLabel]>::is_empty")]
    emotions: &'a [EmotionLabel],
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    urgent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    urgent_kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safety: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    title: &'a str,
    #[serde(skip_serializing_if = "<[Tag]>::is_empty")]
    tags: &'a [Tag],
    #[serde(skip_serializing_if = "is_zero")]
    priority: i32,
    text: &'a str,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct RulesFile<'a> {
    rule: Vec<RuleOut<'a>>,
}

#[derive(Serialize)]
struct ScriptsFile<'a> {
    script: Vec<ScriptOut<'a>>,
}

const GENERATED: &str =
    "# Generated by `huashu csv import`; edit here or in the CSV and import again.\n\n";

/// Renders rules as a `forbidden.toml` the loader reads back to the same rules.
pub fn rules_to_toml(rules: &[ForbiddenRule]) -> String {
    let file = RulesFile {
        rule: rules
            .iter()
            .map(|r| RuleOut {
                id: &r.id,
                category: r.category,
                severity: r.severity,
                phrases: &r.phrases,
                patterns: &r.patterns,
                allow: &r.allow,
                boundary: r.boundary,
                position: (r.position == Position::Start).then_some("start"),
                rewrite: &r.rewrite,
                note: &r.note,
            })
            .collect(),
    };
    format!(
        "{GENERATED}{}",
        toml::to_string_pretty(&file).unwrap_or_default()
    )
}

/// Renders scripts as a `scripts.toml` the loader reads back to the same scripts.
pub fn scripts_to_toml(scripts: &[Script]) -> String {
    let file = ScriptsFile {
        script: scripts
            .iter()
            .map(|s| ScriptOut {
                id: &s.id,
                intent: s.intent,
                stage: s.stage,
                emotions: &s.emotions,
                style: s.style.map(|x| x.as_str()),
                urgent: s.urgent,
                urgent_kind: s.urgent_kind.map(UrgentKind::as_str),
                safety: s.safety.map(SafetyStep::as_str),
                title: &s.title,
                tags: &s.tags,
                priority: s.priority,
                text: &s.text,
            })
            .collect(),
    };
    format!(
        "{GENERATED}{}",
        toml::to_string_pretty(&file).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (cell, as exported)
    const CELLS: &[(&str, &str)] = &[
        (
            "=HYPERLINK(\"http://evil.example/\",\"您好\")",
            "'=HYPERLINK(\"http://evil.example/\",\"您好\")",
        ),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "''quoted"),
        ("'=x", "''=x"),
        ("您好=亲", "您好=亲"),
        ("", ""),
    ];

    #[test]
    fn formula_cells_are_defused_on_export_and_restored_on_import() {
        for (cell, exported) in CELLS {
            assert_eq!(defuse(cell), *exported, "{cell:?}");
            assert_eq!(restore(exported.to_string()), *cell, "{exported:?}");
        }
        // A spreadsheet that dropped the quote when saving reads the same.
        assert_eq!(restore("=1+1".into()), "=1+1");
        assert_eq!(restore("'plain".into()), "'plain");
    }
}
