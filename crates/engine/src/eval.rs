//! `huashu eval`: how well a book does on a labelled corpus, and where it fails.
//!
//! Customer lines carry gold `intents` (primary first), `emotion` and `urgent`, optionally
//! `ambiguous` (figures are given for all rows and for the strict rows, `ambiguous` not true) and
//! `context` (the previous turns, replayed first with [`EvalOptions::replay_context`]). Agent lines
//! carry `flag` (true / a category name = must be caught with block or warn; false / null =
//! benign). Each line is analysed on its own unless it names a `conversation`. Both the
//! repository's `tests/corpus/eval.jsonl` and the development-set format read this way.

use std::collections::{BTreeMap, HashMap};

use huashu_phrasebook::{INTENTS, Severity};
use serde::{Deserialize, Serialize};

use crate::{ConversationState, Engine};

/// One previous turn of a labelled line (`context`), oldest first.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextTurn {
    pub role: String,
    pub text: String,
}

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
    /// The labeller could not decide between two readings: left out of the strict figures.
    #[serde(default)]
    pub ambiguous: Option<bool>,
    #[serde(default)]
    pub context: Vec<ContextTurn>,
}

impl LabelledLine {
    fn is_agent(&self) -> bool {
        self.role.as_deref() == Some("agent") || (self.role.is_none() && self.flag.is_some())
    }
    /// Whether the line carries any label `evaluate` can score.
    pub fn is_labelled(&self) -> bool {
        if self.is_agent() {
            self.flag.is_some()
        } else {
            !self.intents.is_empty() || self.emotion.is_some() || self.urgent.is_some()
        }
    }
    fn strict(&self) -> bool {
        self.ambiguous != Some(true)
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
    fn add(&mut self, gold: bool, pred: bool) {
        self.support += gold as usize;
        self.predicted += pred as usize;
        self.correct += (gold && pred) as usize;
    }
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

/// Which lines to score: all, or every other one (tune on one half, report the other too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rows {
    #[default]
    All,
    /// Lines with an even 1-based line number.
    Even,
    /// Lines with an odd 1-based line number.
    Odd,
}

/// How to run an evaluation.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalOptions {
    /// Replay each line's `context` turns (agent and customer) into a fresh conversation first.
    pub replay_context: bool,
    pub rows: Rows,
}

/// Bins of the expected calibration error.
const ECE_BINS: usize = 10;

/// The customer-line figures of one set of rows (all, or strict).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub lines: usize,
    /// Per intent, over the full predicted intent set of each line.
    pub intents: BTreeMap<String, Prf>,
    pub intent_macro_f1: f64,
    /// Share of lines whose predicted primary intent is among the gold intents.
    pub primary_intent_accuracy: f64,
    /// Share of lines whose predicted primary intent is the gold primary intent.
    pub primary_intent_exact: f64,
    /// gold primary intent → predicted primary intent → count.
    pub intent_confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub emotion_lines: usize,
    pub emotion_accuracy: f64,
    /// gold label → predicted label → count.
    pub emotion_confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// anger/anxiety/disappointment against neutral/positive.
    pub negative: Prf,
    /// Calm (neutral/positive) lines shown with a negative emotion, over all calm lines.
    pub calm_flagged_rate: f64,
    pub calm_lines: usize,
    pub urgent: Prf,
    /// Lines marked urgent that are not.
    pub wrongly_urgent: usize,
    /// Expected calibration error of the primary intent's score against its exactness.
    pub intent_ece: f64,
    /// Reliability table of the primary intent: per tenth of score, `(lines, mean score, exact
    /// share)`.
    pub intent_reliability: Vec<(usize, f64, f64)>,
    /// Lines whose intent came out as "not sure" (`confident: false`).
    pub not_sure_rate: f64,
    /// Exact primary accuracy on the confident lines only.
    pub confident_exact: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub book: String,
    pub book_hash: String,
    pub customer_lines: usize,
    pub agent_lines: usize,
    /// Lines not marked ambiguous.
    pub strict_lines: usize,
    /// Per intent, over the full predicted intent set of each line (all rows).
    pub intents: BTreeMap<String, Prf>,
    pub intent_macro_f1: f64,
    /// Share of lines whose predicted primary intent is among the gold intents.
    pub primary_intent_accuracy: f64,
    pub emotion_accuracy: f64,
    /// gold label → predicted label → count.
    pub emotion_confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub urgent: Prf,
    /// Every customer-line figure, over all rows.
    pub all: Figures,
    /// The same over the strict rows (`ambiguous` not true).
    pub strict: Figures,
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

/// What one customer line came out as, kept until the figures are computed.
struct Scored {
    strict: bool,
    gold_intents: Vec<String>,
    pred_intents: Vec<&'static str>,
    primary_score: f32,
    confident: bool,
    gold_emotion: Option<String>,
    pred_emotion: &'static str,
    gold_urgent: Option<bool>,
    pred_urgent: bool,
}

fn is_negative(label: &str) -> bool {
    matches!(label, "anger" | "anxiety" | "disappointment")
}

fn figures<'a>(rows: impl Iterator<Item = &'a Scored>) -> Figures {
    let mut f = Figures {
        intents: INTENTS
            .iter()
            .map(|i| (i.to_string(), Prf::default()))
            .collect(),
        ..Default::default()
    };
    let (mut intent_lines, mut in_gold, mut exact) = (0, 0, 0);
    let (mut emotion_ok, mut calm_flagged, mut not_sure) = (0, 0, 0);
    let (mut confident_n, mut confident_ok) = (0, 0);
    let mut bins = [(0usize, 0f64, 0usize); ECE_BINS];
    for s in rows {
        f.lines += 1;
        if let Some(gold) = s.gold_intents.first() {
            intent_lines += 1;
            let pred = s.pred_intents.first().copied().unwrap_or("other");
            for (id, prf) in f.intents.iter_mut() {
                let g = s.gold_intents.iter().any(|x| x == id);
                prf.add(g, s.pred_intents.contains(&id.as_str()));
            }
            let ok = pred == gold;
            in_gold += s.gold_intents.iter().any(|g| g == pred) as usize;
            exact += ok as usize;
            *f.intent_confusion
                .entry(gold.clone())
                .or_default()
                .entry(pred.to_string())
                .or_default() += 1;
            let conf = f64::from(s.primary_score.clamp(0.0, 1.0));
            let bin = ((conf * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
            bins[bin].0 += 1;
            bins[bin].1 += conf;
            bins[bin].2 += ok as usize;
            if s.confident {
                confident_n += 1;
                confident_ok += ok as usize;
            } else {
                not_sure += 1;
            }
        }
        if let Some(gold) = &s.gold_emotion {
            f.emotion_lines += 1;
            let got = s.pred_emotion;
            *f.emotion_confusion
                .entry(gold.clone())
                .or_default()
                .entry(got.to_string())
                .or_default() += 1;
            emotion_ok += (gold == got) as usize;
            f.negative.add(is_negative(gold), is_negative(got));
            if !is_negative(gold) {
                f.calm_lines += 1;
                calm_flagged += is_negative(got) as usize;
            }
        }
        if let Some(gold) = s.gold_urgent {
            f.urgent.add(gold, s.pred_urgent);
            f.wrongly_urgent += (!gold && s.pred_urgent) as usize;
        }
    }
    let mut f1s = Vec::new();
    for prf in f.intents.values_mut() {
        prf.finish();
        if prf.support > 0 || prf.predicted > 0 {
            f1s.push(prf.f1);
        }
    }
    f.intent_macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    f.primary_intent_accuracy = ratio(in_gold, intent_lines);
    f.primary_intent_exact = ratio(exact, intent_lines);
    f.emotion_accuracy = ratio(emotion_ok, f.emotion_lines);
    f.negative.finish();
    f.urgent.finish();
    f.calm_flagged_rate = ratio(calm_flagged, f.calm_lines);
    f.not_sure_rate = ratio(not_sure, intent_lines);
    f.confident_exact = ratio(confident_ok, confident_n);
    f.intent_reliability = bins
        .iter()
        .map(|&(n, conf, ok)| (n, conf / n.max(1) as f64, ratio(ok, n)))
        .collect();
    f.intent_ece = if intent_lines == 0 {
        0.0
    } else {
        bins.iter()
            .filter(|b| b.0 > 0)
            .map(|&(n, conf, ok)| {
                let n_f = n as f64;
                (n_f / intent_lines as f64) * (ok as f64 / n_f - conf / n_f).abs()
            })
            .sum()
    };
    f
}

/// Evaluates `engine` on `(line number, line)` pairs, each line on its own (or in its
/// `conversation`).
pub fn evaluate(engine: &Engine, lines: &[(usize, LabelledLine)]) -> EvalReport {
    evaluate_with(engine, lines, EvalOptions::default())
}

/// [`evaluate`] with options: context replay and a half of the rows.
pub fn evaluate_with(
    engine: &Engine,
    lines: &[(usize, LabelledLine)],
    opts: EvalOptions,
) -> EvalReport {
    let mut r = EvalReport {
        book: engine.meta().name.clone(),
        book_hash: engine.meta().hash.clone(),
        ..Default::default()
    };
    let (mut caught, mut caught_cat, mut false_alarms) = (0, 0, 0);
    let mut conversations: HashMap<String, ConversationState> = HashMap::new();
    let mut scored = Vec::new();

    for (n, line) in lines {
        let keep = match opts.rows {
            Rows::All => true,
            Rows::Even => n % 2 == 0,
            Rows::Odd => n % 2 == 1,
        };
        let mut scratch = ConversationState::new();
        let replay = opts.replay_context && !line.context.is_empty();
        let state = match &line.conversation {
            Some(id) if !replay => conversations.entry(id.clone()).or_default(),
            _ => &mut scratch,
        };
        if !keep {
            // Still feed the conversation, so the kept half sees the same history.
            if line.conversation.is_some() && !replay {
                if line.is_agent() {
                    engine.agent_turn(state, &line.text, None);
                } else {
                    engine.customer_turn(state, &line.text, None);
                }
            }
            continue;
        }
        if replay {
            for t in &line.context {
                if t.role == "agent" {
                    engine.agent_turn(state, &t.text, None);
                } else {
                    engine.customer_turn(state, &t.text, None);
                }
            }
        }
        if line.is_agent() {
            r.agent_lines += 1;
            let hits: Vec<_> = engine
                .agent_turn(state, &line.text, None)
                .guard
                .into_iter()
                .filter(|h| h.severity != Severity::Hint)
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
        r.strict_lines += line.strict() as usize;
        let a = engine.customer_turn(state, &line.text, None);
        let u = &a.understanding;
        let predicted: Vec<&'static str> = u.intents.iter().map(|i| i.id).collect();
        if !line.intents.is_empty() {
            let mut p = predicted.clone();
            let mut g: Vec<&str> = line.intents.iter().map(String::as_str).collect();
            p.sort_unstable();
            g.sort_unstable();
            if p != g {
                r.misses.push(Miss {
                    line: *n,
                    text: line.text.clone(),
                    what: "intents",
                    expected: line.intents.join(","),
                    got: u
                        .intents
                        .iter()
                        .map(|i| format!("{}:{:.2}", i.id, i.score))
                        .collect::<Vec<_>>()
                        .join(",")
                        + if u.confident { "" } else { " (not sure)" },
                });
            }
        }
        if let Some(gold) = &line.emotion
            && gold != u.emotion.label
        {
            r.misses.push(Miss {
                line: *n,
                text: line.text.clone(),
                what: "emotion",
                expected: gold.clone(),
                got: format!("{}:{:.2}", u.emotion.label, u.emotion.intensity),
            });
        }
        if let Some(gold) = line.urgent
            && gold != u.urgent
        {
            r.misses.push(Miss {
                line: *n,
                text: line.text.clone(),
                what: "urgent",
                expected: gold.to_string(),
                got: u.urgent.to_string(),
            });
        }
        scored.push(Scored {
            strict: line.strict(),
            gold_intents: line.intents.clone(),
            pred_intents: predicted,
            primary_score: u.intents.first().map_or(0.0, |i| i.score),
            confident: u.confident,
            gold_emotion: line.emotion.clone(),
            pred_emotion: u.emotion.label,
            gold_urgent: line.urgent,
            pred_urgent: u.urgent,
        });
    }

    r.all = figures(scored.iter());
    r.strict = figures(scored.iter().filter(|s| s.strict));
    r.intents = r.all.intents.clone();
    r.intent_macro_f1 = r.all.intent_macro_f1;
    r.primary_intent_accuracy = r.all.primary_intent_accuracy;
    r.emotion_accuracy = r.all.emotion_accuracy;
    r.emotion_confusion = r.all.emotion_confusion.clone();
    r.urgent = r.all.urgent.clone();
    r.guard_recall = ratio(caught, r.guard_flagged);
    r.guard_category_recall = ratio(caught_cat, r.guard_flagged);
    r.guard_false_alarm_rate = ratio(false_alarms, r.guard_benign);
    r
}
