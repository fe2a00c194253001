//! Understanding one customer turn: intents, emotion, urgency, style and entities.
//!
//! [`Understander::new`] compiles a phrasebook once — one Aho-Corasick automaton over every
//! lexicon (intent keywords, emotion words, modifiers, urgent triggers, style markers, built-in
//! threat and repeat-ask cues), one `RegexSet` over every pattern, and two small char n-gram
//! linear models trained on the book's example utterances and corpus (logistic regression
//! blended with naive Bayes, see `model`) — and is then shared read-only across connections. [`Understander::analyze`] runs one normalisation pass, one automaton pass, one
//! regex-set pass and one model pass per turn, reusing thread-local buffers.
//!
//! Per turn, in order: `surface` scans the original text for what normalisation strips (clause
//! breaks, ！/？ runs, symbols); the text is normalised once (all folds) and scanned by the
//! `lexicon` (literal hits with positions, pattern and emoji tags without); the `model`s score
//! the whole turn (and each clause, for multi-intent turns); `intent`, `emotion`, `urgent` and
//! `style` combine that evidence, sharing the negation/modifier questions of `turn`; `entities`
//! works on a second, 1:1 fold (width, case, traditional) so spans map straight back.
//!
//! Module map: `compile` (book → lexicon + trained models), `lexicon` (the shared automaton and
//! its tags), `model` (n-gram softmax models and their training), `builtin` (closed-class cue
//! words), `tuning` (every threshold), `turn` (negation and modifier reach), `intent`,
//! `emotion`, `urgent`, `style`, `entities`, `surface`, `understander` (the pipeline), `types`
//! (the public results).
//!
//! Invariants: `analyze` never fails and never panics on any input; intents are sorted and never
//! empty; entity spans cut the original text to exactly `Entity::text`; the same book always
//! trains the same models (fixed-seed shuffle), so `huashu diff` compares like with like.
//!
//! Tuning aids: `examples/sweep.rs` compares tunings on labelled files and corpus folds;
//! `cargo test -p huashu-understand --release --test cross_validation -- --ignored
//! --nocapture` cross-validates the default book's examples (`CV_SWEEP=1` sweeps [`Tuning`]).

mod builtin;
mod compile;
mod emotion;
mod entities;
mod error;
mod intent;
mod lexicon;
mod model;
mod style;
mod surface;
mod tuning;
mod turn;
mod types;
mod understander;
mod urgent;

pub use error::Error;
pub use tuning::Tuning;
pub use types::{Context, Emotion, Entity, IntentScore, Understanding};
pub use understander::{Builder, Explanation, Scratch, Stats, Understander};
