//! Emotion scoring: lexicon words with negation and modifiers, surface cues (emoji, ！！！/？？？),
//! threats and repeat-asks, and the example-trained model.
//!
//! Per label `l`, non-negated word hits add `weight × modifiers` to `lex_l` (a word inside a longer
//! emotion word does not count: 满意 in 不满意). A negated word does not count and damps the
//! model's vote for its label (我不生气 is not anger even if the model has seen 生气); a negated
//! *positive* word counts a little towards disappointment (不满意, 不太好用). Emoji add to their
//! label (they arrive as symbol literals, without position); a threat and a repeat-ask add to
//! anger, an urgent incident to anxiety (and damps the model's disappointment/positive vote). A raised voice — a run of ？？？ or ！！！, single ！ a
//! little — adds to anger unless the turn is only a greeting/closing (在吗？？). The turn's intents
//! colour it too ([`Cues`]): a complaint about the service, an escalation or a complaint adds
//! anger in proportion to its score, and a defect or delivery report lowers the bar for a
//! negative label. A positive word that is asked about (好看吗, 好用不) does not count. Calming
//! words of the neutral lexicon (影响不大, 就是提一下) must be outweighed — by the label's own
//! words, or by a model sure enough for their weight (`Tuning::calm_veto_model`: a polite 请问
//! in a long complaint does not hide it, an explicit 不急 does). A negated negative word (不生气)
//! counts as a calming word too. As for intents,
//! `e_l = 1 - exp(-lex_l)` and `s_l = 1 - (1 - e_l)(1 - p_l)`; the best non-neutral label wins if
//! `s_l` ≥ `Tuning::emotion` (and, with no lexicon evidence at all, if the model alone is sure
//! and the turn is not tiny), otherwise the turn is neutral (intensity 0).
//!
//! Intensity: `0.15 + 0.55·e_l + 0.3·p_l`, plus up to 0.25 for agitated punctuation, clamped to
//! [0, 1] — a model-only guess lands near 0.4, one plain word near 0.65, an intensified word with
//! ！！！ near 1.

use huashu_phrasebook::EMOTIONS;

use crate::builtin::Hypo;
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

const THREAT_ANGER: f32 = 1.0;
const REPEAT_ANGER: f32 = 0.7;
const URGENT_ANXIETY: f32 = 0.65;
/// On an urgent turn, the share of the model's disappointment/positive vote that is kept.
const URGENT_DAMP: f32 = 0.3;
/// On a turn asking about a possibility (会不会, 能不能…) with no anxiety word, the share of the
/// model's anxiety vote that is kept.
const ASKED_POSSIBILITY: f32 = 0.5;
const NEGATED_POSITIVE: f32 = 0.6;
/// A negated negative word (不急, 不生气) counts this share of its weight as a calming word.
const NEGATED_CALM: f32 = 0.5;
/// A run of ？？？ (or ?!) is exasperation far more often than worry: 人呢？？？, 钱呢？？？.
const QUESTION_RUN: f32 = 0.45;
/// A run of ！！！ without a question mark: raised voice (退钱！！！).
const EXCLAIM_RUN: f32 = 0.25;
/// A single ！ ending a demand or an accusation (叫你们老板出来！).
const EXCLAIM: f32 = 0.1;
/// How much more lexicon evidence a label needs than the turn's calming words.
const CALM_MARGIN: f32 = 0.3;
/// Fewer normalised chars than this and the model alone cannot set an emotion.
const MODEL_ONLY_MIN_CHARS: usize = 4;
/// A label whose words were all negated keeps this share of its model probability.
const NEGATED_MODEL: f32 = 0.2;

/// Turn-level cues from the other scorers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cues {
    /// The turn is only a greeting/closing (its punctuation says nothing about mood).
    pub framing_only: bool,
    /// Anger evidence from the turn's intents (service complaint, escalation).
    pub anger_prior: f32,
    /// The turn reports a defect or a delivery problem (primary intent quality_issue or
    /// shipping): customers who write one are rarely calm, so a negative label needs less
    /// evidence (the model picks which one).
    pub defect: bool,
}

/// With [`Cues::defect`], the share of the usual thresholds a negative label needs.
const DEFECT_RELAX: f32 = 0.6;

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
    cues: Cues,
    tuning: &Tuning,
) -> (Emotion, EmotionEvidence) {
    let mut lex = [0f32; N];
    let mut negated = [false; N];
    // The words' own share of `lex` (not emoji, punctuation or intent priors).
    let mut words = [0f32; N];
    let mut ev = EmotionEvidence::default();
    for h in turn.hits {
        let Tag::Emotion { label, weight } = h.tag else {
            continue;
        };
        let l = label as usize;
        if l >= N || turn.contained(h, |t| matches!(t, Tag::Emotion { .. })) {
            continue;
        }
        if l == POSITIVE && asked(turn, h) {
            // 好看吗, 好用不: asking whether it is good is not being pleased.
            continue;
        }
        if turn.negated(h) {
            negated[l] = true;
            if l == POSITIVE {
                lex[DISAPPOINTMENT] += NEGATED_POSITIVE * weight;
            } else if l != NEUTRAL {
                // 我不生气, 一点都不急: saying the feeling is absent is a calming word.
                lex[NEUTRAL] += NEGATED_CALM * weight;
            }
            continue;
        }
        let m = turn.multiplier(h);
        if m != 1.0 {
            ev.modified += 1;
        }
        lex[l] += weight * m;
        words[l] += weight * m;
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
    // ？？？ and ！！！ are a raised voice even without a word for it — unless the whole turn is
    // a greeting (在吗？？ is someone waiting, not someone angry).
    if !cues.framing_only {
        let sf = turn.surface;
        let exclaim_runs = sf.agitated_runs.saturating_sub(sf.question_runs);
        lex[ANGER] += QUESTION_RUN * sf.question_runs.min(2) as f32
            + EXCLAIM_RUN * exclaim_runs.min(2) as f32
            + EXCLAIM * sf.exclaims.min(3) as f32;
    }
    // What the customer is doing colours how they feel: someone complaining about the service,
    // asking for a manager or threatening is angry far more often than not.
    lex[ANGER] += cues.anger_prior;
    // How far the hand-written evidence counts against the corpus-trained model.
    for (l, x) in lex.iter_mut().enumerate() {
        if l != NEUTRAL {
            *x *= tuning.emotion_lexicon_scale;
        }
    }

    let mut s = [0f32; N];
    let mut p = model.copied().unwrap_or([0.0; N]);
    if urgent {
        // Someone reporting a rash or smoke is worried or angry, not merely let down or pleased,
        // whatever n-grams the model has seen (起了一片红疹子 reads like a defect report).
        p[DISAPPOINTMENT] *= URGENT_DAMP;
        p[POSITIVE] *= URGENT_DAMP;
    }
    let asks_possibility = asks_possibility(turn);
    if lex[ANXIETY] <= 0.0 && asks_possibility {
        // 会不会化, 能不能写办公用品: a pre-purchase question about what may happen is not
        // worry unless a word says so; the model has seen 会不会 mostly in worried turns.
        p[ANXIETY] *= ASKED_POSSIBILITY;
    }
    for l in 0..N {
        // 我不生气: the label's words were all negated, whatever the intents or punctuation add.
        if negated[l] && words[l] <= 0.0 {
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
    // Words that play a turn down (影响不大, 就是提一下, 不着急) speak for neutral: a label must
    // beat them, not just its threshold.
    let calm = 1.0 - (-lex[NEUTRAL].max(0.0)).exp();
    // They play a problem down; they do not cancel thanks (好的 谢谢 is still pleased).
    // A model that is sure of the label from the whole turn is not outvoted by a passing 请问 or
    // 麻烦 inside a long complaint; only real calming phrases (影响不大) outweigh it.
    let outvoted = lex[l] < lex[NEUTRAL] + CALM_MARGIN
        && p[l] < tuning.calm_veto_model + lex[NEUTRAL] * tuning.calm_veto_slope;
    if l != POSITIVE && calm > 0.0 && outvoted {
        return (neutral, ev);
    }
    // The model alone needs to be sure, and to have seen enough text: on a 2-char turn (在吗)
    // its few n-grams say more about the training set than about the customer.
    let model_only = lex[l] <= 0.0;
    let too_short = turn.norm.spans().len() < MODEL_ONLY_MIN_CHARS;
    // 冬天快递会不会冻坏 asks before anything went wrong: no defect report to relax for.
    let relax = if cues.defect && l != POSITIVE && !(asks_possibility && model_only) {
        DEFECT_RELAX
    } else {
        1.0
    };
    // The model's own neutral vote must be beaten too: most real turns are calm, and a label
    // that only clears the bar because the others are low is a guess.
    let beaten = s[l] < tuning.neutral_margin * p[NEUTRAL];
    if s[l] < tuning.emotion * relax
        || beaten
        || (model_only && (p[l] < tuning.emotion_model_only * relax || too_short))
    {
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

/// Whether the turn asks about a possibility: a marker that asks by itself (会不会, 能不能, 是否),
/// or 会/可能 in a clause ending as a question.
fn asks_possibility(turn: &Turn<'_>) -> bool {
    turn.hits.iter().any(|h| match h.tag {
        Tag::Hypothetical(Hypo::Asks) => true,
        Tag::Hypothetical(Hypo::Ask) => {
            let (start, _) = turn.orig(h);
            turn.surface
                .clause_is_question(turn.surface.clause_of(start))
        }
        _ => false,
    })
}

/// Whether the word `h` is asked about: followed by a question particle or an A-not-A 不.
fn asked(turn: &Turn<'_>, h: &crate::lexicon::Hit) -> bool {
    let text = turn.text();
    let rest = text.get(h.end as usize..).unwrap_or("");
    let mut after = rest.chars();
    match after.next() {
        Some('吗' | '么' | '嘛' | '否') => true,
        // 好用不 (turn ends) or 好看不好看 (A-not-A), but not 谢谢不用了.
        Some('不' | '没') => {
            let first = text.get(h.start as usize..).and_then(|w| w.chars().next());
            match after.next() {
                None => true,
                c => c == first,
            }
        }
        _ => false,
    }
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
