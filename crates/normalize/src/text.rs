//! The normaliser's output: the matching form of a text plus, for every char of it, where it came
//! from in the original. Kept apart from the folding so that matchers can depend on the offset
//! mapping without caring how the text was produced.

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
///
/// Invariants: one `Span` per char of the text, in order; `byte` is that char's byte offset;
/// `start < end`, and `end <= next.start`, so spans are strictly increasing and never overlap.
#[derive(Debug, Clone, Default)]
pub struct NormText {
    pub(crate) text: String,
    pub(crate) spans: Vec<Span>,
}

impl NormText {
    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// One span per char of [`NormText::as_str`].
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends a char standing for original chars `[start, end)`, for texts built from another
    /// `NormText` (the guard's alternate readings of pinyin and homophones). Keeps the invariants:
    /// a range that would overlap or precede the previous one is moved after it.
    pub fn push(&mut self, c: char, start: u32, end: u32) {
        let start = self.spans.last().map_or(start, |s| start.max(s.end));
        let end = end.max(start.saturating_add(1));
        self.spans.push(Span {
            byte: self.text.len() as u32,
            start,
            end,
        });
        self.text.push(c);
    }

    /// Empties the text, keeping the buffers' capacity for reuse.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Original char range `[start, end)` covered by normalised bytes `[byte_start, byte_end)`.
    /// Both must be char boundaries of the normalised text and `byte_start < byte_end`.
    ///
    /// Never panics: for an empty or inverted range it returns an empty range at the position of
    /// `byte_start`, and offsets past the end clamp to the end of the original text's last
    /// normalised char.
    pub fn orig_range(&self, byte_start: usize, byte_end: usize) -> (usize, usize) {
        let first = self
            .spans
            .partition_point(|s| (s.byte as usize) < byte_start);
        let Some(head) = self.spans.get(first) else {
            let end = self.spans.last().map_or(0, |s| s.end as usize);
            return (end, end);
        };
        if byte_end <= byte_start {
            return (head.start as usize, head.start as usize);
        }
        let last = self.spans.partition_point(|s| (s.byte as usize) < byte_end);
        let tail = self
            .spans
            .get(last.saturating_sub(1).max(first))
            .unwrap_or(head);
        (head.start as usize, tail.end as usize)
    }
}
