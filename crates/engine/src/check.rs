//! `huashu check`: the one publishing gate. The CLI, `POST /api/book/check` (the QA page's
//! 发布 button), `POST /api/reload` and SIGHUP all run [`check`], so a candidate book that one
//! of them refuses cannot be published through another.
//!
//! The gate lints the candidate (every problem in one run), refuses a book without forbidden
//! rules, evaluates the published and the candidate book side by side on labelled lines (the
//! built-in agent lines of `data/gate_agent_lines.tsv`, a held-out split of the candidate's
//! corpus, and any corpus files the caller names) and diffs them on stored chats. It refuses when
//! a benign line starts being flagged, or when guard recall or intent/emotion accuracy drops by
//! more than the tolerance.
//!
//! Held out by default ([`BookCorpus::HeldOut`]): every [`HELD_OUT_EVERY`]th line of the
//! candidate's corpus (`corpus/*.tsv`, the QA page's `labelled.tsv` included), chosen by a stable
//! hash of its text so the split does not move when lines are added, is removed from the training
//! data of *both* books, which are compiled again without it, and both are evaluated on it. Those
//! figures are on lines neither model has seen. [`BookCorpus::TrainingSample`] (the gate before
//! this, `huashu check --training-sample`) evaluates the published engines on an even sample of
//! lines they were trained on: cheaper (no extra compile), but a training-set figure, which
//! catches a broken keyword list and never overfitting.

use std::path::Path;

use huashu_phrasebook::{Phrasebook, Problem};
use serde::Serialize;

use crate::eval::{ContextTurn, EvalReport, LabelledLine, evaluate};
use crate::{DiffReport, Engine, EngineError, TranscriptLine, diff};

/// The built-in agent lines (see the file's header).
const GATE_AGENT_LINES: &str = include_str!("../data/gate_agent_lines.tsv");

/// Most lines of the book's own corpus the gate evaluates (an even sample of them).
pub const BOOK_CORPUS_SAMPLE: usize = 600;

/// One corpus line in this many is held out of training for the gate's evaluation.
pub const HELD_OUT_EVERY: u64 = 10;

/// How the gate evaluates on the candidate's own corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BookCorpus {
    /// Train both books without a held-out split of the corpus and evaluate them on it.
    #[default]
    HeldOut,
    /// Evaluate the books as trained on an even sample of their training lines (a tripwire for
    /// regressions, not a generalisation figure).
    TrainingSample,
}

/// Whether a corpus line belongs to the held-out split: a stable (FNV-1a) hash of its text, so
/// a line stays on its side of the split whatever else the corpus holds.
pub fn held_out(text: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.trim().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.is_multiple_of(HELD_OUT_EVERY)
}

/// How far a figure may drop (absolute, 0–1) before the candidate is refused.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tolerance {
    pub intent_f1: f64,
    pub intent_accuracy: f64,
    pub emotion_accuracy: f64,
    pub guard_recall: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            intent_f1: 0.01,
            intent_accuracy: 0.01,
            emotion_accuracy: 0.01,
            guard_recall: 0.0,
        }
    }
}

/// A labelled corpus with a name for the report (a file name, "built-in", "book corpus").
#[derive(Debug, Clone)]
pub struct NamedCorpus {
    pub name: String,
    pub lines: Vec<(usize, LabelledLine)>,
}

/// Parses a labelled JSONL corpus (`huashu eval` format); bad lines come back as
/// `line: message`. Pure: the caller reads the file.
pub fn parse_corpus(name: &str, text: &str) -> (NamedCorpus, Vec<String>) {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LabelledLine>(raw) {
            Ok(l) => lines.push((i + 1, l)),
            Err(e) => bad.push(format!("{}: {e}", i + 1)),
        }
    }
    let corpus = NamedCorpus {
        name: name.to_string(),
        lines,
    };
    (corpus, bad)
}

/// Why a candidate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The book does not load or has lint problems.
    Lint,
    /// No forbidden rules: the guard would flag nothing.
    NoRules,
    /// A benign labelled line gets a block/warn hit it did not get before.
    BenignFlagged,
    /// Guard recall on flagged lines dropped.
    GuardRecall,
    /// Intent macro-F1 or primary-intent accuracy dropped.
    Intent,
    /// Emotion accuracy dropped.
    Emotion,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// Chinese, for the QA page and the CLI alike.
    pub message: String,
}

/// The figures of one book on one corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    pub customer_lines: usize,
    pub agent_lines: usize,
    pub intent_macro_f1: f64,
    pub primary_intent_accuracy: f64,
    pub emotion_accuracy: f64,
    pub guard_recall: f64,
    pub guard_false_alarm_rate: f64,
    pub guard_flagged: usize,
    pub guard_benign: usize,
}

impl From<&EvalReport> for Side {
    fn from(r: &EvalReport) -> Side {
        Side {
            customer_lines: r.customer_lines,
            agent_lines: r.agent_lines,
            intent_macro_f1: r.intent_macro_f1,
            primary_intent_accuracy: r.primary_intent_accuracy,
            emotion_accuracy: r.emotion_accuracy,
            guard_recall: r.guard_recall,
            guard_false_alarm_rate: r.guard_false_alarm_rate,
            guard_flagged: r.guard_flagged,
            guard_benign: r.guard_benign,
        }
    }
}

/// Both books on one corpus.
#[derive(Debug, Clone, Serialize)]
pub struct EvalDelta {
    pub corpus: String,
    pub published: Side,
    pub candidate: Side,
    /// Benign lines the candidate flags and the published book does not, as `line: text (hits)`.
    pub newly_flagged_benign: Vec<String>,
}

/// What the gate found. `engine` is the compiled candidate when it passed.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub refusals: Vec<Refusal>,
    /// Lint problems (file, line, id) of the candidate.
    #[serde(skip)]
    pub problems: Vec<Problem>,
    pub published: String,
    pub candidate: Option<String>,
    pub evals: Vec<EvalDelta>,
    /// Stored chats replayed through both books (reported, not a refusal reason by itself: a
    /// new rule is meant to flag lines the old book let through).
    pub diff: Option<DiffReport>,
    #[serde(skip)]
    pub engine: Option<Engine>,
}

impl CheckReport {
    /// The reasons as one line (`；`-joined), for logs, the reload error and exit messages.
    pub fn summary(&self) -> String {
        self.refusals
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("；")
    }
}

/// What to compare the candidate on.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Extra labelled corpora (held-out sets) besides the built-in lines and the book corpus.
    pub corpora: Vec<NamedCorpus>,
    /// Stored chats to diff on.
    pub transcripts: Vec<(usize, TranscriptLine)>,
    pub tolerance: Tolerance,
    pub book_corpus: BookCorpus,
}

/// Runs the gate on the book in `dir` against the `published` engine.
pub fn check(dir: &Path, published: &Engine, opts: &CheckOptions) -> CheckReport {
    let loaded = huashu_phrasebook::load_dir(dir).map_err(EngineError::from);
    check_book(loaded, published, opts)
}

/// [`check`] on an already loaded (or refused) book.
pub fn check_book(
    loaded: Result<Phrasebook, EngineError>,
    published: &Engine,
    opts: &CheckOptions,
) -> CheckReport {
    let mut report = CheckReport {
        ok: false,
        refusals: Vec::new(),
        problems: Vec::new(),
        published: format!("{} {}", published.meta().name, published.meta().hash),
        candidate: None,
        evals: Vec::new(),
        diff: None,
        engine: None,
    };
    let book = match loaded {
        Ok(b) => b,
        Err(e) => {
            report.problems = problems_of(e);
            refuse_lint(&mut report);
            return report;
        }
    };
    if book.rules.is_empty() {
        report.refusals.push(Refusal {
            kind: RefusalKind::NoRules,
            message:
                "候选版本没有任何忌语规则（forbidden.toml 为空）：发布后话术守卫将不再拦截任何内容"
                    .into(),
        });
    }
    let held_out_lines: Vec<&huashu_phrasebook::CorpusLine> = match opts.book_corpus {
        BookCorpus::HeldOut => book.corpus.iter().filter(|c| held_out(&c.text)).collect(),
        BookCorpus::TrainingSample => {
            // A deterministic, evenly spread sample: the gate runs on every reload, so it must
            // stay quick on a book with thousands of corpus lines.
            let stride = book.corpus.len().div_ceil(BOOK_CORPUS_SAMPLE).max(1);
            book.corpus.iter().step_by(stride).collect()
        }
    };
    let book_corpus = NamedCorpus {
        name: match opts.book_corpus {
            BookCorpus::HeldOut => {
                format!("话术库语料留出集（每 {HELD_OUT_EVERY} 条留 1 条，不参与训练）")
            }
            BookCorpus::TrainingSample => "话术库训练语料（抽样，训练集上的数字）".into(),
        },
        lines: held_out_lines
            .iter()
            .map(|c| (c.origin.line, labelled(c)))
            .collect(),
    };
    // The held-out split trains neither book: both are compiled again without it.
    let held_out_books = match opts.book_corpus {
        BookCorpus::TrainingSample => None,
        BookCorpus::HeldOut => {
            let held: std::collections::HashSet<&str> =
                held_out_lines.iter().map(|c| c.text.trim()).collect();
            let without = |b: &Phrasebook| {
                let mut b = b.clone();
                b.corpus.retain(|c| !held.contains(c.text.trim()));
                Engine::compile(b)
            };
            Some((without(published.book()), without(&book)))
        }
    };
    // One compile serves the lint and the evaluation (training the model is the slow part).
    let candidate = match Engine::compile(book) {
        Ok(e) => e,
        Err(e) => {
            report.problems = problems_of(e);
            refuse_lint(&mut report);
            return report;
        }
    };
    report.problems = crate::lint::lint_compiled(&candidate);
    refuse_lint(&mut report);
    report.candidate = Some(format!(
        "{} {}",
        candidate.meta().name,
        candidate.meta().hash
    ));
    let builtin = builtin_corpus();
    let mut evals = vec![compare(published, &candidate, &builtin)];
    match held_out_books {
        None => evals.push(compare(published, &candidate, &book_corpus)),
        Some((Ok(p), Ok(c))) => evals.push(compare(&p, &c, &book_corpus)),
        // The books compiled with their whole corpus; without a tenth of it they cannot fail
        // to, short of a bug: say so rather than skip the figures.
        Some((p, c)) => report.refusals.push(Refusal {
            kind: RefusalKind::Lint,
            message: format!(
                "去掉留出集后无法编译话术库（{}）",
                p.err()
                    .or(c.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ),
        }),
    }
    evals.extend(
        opts.corpora
            .iter()
            .map(|c| compare(published, &candidate, c)),
    );
    for delta in evals {
        judge(&delta, &opts.tolerance, &mut report.refusals);
        report.evals.push(delta);
    }
    if !opts.transcripts.is_empty() {
        report.diff = Some(diff(published, &candidate, &opts.transcripts));
    }
    report.ok = report.refusals.is_empty();
    if report.ok {
        report.engine = Some(candidate);
    }
    report
}

/// A corpus line as the evaluator reads it.
fn labelled(c: &huashu_phrasebook::CorpusLine) -> LabelledLine {
    LabelledLine {
        role: Some("customer".into()),
        text: c.text.clone(),
        conversation: None,
        intents: c.intents.clone(),
        emotion: Some(c.emotion.clone()),
        urgent: None,
        flag: None,
        category: None,
        ambiguous: None,
        context: c
            .context
            .iter()
            .map(|t| ContextTurn {
                role: "agent".into(),
                text: t.clone(),
            })
            .collect(),
    }
}

fn problems_of(e: EngineError) -> Vec<Problem> {
    match e {
        EngineError::Load(huashu_phrasebook::Error::Invalid(p)) | EngineError::Compile(p) => p.0,
        other => vec![Problem {
            origin: Default::default(),
            id: None,
            message: other.to_string(),
        }],
    }
}

fn refuse_lint(report: &mut CheckReport) {
    if let Some(first) = report.problems.first() {
        report.refusals.insert(
            0,
            Refusal {
                kind: RefusalKind::Lint,
                message: format!(
                    "lint 发现 {} 个问题（第一个：{first}）",
                    report.problems.len()
                ),
            },
        );
    }
}

/// The built-in agent lines as labelled lines (`flag` = category, or `false` for benign).
pub fn builtin_corpus() -> NamedCorpus {
    let lines = GATE_AGENT_LINES
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|(i, l)| {
            let (expected, text) = l.split_once('\t')?;
            let flag = if expected == "benign" {
                serde_json::Value::Bool(false)
            } else {
                serde_json::Value::String(expected.to_string())
            };
            Some((
                i + 1,
                LabelledLine {
                    role: Some("agent".into()),
                    text: text.to_string(),
                    conversation: None,
                    intents: Vec::new(),
                    emotion: None,
                    urgent: None,
                    flag: Some(flag),
                    category: None,
                    ambiguous: None,
                    context: Vec::new(),
                },
            ))
        })
        .collect();
    NamedCorpus {
        name: "内置客服回复".into(),
        lines,
    }
}

fn compare(published: &Engine, candidate: &Engine, corpus: &NamedCorpus) -> EvalDelta {
    let a = evaluate(published, &corpus.lines);
    let b = evaluate(candidate, &corpus.lines);
    let before: Vec<usize> = a
        .misses
        .iter()
        .filter(|m| m.what == "guard_false_alarm")
        .map(|m| m.line)
        .collect();
    let newly_flagged_benign = b
        .misses
        .iter()
        .filter(|m| m.what == "guard_false_alarm" && !before.contains(&m.line))
        .map(|m| format!("{}: {}（{}）", m.line, m.text, m.got))
        .collect();
    EvalDelta {
        corpus: corpus.name.clone(),
        published: Side::from(&a),
        candidate: Side::from(&b),
        newly_flagged_benign,
    }
}

fn judge(d: &EvalDelta, tol: &Tolerance, refusals: &mut Vec<Refusal>) {
    let (a, b) = (&d.published, &d.candidate);
    if let Some(first) = d.newly_flagged_benign.first() {
        refusals.push(Refusal {
            kind: RefusalKind::BenignFlagged,
            message: format!(
                "{}：{} 条正常回复开始被拦截（例：第 {first}）",
                d.corpus,
                d.newly_flagged_benign.len()
            ),
        });
    }
    let mut drop = |kind, what: &str, before: f64, after: f64, tolerance: f64, n: usize| {
        if n > 0 && before - after > tolerance + 1e-9 {
            refusals.push(Refusal {
                kind,
                message: format!(
                    "{}：{what}从 {before:.3} 降到 {after:.3}（容差 {tolerance:.3}）",
                    d.corpus
                ),
            });
        }
    };
    let flagged = a.guard_flagged.min(b.guard_flagged);
    drop(
        RefusalKind::GuardRecall,
        "忌语召回率",
        a.guard_recall,
        b.guard_recall,
        tol.guard_recall,
        flagged,
    );
    let lines = a.customer_lines.min(b.customer_lines);
    drop(
        RefusalKind::Intent,
        "意图 macro-F1 ",
        a.intent_macro_f1,
        b.intent_macro_f1,
        tol.intent_f1,
        lines,
    );
    drop(
        RefusalKind::Intent,
        "主意图准确率",
        a.primary_intent_accuracy,
        b.primary_intent_accuracy,
        tol.intent_accuracy,
        lines,
    );
    drop(
        RefusalKind::Emotion,
        "情绪准确率",
        a.emotion_accuracy,
        b.emotion_accuracy,
        tol.emotion_accuracy,
        lines,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shipped(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../phrasebooks")
            .join(name)
    }

    /// A copy of the default book with `forbidden.toml` replaced or extended.
    fn candidate(tag: &str, edit: impl Fn(&str) -> String) -> PathBuf {
        let src = shipped("default");
        let dir = std::env::temp_dir().join(format!("huashu-check-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("corpus")).expect("temp dir");
        for sub in ["", "corpus"] {
            for entry in std::fs::read_dir(src.join(sub)).expect("book dir") {
                let p = entry.expect("entry").path();
                if p.is_file() {
                    let name = p.file_name().expect("file name");
                    std::fs::copy(&p, dir.join(sub).join(name)).expect("copy");
                }
            }
        }
        let f = dir.join("forbidden.toml");
        let text = std::fs::read_to_string(&f).expect("forbidden.toml");
        std::fs::write(&f, edit(&text)).expect("write");
        dir
    }

    const DAMAGING_RULE: &str = "\n[[rule]]\nid = \"dismissive.too_broad\"\ncategory = \"dismissive\"\nseverity = \"block\"\nphrases = [\"不知道\", \"催一下\"]\nrewrite = \"这个问题我帮您确认一下，请您稍等。\"\n";

    /// (case, edit of forbidden.toml, expected refusal kinds; empty = passes)
    #[allow(clippy::type_complexity)]
    const CASES: &[(&str, fn(&str) -> String, &[RefusalKind])] = &[
        ("unchanged", |t| t.to_string(), &[]),
        (
            "broad_block_rule",
            |t| format!("{t}{DAMAGING_RULE}"),
            &[RefusalKind::BenignFlagged],
        ),
        ("emptied", |_| String::new(), &[RefusalKind::NoRules]),
        (
            "duplicate_id",
            |t| {
                format!(
                    "{t}\n[[rule]]\nid = \"provoke.go_sue\"\ncategory = \"provoke\"\nseverity = \"warn\"\nphrases = [\"别烦我了\"]\nrewrite = \"好的，我来帮您处理。\"\n"
                )
            },
            &[RefusalKind::Lint],
        ),
    ];

    #[test]
    fn gate_refuses_damaging_candidates_with_the_reason() {
        let published = Engine::load(&shipped("default")).expect("shipped book");
        for &(name, edit, want) in CASES {
            let dir = candidate(name, edit);
            let r = check(&dir, &published, &CheckOptions::default());
            let kinds: Vec<RefusalKind> = r.refusals.iter().map(|x| x.kind).collect();
            for k in want {
                assert!(
                    kinds.contains(k),
                    "{name}: want {k:?}, got {:?}",
                    r.refusals
                );
            }
            assert_eq!(r.ok, want.is_empty(), "{name}: {:?}", r.refusals);
            assert_eq!(r.engine.is_some(), r.ok, "{name}");
            if want.is_empty() {
                assert!(r.summary().is_empty(), "{name}");
                assert_eq!(r.evals.len(), 2, "{name}: built-in lines and book corpus");
            } else {
                assert!(!r.summary().is_empty(), "{name}");
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// The default gate evaluates on a tenth of the corpus that neither book trained on; the
    /// training sample is there only when asked for.
    #[test]
    fn book_corpus_figures_are_held_out_unless_asked() {
        let published = Engine::load(&shipped("default")).expect("shipped book");
        let book = published.book();
        let held = book.corpus.iter().filter(|c| held_out(&c.text)).count();
        let share = held as f64 / book.corpus.len() as f64;
        assert!((0.07..0.13).contains(&share), "held-out share {share}");
        let r = check(&shipped("default"), &published, &CheckOptions::default());
        assert!(r.ok, "{:?}", r.refusals);
        let e = &r.evals[1];
        assert!(e.corpus.contains("留出集"), "{}", e.corpus);
        assert_eq!(e.candidate.customer_lines, held);
        let sample = CheckOptions {
            book_corpus: BookCorpus::TrainingSample,
            ..Default::default()
        };
        let r = check(&shipped("default"), &published, &sample);
        assert!(r.evals[1].corpus.contains("训练"), "{}", r.evals[1].corpus);
        assert!(r.evals[1].candidate.customer_lines <= BOOK_CORPUS_SAMPLE);
    }

    #[test]
    fn builtin_lines_pass_every_shipped_book() {
        let corpus = builtin_corpus();
        assert!(corpus.lines.len() >= 20);
        for book in ["default", "livestream"] {
            let e = Engine::load(&shipped(book)).expect("shipped book");
            let r = evaluate(&e, &corpus.lines);
            assert_eq!(r.guard_false_alarm_rate, 0.0, "{book}: {:?}", r.misses);
            assert_eq!(r.guard_recall, 1.0, "{book}: {:?}", r.misses);
        }
    }

    #[test]
    fn a_corpus_drop_beyond_tolerance_is_refused() {
        let d = EvalDelta {
            corpus: "held-out".into(),
            published: Side {
                customer_lines: 10,
                intent_macro_f1: 0.9,
                primary_intent_accuracy: 0.9,
                emotion_accuracy: 0.9,
                ..Default::default()
            },
            candidate: Side {
                customer_lines: 10,
                intent_macro_f1: 0.895,
                primary_intent_accuracy: 0.8,
                emotion_accuracy: 0.9,
                ..Default::default()
            },
            newly_flagged_benign: Vec::new(),
        };
        let mut refusals = Vec::new();
        judge(&d, &Tolerance::default(), &mut refusals);
        let kinds: Vec<_> = refusals.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![RefusalKind::Intent], "{refusals:?}");
        assert!(refusals[0].message.contains("主意图准确率"));
    }
}
