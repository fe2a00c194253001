//! k-fold cross-validation of the whole pipeline on the default book's own examples: a tuning aid
//! for general mechanisms (thresholds, model knobs), not a test of specific lines. Ignored by
//! default; run with
//! `cargo test -p huashu-understand --release --test cross_validation -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;

use huashu_phrasebook::Phrasebook;
use huashu_understand::{Tuning, Understander};

const FOLDS: usize = 5;

fn default_book() -> Option<Phrasebook> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    huashu_phrasebook::load_dir(&dir).ok()
}

#[test]
#[ignore]
fn cross_validate_default_book() {
    let Some(book) = default_book() else {
        eprintln!("no default book");
        return;
    };
    let verbose = std::env::var_os("CV_QUIET").is_none();
    let mut variants = vec![("default".to_string(), Tuning::default())];
    if std::env::var_os("CV_SWEEP").is_some() {
        let d = Tuning::default();
        for epochs in [12, 24, 40] {
            for lr in [0.3, 0.6, 1.2] {
                variants.push((
                    format!("epochs={epochs} lr={lr}"),
                    Tuning {
                        epochs,
                        learning_rate: lr,
                        ..d
                    },
                ));
            }
        }
        for kw in [0.0, 0.3, 0.6, 1.0] {
            variants.push((
                format!("kw={kw}"),
                Tuning {
                    keyword_example_weight: kw,
                    ..d
                },
            ));
        }
        for l2 in [0.0, 1e-3] {
            variants.push((format!("l2={l2}"), Tuning { l2, ..d }));
        }
        for primary in [0.25, 0.45] {
            variants.push((format!("primary={primary}"), Tuning { primary, ..d }));
        }
        for decisive in [0.15, 0.3] {
            variants.push((format!("decisive={decisive}"), Tuning { decisive, ..d }));
        }
        for secondary in [0.4, 0.6] {
            variants.push((format!("secondary={secondary}"), Tuning { secondary, ..d }));
        }
        for secondary_model in [0.1, 0.3] {
            variants.push((
                format!("secondary_model={secondary_model}"),
                Tuning {
                    secondary_model,
                    ..d
                },
            ));
        }
        for emotion_model_only in [0.45, 0.55, 0.65] {
            variants.push((
                format!("emotion_model_only={emotion_model_only}"),
                Tuning {
                    emotion_model_only,
                    ..d
                },
            ));
        }
        for emotion in [0.35, 0.55] {
            variants.push((format!("emotion={emotion}"), Tuning { emotion, ..d }));
        }
    }
    for (name, tuning) in variants {
        run(&book, &name, tuning, verbose);
    }
}

fn run(book: &Phrasebook, name: &str, tuning: Tuning, verbose: bool) {
    let mut primary_ok = 0;
    let mut exact_ok = 0;
    let mut total = 0;
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut emo_ok = 0;
    let mut emo_total = 0;
    let mut emo_conf: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for fold in 0..FOLDS {
        let mut train = book.clone();
        let mut held: Vec<(String, String, bool)> = Vec::new();
        for def in &mut train.intents {
            let mut keep = Vec::new();
            for (i, ex) in def.examples.drain(..).enumerate() {
                if i % FOLDS == fold {
                    held.push((def.id.clone(), ex, true));
                } else {
                    keep.push(ex);
                }
            }
            def.examples = keep;
        }
        for def in &mut train.emotions {
            let mut keep = Vec::new();
            for (i, ex) in def.examples.drain(..).enumerate() {
                if i % FOLDS == fold {
                    held.push((def.label.clone(), ex, false));
                } else {
                    keep.push(ex);
                }
            }
            def.examples = keep;
        }
        let u = match Understander::builder().tuning(tuning).build(&train) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        };
        for (gold, text, is_intent) in held {
            let got = u.analyze(&text);
            if is_intent {
                total += 1;
                let p = got.primary_intent();
                if p == gold {
                    primary_ok += 1;
                }
                if got.intents.len() == 1 && p == gold {
                    exact_ok += 1;
                } else {
                    misses.push(format!(
                        "I {gold:>16} {text} → {}",
                        got.intents
                            .iter()
                            .map(|i| format!("{}:{:.2}", i.id, i.score))
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                }
                *confusion.entry((gold, p.to_string())).or_default() += 1;
            } else {
                emo_total += 1;
                let l = got.emotion.label;
                if l == gold {
                    emo_ok += 1;
                } else {
                    misses.push(format!(
                        "E {gold:>16} {text} → {}:{:.2}",
                        l, got.emotion.intensity
                    ));
                }
                *emo_conf.entry((gold, l.to_string())).or_default() += 1;
            }
        }
    }
    if verbose {
        for m in &misses {
            eprintln!("{m}");
        }
        eprintln!("confusions (gold → got):");
        for ((g, p), n) in confusion.iter().chain(emo_conf.iter()) {
            if g != p {
                eprintln!("  {g:>16} → {p:<16} {n}");
            }
        }
    }
    eprintln!(
        "{name:<28} intents: primary {}/{} = {:.3}, exact single {:.3}; emotion {}/{} = {:.3}",
        primary_ok,
        total,
        primary_ok as f32 / total.max(1) as f32,
        exact_ok as f32 / total.max(1) as f32,
        emo_ok,
        emo_total,
        emo_ok as f32 / emo_total.max(1) as f32
    );
}
