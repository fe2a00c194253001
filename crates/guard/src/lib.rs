//! The forbidden-phrase guard: warns an agent, before sending, that a draft holds a 服务忌语.
//!
//! A [`Guard`] is compiled once per phrasebook and shared read-only across connections. Its
//! phrases (and the literal prefixes of its regex rules) live in one multi-pattern automaton, so a
//! draft is normalised once and scanned once; a regex runs only when its prefix was seen.
//! Allow-contexts, word boundaries and position rules then drop benign candidates, and the
//! surviving hits are mapped back to spans of the *original* text.
//!
//! Evasive spellings — pinyin for hanzi ("ni去投诉啊", "你去tousu吧"), homophones ("泥去告啊") —
//! get one more scan on an alternate reading (`alias.rs`), only for drafts that hold ASCII letters
//! or a listed homophone.
//!
//! Invariant: `check` allocates nothing per candidate; only the returned hit list grows (an
//! alternate reading, when a draft needs one, builds its small candidate lists).

mod alias;
mod check;
mod compile;
mod matcher;

pub use check::{Hit, Scratch};
pub use compile::{Guard, GuardBuilder, MatcherKind};

/// Errors compiling forbidden rules; each names the file, line and rule id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: [{id}] {message}")]
    Invalid {
        origin: huashu_phrasebook::Origin,
        id: String,
        message: String,
    },
    #[error("building the phrase automaton: {0}")]
    Automaton(String),
}
