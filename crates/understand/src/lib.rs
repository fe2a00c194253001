//! Understanding one customer turn: intents, emotion, urgency, style and entities.
//!
//! INTERFACE STUB: the types below are the contract with `huashu-suggest` and `huashu-engine`;
//! the implementation is being written.

use huashu_phrasebook::{Phrasebook, Style};
use serde::Serialize;

/// One detected intent; `id` is one of `huashu_phrasebook::INTENTS`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentScore {
    pub id: &'static str,
    pub score: f32,
}

/// Emotion label (one of `huashu_phrasebook::EMOTIONS`) with intensity in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emotion {
    pub label: &'static str,
    pub intensity: f32,
}

/// An extracted entity; `start`/`end` are char offsets in the original text, end exclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// order_id, tracking_no, phone, amount, size, height, weight, …
    pub kind: &'static str,
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// For tracking numbers: SF, ZTO, YTO, YD, STO, JD, EMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<&'static str>,
}

/// Everything the engine knows about one customer turn, before suggestions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Understanding {
    /// Sorted by score, best first; never empty (falls back to `other`).
    pub intents: Vec<IntentScore>,
    pub emotion: Emotion,
    pub urgent: bool,
    pub style: Style,
    pub entities: Vec<Entity>,
    /// The customer threatens a complaint / bad review / 12315 / exposure.
    pub threat: bool,
    /// The customer says they already asked (第三次问了, 说了多少遍).
    pub repeat_ask: bool,
}

impl Understanding {
    pub fn primary_intent(&self) -> &'static str {
        self.intents.first().map(|i| i.id).unwrap_or("other")
    }
}

/// Errors compiling a book's understanding data (bad regex…), naming where it was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: [{id}] {message}")]
    Invalid {
        origin: huashu_phrasebook::Origin,
        id: String,
        message: String,
    },
}

/// Compiled understanding data of one phrasebook: shared read-only across connections.
#[derive(Debug)]
pub struct Understander {
    _private: (),
}

impl Understander {
    pub fn new(_book: &Phrasebook) -> Result<Understander, Error> {
        Ok(Understander { _private: () })
    }

    pub fn analyze(&self, _text: &str) -> Understanding {
        Understanding {
            intents: vec![IntentScore { id: "other", score: 0.0 }],
            emotion: Emotion { label: "neutral", intensity: 0.0 },
            urgent: false,
            style: Style::Rational,
            entities: Vec::new(),
            threat: false,
            repeat_ask: false,
        }
    }
}
