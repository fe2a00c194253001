//! Intent scoring: keyword/pattern evidence and the example-trained model, combined per intent.
//!
//! For intent `i`, keyword and pattern weights add up to `kw_i` (a keyword inside a longer keyword
//! of the same intent does not count twice; a negated complaint keyword — 我不想投诉 — does not
//! count) and become evidence `e_i = 1 - exp(-kw_i)` (weight 1 → 0.63, 2 → 0.86). The model gives
//! `p_i`. The score is the noisy-or `1 - (1 - e_i)(1 - p_i)`: either source alone can carry an
//! intent, both together make it near-certain.
//!
//! Primary: the best non-`other` score if it reaches `Tuning::primary` and beats `other`, or if
//! the model alone is decisive (probability ≥ `Tuning::decisive`, above `other` and 1.5× the
//! runner-up, and `other`'s own evidence no stronger); else `other`.
//!
//! Further intents must reach `Tuning::secondary` *and* stand on their own: be the best intent of
//! some clause of the turn (快递三天没动了，再不处理我就投诉 → shipping + complaint), or have model
//! probability ≥ `Tuning::secondary_model` for the whole turn, or be a complaint backed by a
//! threat, or carry strong keyword/pattern evidence (weight ≥ 2: 退款问题你一直在敷衍我). A weak
//! topic keyword alone does not add an intent (退款怎么还没到账 is not shipping). Greeting and
//! closing are framing: greeting is kept beside a content intent only when it is a clause of its
//! own (你好，我想退货) — behind a greeting, a question's content intent needs only
//! `Tuning::primary`, not `CONTENT`, to be the point of the turn (你好，请问这款还有XL吗) — closing only when it is the primary. Thanks after the fact — a thanks
//! word, no question, no threat, no trouble intent (感谢，退款已经到账了) — is thanks_closing
//! first: the topic it mentions is settled, and is kept beside it only when a clause of its own
//! says it (退款已收到，谢谢 → thanks_closing + return_refund).
//!
//! Negation: complaint and escalation keywords a negator reaches (我不想投诉, 不用找领导) do not
//! count, nor do that intent's patterns, and the intent cannot win on the model alone. Quality
//! keywords asked about hypothetically (这个会漏电吗, 会不会起球) do not count either.

use huashu_phrasebook::INTENTS;

use crate::lexicon::Tag;
use crate::tuning::Tuning;
use crate::turn::Turn;
use crate::types::IntentScore;

pub(crate) const N: usize = 12;
const _: () = assert!(INTENTS.len() == N);

const GREETING: usize = 0;
pub(crate) const COMPLAINT: usize = 7;
const ESCALATION: usize = 8;
const QUALITY: usize = 6;
const SERVICE: usize = 9;
pub(crate) const THANKS: usize = 10;
pub(crate) const OTHER: usize = 11;

/// A content intent this strong pushes greeting/closing out.
const CONTENT: f32 = 0.45;
/// Keyword/pattern weight that backs a further intent on its own (敷衍, 爱理不理 inside a refund
/// question): a strong, specific phrase, not a passing topic word.
const STRONG_KEYWORDS: f32 = 2.0;
/// At most this many intents per turn.
const MAX_INTENTS: usize = 3;

/// Per-intent keyword/pattern evidence of a turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keywords {
    /// Summed keyword/pattern weight per intent.
    pub weight: [f32; N],
    /// Some keyword of the intent was negated (我不想投诉).
    pub negated: [bool; N],
}

impl Keywords {
    /// The intent's only keyword evidence was negated: it has none, and `scores` damps its
    /// model vote too.
    pub fn all_negated(&self, i: usize) -> bool {
        self.negated[i] && self.weight[i] == 0.0
    }
}

/// Per-intent keyword/pattern evidence of a turn (`range`: only hits inside these normalised
/// bytes, and no pattern evidence, which has no position).
pub(crate) fn keyword_weights(turn: &Turn<'_>, range: Option<(u32, u32)>) -> Keywords {
    let mut kw = [0f32; N];
    let mut negated = [false; N];
    for h in turn.hits {
        let Tag::Intent { intent, weight } = h.tag else {
            continue;
        };
        if let Some((a, b)) = range
            && (h.start < a || h.end > b)
        {
            continue;
        }
        let same = |t: &Tag| matches!(t, Tag::Intent { intent: j, .. } if *j == intent);
        if turn.contained(h, same) {
            continue;
        }
        if intent as usize == QUALITY && crate::urgent::hypothetical(turn, h) {
            // 会不会起球, 这个会漏电吗: a question before buying, not a defect.
            continue;
        }
        if negatable(intent as usize) && turn.negated(h) {
            if let Some(n) = negated.get_mut(intent as usize) {
                *n = true;
            }
            continue;
        }
        if let Some(k) = kw.get_mut(intent as usize) {
            *k += weight;
        }
    }
    if range.is_none() {
        for t in turn.loose {
            if let Tag::Intent { intent, weight } = *t
                && let Some(k) = kw.get_mut(intent as usize)
            {
                // A pattern has no position: when every keyword of a negatable intent was
                // negated (我不是要投诉 — 要投诉 also matches a pattern), its patterns say the same
                // negated thing and do not count either.
                if negated.get(intent as usize) == Some(&true) && *k == 0.0 {
                    continue;
                }
                *k += weight;
            }
        }
    }
    Keywords {
        weight: kw,
        negated,
    }
}

/// Intents a negator cancels: 我不想投诉, 不用找领导. (Most others keep their topic when negated:
/// 还没发货 is still about shipping.)
fn negatable(i: usize) -> bool {
    matches!(i, COMPLAINT | ESCALATION)
}

/// Share of its model probability an intent keeps when its keywords were all negated.
const NEGATED_MODEL: f32 = 0.2;

/// Combined per-intent scores.
/// `scale` weighs keyword evidence against the model (`Tuning::keyword_scale`).
pub(crate) fn scores(kw: &Keywords, model: Option<&[f32; N]>, scale: f32) -> [f32; N] {
    let mut s = [0f32; N];
    for (i, out) in s.iter_mut().enumerate() {
        let w = kw.weight[i];
        let e = 1.0 - (-(w * scale).max(0.0)).exp();
        let mut p = model.map_or(0.0, |m| m[i]);
        if kw.all_negated(i) {
            p *= NEGATED_MODEL;
        }
        *out = (1.0 - (1.0 - e) * (1.0 - p)).clamp(0.0, 1.0);
        // Negative weights (a QA lead down-weighting a phrase) damp the model too.
        if w < 0.0 {
            *out *= w.exp();
        }
    }
    s
}

/// The best non-`other` intent of a score vector.
pub(crate) fn best_content(s: &[f32; N]) -> usize {
    let mut best = 0;
    for i in 0..N {
        if i != OTHER && s[i] > s[best] {
            best = i;
        }
    }
    best
}

/// What `select` needs about a turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Evidence<'a> {
    pub scores: &'a [f32; N],
    pub model: &'a [f32; N],
    /// Keyword/pattern weight per intent (`keyword_weights`).
    pub keywords: &'a Keywords,
    /// Bit `i`: intent `i` is the best of some clause, with a clause score ≥ `secondary`.
    pub clause_tops: u16,
    pub threat: bool,
    /// Some clause of the turn asks something (？, 吗…).
    pub question: bool,
    /// A thanks/closing keyword of weight ≥ 1 (谢谢, 辛苦了), not just 好的.
    pub thanks_word: bool,
}

/// Chooses the intents of a turn; never empty.
pub(crate) fn select(ev: Evidence<'_>, t: &Tuning, out: &mut Vec<IntentScore>) {
    out.clear();
    let (s, p) = (ev.scores, ev.model);
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));

    let best = best_content(s);
    let runner_up = (0..N)
        .filter(|&i| i != best && i != OTHER)
        .map(|i| p[i])
        .fold(0.0f32, f32::max);
    let confident = s[best] >= t.primary && s[best] >= s[OTHER];
    // An intent whose every keyword was negated (我不是要投诉) cannot win on the model alone.
    let negated = ev.keywords.all_negated(best);
    let decisive = !negated
        && p[best] >= t.decisive
        && p[best] > p[OTHER]
        && s[best] >= s[OTHER]
        && p[best] >= 1.5 * runner_up;
    if !(confident || decisive) {
        out.push(IntentScore {
            id: "other",
            score: s[OTHER].max(1.0 - s[best]).clamp(0.0, 1.0),
        });
        return;
    }
    let content = |i: usize| !matches!(i, GREETING | THANKS | OTHER);
    // Thanks after the fact — nothing asked, nothing wrong (感谢，退款已经到账了; 收到了很合身，
    // 谢谢推荐) — closes the conversation: the topic it mentions is settled, not a new request.
    let trouble = [QUALITY, COMPLAINT, ESCALATION, SERVICE]
        .iter()
        .any(|&i| s[i] >= t.secondary);
    if ev.thanks_word && !ev.question && !ev.threat && !trouble && s[THANKS] >= t.primary {
        out.push(IntentScore {
            id: INTENTS[THANKS],
            score: s[THANKS],
        });
        // The settled topic still names what the thanks is for when a clause of its own says it
        // (退款已收到，谢谢 → thanks + return_refund).
        let topic = best;
        if content(topic) && s[topic] >= t.secondary && ev.clause_tops & (1 << topic) != 0 {
            out.push(IntentScore {
                id: INTENTS[topic],
                score: s[topic],
            });
        }
        return;
    }
    // Behind a greeting, a question needs less to be the point of the turn (你好，请问这款还有XL吗).
    let content_bar = if ev.question { t.primary } else { CONTENT };
    let has_content = (0..N).any(|i| content(i) && s[i] >= content_bar);
    let primary = if best == GREETING && has_content {
        order.iter().copied().find(|&i| content(i)).unwrap_or(best)
    } else {
        best
    };
    out.push(IntentScore {
        id: INTENTS[primary],
        score: s[primary],
    });
    for &i in &order {
        if out.len() >= MAX_INTENTS || s[i] < t.secondary {
            break;
        }
        let own_clause = ev.clause_tops & (1 << i) != 0;
        // A greeting said as its own clause (你好，我想退货) is part of the turn; one merely
        // mentioned inside a request is not.
        if i == primary
            || i == OTHER
            || (i == GREETING && !own_clause)
            || (i == THANKS && has_content)
        {
            continue;
        }
        let backed = own_clause
            || p[i] >= t.secondary_model
            || (i == COMPLAINT && ev.threat)
            || ev.keywords.weight[i] >= STRONG_KEYWORDS;
        if backed {
            out.push(IntentScore {
                id: INTENTS[i],
                score: s[i],
            });
        }
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
        let t = Tuning::default();
        let mut out = Vec::new();
        static ZERO: [f32; N] = [0.0; N];
        static NO_KEYWORDS: Keywords = Keywords {
            weight: [0.0; N],
            negated: [false; N],
        };
        let zero = &ZERO;
        let ev = |s: &'static [f32; N], p: &'static [f32; N], tops, threat| Evidence {
            scores: s,
            model: p,
            keywords: &NO_KEYWORDS,
            clause_tops: tops,
            threat,
            question: false,
            thanks_word: false,
        };
        select(ev(zero, zero, 0, false), &t, &mut out);
        assert_eq!(out[0].id, "other");

        static S: [f32; N] = [0.9, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.65, 0.0, 0.0, 0.0, 0.0];
        select(ev(&S, zero, 0, true), &t, &mut out);
        let ids: Vec<_> = out.iter().map(|i| i.id).collect();
        assert_eq!(ids, ["shipping", "complaint"]);
        // Without a threat, a clause of its own or model support, complaint is keyword-only.
        select(ev(&S, zero, 0, false), &t, &mut out);
        assert_eq!(out.len(), 1);
        select(ev(&S, zero, 1 << COMPLAINT, false), &t, &mut out);
        assert_eq!(out.len(), 2);

        // The model alone can be decisive.
        static P: [f32; N] = [0.0, 0.3, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1];
        select(ev(&P, &P, 0, false), &t, &mut out);
        assert_eq!(out[0].id, "product_inquiry");
    }
}
