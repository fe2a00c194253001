//! The shipped default book against the agent-line table `tests/corpus/guard_cases.jsonl`:
//! every flagged line is caught with the right category, no benign line gets a block/warn hit,
//! and every span maps back to a non-empty slice of the original line.

use std::path::Path;

use huashu_guard::Guard;
use huashu_phrasebook::Severity;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn default_book_on_guard_corpus() {
    let book = huashu_phrasebook::load_dir(&root().join("phrasebooks/default")).expect("loads");
    let guard = Guard::new(&book.rules).expect("compiles");
    let corpus = std::fs::read_to_string(root().join("tests/corpus/guard_cases.jsonl"))
        .expect("tests/corpus/guard_cases.jsonl");
    let mut failures = Vec::new();
    let (mut flagged, mut benign) = (0, 0);
    for (n, line) in corpus
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let text = case["text"].as_str().expect("text");
        let chars: Vec<char> = text.chars().collect();
        let hits = guard.check(text);
        for h in &hits {
            assert!(
                h.start < h.end && h.end <= chars.len(),
                "line {}: bad span {h:?}",
                n + 1
            );
        }
        let serious: Vec<_> = hits
            .iter()
            .filter(|h| guard.rules()[h.rule].severity >= Severity::Warn)
            .collect();
        let describe = || {
            hits.iter()
                .map(|h| {
                    let span: String = chars[h.start..h.end].iter().collect();
                    format!("{}({span})", guard.rules()[h.rule].id)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match case["flag"].as_str() {
            None => {
                benign += 1;
                if !serious.is_empty() {
                    failures.push(format!(
                        "line {}: benign {text:?} got {}",
                        n + 1,
                        describe()
                    ));
                }
            }
            Some("hint") => {
                flagged += 1;
                if hits.is_empty() {
                    failures.push(format!("line {}: hint missed in {text:?}", n + 1));
                }
            }
            Some(category) => {
                flagged += 1;
                if !serious
                    .iter()
                    .any(|h| guard.rules()[h.rule].category.as_str() == category)
                {
                    failures.push(format!(
                        "line {}: {category} missed in {text:?} (got: {})",
                        n + 1,
                        describe()
                    ));
                }
                if let Some(rule) = case["rule"].as_str()
                    && !hits.iter().any(|h| guard.rules()[h.rule].id == rule)
                {
                    failures.push(format!("line {}: expected rule {rule} in {text:?}", n + 1));
                }
            }
        }
    }
    assert!(
        flagged >= 100 && benign >= 100,
        "corpus too small: {flagged} flagged, {benign} benign"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
