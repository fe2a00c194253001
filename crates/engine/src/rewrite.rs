//! Whole-draft rewrites: the agent's draft with every clause that holds a block/warn hit replaced
//! by that rule's standard-phrase rewrite, checked again until it is clean.
//!
//! Why whole clauses: swapping only the matched words for a whole sentence leaves the insult's
//! tail and the agent's half sentence around it ("你非常抱歉给您带来不便，…上哪告"). A clause (the
//! text between two punctuation marks or spaces of the original) is the smallest unit that still
//! reads as one thought, so it is what gets replaced; every other clause keeps the agent's words
//! in their order. A hit that runs across punctuation ("你，去，告") takes all the clauses it
//! touches. A draft without any punctuation is one clause.
//!
//! The result is checked with the same guard. A hit that appears only after the rewrite (a join
//! of two clauses, a per-sentence pattern) gets its clause replaced in the next round; a rule whose
//! rewrite itself trips a rule is dropped, and after a few rounds the first clean rewrite of the
//! draft's rules alone is used. `huashu lint` keeps every shipped rewrite clean on its own, so the
//! fallback always exists for a published book.

use std::collections::HashSet;

use huashu_guard::{Guard, Hit};
use huashu_normalize::Normalizer;
use huashu_phrasebook::Severity;

/// Rounds of "rewrite, check again" before falling back to one rule's rewrite alone.
const MAX_ROUNDS: usize = 4;

/// Chars that end a clause: sentence and clause punctuation, whitespace, and the non-ASCII
/// symbols and emoji chat writers end a clause with ("好的😊"). ASCII symbols (`.` `-` `/`) stay
/// inside a clause: they join model numbers, decimals and URLs.
fn is_delim(c: char) -> bool {
    c.is_whitespace()
        || (!c.is_ascii() && huashu_normalize::is_noise(c))
        || matches!(
            c,
            '。' | '！'
                | '？'
                | '!'
                | '?'
                | '；'
                | ';'
                | '…'
                | '～'
                | '~'
                | '，'
                | ','
                | '、'
                | '：'
                | ':'
                | '｡'
                | '､'
        )
}

/// What produced one stretch of the rewritten text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Clause(usize),
    Rule(usize),
}

/// What becomes of one clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Keep,
    Rule(usize),
    /// Every rule that could replace it trips a rule itself.
    Drop,
}

/// One clause of the original: chars `[start, body_end)` are its words, `[body_end, end)` the
/// punctuation/space after them.
#[derive(Debug, Clone, Copy)]
struct Clause {
    start: usize,
    body_end: usize,
    end: usize,
}

fn clauses(chars: &[char]) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && !is_delim(chars[i]) {
            i += 1;
        }
        let body_end = i;
        while i < chars.len() && is_delim(chars[i]) {
            i += 1;
        }
        out.push(Clause {
            start,
            body_end,
            end: i,
        });
    }
    out
}

fn serious(guard: &Guard, hits: &[Hit]) -> Vec<Hit> {
    hits.iter()
        .copied()
        .filter(|h| guard.rules()[h.rule].severity >= Severity::Warn)
        .collect()
}

/// The rewritten draft, or `None` when `hits` holds no block/warn hit (or, for a book whose own
/// rewrites trip its rules, when no clean text could be made).
pub(crate) fn rewrite(guard: &Guard, text: &str, hits: &[Hit]) -> Option<String> {
    let first = serious(guard, hits);
    if first.is_empty() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let clauses = clauses(&chars);
    let mut replace = vec![Choice::Keep; clauses.len()];
    // Per clause: rules that may replace it, strongest first (the next is used when one fails).
    let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); clauses.len()];
    let mut banned: HashSet<usize> = HashSet::new();
    let normalizer = Normalizer::new();

    let strength = |h: &Hit| {
        let r = &guard.rules()[h.rule];
        (r.severity, h.end - h.start)
    };
    let mut by_strength = first.clone();
    by_strength.sort_by(|a, b| strength(b).cmp(&strength(a)).then(a.start.cmp(&b.start)));
    for h in &by_strength {
        // Clauses are sorted and disjoint: start at the first one that ends after the hit starts.
        let first = clauses.partition_point(|c| c.end <= h.start);
        for (ci, c) in clauses.iter().enumerate().skip(first) {
            if c.start >= h.end {
                break;
            }
            if !candidates[ci].contains(&h.rule) {
                candidates[ci].push(h.rule);
            }
        }
    }
    for (choice, cands) in replace.iter_mut().zip(&candidates) {
        if let Some(&r) = cands.first() {
            *choice = Choice::Rule(r);
        }
    }

    for _ in 0..MAX_ROUNDS {
        let (out, segments) = assemble(guard, &chars, &clauses, &replace, &normalizer);
        let again = serious(guard, &guard.check(&out));
        if again.is_empty() {
            return Some(out);
        }
        for h in &again {
            let first = segments.partition_point(|&(_, e, _)| e <= h.start);
            for &(s, _, src) in &segments[first..] {
                if s >= h.end {
                    break;
                }
                match src {
                    Source::Clause(ci) => {
                        if !candidates[ci].contains(&h.rule) {
                            candidates[ci].push(h.rule);
                        }
                    }
                    Source::Rule(r) => {
                        banned.insert(r);
                    }
                }
            }
        }
        for (choice, cands) in replace.iter_mut().zip(&candidates) {
            if !cands.is_empty() {
                *choice = cands
                    .iter()
                    .find(|r| !banned.contains(r))
                    .map_or(Choice::Drop, |&r| Choice::Rule(r));
            }
        }
    }
    // Fallback: the strongest rule's rewrite alone that is clean.
    let mut tried = HashSet::new();
    by_strength.iter().find_map(|h| {
        let r = &guard.rules()[h.rule].rewrite;
        (tried.insert(h.rule) && !r.trim().is_empty() && serious(guard, &guard.check(r)).is_empty())
            .then(|| r.clone())
    })
}

/// Builds the text for the current choice; returns it with the char ranges each source produced.
fn assemble(
    guard: &Guard,
    chars: &[char],
    clauses: &[Clause],
    replace: &[Choice],
    normalizer: &Normalizer,
) -> (String, Vec<(usize, usize, Source)>) {
    let mut out = String::with_capacity(chars.len() * 4);
    let mut len = 0usize;
    let mut segments = Vec::new();
    let mut emitted_rules: HashSet<usize> = HashSet::new();
    let mut emitted_sentences: HashSet<String> = HashSet::new();
    let push = |out: &mut String, len: &mut usize, s: &str| {
        out.push_str(s);
        *len += s.chars().count();
    };
    for (ci, c) in clauses.iter().enumerate() {
        match replace[ci] {
            Choice::Keep => {
                let s: String = chars[c.start..c.end].iter().collect();
                let from = len;
                push(&mut out, &mut len, &s);
                segments.push((from, len, Source::Clause(ci)));
            }
            choice => {
                if let Choice::Rule(rule) = choice
                    && emitted_rules.insert(rule)
                {
                    let from = len;
                    for sentence in sentences(&guard.rules()[rule].rewrite) {
                        let key = normalizer.normalize_phrase(sentence);
                        if key.is_empty() || emitted_sentences.insert(key) {
                            push(&mut out, &mut len, sentence);
                        }
                    }
                    if len > from {
                        segments.push((from, len, Source::Rule(rule)));
                    }
                }
                // Keep a line break that ended the replaced clause.
                if chars[c.body_end..c.end].contains(&'\n') && !out.ends_with('\n') {
                    push(&mut out, &mut len, "\n");
                }
            }
        }
    }
    // A clause mark left dangling at the end by a dropped clause reads as an unfinished sentence.
    let trimmed = out.trim_end_matches(['，', ',', '、', '：', ':', ' ']);
    if trimmed.len() != out.len() && !trimmed.is_empty() {
        let ended = chars
            .iter()
            .rev()
            .find(|c| !c.is_whitespace())
            .is_some_and(|&c| matches!(c, '，' | ',' | '、' | '：' | ':'));
        if !ended {
            let mut t = trimmed.to_string();
            if !t.ends_with(['。', '！', '？', '!', '?', '\n']) {
                t.push('。');
            }
            out = t;
        }
    }
    (out, segments)
}

/// The sentences of a rewrite, each with its closing punctuation.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = rest
            .char_indices()
            .find(|&(_, c)| matches!(c, '。' | '！' | '？' | '!' | '?'))
            .map_or(rest.len(), |(i, c)| i + c.len_utf8());
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_their_punctuation() {
        let s: Vec<_> = sentences("抱歉。请稍等！好吗").collect();
        assert_eq!(s, ["抱歉。", "请稍等！", "好吗"]);
    }

    #[test]
    fn clauses_split_on_punctuation_and_spaces() {
        let chars: Vec<char> = "亲，你去告 好。".chars().collect();
        let c = clauses(&chars);
        let bodies: Vec<String> = c
            .iter()
            .map(|c| chars[c.start..c.body_end].iter().collect())
            .collect();
        assert_eq!(bodies, ["亲", "你去告", "好"]);
        assert_eq!(c.last().map(|c| c.end), Some(chars.len()));
    }
}
