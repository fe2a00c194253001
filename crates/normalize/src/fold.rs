//! Per-char classification and folding, shared by the whole-text normaliser and by callers that
//! need the fold of a single char.
//!
//! Why this shape: the hot loop sees mostly ASCII and CJK Unified Ideographs, so those two get a
//! branch-light path (a bit mask for ASCII, a direct `u16` array indexed by `c - U+4E00` for CJK).
//! Everything else first consults a "may fold" bitmap so that the common non-foldable chars (CJK
//! punctuation, emoji) never reach the binary searches over the rare-char tables. All tables are
//! built at compile time from the generated `tables.rs`, so nothing is initialised at run time.

use crate::tables::{
    CASE_FOLDS, CHINESE_FOLDS, CJK_MAIN_FOLDS, NOISE_LIMIT, NOISE_RANGES, WIDTH_FOLDS,
};

const MAIN_FIRST: u32 = 0x4E00;
const MAIN_LAST: u32 = 0x9FFF;
const MAIN_LEN: usize = (MAIN_LAST - MAIN_FIRST + 1) as usize;
/// `CJK_MAIN` value meaning "no fold".
const SAME: u16 = 0;
/// `CJK_MAIN` value meaning "the fold lives in `CHINESE_FOLDS`" (its target is outside the BMP).
const ELSEWHERE: u16 = 1;
/// Words of a bitmap covering U+0000..`NOISE_LIMIT`.
const WORDS: usize = (NOISE_LIMIT / 64) as usize;

/// Lower-case Latin letters with diacritics → their ASCII base letter (ǐ → i, é → e, ü → u): pinyin
/// typed with tone marks ("nǐ去告啊") reads as plain pinyin, and accented product names as ASCII.
/// Derived from the Unicode canonical decompositions of U+00C0..U+024F and U+1E00..U+1EFF whose
/// base is an ASCII letter (Python: `unicodedata.normalize("NFD", c)[0]`); sorted. Upper-case
/// letters reach it through the case fold first.
#[rustfmt::skip]
pub(crate) static DIACRITIC_FOLDS: &[(char, char)] = &[
    ('à', 'a'), ('á', 'a'), ('â', 'a'), ('ã', 'a'), ('ä', 'a'), ('å', 'a'), ('ç', 'c'),
    ('è', 'e'), ('é', 'e'), ('ê', 'e'), ('ë', 'e'), ('ì', 'i'), ('í', 'i'), ('î', 'i'),
    ('ï', 'i'), ('ñ', 'n'), ('ò', 'o'), ('ó', 'o'), ('ô', 'o'), ('õ', 'o'), ('ö', 'o'),
    ('ù', 'u'), ('ú', 'u'), ('û', 'u'), ('ü', 'u'), ('ý', 'y'), ('ÿ', 'y'), ('ā', 'a'),
    ('ă', 'a'), ('ą', 'a'), ('ć', 'c'), ('ĉ', 'c'), ('ċ', 'c'), ('č', 'c'), ('ď', 'd'),
    ('ē', 'e'), ('ĕ', 'e'), ('ė', 'e'), ('ę', 'e'), ('ě', 'e'), ('ĝ', 'g'), ('ğ', 'g'),
    ('ġ', 'g'), ('ģ', 'g'), ('ĥ', 'h'), ('ĩ', 'i'), ('ī', 'i'), ('ĭ', 'i'), ('į', 'i'),
    ('ĵ', 'j'), ('ķ', 'k'), ('ĺ', 'l'), ('ļ', 'l'), ('ľ', 'l'), ('ń', 'n'), ('ņ', 'n'),
    ('ň', 'n'), ('ō', 'o'), ('ŏ', 'o'), ('ő', 'o'), ('ŕ', 'r'), ('ŗ', 'r'), ('ř', 'r'),
    ('ś', 's'), ('ŝ', 's'), ('ş', 's'), ('š', 's'), ('ţ', 't'), ('ť', 't'), ('ũ', 'u'),
    ('ū', 'u'), ('ŭ', 'u'), ('ů', 'u'), ('ű', 'u'), ('ų', 'u'), ('ŵ', 'w'), ('ŷ', 'y'),
    ('ź', 'z'), ('ż', 'z'), ('ž', 'z'), ('ơ', 'o'), ('ư', 'u'), ('ǎ', 'a'), ('ǐ', 'i'),
    ('ǒ', 'o'), ('ǔ', 'u'), ('ǖ', 'u'), ('ǘ', 'u'), ('ǚ', 'u'), ('ǜ', 'u'), ('ǟ', 'a'),
    ('ǡ', 'a'), ('ǧ', 'g'), ('ǩ', 'k'), ('ǫ', 'o'), ('ǭ', 'o'), ('ǰ', 'j'), ('ǵ', 'g'),
    ('ǹ', 'n'), ('ǻ', 'a'), ('ȁ', 'a'), ('ȃ', 'a'), ('ȅ', 'e'), ('ȇ', 'e'), ('ȉ', 'i'),
    ('ȋ', 'i'), ('ȍ', 'o'), ('ȏ', 'o'), ('ȑ', 'r'), ('ȓ', 'r'), ('ȕ', 'u'), ('ȗ', 'u'),
    ('ș', 's'), ('ț', 't'), ('ȟ', 'h'), ('ȧ', 'a'), ('ȩ', 'e'), ('ȫ', 'o'), ('ȭ', 'o'),
    ('ȯ', 'o'), ('ȱ', 'o'), ('ȳ', 'y'), ('ḁ', 'a'), ('ḃ', 'b'), ('ḅ', 'b'), ('ḇ', 'b'),
    ('ḉ', 'c'), ('ḋ', 'd'), ('ḍ', 'd'), ('ḏ', 'd'), ('ḑ', 'd'), ('ḓ', 'd'), ('ḕ', 'e'),
    ('ḗ', 'e'), ('ḙ', 'e'), ('ḛ', 'e'), ('ḝ', 'e'), ('ḟ', 'f'), ('ḡ', 'g'), ('ḣ', 'h'),
    ('ḥ', 'h'), ('ḧ', 'h'), ('ḩ', 'h'), ('ḫ', 'h'), ('ḭ', 'i'), ('ḯ', 'i'), ('ḱ', 'k'),
    ('ḳ', 'k'), ('ḵ', 'k'), ('ḷ', 'l'), ('ḹ', 'l'), ('ḻ', 'l'), ('ḽ', 'l'), ('ḿ', 'm'),
    ('ṁ', 'm'), ('ṃ', 'm'), ('ṅ', 'n'), ('ṇ', 'n'), ('ṉ', 'n'), ('ṋ', 'n'), ('ṍ', 'o'),
    ('ṏ', 'o'), ('ṑ', 'o'), ('ṓ', 'o'), ('ṕ', 'p'), ('ṗ', 'p'), ('ṙ', 'r'), ('ṛ', 'r'),
    ('ṝ', 'r'), ('ṟ', 'r'), ('ṡ', 's'), ('ṣ', 's'), ('ṥ', 's'), ('ṧ', 's'), ('ṩ', 's'),
    ('ṫ', 't'), ('ṭ', 't'), ('ṯ', 't'), ('ṱ', 't'), ('ṳ', 'u'), ('ṵ', 'u'), ('ṷ', 'u'),
    ('ṹ', 'u'), ('ṻ', 'u'), ('ṽ', 'v'), ('ṿ', 'v'), ('ẁ', 'w'), ('ẃ', 'w'), ('ẅ', 'w'),
    ('ẇ', 'w'), ('ẉ', 'w'), ('ẋ', 'x'), ('ẍ', 'x'), ('ẏ', 'y'), ('ẑ', 'z'), ('ẓ', 'z'),
    ('ẕ', 'z'), ('ẖ', 'h'), ('ẗ', 't'), ('ẘ', 'w'), ('ẙ', 'y'), ('ạ', 'a'), ('ả', 'a'),
    ('ấ', 'a'), ('ầ', 'a'), ('ẩ', 'a'), ('ẫ', 'a'), ('ậ', 'a'), ('ắ', 'a'), ('ằ', 'a'),
    ('ẳ', 'a'), ('ẵ', 'a'), ('ặ', 'a'), ('ẹ', 'e'), ('ẻ', 'e'), ('ẽ', 'e'), ('ế', 'e'),
    ('ề', 'e'), ('ể', 'e'), ('ễ', 'e'), ('ệ', 'e'), ('ỉ', 'i'), ('ị', 'i'), ('ọ', 'o'),
    ('ỏ', 'o'), ('ố', 'o'), ('ồ', 'o'), ('ổ', 'o'), ('ỗ', 'o'), ('ộ', 'o'), ('ớ', 'o'),
    ('ờ', 'o'), ('ở', 'o'), ('ỡ', 'o'), ('ợ', 'o'), ('ụ', 'u'), ('ủ', 'u'), ('ứ', 'u'),
    ('ừ', 'u'), ('ử', 'u'), ('ữ', 'u'), ('ự', 'u'), ('ỳ', 'y'), ('ỵ', 'y'), ('ỷ', 'y'),
    ('ỹ', 'y'),
];

/// Fold target (as a BMP code point), `SAME` or `ELSEWHERE` for every char in U+4E00..=U+9FFF.
static CJK_MAIN: [u16; MAIN_LEN] = build_main();
/// Bit set = the char is noise (not a letter or number).
static NOISE_BITS: [u64; WORDS] = build_noise();
/// Bit set = the char is the source of some width, Chinese or case fold (outside the two fast
/// paths). Clear bits let the common non-foldable chars skip all three lookups.
static FOLD_BITS: [u64; WORDS] = build_fold_bits();
/// Bit set = ASCII noise (everything but `0-9A-Za-z`).
const ASCII_NOISE: u128 = build_ascii_noise();

const fn build_main() -> [u16; MAIN_LEN] {
    let mut t = [SAME; MAIN_LEN];
    let mut i = 0;
    while i < CJK_MAIN_FOLDS.len() {
        let (s, d) = CJK_MAIN_FOLDS[i];
        let (s, d) = (s as u32, d as u32);
        assert!(s >= MAIN_FIRST && s <= MAIN_LAST && d > ELSEWHERE as u32 && d <= 0xFFFF);
        t[(s - MAIN_FIRST) as usize] = d as u16;
        i += 1;
    }
    let mut i = 0;
    while i < CHINESE_FOLDS.len() {
        let s = CHINESE_FOLDS[i].0 as u32;
        if s >= MAIN_FIRST && s <= MAIN_LAST {
            t[(s - MAIN_FIRST) as usize] = ELSEWHERE;
        }
        i += 1;
    }
    t
}

const fn set_range(t: &mut [u64; WORDS], a: u32, b: u32) {
    let mut w = a / 64;
    while w <= b / 64 {
        let lo = if w == a / 64 { a % 64 } else { 0 };
        let hi = if w == b / 64 { b % 64 } else { 63 };
        t[w as usize] |= (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
        w += 1;
    }
}

const fn build_noise() -> [u64; WORDS] {
    let mut t = [0; WORDS];
    let mut i = 0;
    while i < NOISE_RANGES.len() {
        let (a, b) = NOISE_RANGES[i];
        assert!(a <= b && b < NOISE_LIMIT);
        set_range(&mut t, a, b);
        i += 1;
    }
    t
}

const fn set_sources(t: &mut [u64; WORDS], table: &[(char, char)]) {
    let mut i = 0;
    while i < table.len() {
        let s = table[i].0 as u32;
        assert!(s < NOISE_LIMIT);
        set_range(t, s, s);
        i += 1;
    }
}

const fn build_fold_bits() -> [u64; WORDS] {
    let mut t = [0; WORDS];
    set_sources(&mut t, WIDTH_FOLDS);
    set_sources(&mut t, CHINESE_FOLDS);
    set_sources(&mut t, CASE_FOLDS);
    set_sources(&mut t, DIACRITIC_FOLDS);
    t
}

const fn build_ascii_noise() -> u128 {
    let mut m = 0u128;
    let mut b = 0u8;
    while b < 128 {
        if !b.is_ascii_alphanumeric() {
            m |= 1 << b;
        }
        b += 1;
    }
    m
}

#[inline]
fn bit(t: &[u64; WORDS], u: u32, outside: bool) -> bool {
    match t.get((u >> 6) as usize) {
        Some(w) => (w >> (u & 63)) & 1 != 0,
        None => outside,
    }
}

#[inline]
fn lookup(table: &[(char, char)], c: char) -> char {
    match table.binary_search_by_key(&c, |&(s, _)| s) {
        Ok(i) => table.get(i).map_or(c, |&(_, d)| d),
        Err(_) => c,
    }
}

/// Whitespace, punctuation, symbols, emoji (incl. modifiers, ZWJ, variation selectors, keycaps),
/// zero-width, control, bidi and format characters, combining marks, private-use and unassigned
/// chars. Letters of any script and numbers (digits, ①, ², 〇, Ⅻ) are not noise.
///
/// This classifies the char as written; [`crate::Normalizer`] classifies the *folded* char, so
/// e.g. Ⓐ (a symbol) survives as `a` when width folding is on.
#[inline]
pub fn is_noise(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        (ASCII_NOISE >> u) & 1 != 0
    } else {
        bit(&NOISE_BITS, u, true)
    }
}

/// Whether `c` (not ASCII, not U+4E00..=U+9FFF) might be changed by some folding.
#[inline]
pub(crate) fn may_fold(c: char) -> bool {
    bit(&FOLD_BITS, c as u32, false)
}

/// Traditional → simplified fold of a char in U+4E00..=U+9FFF (the direct-table fast path).
#[inline]
pub(crate) fn fold_chinese_main(c: char) -> char {
    let u = c as u32;
    match CJK_MAIN.get(u.wrapping_sub(MAIN_FIRST) as usize) {
        None | Some(&SAME) => c,
        Some(&ELSEWHERE) => lookup(CHINESE_FOLDS, c),
        Some(&d) => char::from_u32(u32::from(d)).unwrap_or(c),
    }
}

/// Traditional → simplified, variant, compatibility-ideograph and radical folds.
#[inline]
pub(crate) fn fold_chinese(c: char) -> char {
    let u = c as u32;
    if (MAIN_FIRST..=MAIN_LAST).contains(&u) {
        fold_chinese_main(c)
    } else if may_fold(c) {
        lookup(CHINESE_FOLDS, c)
    } else {
        c
    }
}

/// Full-width → half-width, half-width → full-width kana/hangul, styled letters (𝐀, Ⓐ) and
/// digit styles (①, ⑴, ❶, ², ٣) → ASCII digits.
#[inline]
pub(crate) fn fold_width(c: char) -> char {
    let u = c as u32;
    if (0xFF01..=0xFF5E).contains(&u) {
        // Full-width ASCII: the commonest case in Chinese text (，！？), so no table search.
        char::from_u32(u - 0xFEE0).unwrap_or(c)
    } else if u >= 0x80 && may_fold(c) {
        lookup(WIDTH_FOLDS, c)
    } else {
        c
    }
}

/// One-char-to-one-char lower-casing; chars whose lower case is several chars stay as they are.
/// Latin letters with diacritics then lose them (Ǐ → ǐ → i).
#[inline]
pub(crate) fn fold_case(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if may_fold(c) {
        let lower = lookup(CASE_FOLDS, c);
        if lower.is_ascii() {
            lower
        } else {
            lookup(DIACRITIC_FOLDS, lower)
        }
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for table in [
            CJK_MAIN_FOLDS,
            CHINESE_FOLDS,
            WIDTH_FOLDS,
            CASE_FOLDS,
            DIACRITIC_FOLDS,
        ] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert!(NOISE_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn folds_are_idempotent() {
        for table in [CJK_MAIN_FOLDS, CHINESE_FOLDS] {
            for &(s, d) in table {
                assert_eq!(fold_chinese(s), d, "{s}");
                assert_eq!(fold_chinese(d), d, "{s} -> {d} folds again");
            }
        }
        for &(s, d) in WIDTH_FOLDS {
            assert_eq!(fold_width(s), d, "{s}");
            assert_eq!(fold_width(d), d, "{s} -> {d} folds again");
        }
        for &(s, d) in CASE_FOLDS {
            let d = lookup(DIACRITIC_FOLDS, d);
            assert_eq!(fold_case(s), d, "{s}");
        }
        for &(s, d) in DIACRITIC_FOLDS {
            assert_eq!(fold_case(s), d, "{s}");
            assert!(d.is_ascii_lowercase(), "{s} -> {d}");
        }
    }

    #[test]
    fn noise_bitmap_matches_ranges() {
        for &(a, b) in NOISE_RANGES {
            for u in [a, b] {
                let c = char::from_u32(u).unwrap_or('\u{FFFD}');
                assert!(is_noise(c), "U+{u:04X}");
            }
            if let Some(c) = char::from_u32(b + 1) {
                assert!(!is_noise(c) || b + 1 >= NOISE_LIMIT, "U+{:04X}", b + 1);
            }
        }
    }
}
