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
//! urgent.

use crate::lexicon::{Hit, Tag};
use crate::turn::Turn;

/// How far (normalised bytes, ~6 CJK chars) a hypothetical marker reaches.
const HYPOTHETICAL_REACH: u32 = 18;

pub(crate) fn urgent(turn: &Turn<'_>) -> bool {
    if turn.loose.contains(&Tag::UrgentPattern) {
        return true;
    }
    turn.hits
        .iter()
        .any(|h| matches!(h.tag, Tag::Urgent | Tag::UrgentPattern) && !suppressed(turn, h))
}

fn suppressed(turn: &Turn<'_>, h: &Hit) -> bool {
    // A word must lie inside the allow context (防过敏); a pattern match spans context and
    // trigger, so the context must cover its end, where the trigger is (用了会不会过敏).
    let pattern = h.tag == Tag::UrgentPattern;
    let allowed = turn
        .starting_in(h.start.saturating_sub(64), h.end)
        .iter()
        .any(|a| {
            a.tag == Tag::UrgentAllow
                && a.start < h.end
                && h.end <= a.end
                && (pattern || a.start <= h.start)
        });
    if allowed || turn.negated(h) {
        return true;
    }
    let (start, _) = turn.orig(h);
    let clause = turn.surface.clause_of(start);
    let question = turn.surface.clause_is_question(clause);
    let same_clause = |x: &Hit| turn.surface.clause_of(turn.orig(x).0) == clause;
    let reach = h.start.saturating_sub(HYPOTHETICAL_REACH + 12);
    let hypothetical = turn.starting_in(reach, h.start).iter().any(|m| {
        let Tag::Hypothetical { question: asks } = m.tag else {
            return false;
        };
        (asks || question)
            && m.end <= h.start
            && h.start - m.end <= HYPOTHETICAL_REACH
            && same_clause(m)
    });
    let happened = turn
        .hits
        .iter()
        .any(|m| m.tag == Tag::Past && same_clause(m));
    hypothetical && !happened
}
