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
//! Any surviving hit, or any `[urgent].patterns` match (patterns are never suppressed), makes the
//! turn urgent.

use crate::lexicon::{Hit, Tag};
use crate::turn::Turn;

/// How far (normalised bytes, ~6 CJK chars) a hypothetical marker reaches.
const HYPOTHETICAL_REACH: u32 = 18;

pub(crate) fn urgent(turn: &Turn<'_>) -> bool {
    if turn.loose.contains(&Tag::Urgent) {
        return true;
    }
    turn.hits
        .iter()
        .any(|h| h.tag == Tag::Urgent && !suppressed(turn, h))
}

fn suppressed(turn: &Turn<'_>, h: &Hit) -> bool {
    let allowed = turn
        .hits
        .iter()
        .any(|a| a.tag == Tag::UrgentAllow && a.start <= h.start && h.end <= a.end);
    if allowed || turn.negated(h) {
        return true;
    }
    let (start, _) = turn.orig(h);
    let clause = turn.surface.clause_of(start);
    let question = turn.surface.clause_is_question(clause);
    let same_clause = |x: &Hit| turn.surface.clause_of(turn.orig(x).0) == clause;
    let hypothetical = turn.hits.iter().any(|m| {
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
