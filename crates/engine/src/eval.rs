//! `huashu eval`: how well a book does on a labelled corpus.
//!
//! Customer lines carry gold `intents` (primary first), `emotion` and `urgent`; agent lines carry
//! `flag` (true / a category name = must be caught with block or warn; false / null = benign).
//! Each line is analysed on its own unless it names a `conversation`.

use std::collections::{BTreeMap, HashMap};

use huashu_phrasebook::INTENTS;
use serde::{Deserialize, Serialize};

use crate::{ConversationState, Engine};

/// One labelled line, as read from the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledLine {
    #[serde(default)]
    pub role: Option<String>,
    pub text: String,
    #[serde(default)]
    pub conversation: Option<String>,
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub emotion: Option<String>,
    #[serde(default)]
    pub urgent: Option<bool>,
    /// Agent lines: `true`/`false`, a category name, or `null`.
    #[serde(default)]
    pub flag: Option<serde_json::Value>,
    #[serde(default)]
    pub category: Option<String>,
}

impl LabelledLine {
    fn is_agent(&self) -> bool {
        self.role.as_deref() == Some("agent") || (self.role.is_none() && self.flag.is_some())
    }
    /// The category an agent line must be caught for, or `None` when it is benign.
    fn expected_flag(&self) -> Option<String> {
        match &self.flag {
            Some(serde_json::Value::Bool(true)) => {
                Some(self.category.clone().unwrap_or_else(|| "any".into()))
            }
            Some(serde_json::Value::String(c)) => Some(c.clone()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Prf {
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn finish(&mut self) {
        self.precision = ratio(self.correct, self.predicted);
        self.recall = ratio(self.correct, self.support);
        self.f1 = if self.precision + self.recall > 0.0 {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        } else {
            0.0
        };
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A line the book got wrong, for the QA lead to look at.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub line: usize,
    pub text: String,
    pub what: &'static str,
    pub expected: String,
    pub got: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub book: String,
    pub book_hash: String,
    pub customer_lines: usize,
    pub agent_lines: usize,
    /// Per intent, over the full predicted intent set of each line.
    pub intents: BTreeMap<String, Prf>,
    pub intent_macro_f1: f64,
    /// Share of lines whose predicted primary intent is among the gold intents.
    pub primary_intent_accuracy: f64,
    pub emotion_accuracy: f64,
    /// gold label → predicted label → count.
    pub emotion_confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub urgent: Prf,
    /// Flagged agent lines caught with a block/warn hit.
    pub guard_recall: f64,
    /// … and caught with a hit of the expected category.
    pub guard_category_recall: f64,
    /// Benign agent lines that got a block/warn hit.
    pub guard_false_alarm_rate: f64,
    pub guard_flagged: usize,
    pub guard_benign: usize,
    pub misses: Vec<Miss>,
}

/// Evaluates `engine` on `(line number, line)` pairs.
pub fn evaluate(engine: &Engine, lines: &[(usize, LabelledLine)]) -> EvalReport {
    let mut r = EvalReport {
        book: engine.meta().name.clone(),
        book_hash: engine.meta().hash.clone(),
        ..Default::default()
    };
    let mut intents: BTreeMap<String, Prf> = INTENTS
        .iter()
        .map(|i| (i.to_string(), Prf::default()))
        .collect();
    let (mut primary_ok, mut emotion_n, mut emotion_ok) = (0, 0, 0);
    let (mut caught, mut caught_cat, mut false_alarms) = (0, 0, 0);
    let mut conversations: HashMap<String, ConversationState> = HashMap::new();

    for (n, line) in lines {
        let mut scratch = ConversationState::new();
        let state = match &line.conversation {
            Some(id) => conversations.entry(id.clone()).or_default(),
            None => &mut scratch,
        };
        if line.is_agent() {
            r.agent_lines += 1;
            let hits: Vec<_> = engine
                .agent_turn(state, &line.text, None)
                .guard
                .into_iter()
                .filter(|h| h.severity != "hint")
                .collect();
            let got = hits
                .iter()
                .map(|h| format!("{}({})", h.rule, h.text))
                .collect::<Vec<_>>()
                .join(", ");
            match line.expected_flag() {
                Some(cat) => {
                    r.guard_flagged += 1;
                    if !hits.is_empty() {
                        caught += 1;
                    }
                    if hits.iter().any(|h| cat == "any" || h.category == cat) {
                        caught_cat += 1;
                    } else {
                        r.misses.push(Miss {
                            line: *n,
                            text: line.text.clone(),
                            what: "guard_missed",
                            expected: cat,
                            got,
                        });
                    }
                }
                None => {
                    r.guard_benign += 1;
                    if !hits.is_empty() {
                        false_alarms += 1;
                        r.misses.push(Miss {
                            line: *n,
                            text: line.text.clone(),
                            what: "guard_false_alarm",
                            expected: "none".into(),
                            got,
                        });
                    }
                }
            }
            continue;
        }

        r.customer_lines += 1;
        let a = engine.customer_turn(state, &line.text, None);
        let u = &a.understanding;
        let predicted: Vec<&str> = u.intents.iter().map(|i| i.id).collect();
        if !line.intents.is_empty() {
            for (id, prf) in intents.iter_mut() {
                let gold = line.intents.iter().any(|g| g == id);
                let pred = predicted.contains(&id.as_str());
                prf.support += gold as usize;
                prf.predicted += pred as usize;
                prf.correct += (gold && pred) as usize;
            }
            if line.intents.iter().any(|g| g == u.primary_intent()) {
                primary_ok += 1;
            }
            let gold_set: Vec<&str> = line.intents.iter().map(String::as_str).collect();
            let mut p = predicted.clone();
            let mut g = gold_set.clone();
            p.sort_unstable();
            g.sort_unstable();
            if p != g {
                r.misses.push(Miss {
                    line: *n,
                    text: line.text.clone(),
                    what: "intents",
                    expected: gold_set.join(","),
                    got: u
                        .intents
                        .iter()
                        .map(|i| format!("{}:{:.2}", i.id, i.score))
                        .collect::<Vec<_>>()
                        .join(","),
                });
            }
        }
        if let Some(gold) = &line.emotion {
            emotion_n += 1;
            let got = u.emotion.label;
            *r.emotion_confusion
                .entry(gold.clone())
                .or_default()
                .entry(got.to_string())
                .or_default() += 1;
            if gold == got {
                emotion_ok += 1;
            } else {
                r.misses.push(Miss {
                    line: *n,
                    text: line.text.clone(),
                    what: "emotion",
                    expected: gold.clone(),
                    got: format!("{}:{:.2}", got, u.emotion.intensity),
                });
            }
        }
        if let Some(gold) = line.urgent {
            r.urgent.support += gold as usize;
            r.urgent.predicted += u.urgent as usize;
            r.urgent.correct += (gold && u.urgent) as usize;
            if gold != u.urgent {
                r.misses.push(Miss {
                    line: *n,
                    text: line.text.clone(),
                    what: "urgent",
                    expected: gold.to_string(),
                    got: u.urgent.to_string(),
                });
            }
        }
    }

    let mut f1s = Vec::new();
    for prf in intents.values_mut() {
        prf.finish();
        if prf.support > 0 || prf.predicted > 0 {
            f1s.push(prf.f1);
        }
    }
    r.intents = intents;
    r.intent_macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    let intent_lines = lines
        .iter()
        .filter(|(_, l)| !l.is_agent() && !l.intents.is_empty())
        .count();
    r.primary_intent_accuracy = ratio(primary_ok, intent_lines);
    r.emotion_accuracy = ratio(emotion_ok, emotion_n);
    r.urgent.finish();
    r.guard_recall = ratio(caught, r.guard_flagged);
    r.guard_category_recall = ratio(caught_cat, r.guard_flagged);
    r.guard_false_alarm_rate = ratio(false_alarms, r.guard_benign);
    r
}
