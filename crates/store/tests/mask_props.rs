//! Fuzz target for the masker (proptest, bounded case count so CI stays fast): on any input it
//! never panics, preserves the char count, only ever turns chars into `*`, and is idempotent;
//! mobile numbers in any separator style lose their middle digits; order and tracking numbers
//! inside arbitrary text are never touched.

use huashu_store::mask;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text around the numbers: Chinese, ASCII, punctuation, full-width digits, numerals.
fn filler() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[你好我的订单号手机快递到了吗，。！ a-zA-Z()（）@.:：\\-]{0,12}",
    )
    .expect("regex")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_input_keeps_its_length_changes_only_to_stars_and_is_idempotent(s in "\\PC{0,80}") {
        let once = mask(&s).into_owned();
        prop_assert_eq!(once.chars().count(), s.chars().count());
        for (a, b) in s.chars().zip(once.chars()) {
            prop_assert!(a == b || b == '*', "{a:?} became {b:?}");
        }
        prop_assert_eq!(mask(&once).into_owned(), once);
    }

    #[test]
    fn mixed_digit_heavy_input_never_breaks_the_invariants(
        s in "[0-9０-９一二三四五六七八九零〇幺 .\\-+()（）xXqQ@a-z市区路号]{0,60}"
    ) {
        let once = mask(&s).into_owned();
        prop_assert_eq!(once.chars().count(), s.chars().count());
        prop_assert_eq!(mask(&once).into_owned(), once);
    }

    #[test]
    fn mobile_numbers_lose_their_middle_digits_in_every_separator_style(
        before in filler(),
        after in filler(),
        second in 3u8..=9,
        rest in proptest::collection::vec(0u8..=9, 9),
        sep in prop::sample::select(vec!["", " ", "-", ".", "－"]),
        plus86 in any::<bool>(),
    ) {
        let d: Vec<char> = [1, second].iter().chain(&rest).map(|&x| char::from(b'0' + x)).collect();
        let head: String = d[..3].iter().collect();
        let mid: String = d[3..7].iter().collect();
        let tail: String = d[7..].iter().collect();
        let number = format!("{}{head}{sep}{mid}{sep}{tail}", if plus86 { "+86 " } else { "" });
        // Keep the number apart from filler digits and letters.
        let text = format!("{before}，{number}，{after}");
        let masked = mask(&text).into_owned();
        prop_assert!(masked.contains(&format!("{head}{sep}****{sep}{tail}")), "{text} -> {masked}");
    }

    #[test]
    fn order_and_tracking_numbers_are_never_masked(
        before in filler(),
        after in filler(),
        prefix in prop::sample::select(vec!["", "SF", "JD", "YT", "ZTO", "JT"]),
        first in 1u8..=9,
        digits in proptest::collection::vec(0u8..=9, 11..=19),
    ) {
        let number: String = std::iter::once(first).chain(digits).map(|x| char::from(b'0' + x)).collect();
        // Phone- and ID-shaped digit runs are masked by design: an 18-digit run (birth date
        // shape), a 12-digit run is never one, 13 digits starting 86 1[3-9] is a +86 mobile.
        prop_assume!(number.len() != 18);
        prop_assume!(!(number.len() == 13 && number.starts_with("861")));
        let code = format!("{prefix}{number}");
        let text = format!("{before}，单号{code}，{after}");
        let masked = mask(&text).into_owned();
        prop_assert!(masked.contains(&code), "{text} -> {masked}");
    }
}
