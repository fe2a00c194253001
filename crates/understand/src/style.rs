//! Customer style (seed 003): rational customers bring facts, numbers and order ids and want a
//! result; emotional ones bring feelings, exclamations and intensifiers and want to be heard
//! first. Suggestions adapt (solution first vs empathy first).
//!
//! `rational = Σ [style].rational + 0.5 per fact entity (≤ 2) + 0.3 if digits`;
//! `emotional = Σ [style].emotional + negative-emotion intensity + punctuation/emoji/intensifier
//! cues`. Emotional wins only if it reaches 0.6 and beats rational by 0.2: calm is the default.

use huashu_phrasebook::Style;

use crate::emotion::{ANGER, ANXIETY, DISAPPOINTMENT, EmotionEvidence};
use crate::lexicon::Tag;
use crate::turn::Turn;
use crate::types::{Emotion, Entity};

const MIN_EMOTIONAL: f32 = 0.6;
const MARGIN: f32 = 0.2;

pub(crate) fn style(
    turn: &Turn<'_>,
    emotion: &Emotion,
    ev: EmotionEvidence,
    entities: &[Entity],
) -> Style {
    let mut rational = 0f32;
    let mut emotional = 0f32;
    for h in turn.hits {
        if let Tag::Style {
            emotional: e,
            weight,
        } = h.tag
        {
            if e {
                emotional += weight;
            } else {
                rational += weight;
            }
        }
    }
    for t in turn.loose {
        if let Tag::Style {
            emotional: e,
            weight,
        } = *t
        {
            if e {
                emotional += weight;
            } else {
                rational += weight;
            }
        }
    }
    let facts = entities
        .iter()
        .filter(|e| matches!(e.kind, "order_id" | "tracking_no" | "phone" | "amount"))
        .count()
        .min(2);
    rational += 0.5 * facts as f32;
    if turn.surface.digits > 0 {
        rational += 0.3;
    }
    let negative = [ANGER, ANXIETY, DISAPPOINTMENT]
        .iter()
        .any(|&l| huashu_phrasebook::EMOTIONS.get(l) == Some(&emotion.label));
    if negative {
        emotional += emotion.intensity;
    }
    let sf = turn.surface;
    emotional += (0.15 * sf.exclaims as f32).min(0.6)
        + 0.3 * sf.agitated_runs.min(2) as f32
        + (0.2 * turn.symbol_hits as f32).min(0.6)
        + 0.2 * ev.modified.min(3) as f32;
    if emotional >= MIN_EMOTIONAL && emotional > rational + MARGIN {
        Style::Emotional
    } else {
        Style::Rational
    }
}
