//! One turn as the scorers see it: the normalised text, the lexicon hits, the regex tags and the
//! surface cues, plus the two questions several scorers ask — is this hit negated, and how much do
//! modifiers scale it.

use huashu_normalize::NormText;

use crate::builtin::FILLER;
use crate::lexicon::{Hit, Tag};
use crate::surface::Surface;

/// How far (in normalised chars) a negator reaches: 不是很急, 一点都不生气.
const NEGATION_WINDOW: usize = 4;
/// Light verbs a negator reaches across to its object: 不用找领导, 没去投诉, 不想给差评.
const NEG_VERBS: &str = "找叫让转去给打写留";
/// How far a modifier reaches: 非常(地)生气.
const MODIFIER_WINDOW: usize = 2;
/// Bytes before a word in which its negators, modifiers and containing entries can start: the
/// window plus a long negator/modifier (4 chars each, 4 bytes a char) — and literals longer than
/// this never contain others in practice. Bounding the look-back keeps every per-hit question
/// O(hits nearby), so hostile input with thousands of hits stays linear.
pub(crate) const LOOK_BACK: u32 = 64;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Turn<'a> {
    pub norm: &'a NormText,
    pub hits: &'a [Hit],
    /// Evidence without a position: matching patterns, symbol literals (emoji).
    pub loose: &'a [Tag],
    pub surface: &'a Surface,
    /// Symbol-literal (emoji…) hits among `loose`.
    pub symbol_hits: u32,
}

impl Turn<'_> {
    pub(crate) fn text(&self) -> &str {
        self.norm.as_str()
    }

    /// The hits starting in normalised bytes `[from, to)` (hits are sorted by start).
    pub(crate) fn starting_in(&self, from: u32, to: u32) -> &[Hit] {
        let lo = self.hits.partition_point(|h| h.start < from);
        let hi = self.hits.partition_point(|h| h.start < to);
        self.hits.get(lo..hi.max(lo)).unwrap_or(&[])
    }

    /// The hits that may precede or contain `h`: starting at most [`LOOK_BACK`] bytes before it,
    /// up to its own start.
    pub(crate) fn near_before(&self, h: &Hit) -> &[Hit] {
        self.starting_in(h.start.saturating_sub(LOOK_BACK), h.start + 1)
    }

    /// Original char range of a hit.
    pub(crate) fn orig(&self, h: &Hit) -> (u32, u32) {
        let (a, b) = self.norm.orig_range(h.start as usize, h.end as usize);
        (a as u32, b as u32)
    }

    /// Whether `before` (ending at or before `word` starts) reaches `word`: the normalised chars
    /// between them are at most `window`, all fillers or covered by modifier hits, and no clause
    /// break lies between them in the original.
    fn reaches(&self, before: &Hit, word: &Hit, window: usize) -> bool {
        self.reaches_over(before, word, window, "")
    }

    /// [`Turn::reaches`], also letting the chars of `extra` sit in between.
    fn reaches_over(&self, before: &Hit, word: &Hit, window: usize, extra: &str) -> bool {
        if before.end > word.start {
            return false;
        }
        let Some(gap) = self.text().get(before.end as usize..word.start as usize) else {
            return false;
        };
        let mut n = 0;
        for (off, c) in gap.char_indices() {
            n += 1;
            if n > window {
                return false;
            }
            let at = before.end + off as u32;
            let covered = FILLER.contains(c)
                || extra.contains(c)
                || self.near_before(word).iter().any(|m| {
                    m.tag.is_modifier() && m.start <= at && at + c.len_utf8() as u32 <= m.end
                });
            if !covered {
                return false;
            }
        }
        let (_, neg_end) = self.orig(before);
        let (word_start, _) = self.orig(word);
        !self.surface.break_between(neg_end, word_start)
    }

    /// Whether a negator reaches `word` (我不生气, 不是很急, 没有不满意). A negator inside a
    /// longer lexicon entry is part of that word, not a negation: 非 in 非常, 不 in 不理人 or
    /// 会不会 (an urgent pattern's match spans whole phrases and is no such entry).
    pub(crate) fn negated(&self, word: &Hit) -> bool {
        self.near_before(word).iter().any(|h| {
            h.tag == Tag::Negator
                && self.reaches_over(h, word, NEGATION_WINDOW, NEG_VERBS)
                && !self.contained(h, |t| !matches!(t, Tag::UrgentPattern(_)))
        })
    }

    /// Product of the intensifiers/diminishers that reach `word`, clamped to [0.3, 2.5].
    pub(crate) fn multiplier(&self, word: &Hit) -> f32 {
        let mut m = 1.0f32;
        for h in self.near_before(word) {
            let f = match h.tag {
                Tag::Intensifier(f) => f,
                // 一点都不急, 一点也不生气: "a little" before 都/也 and a negation is "not at
                // all", an emphatic negation, not a diminisher.
                Tag::Diminisher(_) if self.emphatic(h) => continue,
                Tag::Diminisher(f) => f,
                _ => continue,
            };
            if h.end <= word.start && self.reaches(h, word, MODIFIER_WINDOW) {
                m *= f;
            }
        }
        m.clamp(0.3, 2.5)
    }

    /// Whether the diminisher `h` is followed by 都/也 (一点都不, 一点也没): emphasis.
    fn emphatic(&self, h: &Hit) -> bool {
        let rest = self.text().get(h.end as usize..).unwrap_or("");
        matches!(rest.chars().next(), Some('都' | '也'))
    }

    /// Whether `h` lies strictly inside a longer hit accepted by `same`.
    pub(crate) fn contained(&self, h: &Hit, same: impl Fn(&Tag) -> bool) -> bool {
        self.near_before(h).iter().any(|g| {
            same(&g.tag)
                && g.start <= h.start
                && h.end <= g.end
                && (g.end - g.start) > (h.end - h.start)
        })
    }
}
