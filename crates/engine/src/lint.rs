//! `huashu lint`: every invariant of a phrasebook that needs compiled matchers.
//!
//! Shape checks (unique ids, known categories, slots, intents, stages) happen while loading; this
//! adds: everything compiles (regexes, automaton, model), no script and no rewrite trips a
//! block/warn rule, every intent has examples to train on.

use huashu_phrasebook::{Phrasebook, Problem, Severity, slots_in};

use crate::{Engine, EngineError};

/// All problems of `book`; empty when it is fit to publish.
pub fn lint(book: &Phrasebook) -> Vec<Problem> {
    let engine = match Engine::compile(book.clone()) {
        Ok(e) => e,
        Err(EngineError::Compile(p)) => return p.0,
        Err(EngineError::Load(e)) => {
            return vec![Problem {
                origin: Default::default(),
                id: None,
                message: e.to_string(),
            }];
        }
    };
    let mut problems = Vec::new();
    for s in &book.scripts {
        let text = with_sample_slots(book, &s.text);
        for hit in engine.check_draft(&text) {
            if hit.severity != Severity::Hint.as_str() {
                problems.push(Problem {
                    origin: s.origin.clone(),
                    id: Some(s.id.clone()),
                    message: format!(
                        "script text trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    for r in &book.rules {
        for hit in engine.check_draft(&r.rewrite) {
            if hit.severity != Severity::Hint.as_str() {
                problems.push(Problem {
                    origin: r.origin.clone(),
                    id: Some(r.id.clone()),
                    message: format!(
                        "rewrite trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    for f in &book.faq {
        for hit in engine.check_draft(&f.answer) {
            if hit.severity != Severity::Hint.as_str() {
                problems.push(Problem {
                    origin: f.origin.clone(),
                    id: Some(f.id.clone()),
                    message: format!(
                        "FAQ answer trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    for i in &book.intents {
        if i.examples.is_empty() && i.keywords.is_empty() && i.patterns.is_empty() {
            problems.push(Problem {
                origin: i.origin.clone(),
                id: Some(i.id.clone()),
                message: "intent has no keywords, patterns or examples: it can never be detected"
                    .into(),
            });
        }
    }
    problems
}

/// The script text with each slot replaced by its default, or a neutral sample when it has none,
/// so the guard sees what an agent would actually send.
fn with_sample_slots(book: &Phrasebook, text: &str) -> String {
    let Ok(slots) = slots_in(text) else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for slot in slots {
        let value = match book.slots.get(slot).map(String::as_str) {
            Some(v) if !v.is_empty() => v,
            _ => "123456",
        };
        out = out.replace(&format!("{{{slot}}}"), value);
    }
    out
}
