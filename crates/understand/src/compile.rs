//! Turning a phrasebook into the shared lexicon and the trained models.

use huashu_normalize::{NormText, Normalizer};
use huashu_phrasebook::{EMOTIONS, INTENTS, Origin, Phrasebook};

use crate::Error;
use crate::builtin;
use crate::lexicon::{Lexicon, LexiconBuilder, Tag};
use crate::model::{Example, Softmax, TrainOptions, Vocab};
use crate::tuning::Tuning;
use crate::{emotion, intent};

pub(crate) fn index_of(list: &[&str], id: &str) -> Option<u8> {
    list.iter().position(|x| *x == id).map(|i| i as u8)
}

/// Every lexicon of the book plus the built-in cues, in one automaton.
pub(crate) fn lexicon(book: &Phrasebook, norm: Normalizer) -> Result<(Lexicon, usize), Error> {
    let mut lx = LexiconBuilder::new(norm);
    let mut n_patterns = 0;
    for def in &book.intents {
        let Some(intent) = index_of(INTENTS, &def.id) else {
            continue;
        };
        for (k, weight) in &def.keywords {
            let weight = *weight;
            lx.word(k, Tag::Intent { intent, weight });
        }
        for (p, weight) in &def.patterns {
            let weight = *weight;
            lx.pattern(p, Tag::Intent { intent, weight }, &def.origin, &def.id);
            n_patterns += 1;
        }
    }
    for def in &book.emotions {
        let Some(label) = index_of(EMOTIONS, &def.label) else {
            continue;
        };
        for (w, weight) in &def.words {
            let weight = *weight;
            lx.word(w, Tag::Emotion { label, weight });
        }
        for (p, weight) in &def.patterns {
            let weight = *weight;
            lx.pattern(p, Tag::Emotion { label, weight }, &def.origin, &def.label);
            n_patterns += 1;
        }
    }
    for (e, label, weight) in builtin::EMOJI {
        if let Some(label) = index_of(EMOTIONS, label)
            && !lx.has_symbol(e)
        {
            let weight = *weight;
            lx.word(e, Tag::Emotion { label, weight });
        }
    }

    let m = &book.modifiers;
    if m.negators.is_empty() {
        builtin::NEGATORS
            .iter()
            .for_each(|w| lx.word(w, Tag::Negator));
    } else {
        m.negators.iter().for_each(|w| lx.word(w, Tag::Negator));
    }
    let intensifiers: Vec<(&str, f32)> = if m.intensifiers.is_empty() {
        builtin::INTENSIFIERS.to_vec()
    } else {
        m.intensifiers
            .iter()
            .map(|(w, f)| (w.as_str(), *f))
            .collect()
    };
    for (w, f) in intensifiers {
        lx.word(w, Tag::Intensifier(f));
    }
    let diminishers: Vec<(&str, f32)> = if m.diminishers.is_empty() {
        builtin::DIMINISHERS.to_vec()
    } else {
        m.diminishers
            .iter()
            .map(|(w, f)| (w.as_str(), *f))
            .collect()
    };
    for (w, f) in diminishers {
        lx.word(w, Tag::Diminisher(f));
    }

    let u = &book.urgent;
    let other = huashu_phrasebook::UrgentKind::Other;
    u.words.iter().for_each(|w| lx.word(w, Tag::Urgent(other)));
    u.allow.iter().for_each(|w| lx.word(w, Tag::UrgentAllow));
    for p in &u.patterns {
        lx.pattern(p, Tag::UrgentPattern(other), &u.origin, "urgent");
        n_patterns += 1;
    }
    for g in &u.groups {
        g.words.iter().for_each(|w| lx.word(w, Tag::Urgent(g.kind)));
        for p in &g.patterns {
            lx.pattern(p, Tag::UrgentPattern(g.kind), &g.origin, g.kind.as_str());
            n_patterns += 1;
        }
    }
    for (w, weight) in &book.style.rational {
        let weight = *weight;
        lx.word(
            w,
            Tag::Style {
                emotional: false,
                weight,
            },
        );
    }
    for (w, weight) in &book.style.emotional {
        let weight = *weight;
        lx.word(
            w,
            Tag::Style {
                emotional: true,
                weight,
            },
        );
    }

    builtin::THREATS
        .iter()
        .for_each(|w| lx.word(w, Tag::Threat));
    builtin::REPEAT_ASK
        .iter()
        .for_each(|w| lx.word(w, Tag::RepeatAsk));
    for (w, kind) in builtin::HYPOTHETICAL {
        lx.word(w, Tag::Hypothetical(*kind));
    }
    builtin::PAST.iter().for_each(|w| lx.word(w, Tag::Past));
    let origin = Origin {
        file: "<built-in>".into(),
        line: 0,
    };
    for p in builtin::REPEAT_ASK_PATTERNS {
        lx.pattern(p, Tag::RepeatAsk, &origin, "repeat_ask");
        n_patterns += 1;
    }
    Ok((lx.build()?, n_patterns))
}

/// The trained models and their shared vocabulary.
#[derive(Debug)]
pub(crate) struct Models {
    pub vocab: Vocab,
    pub intent: Option<Softmax<{ intent::N }>>,
    pub emotion: Option<Softmax<{ emotion::N }>>,
    pub intent_examples: usize,
    pub emotion_examples: usize,
}

/// Trains the intent model on `[[intent]].examples` (+ keywords, lightly) and the emotion model on
/// `[[emotion]].examples` (+ words, lightly), on text normalised exactly as turns are.
pub(crate) fn models(book: &Phrasebook, norm: Normalizer, t: &Tuning) -> Models {
    let mut vocab = Vocab::default();
    let mut buf = NormText::default();
    let mut add = |vocab: &mut Vocab, out: &mut Vec<Example>, text: &str, class, weight| {
        norm.normalize_into(text, &mut buf);
        if buf.is_empty() || weight <= 0.0 {
            return;
        }
        let mut rows = Vec::new();
        vocab.intern(buf.as_str(), &mut rows);
        out.push(Example {
            rows,
            class,
            weight,
        });
    };
    let kw = t.keyword_example_weight;
    let mut intents = Vec::new();
    for def in &book.intents {
        let Some(class) = index_of(INTENTS, &def.id).map(usize::from) else {
            continue;
        };
        for ex in &def.examples {
            add(&mut vocab, &mut intents, ex, class, 1.0);
        }
        for (k, w) in &def.keywords {
            if *w > 0.0 {
                add(&mut vocab, &mut intents, k, class, kw);
            }
        }
    }
    let mut emotions = Vec::new();
    // The corpus: every line teaches its primary intent and its emotion; a further intent is a
    // weaker lesson (the line is mostly about its primary).
    for line in &book.corpus {
        for (rank, id) in line.intents.iter().enumerate() {
            if let Some(class) = index_of(INTENTS, id).map(usize::from) {
                let w = if rank == 0 {
                    1.0
                } else {
                    t.corpus_secondary_weight
                };
                add(&mut vocab, &mut intents, &line.text, class, w);
            }
        }
        if let Some(class) = index_of(EMOTIONS, &line.emotion).map(usize::from) {
            add(&mut vocab, &mut emotions, &line.text, class, 1.0);
        }
    }
    for def in &book.emotions {
        let Some(class) = index_of(EMOTIONS, &def.label).map(usize::from) else {
            continue;
        };
        for ex in &def.examples {
            add(&mut vocab, &mut emotions, ex, class, 1.0);
        }
        for (k, w) in &def.words {
            if *w > 0.0 {
                add(&mut vocab, &mut emotions, k, class, kw);
            }
        }
    }
    let opts = TrainOptions {
        epochs: t.epochs,
        lr: t.learning_rate,
        l2: t.l2,
        balance: t.intent_balance,
        bayes: t.bayes_blend,
        bayes_alpha: t.bayes_alpha,
        temperature: t.intent_temperature,
    };
    let emotion_opts = TrainOptions {
        balance: t.emotion_balance,
        temperature: t.emotion_temperature,
        ..opts
    };
    // The two models are independent: train them side by side (each stays deterministic), which
    // keeps `Engine::load` within budget on a two-core machine with a corpus of thousands of lines.
    let n_rows = vocab.len();
    let (intent, emotion) = std::thread::scope(|s| {
        let emotion = s.spawn(|| Softmax::train(n_rows, &emotions, emotion_opts));
        let intent = Softmax::train(n_rows, &intents, opts);
        // A panic while training is a bug; fall back to training here rather than propagate it.
        let emotion = emotion
            .join()
            .unwrap_or_else(|_| Softmax::train(n_rows, &emotions, emotion_opts));
        (intent, emotion)
    });
    Models {
        intent,
        emotion,
        intent_examples: intents.len(),
        emotion_examples: emotions.len(),
        vocab,
    }
}
