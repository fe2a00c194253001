//! Choosing what the agent could say next: conversation state, script ranking, slots, FAQ.
//!
//! The engine calls, per customer turn, [`ConversationState::observe_customer`] and then
//! [`Suggester::suggest`], which returns 3–5 slot-filled replies ranked for this customer at this
//! point of the conversation (seed 003: rational customers get a solution first, emotional or
//! angry ones empathy first; seed 004: safety first; the complaint flow 倾听/安抚 → 道歉 → 方案 →
//! 跟进). Agent turns go to [`ConversationState::observe_agent`], console feedback to
//! [`ConversationState::feedback`].
//!
//! Module map: `state` (per-conversation memory), `rank` (compiled scripts and the scorer, see
//! its docs for the formula), `slots` (pre-split templates; never a raw `{slot}`), `faq`
//! (FAQ matching), `catalog` (which product or category a conversation is about), `lexical` (the
//! char-bigram index FAQ matching and script relevance share, and the near-duplicate check of
//! the returned list).

mod catalog;
mod faq;
mod lexical;
mod rank;
mod slots;
mod state;

#[cfg(test)]
mod tests;

use serde::Serialize;

pub use catalog::PRODUCT_SLOT;
pub use rank::{ESCALATION_RISK, MAX_SUGGESTIONS, MIN_SUGGESTIONS, Suggester};
pub use state::{ComplaintStage, ConversationState, EmotionPoint, Trend, carrier_name};

/// One suggested reply, as shown to the agent (the engine assigns the per-turn `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Script id (or FAQ id for FAQ answers).
    pub script: String,
    pub intent: String,
    pub stage: String,
    pub tags: Vec<String>,
    /// zh-CN label shown above the text (the book's `title`, else intent · stage names; for an
    /// FAQ answer its title or first question). Never an internal id.
    pub title: String,
    /// Slot-filled text; never contains a raw `{slot}`.
    pub text: String,
    /// Where an FAQ answer comes from (the entry's `source`, e.g. 运费政策); absent for scripts
    /// and for FAQ entries without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The safety-playbook step of a safety script (`first_action`, `escalation`,
    /// `follow_up`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<&'static str>,
}

/// What the agent did with a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackAction {
    Used,
    Edited,
    Dismissed,
}

impl FeedbackAction {
    /// Parses the protocol's `action` field.
    pub fn parse(s: &str) -> Option<FeedbackAction> {
        match s {
            "used" => Some(FeedbackAction::Used),
            "edited" => Some(FeedbackAction::Edited),
            "dismissed" => Some(FeedbackAction::Dismissed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackAction::Used => "used",
            FeedbackAction::Edited => "edited",
            FeedbackAction::Dismissed => "dismissed",
        }
    }
}

/// Errors compiling the scripts/FAQ of a book (one line per problem, naming file:line and id).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
}
