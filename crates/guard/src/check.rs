//! Scanning one text: normalise, run the automaton, run triggered regexes, filter, map back.

use std::cell::RefCell;

use huashu_normalize::{NormText, Span};
use huashu_phrasebook::Position;

use crate::compile::{Guard, Target};

/// One forbidden hit: `rule` indexes [`Guard::rules`]; `start`/`end` are char offsets in the
/// original text (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// Reusable buffers for [`Guard::check_with`]; one per thread is plenty.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: NormText,
    /// Candidates: (rule, normalised byte start, normalised byte end).
    cands: Vec<(u32, u32, u32)>,
    /// Bitset of regexes whose prefix occurred.
    triggered: Vec<u64>,
    /// The original text as chars, built only when an allow-context needs it.
    orig: Vec<char>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Sentence-ending punctuation: an allow-context does not reach across it.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '。' | '！' | '？' | '!' | '?' | '；' | ';' | '\n' | '\r' | '…' | '～' | '~'
    )
}

impl Guard {
    /// The forbidden hits of `text`, ordered by start.
    pub fn check(&self, text: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => self.check_with(text, &mut scratch, &mut out),
            Err(_) => self.check_with(text, &mut Scratch::default(), &mut out),
        });
        out
    }

    /// Like [`Guard::check`], with caller-owned buffers; appends to `out`.
    pub fn check_with(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        let Scratch {
            norm,
            cands,
            triggered,
            orig,
        } = scratch;
        self.normalizer.normalize_into(text, norm);
        cands.clear();
        triggered.clear();
        triggered.resize(self.regexes.len().div_ceil(64), 0);
        orig.clear();
        let hay = norm.as_str();
        if hay.is_empty() {
            return;
        }

        let mut any_trigger = false;
        self.matcher.for_each(hay, |pattern, s, e| {
            let (lo, hi) = self.target_ranges[pattern];
            for t in &self.targets[lo as usize..hi as usize] {
                match *t {
                    Target::Phrase { rule, boundary } => {
                        if !boundary || bounded(norm.spans(), s, e) {
                            cands.push((rule, s as u32, e as u32));
                        }
                    }
                    Target::Trigger { regex } => {
                        triggered[regex as usize / 64] |= 1 << (regex % 64);
                        any_trigger = true;
                    }
                }
            }
        });
        if any_trigger || !self.always.is_empty() {
            for (id, rx) in self.regexes.iter().enumerate() {
                let fired = triggered[id / 64] & (1 << (id % 64)) != 0;
                if !fired && !self.always.contains(&(id as u32)) {
                    continue;
                }
                for m in rx.re.find_iter(hay) {
                    if m.start() == m.end() {
                        continue;
                    }
                    let rule = rx.rule as usize;
                    if self.data[rule].boundary && !bounded(norm.spans(), m.start(), m.end()) {
                        continue;
                    }
                    cands.push((rx.rule, m.start() as u32, m.end() as u32));
                }
            }
        }
        if cands.is_empty() {
            return;
        }

        // Same rule, overlapping candidates → one hit over their union.
        cands.sort_unstable();
        let first_out = out.len();
        let mut i = 0;
        while i < cands.len() {
            let (rule, s, mut e) = cands[i];
            let mut j = i + 1;
            while j < cands.len() && cands[j].0 == rule && cands[j].1 < e {
                e = e.max(cands[j].2);
                j += 1;
            }
            i = j;
            let (s, e) = (s as usize, e as usize);
            let data = &self.data[rule as usize];
            if data.position == Position::Start && s != 0 {
                continue;
            }
            if data
                .allow
                .iter()
                .any(|a| allowed(hay, a, s, e, norm, text, orig))
            {
                continue;
            }
            let (start, end) = norm.orig_range(s, e);
            out.push(Hit {
                rule: rule as usize,
                start,
                end,
            });
        }
        out[first_out..].sort_unstable_by_key(|h| (h.start, h.end, h.rule));
    }
}

/// Index of the normalised char starting at byte `b`.
fn span_index(spans: &[Span], b: usize) -> usize {
    spans.partition_point(|s| (s.byte as usize) < b)
}

/// True when the match `[s, e)` has no letter or digit right next to it in the original text:
/// normalised neighbours that were adjacent in the original are letters/digits by construction.
fn bounded(spans: &[Span], s: usize, e: usize) -> bool {
    let first = span_index(spans, s);
    let last = span_index(spans, e).saturating_sub(1);
    let (Some(f), Some(l)) = (spans.get(first), spans.get(last)) else {
        return true;
    };
    let before_ok = first == 0 || spans[first - 1].end < f.start;
    let after_ok = spans.get(last + 1).is_none_or(|n| n.start > l.end);
    before_ok && after_ok
}

/// True when an occurrence of the allow-context `a` covers `[s, e)` without crossing a
/// sentence break in the original text.
fn allowed(
    hay: &str,
    a: &str,
    s: usize,
    e: usize,
    norm: &NormText,
    text: &str,
    orig: &mut Vec<char>,
) -> bool {
    if a.len() < e - s {
        return false;
    }
    let mut lo = e.saturating_sub(a.len());
    while !hay.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (s + a.len()).min(hay.len());
    while !hay.is_char_boundary(hi) {
        hi += 1;
    }
    let window = &hay[lo..hi];
    let mut from = 0;
    while let Some(p) = window[from..].find(a) {
        let abs = lo + from + p;
        if abs <= s && abs + a.len() >= e && !crosses_break(norm, abs, abs + a.len(), text, orig) {
            return true;
        }
        from += p + window[from + p..].chars().next().map_or(1, char::len_utf8);
        if from >= window.len() {
            break;
        }
    }
    false
}

fn crosses_break(norm: &NormText, s: usize, e: usize, text: &str, orig: &mut Vec<char>) -> bool {
    let spans = norm.spans();
    let first = span_index(spans, s);
    let last = span_index(spans, e);
    for k in first..last.saturating_sub(1) {
        let (gap_start, gap_end) = (spans[k].end as usize, spans[k + 1].start as usize);
        if gap_end > gap_start {
            if orig.is_empty() {
                orig.extend(text.chars());
            }
            if orig[gap_start..gap_end.min(orig.len())]
                .iter()
                .any(|&c| is_break(c))
            {
                return true;
            }
        }
    }
    false
}
