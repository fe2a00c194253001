//! Emotion scoring: lexicon words with negation and modifiers, surface cues (emoji, ！！！/？？？),
//! threats and repeat-asks, and the example-trained model.
//!
//! Per label `l`, non-negated word hits add `weight × modifiers` to `lex_l` (a word inside a longer
//! emotion word does not count: 满意 in 不满意). A negated word does not count and damps the
//! model's vote for its label (我不生气 is not anger even if the model has seen 生气); a negated
//! *positive* word counts a little towards disappointment (不满意, 不太好用). Emoji add to their
//! label (they arrive as symbol literals, without position); a threat and a repeat-ask add to
//! anger, an urgent incident to anxiety, a run of ？？？ to anxiety. As for intents,
//! `e_l = 1 - exp(-lex_l)` and `s_l = 1 - (1 - e_l)(1 - p_l)`; the best non-neutral label wins if
//! `s_l` ≥ `Tuning::emotion` (and, with no lexicon evidence at all, if the model alone is sure
//! and the turn is not tiny), otherwise the turn is neutral (intensity 0).
//!
//! Intensity: `0.15 + 0.55·e_l + 0.3·p_l`, plus up to 0.25 for agitated punctuation, clamped to
//! [0, 1] — a model-only guess lands near 0.4, one plain word near 0.65, an intensified word with
//! ！！！ near 1.

use huashu_phrasebook::EMOTIONS;

use crate::lexicon::Tag;
use crate::tuning::Tuning;
use crate::turn::Turn;
use crate::types::Emotion;

pub(crate) const N: usize = 5;
const _: () = assert!(EMOTIONS.len() == N);

pub(crate) const ANGER: usize = 0;
pub(crate) const ANXIETY: usize = 1;
pub(crate) const DISAPPOINTMENT: usize = 2;
pub(crate) const NEUTRAL: usize = 3;
pub(crate) const POSITIVE: usize = 4;

const THREAT_ANGER: f32 = 0.6;
const REPEAT_ANGER: f32 = 0.4;
const URGENT_ANXIETY: f32 = 0.5;
const NEGATED_POSITIVE: f32 = 0.6;
const QUESTION_RUN: f32 = 0.25;
/// Fewer normalised chars than this and the model alone cannot set an emotion.
const MODEL_ONLY_MIN_CHARS: usize = 4;
/// A label whose words were all negated keeps this share of its model probability.
const NEGATED_MODEL: f32 = 0.2;

/// What the emotion scorer found, for style.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EmotionEvidence {
    /// Intensifier/diminisher hits that modified an emotion word.
    pub modified: u32,
}

pub(crate) fn score(
    turn: &Turn<'_>,
    model: Option<&[f32; N]>,
    threat: bool,
    repeat_ask: bool,
    urgent: bool,
    tuning: &Tuning,
) -> (Emotion, EmotionEvidence) {
    let mut lex = [0f32; N];
    let mut negated = [false; N];
    let mut ev = EmotionEvidence::default();
    for h in turn.hits {
        let Tag::Emotion { label, weight } = h.tag else {
            continue;
        };
        let l = label as usize;
        if l >= N || turn.contained(h, |t| matches!(t, Tag::Emotion { .. })) {
            continue;
        }
        if turn.negated(h) {
            negated[l] = true;
            if l == POSITIVE {
                lex[DISAPPOINTMENT] += NEGATED_POSITIVE * weight;
            }
            continue;
        }
        let m = turn.multiplier(h);
        if m != 1.0 {
            ev.modified += 1;
        }
        lex[l] += weight * m;
    }
    for t in turn.loose {
        if let Tag::Emotion { label, weight } = *t
            && let Some(x) = lex.get_mut(label as usize)
        {
            *x += weight;
        }
    }
    if threat {
        lex[ANGER] += THREAT_ANGER;
    }
    if repeat_ask {
        lex[ANGER] += REPEAT_ANGER;
    }
    if urgent {
        // Someone reporting a rash or smoke is worried even without a word for it.
        lex[ANXIETY] += URGENT_ANXIETY;
    }
    // ？？？ is impatience even without a word for it.
    lex[ANXIETY] += QUESTION_RUN * turn.surface.question_runs.min(2) as f32;

    let mut s = [0f32; N];
    let mut p = model.copied().unwrap_or([0.0; N]);
    for l in 0..N {
        if negated[l] && lex[l] <= 0.0 {
            p[l] *= NEGATED_MODEL;
        }
        let e = 1.0 - (-lex[l].max(0.0)).exp();
        s[l] = 1.0 - (1.0 - e) * (1.0 - p[l]);
    }
    let best = (0..N)
        .filter(|&l| l != NEUTRAL)
        .max_by(|&a, &b| s[a].total_cmp(&s[b]).then(b.cmp(&a)));
    let neutral = Emotion {
        label: EMOTIONS[NEUTRAL],
        intensity: 0.0,
    };
    let Some(l) = best else {
        return (neutral, ev);
    };
    // The model alone needs to be sure, and to have seen enough text: on a 2-char turn (在吗)
    // its few n-grams say more about the training set than about the customer.
    let model_only = lex[l] <= 0.0;
    let too_short = turn.norm.spans().len() < MODEL_ONLY_MIN_CHARS;
    if s[l] < tuning.emotion || (model_only && (p[l] < tuning.emotion_model_only || too_short)) {
        return (neutral, ev);
    }
    let e = 1.0 - (-lex[l].max(0.0)).exp();
    let sf = turn.surface;
    let agitation = if l == POSITIVE {
        0.03 * sf.exclaims.min(3) as f32
    } else {
        0.1 * sf.agitated_runs.min(2) as f32 + 0.03 * sf.exclaims.min(3) as f32
    };
    let intensity = (0.15 + 0.55 * e + 0.3 * p[l] + agitation.min(0.25)).clamp(0.0, 1.0);
    (
        Emotion {
            label: EMOTIONS[l],
            intensity,
        },
        ev,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_the_taxonomy() {
        assert_eq!(EMOTIONS[ANGER], "anger");
        assert_eq!(EMOTIONS[ANXIETY], "anxiety");
        assert_eq!(EMOTIONS[DISAPPOINTMENT], "disappointment");
        assert_eq!(EMOTIONS[NEUTRAL], "neutral");
        assert_eq!(EMOTIONS[POSITIVE], "positive");
    }
}
