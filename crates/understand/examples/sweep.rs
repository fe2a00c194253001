//! Tuning aid: compares [`Tuning`] variants of the understanding model on labelled JSONL files
//! (the `huashu eval` format: `text`, `intents`, `emotion`, optional `ambiguous` and `context`)
//! and on k-fold cross-validation of the book's own corpus, in one run, so a change of the model
//! is judged on held-out corpus folds and on real chats side by side.
//!
//! ```sh
//! cargo run -p huashu-understand --release --example sweep -- phrasebooks/default FILE.jsonl…
//! VARIANTS='emotion=0.4;neutral_margin=0.3,emotion=0.4' CV=5 cargo run … (same arguments)
//! ```
//!
//! Each variant is a comma-separated list of `field=value` overrides of the default tuning;
//! variants are separated by `;`. `CV=k` adds k-fold cross-validation on the corpus (lines
//! `i % k == fold` held out). `ROWS=even|odd` keeps only that half of each file's lines.
//! `MISSES=emotion|intent` prints the misses of the default variant on the files.

use std::path::Path;

use huashu_phrasebook::Phrasebook;
use huashu_understand::{Context, Tuning, Understander};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Turn {
    role: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    role: Option<String>,
    text: String,
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    emotion: Option<String>,
    #[serde(default)]
    ambiguous: Option<bool>,
    #[serde(default)]
    context: Vec<Turn>,
}

fn set(t: &mut Tuning, key: &str, v: f32) {
    match key {
        "epochs" => t.epochs = v as usize,
        "learning_rate" => t.learning_rate = v,
        "l2" => t.l2 = v,
        "bayes_blend" => t.bayes_blend = v,
        "bayes_alpha" => t.bayes_alpha = v,
        "intent_temperature" => t.intent_temperature = v,
        "emotion_temperature" => t.emotion_temperature = v,
        "keyword_example_weight" => t.keyword_example_weight = v,
        "intent_balance" => t.intent_balance = v,
        "emotion_balance" => t.emotion_balance = v,
        "keyword_scale" => t.keyword_scale = v,
        "emotion_lexicon_scale" => t.emotion_lexicon_scale = v,
        "neutral_margin" => t.neutral_margin = v,
        "calm_veto_model" => t.calm_veto_model = v,
        "calm_veto_slope" => t.calm_veto_slope = v,
        "confident" => t.confident = v,
        "context_topic" => t.context_topic = v,
        "context_agent" => t.context_agent = v,
        "corpus_secondary_weight" => t.corpus_secondary_weight = v,
        "primary" => t.primary = v,
        "decisive" => t.decisive = v,
        "secondary" => t.secondary = v,
        "secondary_model" => t.secondary_model = v,
        "emotion" => t.emotion = v,
        "emotion_model_only" => t.emotion_model_only = v,
        other => panic!("unknown tuning field {other}"),
    }
}

fn variants() -> Vec<(String, Tuning)> {
    let mut out = vec![("default".to_string(), Tuning::default())];
    let Ok(spec) = std::env::var("VARIANTS") else {
        return out;
    };
    for v in spec.split(';').filter(|v| !v.trim().is_empty()) {
        let mut t = Tuning::default();
        for kv in v.split(',') {
            let (k, val) = kv.split_once('=').expect("field=value");
            set(&mut t, k.trim(), val.trim().parse().expect("a number"));
        }
        out.push((v.to_string(), t));
    }
    out
}

fn is_negative(l: &str) -> bool {
    matches!(l, "anger" | "anxiety" | "disappointment")
}

/// Running figures of one set of rows.
#[derive(Default)]
struct Fig {
    n: usize,
    exact: usize,
    emo_n: usize,
    emo_ok: usize,
    neg_tp: usize,
    neg_pred: usize,
    neg_gold: usize,
    calm: usize,
    calm_flagged: usize,
    /// Per intent (tp, predicted, gold) over the predicted set.
    per: [(usize, usize, usize); 12],
}

impl Fig {
    fn add(&mut self, gold_i: &[String], pred_i: &[&str], gold_e: Option<&str>, pred_e: &str) {
        if let Some(g) = gold_i.first() {
            self.n += 1;
            self.exact += (pred_i.first().copied() == Some(g.as_str())) as usize;
            for (k, id) in huashu_phrasebook::INTENTS.iter().enumerate() {
                let g = gold_i.iter().any(|x| x == id);
                let p = pred_i.contains(id);
                self.per[k].0 += (g && p) as usize;
                self.per[k].1 += p as usize;
                self.per[k].2 += g as usize;
            }
        }
        if let Some(g) = gold_e {
            self.emo_n += 1;
            self.emo_ok += (g == pred_e) as usize;
            let (gn, pn) = (is_negative(g), is_negative(pred_e));
            self.neg_gold += gn as usize;
            self.neg_pred += pn as usize;
            self.neg_tp += (gn && pn) as usize;
            if !gn {
                self.calm += 1;
                self.calm_flagged += pn as usize;
            }
        }
    }

    fn row(&self) -> String {
        let r = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let f1 = |tp, p, g| {
            let (pr, rc) = (r(tp, p), r(tp, g));
            if pr + rc > 0.0 {
                2.0 * pr * rc / (pr + rc)
            } else {
                0.0
            }
        };
        let used: Vec<f64> = self
            .per
            .iter()
            .filter(|x| x.1 + x.2 > 0)
            .map(|&(tp, p, g)| f1(tp, p, g))
            .collect();
        let macro_f1 = used.iter().sum::<f64>() / used.len().max(1) as f64;
        format!(
            "n={:4} exact {:.3} mF1 {:.3} | emo {:.3} negF1 {:.3} calm {:.3}",
            self.n,
            r(self.exact, self.n),
            macro_f1,
            r(self.emo_ok, self.emo_n),
            f1(self.neg_tp, self.neg_pred, self.neg_gold),
            r(self.calm_flagged, self.calm),
        )
    }
}

fn read(path: &str) -> Vec<(usize, Line)> {
    let text = std::fs::read_to_string(path).expect("readable file");
    let rows = std::env::var("ROWS").unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(i, l)| {
            let n = i + 1;
            !l.trim().is_empty()
                && match rows.as_str() {
                    "even" => n % 2 == 0,
                    "odd" => n % 2 == 1,
                    _ => true,
                }
        })
        .filter_map(|(i, l)| serde_json::from_str::<Line>(l).ok().map(|l| (i + 1, l)))
        .filter(|(_, l)| l.role.as_deref() != Some("agent") && !l.intents.is_empty())
        .collect()
}

/// Analyses `line` after replaying its context the way a conversation would.
fn analyze(u: &Understander, line: &Line, with_context: bool) -> huashu_understand::Understanding {
    if !with_context {
        return u.analyze(&line.text);
    }
    let mut agent: Option<&str> = None;
    let mut topic: Option<&'static str> = None;
    for t in &line.context {
        if t.role == "agent" {
            agent = Some(&t.text);
        } else {
            let a = u.analyze_in(&t.text, &Context { agent, topic });
            let p = a.primary_intent();
            if a.confident && !matches!(p, "other" | "greeting" | "thanks_closing") {
                topic = Some(p);
            }
        }
    }
    u.analyze_in(&line.text, &Context { agent, topic })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let book_dir = args.first().expect("usage: sweep BOOK_DIR FILE…");
    let book: Phrasebook = huashu_phrasebook::load_dir(Path::new(book_dir)).expect("book loads");
    let files: Vec<(String, Vec<(usize, Line)>)> =
        args[1..].iter().map(|f| (f.clone(), read(f))).collect();
    let cv: usize = std::env::var("CV")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let misses = std::env::var("MISSES").unwrap_or_default();
    for (vi, (name, tuning)) in variants().into_iter().enumerate() {
        println!("== {name}");
        let u = Understander::builder()
            .tuning(tuning)
            .build(&book)
            .expect("builds");
        for (f, lines) in &files {
            let short = Path::new(f)
                .file_name()
                .map_or(f.clone(), |n| n.to_string_lossy().into_owned());
            for ctx in [false, true] {
                if ctx && lines.iter().all(|(_, l)| l.context.is_empty()) {
                    continue;
                }
                let (mut all, mut strict) = (Fig::default(), Fig::default());
                for (n, l) in lines {
                    let a = analyze(&u, l, ctx);
                    let pred: Vec<&str> = a.intents.iter().map(|i| i.id).collect();
                    all.add(&l.intents, &pred, l.emotion.as_deref(), a.emotion.label);
                    if l.ambiguous != Some(true) {
                        strict.add(&l.intents, &pred, l.emotion.as_deref(), a.emotion.label);
                    }
                    if vi == 0 && !ctx {
                        let e = l.emotion.as_deref().unwrap_or("");
                        if misses == "emotion" && e != a.emotion.label {
                            let x = u.explain(&l.text);
                            let pm: Vec<String> = x
                                .emotion_model
                                .iter()
                                .map(|(k, p)| format!("{}{:.2}", &k[..2], p))
                                .collect();
                            println!(
                                "  E{n:4} {e:>14} → {:<14} [{}] {}",
                                a.emotion.label,
                                pm.join(" "),
                                l.text
                            );
                        }
                        if misses == "intent"
                            && l.intents.first().map(String::as_str) != pred.first().copied()
                        {
                            let x = u.explain(&l.text);
                            let mut v: Vec<_> = x
                                .intents
                                .iter()
                                .filter(|i| i.3 > 0.1 || i.1 != 0.0)
                                .map(|i| {
                                    format!("{}:k{:.1}/p{:.2}/s{:.2}", &i.0[..4], i.1, i.2, i.3)
                                })
                                .collect();
                            v.truncate(4);
                            println!(
                                "  I{n:4} {:>16} → {:<24} {} [{}]",
                                l.intents.join(","),
                                pred.join(","),
                                l.text,
                                v.join(" ")
                            );
                        }
                    }
                }
                let tag = if ctx { "+ctx" } else { "" };
                println!("  {short}{tag:4} all    {}", all.row());
                println!("  {short}{tag:4} strict {}", strict.row());
            }
        }
        if cv > 1 {
            let mut fig = Fig::default();
            let (mut nll_i, mut nll_e, mut nll_n) = (0f64, 0f64, 0f64);
            for fold in 0..cv {
                let mut train = book.clone();
                let mut held = Vec::new();
                let lines = std::mem::take(&mut train.corpus);
                for (i, l) in lines.into_iter().enumerate() {
                    if i % cv == fold {
                        held.push(l);
                    } else {
                        train.corpus.push(l);
                    }
                }
                let u = Understander::builder()
                    .tuning(tuning)
                    .build(&train)
                    .expect("builds");
                for l in &held {
                    let a = u.analyze_in(
                        &l.text,
                        &Context {
                            agent: l.context.as_deref(),
                            topic: None,
                        },
                    );
                    let pred: Vec<&str> = a.intents.iter().map(|i| i.id).collect();
                    fig.add(&l.intents, &pred, Some(&l.emotion), a.emotion.label);
                    let x = u.explain(&l.text);
                    let gold = |v: &[(&str, f32)], g: &str| {
                        v.iter()
                            .find(|(k, _)| *k == g)
                            .map_or(1e-6, |p| p.1.max(1e-6))
                    };
                    let ip: Vec<(&str, f32)> = x.intents.iter().map(|i| (i.0, i.2)).collect();
                    nll_i += -f64::from(gold(&ip, &l.intents[0]).ln());
                    nll_e += -f64::from(gold(&x.emotion_model, &l.emotion).ln());
                    nll_n += 1.0;
                }
            }
            println!("  corpus {cv}-fold CV  {}", fig.row());
            println!(
                "  corpus {cv}-fold CV  model log-loss intent {:.4} emotion {:.4}",
                nll_i / nll_n,
                nll_e / nll_n
            );
        }
    }
}
