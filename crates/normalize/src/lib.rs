//! Maps chat text to a matching form while remembering where every matching char came from.
//!
//! PLACEHOLDER IMPLEMENTATION: the API is final, the body is being replaced (tables for
//! traditional → simplified, variants, digits, noise classes).

/// Which foldings run. `Options::default()` turns everything on (the guard's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Traditional → simplified and variant characters (妳→你, 吿→告).
    pub fold_chinese: bool,
    /// Full-width → half-width and digit styles (①, ２ → 1, 2).
    pub fold_width: bool,
    /// Lower-case letters.
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

/// Where one char of the normalised text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of this char in the normalised text.
    pub byte: u32,
    /// Original char offset of the first source char (inclusive).
    pub start: u32,
    /// Original char offset after the last source char (exclusive); > start + 1 for collapsed runs.
    pub end: u32,
}

/// Normalised text plus its map back to the original.
#[derive(Debug, Clone, Default)]
pub struct NormText {
    text: String,
    spans: Vec<Span>,
}

impl NormText {
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }
    /// Original char range `[start, end)` covered by normalised bytes `[byte_start, byte_end)`.
    /// Both must be char boundaries of the normalised text and `byte_start < byte_end`.
    pub fn orig_range(&self, byte_start: usize, byte_end: usize) -> (usize, usize) {
        let first = self.spans.partition_point(|s| (s.byte as usize) < byte_start);
        let last = self.spans.partition_point(|s| (s.byte as usize) < byte_end);
        let first = first.min(self.spans.len().saturating_sub(1));
        let last = last.saturating_sub(1).max(first);
        (
            self.spans[first].start as usize,
            self.spans[last].end as usize,
        )
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
        let mut last: Option<char> = None;
        for (i, c) in input.chars().enumerate() {
            let i = i as u32;
            if self.opts.skip_noise && is_noise(c) {
                continue;
            }
            let f = if self.opts.fold_case { c.to_ascii_lowercase() } else { c };
            if self.opts.collapse_repeats && last == Some(f) && !f.is_ascii_digit() {
                if let Some(s) = out.spans.last_mut() {
                    s.end = i + 1;
                }
                continue;
            }
            out.spans.push(Span { byte: out.text.len() as u32, start: i, end: i + 1 });
            out.text.push(f);
            last = Some(f);
        }
    }
    /// The normalised form of a phrasebook phrase (same foldings, no offsets).
    pub fn normalize_phrase(&self, phrase: &str) -> String {
        self.normalize(phrase).text
    }
}

/// Whitespace, punctuation, symbols, emoji, zero-width and control characters.
pub fn is_noise(c: char) -> bool {
    !c.is_alphanumeric()
}
