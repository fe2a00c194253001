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

impl Entity {
    /// The value in plain ASCII, for slots and lookups: full-width digits and letters folded,
    /// spaces and dashes of phone numbers dropped, currency signs and units dropped from amounts
    /// (Chinese numerals are kept as written). Case is kept for tracking numbers (SF…).
    pub fn value(&self) -> String {
        let folded = self.text.chars().filter_map(|c| {
            let c = match c {
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '．' => {
                    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                }
                c => c,
            };
            match self.kind {
                "phone" | "order_id" | "tracking_no" => c.is_ascii_alphanumeric().then_some(c),
                "amount" if c.is_ascii_digit() || c == '.' => Some(c),
                "amount" if matches!(c, '¥' | '￥' | '$' | '元' | '块' | '钱') => None,
                _ => Some(c),
            }
        });
        let mut v: String = folded.collect();
        if self.kind == "amount" && v.is_empty() {
            v = self.text.clone();
        }
        if self.kind == "amount" && !v.is_ascii() && v.chars().any(|c| c.is_ascii_digit()) {
            v.retain(|c| c.is_ascii_digit() || c == '.');
        }
        v
    }
}

/// What came before a customer turn in its conversation (see [`crate::Understander::analyze_in`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Context<'a> {
    /// The agent's latest line (often the question being answered: 请提供订单号).
    pub agent: Option<&'a str>,
    /// The intent the customer's earlier turns were about, when one was clear.
    pub topic: Option<&'static str>,
}

/// Everything the engine knows about one customer turn, before suggestions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Understanding {
    /// Sorted by score, best first; never empty (falls back to `other`).
    pub intents: Vec<IntentScore>,
    pub emotion: Emotion,
    pub urgent: bool,
    /// What kind of incident makes the turn urgent; `Some` exactly when `urgent`.
    pub urgent_kind: Option<huashu_phrasebook::UrgentKind>,
    pub style: Style,
    /// Sorted by `start`, never overlapping.
    pub entities: Vec<Entity>,
    /// The customer threatens a complaint / bad review / 12315 / exposure.
    pub threat: bool,
    /// The customer says they already asked (第三次问了, 说了多少遍).
    pub repeat_ask: bool,
    /// `false` when the intent is a guess ("not sure"): the scores were too flat to choose, so the
    /// intent is shown with low confidence and does not drive suggestions.
    pub confident: bool,
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
