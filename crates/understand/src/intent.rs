//! Intent scoring: keyword/pattern evidence and the example-trained model, combined per intent.
//!
//! For intent `i`, keyword and pattern weights add up to `kw_i` (a keyword inside a longer keyword
//! of the same intent does not count twice; a negated complaint keyword — 我不想投诉 — does not
//! count) and become evidence `e_i = 1 - exp(-kw_i)` (weight 1 → 0.63, 2 → 0.86). The model gives
//! `p_i`. The score is the noisy-or `1 - (1 - e_i)(1 - p_i)`: either source alone can carry an
//! intent, both together make it near-certain.
//!
//! The primary intent is the best score if it reaches [`PRIMARY`], else `other`. Further intents
//! are kept when they reach [`SECONDARY`] (e.g. shipping + complaint in 快递三天没动了，再不处理
//! 我就投诉). Greeting and closing are framing, not requests: they are dropped when a content
//! intent is present (亲在吗，我的快递到哪了 is shipping).

use huashu_phrasebook::INTENTS;

use crate::lexicon::Tag;
use crate::turn::Turn;
use crate::types::IntentScore;

pub(crate) const N: usize = 12;
const _: () = assert!(INTENTS.len() == N);

const GREETING: usize = 0;
const COMPLAINT: usize = 7;
const THANKS: usize = 10;
const OTHER: usize = 11;

/// Minimum score of a primary intent; below it the turn is `other`.
pub(crate) const PRIMARY: f32 = 0.35;
/// Minimum score of every further intent.
pub(crate) const SECONDARY: f32 = 0.5;
/// A content intent this strong pushes greeting/closing out.
const CONTENT: f32 = 0.45;
/// At most this many intents per turn.
const MAX_INTENTS: usize = 3;

/// Per-intent keyword/pattern evidence of a turn, before squashing.
pub(crate) fn keyword_weights(turn: &Turn<'_>) -> [f32; N] {
    let mut kw = [0f32; N];
    for h in turn.hits {
        let Tag::Intent { intent, weight } = h.tag else {
            continue;
        };
        let same = |t: &Tag| matches!(t, Tag::Intent { intent: j, .. } if *j == intent);
        if turn.contained(h, same) {
            continue;
        }
        if intent as usize == COMPLAINT && turn.negated(h) {
            continue;
        }
        if let Some(k) = kw.get_mut(intent as usize) {
            *k += weight;
        }
    }
    for t in turn.rx {
        if let Tag::Intent { intent, weight } = *t
            && let Some(k) = kw.get_mut(intent as usize)
        {
            *k += weight;
        }
    }
    kw
}

/// Combined per-intent scores.
pub(crate) fn scores(kw: &[f32; N], model: Option<&[f32; N]>) -> [f32; N] {
    let mut s = [0f32; N];
    for (i, out) in s.iter_mut().enumerate() {
        // Negative weights (a QA lead down-weighting a phrase) subtract evidence.
        let e = 1.0 - (-kw[i]).exp();
        let p = model.map_or(0.0, |m| m[i]);
        *out = (1.0 - (1.0 - e.max(0.0)) * (1.0 - p)).clamp(0.0, 1.0);
        if kw[i] < 0.0 {
            *out *= (kw[i]).exp();
        }
    }
    s
}

/// Chooses the intents of a turn from its scores; never empty.
pub(crate) fn select(s: &[f32; N], out: &mut Vec<IntentScore>) {
    out.clear();
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    let content = |i: usize| !matches!(i, GREETING | THANKS | OTHER);
    let best_content = order.iter().copied().find(|&i| content(i));
    let has_content = best_content.is_some_and(|i| s[i] >= CONTENT);
    for (rank, &i) in order.iter().enumerate() {
        let min = if out.is_empty() { PRIMARY } else { SECONDARY };
        if s[i] < min || out.len() >= MAX_INTENTS {
            break;
        }
        if i == OTHER && !out.is_empty() {
            continue;
        }
        if i == GREETING && has_content {
            continue;
        }
        if i == THANKS && has_content && rank > 0 {
            continue;
        }
        if let Some(&id) = INTENTS.get(i) {
            out.push(IntentScore { id, score: s[i] });
        }
    }
    if out.is_empty() {
        let best = order.first().map_or(0.0, |&i| s[i]);
        out.push(IntentScore {
            id: "other",
            score: s[OTHER].max(1.0 - best).clamp(0.0, 1.0),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_the_taxonomy() {
        assert_eq!(INTENTS[GREETING], "greeting");
        assert_eq!(INTENTS[COMPLAINT], "complaint");
        assert_eq!(INTENTS[THANKS], "thanks_closing");
        assert_eq!(INTENTS[OTHER], "other");
    }

    #[test]
    fn selection_rules() {
        let mut out = Vec::new();
        select(&[0.0; N], &mut out);
        assert_eq!(out[0].id, "other");
        let mut s = [0.0; N];
        s[GREETING] = 0.9;
        s[4] = 0.6; // shipping
        s[COMPLAINT] = 0.55;
        select(&s, &mut out);
        let ids: Vec<_> = out.iter().map(|i| i.id).collect();
        assert_eq!(ids, ["shipping", "complaint"]);
    }
}
