//! The public result types: the contract with `huashu-suggest`, `huashu-engine` and the wire
//! format (`huashu analyze`, protocol `analysis` events), so field names are fixed.

use huashu_phrasebook::Style;
use serde::Serialize;

/// One detected intent; `id` is one of `huashu_phrasebook::INTENTS`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentScore {
    pub id: &'static str,
    /// Combined keyword/pattern evidence and model probability, in [0, 1].
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
    /// order_id, tracking_no, phone, amount, size, height, weight.
    pub kind: &'static str,
    /// The original substring `[start, end)`.
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
    /// Sorted by `start`, never overlapping.
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

    /// Score of `id`, 0 when it was not detected.
    pub fn intent_score(&self, id: &str) -> f32 {
        self.intents
            .iter()
            .find(|i| i.id == id)
            .map_or(0.0, |i| i.score)
    }

    /// Whether `id` is among the detected intents.
    pub fn has_intent(&self, id: &str) -> bool {
        self.intents.iter().any(|i| i.id == id)
    }
}
