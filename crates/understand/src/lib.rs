//! Understanding one customer turn: intents, emotion, urgency, style and entities.
//!
//! [`Understander::new`] compiles a phrasebook once — one Aho-Corasick automaton over every
//! lexicon (intent keywords, emotion words, modifiers, urgent triggers, style markers, built-in
//! threat and repeat-ask cues), one `RegexSet` over every pattern, and two small char n-gram
//! linear models trained on the book's example utterances — and is then shared read-only across
//! connections. [`Understander::analyze`] runs one normalisation pass, one automaton pass, one
//! regex-set pass and one model pass per turn, reusing thread-local buffers.
//!
//! Module map: `lexicon` (the shared automaton and its tags), `model` (hashed n-gram softmax
//! models), `intent`, `emotion`, `urgent`, `style`, `entities`, `surface` (punctuation and emoji
//! of the original text, which the normaliser strips), `understander` (the pipeline).

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
pub use types::{Emotion, Entity, IntentScore, Understanding};
pub use understander::{Builder, Explanation, Scratch, Stats, Understander};
