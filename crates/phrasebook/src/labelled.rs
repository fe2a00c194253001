//! Examples a QA lead confirmed or corrected on the QA page's labelling queue, written into the
//! candidate book's corpus (`<book>/corpus/labelled.tsv`) so the model learns from them at the
//! next load. This crate is the only code that writes phrasebook files; the server masks the
//! text before it gets here.
//!
//! Each batch is appended under a `# by <who> <date>` comment line (the corpus format ignores
//! comments, so attribution costs nothing at load time). A text the corpus already holds with the
//! same labels is skipped; with other labels it is a conflict and is not written, because the
//! corpus lint refuses a text with two labels and the gate would then refuse the whole book.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::model::{EMOTIONS, INTENTS};
use crate::{Error, load_dir};

/// The file the labelling queue writes, inside the book's corpus folder.
pub const LABELLED_FILE: &str = "labelled.tsv";

/// One confirmed example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledExample {
    /// Primary first.
    pub intents: Vec<String>,
    pub emotion: String,
    pub text: String,
}

/// What [`append_labelled`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendReport {
    pub file: PathBuf,
    pub written: usize,
    /// Texts already in the corpus with the same labels.
    pub skipped: Vec<String>,
    /// `text: existing labels` for texts already in the corpus with other labels.
    pub conflicts: Vec<String>,
    /// `text: reason` for examples that are not valid (unknown intent, empty text…).
    pub invalid: Vec<String>,
}

fn clean(s: &str) -> String {
    s.split(['\t', '\n', '\r'])
        .filter(|p| !p.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Appends `examples` to the corpus of the book in `dir`, attributed to `by` on `date`.
pub fn append_labelled(
    dir: &Path,
    examples: &[LabelledExample],
    by: &str,
    date: &str,
) -> Result<AppendReport, Error> {
    let book = load_dir(dir)?;
    let folder = book.meta.corpus.clone().unwrap_or_else(|| "corpus".into());
    let corpus_dir = dir.join(folder.trim_end_matches('/'));
    let file = corpus_dir.join(LABELLED_FILE);
    let mut report = AppendReport {
        file: file.clone(),
        ..Default::default()
    };
    let mut lines = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for ex in examples {
        let text = clean(&ex.text);
        let bad = if text.is_empty() {
            Some("empty text".to_string())
        } else if ex.intents.is_empty() {
            Some("no intent".to_string())
        } else if let Some(i) = ex.intents.iter().find(|i| !INTENTS.contains(&i.as_str())) {
            Some(format!("unknown intent {i:?}"))
        } else if !EMOTIONS.contains(&ex.emotion.as_str()) {
            Some(format!("unknown emotion {:?}", ex.emotion))
        } else {
            None
        };
        if let Some(reason) = bad {
            report.invalid.push(format!("{text}: {reason}"));
            continue;
        }
        if let Some(c) = book.corpus.iter().find(|c| c.text.trim() == text) {
            if c.intents == ex.intents && c.emotion == ex.emotion {
                report.skipped.push(text);
            } else {
                report.conflicts.push(format!(
                    "{text}: {} {} ({}:{})",
                    c.intents.join("+"),
                    c.emotion,
                    c.origin.file,
                    c.origin.line
                ));
            }
            continue;
        }
        if seen.contains(&text) {
            report.skipped.push(text);
            continue;
        }
        seen.push(text.clone());
        lines.push(format!("{}\t{}\t{text}", ex.intents.join("+"), ex.emotion));
    }
    if lines.is_empty() {
        return Ok(report);
    }
    let io = |source| Error::Io {
        path: file.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&corpus_dir).map_err(io)?;
    let fresh = !file.exists();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(io)?;
    let mut text = String::new();
    if fresh {
        text.push_str(
            "# labelled.tsv — examples confirmed or corrected on the QA page's labelling queue (质检标注)\n\
             # Format: see README.md in the default book's corpus folder. Each batch starts with `# by <who> <date>`.\n",
        );
    }
    text.push_str(&format!("# by {} {date}\n", clean(by).replace('#', "")));
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(io)?;
    report.written = lines.len();
    Ok(report)
}

/// The columns of `huashu examples export` / `import`.
pub const EXAMPLE_HEADER: &[&str] = &["intents", "emotion", "text", "source"];

/// A book's corpus as Excel-friendly CSV (UTF-8 with BOM): intents (`+`-joined), emotion, text,
/// and where the line lives (`file:line`, ignored on import).
pub fn examples_to_csv(corpus: &[crate::CorpusLine]) -> String {
    crate::csv::write_csv(
        EXAMPLE_HEADER,
        corpus.iter().map(|c| {
            vec![
                c.intents.join("+"),
                c.emotion.clone(),
                c.text.clone(),
                format!("{}:{}", c.origin.file, c.origin.line),
            ]
        }),
    )
}

/// Reads examples from CSV; problems name `file:row` with the row Excel shows (header = 1).
pub fn examples_from_csv(file: &str, text: &str) -> Result<Vec<LabelledExample>, crate::Problems> {
    let text = text.strip_prefix(crate::csv::BOM).unwrap_or(text);
    let mut r = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut cols: Option<(usize, usize, usize)> = None;
    for (i, rec) in r.records().enumerate() {
        let row = i + 1;
        let mut problem = |message: String| {
            problems.push(crate::Problem {
                origin: crate::Origin {
                    file: file.to_string(),
                    line: row,
                },
                id: None,
                message,
            })
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problem(format!("CSV: {e}"));
                continue;
            }
        };
        let Some((ci, ce, ct)) = cols else {
            let find = |name: &str| rec.iter().position(|h| h.trim() == name);
            match (find("intents"), find("emotion"), find("text")) {
                (Some(a), Some(b), Some(c)) => cols = Some((a, b, c)),
                _ => problem("the header must name the columns intents, emotion and text".into()),
            }
            if cols.is_none() {
                break;
            }
            continue;
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |i: usize| crate::csv::restore(rec.get(i).unwrap_or("").trim().to_string());
        let intents: Vec<String> = get(ci)
            .split('+')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let emotion = get(ce);
        let text = get(ct);
        if let Some(bad) = intents.iter().find(|i| !INTENTS.contains(&i.as_str())) {
            problem(format!(
                "unknown intent {bad:?} (expected one of {})",
                INTENTS.join(", ")
            ));
        } else if intents.is_empty() {
            problem("no intent".into());
        } else if !EMOTIONS.contains(&emotion.as_str()) {
            problem(format!(
                "unknown emotion {emotion:?} (expected one of {})",
                EMOTIONS.join(", ")
            ));
        } else if clean(&text).is_empty() {
            problem("empty text".into());
        } else {
            out.push(LabelledExample {
                intents,
                emotion,
                text,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(crate::Problems(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(intents: &[&str], emotion: &str, text: &str) -> LabelledExample {
        LabelledExample {
            intents: intents.iter().map(|s| s.to_string()).collect(),
            emotion: emotion.into(),
            text: text.into(),
        }
    }

    #[test]
    fn examples_are_appended_attributed_and_checked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        std::fs::write(dir.join("book.toml"), "[book]\nname = \"t\"\n").expect("book");
        std::fs::create_dir_all(dir.join("corpus")).expect("corpus");
        std::fs::write(dir.join("corpus/a.tsv"), "shipping\tneutral\t快递到哪了\n").expect("tsv");
        // (example, where it must end up)
        let cases = [
            (ex(&["shipping"], "anxiety", "怎么还没发货\t急"), "written"),
            (ex(&["shipping"], "neutral", "快递到哪了"), "skipped"),
            (ex(&["return_refund"], "neutral", "快递到哪了"), "conflict"),
            (ex(&["nonsense"], "neutral", "随便"), "invalid"),
            (ex(&["other"], "happy", "随便"), "invalid"),
            (ex(&["other"], "neutral", "  "), "invalid"),
        ];
        let all: Vec<_> = cases.iter().map(|c| c.0.clone()).collect();
        let r = append_labelled(dir, &all, "王质检", "2026-12-01").expect("append");
        let count = |w: &str| cases.iter().filter(|c| c.1 == w).count();
        assert_eq!(r.written, count("written"), "{r:?}");
        assert_eq!(r.skipped.len(), count("skipped"), "{r:?}");
        assert_eq!(r.conflicts.len(), count("conflict"), "{r:?}");
        assert_eq!(r.invalid.len(), count("invalid"), "{r:?}");
        let text = std::fs::read_to_string(dir.join("corpus/labelled.tsv")).expect("written");
        assert!(
            text.contains("# by 王质检 2026-12-01\nshipping\tanxiety\t怎么还没发货 急\n"),
            "{text}"
        );
        // The book still loads and now trains on the new line.
        let book = load_dir(dir).expect("loads");
        assert!(book.corpus.iter().any(|c| c.text == "怎么还没发货 急"));
        // CSV round trip: export the corpus, import it back; a bad row names its Excel row.
        let csv = examples_to_csv(&book.corpus);
        assert!(csv.starts_with('\u{feff}'));
        let back = examples_from_csv("x.csv", &csv).expect("import");
        assert_eq!(back.len(), book.corpus.len());
        let bad = "intents,emotion,text\nshipping,neutral,\"多行\n文本\"\nnonsense,neutral,x\n";
        let err = examples_from_csv("x.csv", bad).expect_err("bad row");
        assert!(
            err.to_string().starts_with("x.csv:3: unknown intent"),
            "{err}"
        );
        // A second batch does not repeat what is there.
        let again = append_labelled(dir, &all[..1], "王质检", "2026-12-02").expect("append");
        assert_eq!((again.written, again.skipped.len()), (0, 1));
    }
}
