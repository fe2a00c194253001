//! The training corpus of a book: thousands of labelled customer lines in plain TSV files, so a
//! QA lead can add real-looking phrasings (placeholders, one-word answers, replies that only make
//! sense after the agent's question) without touching TOML.
//!
//! Format (also in `phrasebooks/default/corpus/README.md`): one line per example,
//! `intents<TAB>emotion<TAB>text[<TAB>context]`, intents `+`-joined with the primary first, `#`
//! comments and blank lines ignored, an optional header `intents<TAB>emotion<TAB>text…` as the
//! first non-comment line. Every problem of every file is reported in one run, as
//! `file:line: message`.

use std::collections::HashMap;

use crate::Problem;
use crate::model::{CorpusLine, EMOTIONS, INTENTS, Origin};

/// Parses one corpus file into `out`, pushing its problems to `problems`.
pub(crate) fn parse_file(
    name: &str,
    text: &str,
    out: &mut Vec<CorpusLine>,
    problems: &mut Vec<Problem>,
) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut seen_content = false;
    for (i, raw) in text.lines().enumerate() {
        let origin = Origin {
            file: name.to_string(),
            line: i + 1,
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let first = !seen_content;
        seen_content = true;
        let cols: Vec<&str> = line.split('\t').collect();
        if first && cols.first().map(|c| c.trim()) == Some("intents") {
            continue;
        }
        let mut problem = |message: String| {
            problems.push(Problem {
                origin: origin.clone(),
                id: None,
                message,
            })
        };
        if !(3..=4).contains(&cols.len()) {
            problem(format!(
                "expected 3 or 4 TAB-separated columns (intents, emotion, text[, context]), found {}",
                cols.len()
            ));
            continue;
        }
        let mut ok = true;
        let mut intents = Vec::new();
        for id in cols[0].split('+').map(str::trim) {
            if !INTENTS.contains(&id) {
                problem(format!(
                    "unknown intent {id:?} (expected one of {})",
                    INTENTS.join(", ")
                ));
                ok = false;
            } else if intents.iter().any(|x| x == id) {
                problem(format!("intent {id:?} listed twice"));
                ok = false;
            } else {
                intents.push(id.to_string());
            }
        }
        let emotion = cols[1].trim();
        if !EMOTIONS.contains(&emotion) {
            problem(format!(
                "unknown emotion {emotion:?} (expected one of {})",
                EMOTIONS.join(", ")
            ));
            ok = false;
        }
        let body = cols[2].trim();
        if body.is_empty() {
            problem("text is empty".to_string());
            ok = false;
        }
        let context = cols
            .get(3)
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if ok {
            out.push(CorpusLine {
                intents,
                emotion: emotion.to_string(),
                text: body.to_string(),
                context,
                origin,
            });
        }
    }
}

/// Duplicate texts across all files: the same (text, context) twice is a problem, and with two
/// different labels it is a contradiction the model cannot learn from.
pub(crate) fn check_duplicates(lines: &[CorpusLine], problems: &mut Vec<Problem>) {
    let mut first: HashMap<(&str, Option<&str>), usize> = HashMap::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let key = (l.text.as_str(), l.context.as_deref());
        match first.get(&key) {
            None => {
                first.insert(key, i);
            }
            Some(&j) => {
                let f = &lines[j];
                let message = if f.intents == l.intents && f.emotion == l.emotion {
                    format!("duplicate text {:?} (first at {})", l.text, f.origin)
                } else {
                    format!(
                        "same text {:?} with two labels: {} {} here, {} {} at {}",
                        l.text,
                        l.intents.join("+"),
                        l.emotion,
                        f.intents.join("+"),
                        f.emotion,
                        f.origin
                    )
                };
                problems.push(Problem {
                    origin: l.origin.clone(),
                    id: None,
                    message,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)]) -> (Vec<CorpusLine>, Vec<String>) {
        let mut lines = Vec::new();
        let mut problems = Vec::new();
        for (name, text) in files {
            parse_file(name, text, &mut lines, &mut problems);
        }
        check_duplicates(&lines, &mut problems);
        (lines, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn parses_labels_context_comments_and_header() {
        let (lines, problems) = run(&[(
            "corpus/a.tsv",
            "# 注释\nintents\temotion\ttext\tcontext\n\norder_change+shipping\tneutral\t能改到周六送吗\nother\tneutral\t是的\t请问是修改收货地址吗？\r\n",
        )]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].intents, ["order_change", "shipping"]);
        assert_eq!(lines[0].origin.to_string(), "corpus/a.tsv:4");
        assert_eq!(lines[0].context, None);
        assert_eq!(lines[1].context.as_deref(), Some("请问是修改收货地址吗？"));
    }

    /// Every problem of a file comes out in one run, each naming its line.
    #[test]
    fn reports_every_problem_with_file_and_line() {
        const CASES: &[(&str, &str)] = &[
            (
                "shiping\tneutral\t到哪了",
                "a.tsv:1: unknown intent \"shiping\"",
            ),
            ("shipping\tmad\t到哪了", "a.tsv:2: unknown emotion \"mad\""),
            (
                "shipping\t到哪了",
                "a.tsv:3: expected 3 or 4 TAB-separated columns",
            ),
            ("shipping\tneutral\t ", "a.tsv:4: text is empty"),
            (
                "shipping+shipping\tneutral\t发了吗",
                "a.tsv:5: intent \"shipping\" listed twice",
            ),
            ("shipping\tneutral\t快递呢", ""),
            (
                "shipping\tneutral\t快递呢",
                "a.tsv:7: duplicate text \"快递呢\" (first at a.tsv:6)",
            ),
            (
                "shipping\tanxiety\t快递呢",
                "a.tsv:8: same text \"快递呢\" with two labels: shipping anxiety here, shipping neutral at a.tsv:6",
            ),
            ("other\tneutral\t快递呢\t还有别的问题吗", ""),
        ];
        let file: String = CASES.iter().map(|(l, _)| format!("{l}\n")).collect();
        let (lines, problems) = run(&[("a.tsv", &file)]);
        let expected: Vec<&str> = CASES
            .iter()
            .map(|c| c.1)
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (got, want) in problems.iter().zip(&expected) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
        // The two good distinct lines and the two duplicates parse; the broken ones do not.
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn duplicates_are_found_across_files() {
        let (_, problems) = run(&[
            ("a.tsv", "greeting\tneutral\t在吗\n"),
            ("b.tsv", "greeting\tneutral\t在吗\n"),
        ]);
        assert_eq!(
            problems,
            ["b.tsv:1: duplicate text \"在吗\" (first at a.tsv:1)"]
        );
    }
}
