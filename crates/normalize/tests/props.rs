//! Property tests: arbitrary Unicode (NUL, lone combining marks, bidi controls, emoji, long runs)
//! never panics, and the span map keeps its invariants under every option combination.

use huashu_normalize::{Normalizer, Options};
use proptest::prelude::*;

/// Chars that stress the edges of the tables, mixed with arbitrary scalars.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => prop::sample::select(vec![
            '\0', '\u{7F}', ' ', '\u{3000}', '\u{0301}', '\u{20E3}', '\u{FE0F}', '\u{200B}',
            '\u{200D}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{FEFF}', '😡', '🏽', '①', '⑩',
            '１', 'Ａ', 'İ', 'Σ', '妳', '們', '滾', '滚', '催', '1', 'a', 'A', '\u{F900}', '⼈',
            '\u{3400}', '\u{4DBF}', '\u{4E00}', '\u{9FFF}', '\u{20000}', '\u{3FFFF}', '\u{40000}',
            '\u{10FFFF}', '\u{FFFD}', '𫝈', '㑮',
        ]),
        1 => (0x4E00u32..=0x9FFF).prop_map(|u| char::from_u32(u).unwrap_or('一')),
    ]
}

fn text() -> impl Strategy<Value = String> {
    // Pieces are single chars or long runs of one char.
    prop::collection::vec(
        (
            tricky_char(),
            prop_oneof![9 => Just(1usize), 1 => 2usize..300],
        ),
        0..64,
    )
    .prop_map(|pieces| {
        pieces
            .into_iter()
            .flat_map(|(c, n)| std::iter::repeat_n(c, n))
            .collect()
    })
}

fn options() -> impl Strategy<Value = Options> {
    any::<[bool; 5]>().prop_map(|b| Options {
        fold_chinese: b[0],
        fold_width: b[1],
        fold_case: b[2],
        skip_noise: b[3],
        collapse_repeats: b[4],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn spans_keep_their_invariants(input in text(), opts in options()) {
        let n = Normalizer::with_options(opts).normalize(&input);
        let out = n.as_str();
        let orig_chars = input.chars().count() as u32;
        prop_assert_eq!(n.spans().len(), out.chars().count());
        let mut prev_end = 0;
        for (span, (byte, _)) in n.spans().iter().zip(out.char_indices()) {
            prop_assert_eq!(span.byte as usize, byte);
            prop_assert!(span.start < span.end);
            prop_assert!(span.start >= prev_end);
            prop_assert!(span.end <= orig_chars);
            prev_end = span.end;
        }
        if !opts.skip_noise && !opts.collapse_repeats {
            prop_assert_eq!(n.spans().len() as u32, orig_chars);
        }
        // orig_range never panics for any pair of char boundaries, and is ordered.
        let bounds: Vec<usize> = out.char_indices().map(|(b, _)| b).chain([out.len()]).collect();
        for &a in bounds.iter().step_by(7) {
            for &b in &bounds {
                let (s, e) = n.orig_range(a, b);
                prop_assert!(s <= e && e <= orig_chars as usize);
            }
        }
    }

    #[test]
    fn normalising_is_idempotent(input in text()) {
        let n = Normalizer::new();
        let once = n.normalize_phrase(&input);
        prop_assert_eq!(n.normalize_phrase(&once), once.clone());
    }
}
