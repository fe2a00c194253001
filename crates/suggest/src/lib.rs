//! Choosing what the agent could say next: conversation state, script ranking, slots, FAQ.
//!
//! INTERFACE STUB: the types below are the contract with `huashu-engine`; the implementation is
//! being written.

use std::collections::BTreeMap;

use huashu_phrasebook::Phrasebook;
use huashu_understand::Understanding;
use serde::Serialize;

/// One suggested reply, as shown to the agent (the engine assigns the per-turn `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Script id (or FAQ id for FAQ answers).
    pub script: String,
    pub intent: String,
    pub stage: String,
    pub tags: Vec<String>,
    /// Slot-filled text; never contains a raw `{slot}`.
    pub text: String,
    /// Where an FAQ answer comes from ("faq:<id> · <source>"); absent for scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What the agent did with a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackAction {
    Used,
    Edited,
    Dismissed,
}

/// Per-conversation memory. One per live conversation; owned by whoever serialises its turns.
#[derive(Debug, Clone, Default)]
pub struct ConversationState {
    /// Known slot values from earlier turns (订单号, 物流单号, …).
    pub slots: BTreeMap<String, String>,
    turns: u32,
}

impl ConversationState {
    pub fn new() -> Self {
        Self::default()
    }
    /// Records a customer turn (call before `Suggester::suggest`).
    pub fn observe_customer(&mut self, _u: &Understanding, _at_ms: Option<i64>) {
        self.turns += 1;
    }
    /// Customer turns seen so far.
    pub fn turns(&self) -> u32 {
        self.turns
    }
    /// Records an agent turn.
    pub fn observe_agent(&mut self, _text: &str, _at_ms: Option<i64>) {}
    /// Records what the agent did with a suggested script.
    pub fn feedback(&mut self, _script: &str, _action: FeedbackAction) {}
}

/// Errors compiling the scripts/FAQ of a book.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
}

/// Compiled scripts and FAQ of one phrasebook: shared read-only.
#[derive(Debug)]
pub struct Suggester {
    _private: (),
}

impl Suggester {
    pub fn new(_book: &Phrasebook) -> Result<Suggester, Error> {
        Ok(Suggester { _private: () })
    }
    /// 3–5 ranked suggestions for this turn; records them as shown in `state`.
    pub fn suggest(
        &self,
        _u: &Understanding,
        _text: &str,
        _state: &mut ConversationState,
    ) -> Vec<Suggestion> {
        Vec::new()
    }
}
