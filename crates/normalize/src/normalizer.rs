//! The configured normaliser: runs the per-char folds of `fold.rs` over a text, drops noise,
//! collapses repeats and records a [`Span`] per output char.
//!
//! Everything here is 1 char → 0 or 1 char, which is what keeps the offset map a simple sorted
//! list of spans (and lets the entity extractor, which turns skipping and collapsing off, rely on
//! a 1:1 char mapping).

use crate::fold::{fold_case, fold_chinese, fold_chinese_main, fold_width, is_noise, may_fold};
use crate::text::{NormText, Span};

/// Which foldings run. `Options::default()` turns everything on (the guard's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Traditional → simplified and variant characters (妳→你, 吿→告).
    pub fold_chinese: bool,
    /// Full-width → half-width and digit styles (①, ２ → 1, 2).
    pub fold_width: bool,
    /// Lower-case letters and strip Latin diacritics (Ǐ, ǐ → i; é → e).
    pub fold_case: bool,
    /// Drop whitespace, punctuation, symbols, emoji, zero-width and control characters.
    pub skip_noise: bool,
    /// Collapse a run of the same (non-digit) char into one (催催催 → 催).
    pub collapse_repeats: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fold_chinese: true,
            fold_width: true,
            fold_case: true,
            skip_noise: true,
            collapse_repeats: true,
        }
    }
}

/// A configured normaliser. Cheap to copy; holds no buffers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Normalizer {
    opts: Options,
}

impl Normalizer {
    pub fn new() -> Self {
        Normalizer::default()
    }

    pub fn with_options(opts: Options) -> Self {
        Normalizer { opts }
    }

    pub fn options(&self) -> Options {
        self.opts
    }

    pub fn normalize(&self, input: &str) -> NormText {
        let mut out = NormText::default();
        self.normalize_into(input, &mut out);
        out
    }

    /// Normalises into `out`, reusing its buffers (no allocation once they are large enough).
    pub fn normalize_into(&self, input: &str, out: &mut NormText) {
        out.clear();
        // Folding keeps most chars at their UTF-8 length or shrinks them, so the input length is
        // a good first guess; `push` grows the rare text that gets longer.
        out.text.reserve(input.len());
        let collapse = self.opts.collapse_repeats;
        let mut last: Option<char> = None;
        // Offsets are u32 by the `Span` contract; wrapping keeps texts over 4 Gi chars panic-free.
        let mut next: u32 = 0;
        for c in input.chars() {
            let start = next;
            next = next.wrapping_add(1);
            let Some(f) = self.fold_char(c) else { continue };
            if collapse && last == Some(f) && !f.is_ascii_digit() {
                if let Some(span) = out.spans.last_mut() {
                    span.end = next;
                }
                continue;
            }
            out.spans.push(Span {
                byte: out.text.len() as u32,
                start,
                end: next,
            });
            out.text.push(f);
            last = Some(f);
        }
    }

    /// The normalised form of a phrasebook phrase (same foldings, no offsets).
    pub fn normalize_phrase(&self, phrase: &str) -> String {
        self.normalize(phrase).text
    }

    /// The fold of one char under these options: `None` if it is noise and `skip_noise` is on.
    /// Noise is judged on the folded char (Ⓐ → `a` survives when `fold_width` is on).
    #[inline]
    pub fn fold_char(&self, c: char) -> Option<char> {
        let u = c as u32;
        if u < 0x80 {
            if self.opts.skip_noise && is_noise(c) {
                return None;
            }
            return Some(if self.opts.fold_case {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
        if (0x4E00..=0x9FFF).contains(&u) {
            // CJK Unified Ideographs are never noise and only fold Chinese-wise.
            return Some(if self.opts.fold_chinese {
                fold_chinese_main(c)
            } else {
                c
            });
        }
        self.fold_other(c)
    }

    fn fold_other(&self, c: char) -> Option<char> {
        let mut f = c;
        if may_fold(c) {
            if self.opts.fold_width {
                f = fold_width(f);
            }
            if self.opts.fold_chinese {
                f = fold_chinese(f);
            }
            if self.opts.fold_case {
                f = fold_case(f);
            }
        }
        if self.opts.skip_noise && is_noise(f) {
            None
        } else {
            Some(f)
        }
    }
}

/// The fold of one char with all options on (the guard's setting): `None` for noise.
#[inline]
pub fn fold_char(c: char) -> Option<char> {
    Normalizer::new().fold_char(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counting global allocator would need `unsafe`, which the workspace forbids; stable
    /// buffer addresses and capacities show the same thing for the reuse path.
    #[test]
    fn normalize_into_does_not_reallocate_warm_buffers() {
        let n = Normalizer::new();
        let mut out = NormText::default();
        let long = "妳們這個ＶＩＰ服務態度很差！！😡催催催 order 1234 ".repeat(8);
        n.normalize_into(&long, &mut out);
        let before = (
            out.text.as_ptr(),
            out.text.capacity(),
            out.spans.as_ptr(),
            out.spans.capacity(),
        );
        for input in [long.as_str(), "你 去.告-啊😡", "", "ＡＢＣ１２３"] {
            n.normalize_into(input, &mut out);
            let after = (
                out.text.as_ptr(),
                out.text.capacity(),
                out.spans.as_ptr(),
                out.spans.capacity(),
            );
            assert_eq!(before, after, "{input:?}");
        }
    }
}
