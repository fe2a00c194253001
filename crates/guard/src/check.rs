//! Scanning one text: normalise, run the automaton, run triggered regexes, filter, map back.

use std::cell::RefCell;

use huashu_normalize::{NormText, Span};
use huashu_phrasebook::Position;

use crate::alias::{self, Kind};
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
    /// The alternate (pinyin/homophone) reading of `norm`, when it has one, and its char kinds.
    alt: NormText,
    kinds: Vec<Kind>,
    /// Hits found only in the alternate reading, before they are filtered.
    alt_hits: Vec<Hit>,
    bufs: Bufs,
}

/// Buffers of one scan.
#[derive(Debug, Default)]
struct Bufs {
    /// Candidates: (rule, normalised byte start, normalised byte end).
    cands: Vec<(u32, u32, u32)>,
    /// Per regex: the normalised byte offset of the first occurrence of one of its literal
    /// prefixes (0 for regexes that always run), `u32::MAX` when it need not run.
    first_at: Vec<u32>,
    /// The original text as chars, built only when an allow-context or a sentence split needs it.
    orig: Vec<char>,
    /// Normalised byte offsets where a sentence ends, plus the text length; built only when a
    /// per-sentence (`(?m)`) regex has to run.
    sentences: Vec<usize>,
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
            alt,
            kinds,
            alt_hits,
            bufs,
        } = scratch;
        self.normalizer.normalize_into(text, norm);
        let first_out = out.len();
        self.scan(text, norm, bufs, out);
        // Pinyin and homophone spellings: one more scan, only for drafts that hold them.
        if !self.readings.worth_reading(norm.as_str()) || !self.readings.read(norm, alt, kinds) {
            return;
        }
        alt_hits.clear();
        self.scan(text, alt, bufs, alt_hits);
        let found = out.len();
        for h in alt_hits.iter() {
            let known = out[first_out..found]
                .iter()
                .any(|k| k.rule == h.rule && k.start < h.end && h.start < k.end);
            let covered = alt
                .spans()
                .iter()
                .zip(kinds.iter())
                .filter(|(s, _)| s.start as usize >= h.start && s.end as usize <= h.end)
                .map(|(_, &k)| k);
            if !known && alias::accept(covered) {
                out.push(*h);
            }
        }
        if out.len() > found {
            out[first_out..].sort_unstable_by_key(|h| (h.start, h.end, h.rule));
        }
    }

    /// One scan of a normalised text (`norm` of `text`, or its alternate reading).
    fn scan(&self, text: &str, norm: &NormText, bufs: &mut Bufs, out: &mut Vec<Hit>) {
        let Bufs {
            cands,
            first_at,
            orig,
            sentences,
        } = bufs;
        cands.clear();
        first_at.clear();
        first_at.resize(self.regexes.len(), u32::MAX);
        for &id in &self.always {
            first_at[id as usize] = 0;
        }
        orig.clear();
        sentences.clear();
        let hay = norm.as_str();
        if hay.is_empty() {
            return;
        }

        let mut any_trigger = !self.always.is_empty();
        self.matcher.for_each(hay, |pattern, s, e| {
            let (lo, hi) = self.target_ranges[pattern];
            for t in &self.targets[lo as usize..hi as usize] {
                match *t {
                    Target::Phrase { rule, boundary } => {
                        if !boundary || bounded(norm.spans(), hay, s, e) {
                            cands.push((rule, s as u32, e as u32));
                        }
                    }
                    Target::Trigger { regex } => {
                        let f = &mut first_at[regex as usize];
                        *f = (*f).min(s as u32);
                        any_trigger = true;
                    }
                }
            }
        });
        if any_trigger {
            for (rx, &start) in self.regexes.iter().zip(first_at.iter()) {
                if start == u32::MAX {
                    continue;
                }
                // Every match begins with one of the prefixes, so none starts before the first
                // one; `find_at` still sees the text before `start` for anchors.
                let start = start as usize;
                let rule = rx.rule as usize;
                let mut push = |s: usize, e: usize| {
                    if s < e && (!self.data[rule].boundary || bounded(norm.spans(), hay, s, e)) {
                        cands.push((rx.rule, s as u32, e as u32));
                    }
                };
                if rx.per_sentence {
                    if sentences.is_empty() {
                        sentence_ends(norm, text, orig, sentences);
                    }
                    let mut from = 0;
                    for &to in sentences.iter() {
                        if to > start {
                            let sentence = &hay[from..to];
                            let mut at = start.saturating_sub(from);
                            while let Some(m) = rx.re.find_at(sentence, at) {
                                push(from + m.start(), from + m.end());
                                at = next_search(sentence, m.start(), m.end());
                                if at > sentence.len() {
                                    break;
                                }
                            }
                        }
                        from = to;
                    }
                } else {
                    let mut at = start;
                    while let Some(m) = rx.re.find_at(hay, at) {
                        push(m.start(), m.end());
                        at = next_search(hay, m.start(), m.end());
                        if at > hay.len() {
                            break;
                        }
                    }
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

/// Where to look for the next match after `[s, e)`: right after it, or one char further for an
/// empty match (past the end of `hay` when there is nothing left).
fn next_search(hay: &str, s: usize, e: usize) -> usize {
    if e > s {
        e
    } else {
        e + hay[e..].chars().next().map_or(1, char::len_utf8)
    }
}

/// True when the match `[s, e)` has no word char right next to it in the original text.
/// Normalised neighbours that were adjacent in the original are letters/digits by construction;
/// Chinese is written without spaces, so for a Latin match (sb, tmd) only an adjacent ASCII
/// letter or digit joins the words (你sb吧 is bounded, jsb is not), while for a Chinese match
/// any adjacent letter does (滚 in 滚筒 is not bounded).
fn bounded(spans: &[Span], hay: &str, s: usize, e: usize) -> bool {
    let first = span_index(spans, s);
    let last = span_index(spans, e).saturating_sub(1);
    let (Some(f), Some(l)) = (spans.get(first), spans.get(last)) else {
        return true;
    };
    let char_at = |b: u32| hay[b as usize..].chars().next().unwrap_or(' ');
    let joins =
        |inner: char, outer: char| !inner.is_ascii_alphanumeric() || outer.is_ascii_alphanumeric();
    let before_ok = first == 0 || {
        let p = &spans[first - 1];
        p.end < f.start || !joins(char_at(f.byte), char_at(p.byte))
    };
    let after_ok = spans
        .get(last + 1)
        .is_none_or(|n| n.start > l.end || !joins(char_at(l.byte), char_at(n.byte)));
    before_ok && after_ok
}

/// True when an occurrence of the allow-context `a` either covers `[s, e)`, or starts before `s`
/// and reaches into the hit (a left context: 帮您 + 催什么, 您 + 都说几遍了, 不是 + 您自己操作不当),
/// without crossing a sentence break in the original text.
fn allowed(
    hay: &str,
    a: &str,
    s: usize,
    e: usize,
    norm: &NormText,
    text: &str,
    orig: &mut Vec<char>,
) -> bool {
    let mut lo = s.saturating_sub(a.len());
    while !hay.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (s + a.len()).min(hay.len());
    while !hay.is_char_boundary(hi) {
        hi += 1;
    }
    // An occurrence can only start in `[lo, s]`: comparing bytes at each start is cheaper than
    // building a substring searcher per call for such short windows.
    let needle = a.as_bytes();
    let bytes = hay.as_bytes();
    for abs in lo..=s {
        let end = abs + needle.len();
        if end > hi || !hay.is_char_boundary(abs) || &bytes[abs..end] != needle {
            continue;
        }
        let covers = abs == s && end >= e;
        let left_context = abs < s && end > s;
        if (covers || left_context) && !crosses_break(norm, abs, end, text, orig) {
            return true;
        }
    }
    false
}

/// Fills `ends` with the normalised byte offset after each sentence (the last one is the text
/// length): a sentence ends where the original text has sentence-ending punctuation between two
/// normalised chars.
fn sentence_ends(norm: &NormText, text: &str, orig: &mut Vec<char>, ends: &mut Vec<usize>) {
    let spans = norm.spans();
    for k in 1..spans.len() {
        let (gap_start, gap_end) = (spans[k - 1].end as usize, spans[k].start as usize);
        if gap_end > gap_start {
            if orig.is_empty() {
                orig.extend(text.chars());
            }
            if orig[gap_start.min(orig.len())..gap_end.min(orig.len())]
                .iter()
                .any(|&c| is_break(c))
            {
                ends.push(spans[k].byte as usize);
            }
        }
    }
    ends.push(norm.as_str().len());
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
