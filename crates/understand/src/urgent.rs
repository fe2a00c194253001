//! Urgency (seed 004: safety first): injury, allergy, smoke/fire, electric shock, a child who
//! swallowed something… must jump the queue, so recall comes first and suppression is narrow.
//!
//! A trigger hit is suppressed only when
//! - it lies inside an `[urgent].allow` context of the book (防过敏), or
//! - a negator reaches it (没有过敏, 不会漏电吧), or
//! - it is a hypothetical product question: a hypothetical marker (会, 会不会, 是否, 容易…) shortly
//!   before it in the same clause, the clause ends as a question (吗/吧/？) or the marker asks by
//!   itself (会不会, 是否), and nothing in the clause says something happened (了, 已经, 刚才…). So 这个会漏电吗 (pre-purchase) is *not* urgent,
//!   while 用了一次就漏电了吗 and 孩子误食了零件 are.
//!
//! Urgent pattern matches are hits like words (see `lexicon`). Any surviving hit makes the turn
//! urgent. Every trigger belongs to an incident kind (`[[urgent.group]]` of the book); the turn
//! takes the most specific kind among its surviving hits (`UrgentKind::ALL` order), so
//! 孩子吞了珠子 现在在去医院 is `swallow_choke`, not the `other` of 去医院.

use huashu_phrasebook::UrgentKind;

use crate::builtin::{FILLER, Hypo};
use crate::lexicon::{Hit, Tag};
use crate::turn::Turn;

/// How far (normalised bytes, ~6 CJK chars) a hypothetical marker reaches.
const HYPOTHETICAL_REACH: u32 = 18;

/// The kind of the turn's urgency, `None` when it is not urgent.
pub(crate) fn urgent(turn: &Turn<'_>) -> Option<UrgentKind> {
    let mut best: Option<UrgentKind> = None;
    let keep = |best: &mut Option<UrgentKind>, k: UrgentKind| {
        if best.is_none_or(|b| k.specificity() < b.specificity()) {
            *best = Some(k);
        }
    };
    for t in turn.loose {
        if let Tag::UrgentPattern(k) = t {
            keep(&mut best, *k);
        }
    }
    for h in turn.hits {
        let (Tag::Urgent(k) | Tag::UrgentPattern(k)) = h.tag else {
            continue;
        };
        // Cheap check first: a hit cannot improve on a more specific kind already found.
        if best.is_some_and(|b| b.specificity() <= k.specificity()) {
            continue;
        }
        if !suppressed(turn, h) {
            keep(&mut best, k);
        }
    }
    best
}

fn suppressed(turn: &Turn<'_>, h: &Hit) -> bool {
    // A word must lie inside the allow context (防过敏); a pattern match spans context and
    // trigger, so the context must cover its end, where the trigger is (用了会不会过敏).
    let pattern = matches!(h.tag, Tag::UrgentPattern(_));
    let allowed = turn
        .starting_in(h.start.saturating_sub(crate::turn::LOOK_BACK), h.end)
        .iter()
        .any(|a| {
            a.tag == Tag::UrgentAllow
                && a.start < h.end
                && h.end <= a.end
                && (pattern || a.start <= h.start)
        });
    allowed || turn.negated(h) || (pattern && negated_inside(turn, h)) || hypothetical(turn, h)
}

/// Chars after a negator that make it no negation of what follows (不小心吞了, 不停地吐, 没多久就…).
const NOT_NEGATING: &[&str] = &["小心", "停", "断", "知道", "久", "到", "一会"];

/// Whether a pattern match's trigger (its end) is negated by a negator inside the match, at most
/// three content chars before the end (用了没有过敏, 涂了以后不刺痛, 没有再红肿).
fn negated_inside(turn: &Turn<'_>, h: &Hit) -> bool {
    let text = turn.text();
    turn.starting_in(h.start, h.end).iter().any(|n| {
        if n.tag != Tag::Negator
            || n.end >= h.end
            || turn.contained(n, |t| !matches!(t, Tag::UrgentPattern(_)))
        {
            return false;
        }
        let Some(gap) = text.get(n.end as usize..h.end as usize) else {
            return false;
        };
        if NOT_NEGATING.iter().any(|w| gap.starts_with(w)) {
            return false;
        }
        let content = gap.chars().filter(|c| !FILLER.contains(*c)).count();
        let (_, neg_end) = turn.orig(n);
        let (_, end) = turn.orig(h);
        content <= 3 && !turn.surface.break_between(neg_end, end.saturating_sub(1))
    })
}

/// Whether `h` is asked about as a possibility (这个会漏电吗, 会不会过敏, 怕他吞下去) rather than
/// reported: a hypothetical marker shortly before its trigger in the same clause — for a pattern
/// match the marker may sit inside the match (宝宝一岁半怕他吞, 吃了会不会拉肚子), since the
/// trigger is at its end — the clause a question unless the marker asks or worries by itself
/// (会不会, 怕, 担心, 万一), and nothing after the marker saying it happened. A 了 before the
/// marker is part of a condition (吃了会不会拉肚子); after a supposition (万一…了) only
/// 已经/刚才… count.
pub(crate) fn hypothetical(turn: &Turn<'_>, h: &Hit) -> bool {
    let pattern = matches!(h.tag, Tag::UrgentPattern(_));
    // The trigger: a word is all trigger; a pattern's trigger ends the match.
    let anchor = if pattern {
        h.end.saturating_sub(3).max(h.start)
    } else {
        h.start
    };
    let (start, end) = turn.orig(h);
    let clause = turn.surface.clause_of(if pattern {
        end.saturating_sub(1).max(start)
    } else {
        start
    });
    let question = turn.surface.clause_is_question(clause);
    let same_clause = |x: &Hit| turn.surface.clause_of(turn.orig(x).0) == clause;
    let reach = h.start.min(anchor).saturating_sub(HYPOTHETICAL_REACH + 12);
    let text = turn.text();
    turn.starting_in(reach, anchor).iter().any(|m| {
        let Tag::Hypothetical(kind) = m.tag else {
            return false;
        };
        let asks = kind != Hypo::Ask;
        if !((asks || question)
            && m.end <= anchor
            && anchor - m.end <= HYPOTHETICAL_REACH
            && same_clause(m))
        {
            return false;
        }
        let le = |p: &Hit| text.get(p.start as usize..p.end as usize) == Some("了");
        // A 了 followed by another marker before the trigger is part of a condition too
        // (担心用了会起疹子).
        let conditional = |p: &Hit| {
            turn.starting_in(p.end, anchor).iter().any(|m2| {
                matches!(m2.tag, Tag::Hypothetical(_)) && m2.end <= anchor && same_clause(m2)
            })
        };
        let happened = turn.hits.iter().any(|p| {
            p.tag == Tag::Past
                && p.start >= m.end
                && same_clause(p)
                && !(p.start >= h.start && p.end <= h.end)
                && !(le(p) && (kind == Hypo::Conditional || conditional(p)))
        });
        !happened
    })
}
