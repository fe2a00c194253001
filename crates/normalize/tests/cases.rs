//! Table-driven behaviour of the normaliser with every option on (the guard's setting), plus span
//! mapping and each option turned off. A failing case names what broke.

use huashu_normalize::{NormText, Normalizer, Options, Span, fold_char, is_noise};

/// (input, expected normalised text) with all options on.
const CASES: &[(&str, &str)] = &[
    // Traditional → simplified.
    ("妳愛麼們這貨還說", "你爱么们这货还说"),
    ("麽", "么"),
    ("我要退貨", "我要退货"),
    ("訂單態度投訴", "订单态度投诉"),
    ("說了一遍啊", "说了一遍啊"),
    ("乾", "干"),
    ("於是", "于是"),
    ("後來", "后来"),
    ("鍾錶", "钟表"),
    // Variants on top of OpenCC; 着/著 are word chars and stay.
    ("祢吿伱囯箇裏峯裡", "你告你国个里峰里"),
    ("着著", "着著"),
    ("甚麼", "甚么"),
    // Compatibility ideographs and Kangxi radicals.
    ("\u{F900}", "岂"),
    ("⼈⼝", "人口"),
    // Already simplified text is untouched.
    ("我帮您催一下快递", "我帮您催一下快递"),
    ("麻烦您稍等", "麻烦您稍等"),
    // Full-width → half-width.
    ("ＡＢＣ１２３！", "abc123"),
    ("ＶＸ号", "vx号"),
    ("ｑｑ号", "q号"),
    ("ｶﾀｶﾅ", "カタカナ"),
    // Digit styles.
    ("①②③", "123"),
    ("⑴⑵⒈❶➀⓵", "121111"),
    ("x²³⁴₅", "x2345"),
    ("٠١٢٣", "0123"),
    ("⑩", "⑩"),
    ("𝟏𝟐", "12"),
    // Case folding, including styled letters.
    ("VIP", "vip"),
    // Latin diacritics go (pinyin tone marks, accented names): "nǐ" reads as "ni".
    ("ÀÉÎ", "aei"),
    ("nǐ去告啊", "ni去告啊"),
    ("NǏ QÙ GÀO", "niqugao"),
    ("tóu sù lǘ", "tousulu"),
    ("Café Crème", "cafecreme"),
    ("ΣΑΣ", "σασ"),
    ("İ", "İ"),
    ("Ⓐⓑ", "ab"),
    ("𝐅𝐔𝐂𝐊", "fuck"),
    // Noise between characters.
    ("你 去.告-啊😡", "你去告啊"),
    ("你，去。告！啊？", "你去告啊"),
    ("“投诉”【差评】《滚》…—～·", "投诉差评滚"),
    ("退\u{3000}款", "退款"),
    ("退\t款\r\n", "退款"),
    ("退\u{0}款\u{7F}", "退款"),
    // Emoji: skin tones, ZWJ sequences, variation selectors, keycaps, flags.
    ("好👍🏽的", "好的"),
    ("滚👨\u{200D}👩\u{200D}👧开", "滚开"),
    ("❤\u{FE0F}你", "你"),
    ("1\u{FE0F}\u{20E3}号", "1号"),
    ("🇨🇳中国", "中国"),
    // Zero-width and bidi controls.
    ("傻\u{200B}逼", "傻逼"),
    ("傻\u{200C}\u{200D}\u{2060}\u{FEFF}逼", "傻逼"),
    ("傻\u{200E}\u{200F}逼", "傻逼"),
    ("傻\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}逼", "傻逼"),
    ("傻\u{2066}\u{2067}\u{2068}\u{2069}逼", "傻逼"),
    // Combining marks.
    ("去\u{0301}\u{0308}死", "去死"),
    ("\u{0336}滚\u{0336}", "滚"),
    ("e\u{0301}", "e"),
    ("é", "e"),
    ("n\u{030C}i\u{0300}", "ni"),
    // Repeats collapse after folding and skipping noise; ASCII digits never collapse.
    ("催催催", "催"),
    ("滾滾滾", "滚"),
    ("滾滚", "滚"),
    ("催 催.催！", "催"),
    ("快快点", "快点"),
    ("订单1100233", "订单1100233"),
    ("１１２２", "1122"),
    ("aaAA", "a"),
    // Mixed.
    (
        "妳們 這個 ＶＩＰ 服務態度 真的 很差！！！😡😡",
        "你们这个vip服务态度真的很差",
    ),
    ("我都說了３遍了", "我都说了3遍了"),
    // Edge cases.
    ("", ""),
    ("😡。！", ""),
];

fn check(input: &str, expected: &str) {
    let got = Normalizer::new().normalize(input);
    assert_eq!(got.as_str(), expected, "input {input:?}");
    assert_eq!(
        got.spans().len(),
        expected.chars().count(),
        "input {input:?}"
    );
    assert_eq!(
        Normalizer::new().normalize_phrase(input),
        expected,
        "phrase {input:?}"
    );
}

#[test]
fn cases() {
    for &(input, expected) in CASES {
        check(input, expected);
    }
}

/// The original chars each normalised char points at, rendered as strings.
fn sources(input: &str, n: &NormText) -> Vec<String> {
    let chars: Vec<char> = input.chars().collect();
    n.spans()
        .iter()
        .map(|s| chars[s.start as usize..s.end as usize].iter().collect())
        .collect()
}

/// (input, the original text each normalised char came from).
const SPAN_CASES: &[(&str, &[&str])] = &[
    ("你 去.告-啊😡", &["你", "去", "告", "啊"]),
    ("妳們", &["妳", "們"]),
    ("催催催", &["催催催"]),
    ("滾 滾.滾!", &["滾 滾.滾"]),
    ("快快点点", &["快快", "点点"]),
    ("１１", &["１", "１"]),
    ("😡退👍🏽款", &["退", "款"]),
    ("a\u{0301}b", &["a", "b"]),
];

#[test]
fn spans_point_at_the_original_chars() {
    for &(input, expected) in SPAN_CASES {
        let n = Normalizer::new().normalize(input);
        assert_eq!(sources(input, &n), expected, "input {input:?}");
        for (span, (byte, _)) in n.spans().iter().zip(n.as_str().char_indices()) {
            assert_eq!(span.byte as usize, byte, "input {input:?}");
        }
    }
}

#[test]
fn span_values_of_a_collapsed_run() {
    let n = Normalizer::new().normalize("催催催");
    assert_eq!(
        n.spans(),
        &[Span {
            byte: 0,
            start: 0,
            end: 3
        }]
    );
    let n = Normalizer::new().normalize("我滾滾滾吧");
    assert_eq!(n.as_str(), "我滚吧");
    assert_eq!(
        n.spans()[1],
        Span {
            byte: 3,
            start: 1,
            end: 4
        }
    );
    assert_eq!(n.orig_range(3, 6), (1, 4));
}

#[test]
fn orig_range_over_slices() {
    let input = "你 去.告-啊😡";
    let n = Normalizer::new().normalize(input);
    let s = n.as_str();
    let at = |needle: &str| {
        s.find(needle)
            .map(|b| (b, b + needle.len()))
            .unwrap_or_default()
    };
    let (b, e) = at("去告");
    assert_eq!(n.orig_range(b, e), (2, 5));
    let (b, e) = at("你去告啊");
    assert_eq!(n.orig_range(b, e), (0, 7));
    let (b, e) = at("啊");
    assert_eq!(n.orig_range(b, e), (6, 7));
    // Out-of-contract arguments do not panic.
    assert_eq!(n.orig_range(3, 3), (2, 2));
    assert_eq!(n.orig_range(100, 200), (7, 7));
    assert_eq!(NormText::default().orig_range(0, 1), (0, 0));
}

#[test]
fn options_off_turn_each_step_off() {
    let all = Options::default();
    let cases: &[(Options, &str, &str)] = &[
        (
            Options {
                fold_chinese: false,
                ..all
            },
            "妳們吿⼈",
            "妳們吿",
        ),
        (
            Options {
                fold_width: false,
                ..all
            },
            "ＡＢ１①！Ⓐ",
            "ａｂ１①",
        ),
        (
            Options {
                fold_case: false,
                ..all
            },
            "ＡＢcÉ",
            "ABcÉ",
        ),
        (
            Options {
                skip_noise: false,
                ..all
            },
            "你 去！😡",
            "你 去!😡",
        ),
        (
            Options {
                collapse_repeats: false,
                ..all
            },
            "催催 催",
            "催催催",
        ),
        (
            Options {
                skip_noise: false,
                ..all
            },
            "催 催",
            "催 催",
        ),
        // The entity extractor's setting: a 1:1 char mapping.
        (
            Options {
                fold_chinese: false,
                skip_noise: false,
                collapse_repeats: false,
                ..all
            },
            "訂單 ＡＢ１２３３３３！",
            "訂單 ab123333!",
        ),
        (
            Options {
                fold_chinese: false,
                fold_width: false,
                fold_case: false,
                skip_noise: false,
                collapse_repeats: false,
            },
            "妳 ＡＢ①😡催催",
            "妳 ＡＢ①😡催催",
        ),
    ];
    for &(opts, input, expected) in cases {
        let n = Normalizer::with_options(opts);
        assert_eq!(n.options(), opts);
        assert_eq!(n.normalize(input).as_str(), expected, "{opts:?} {input:?}");
    }
}

#[test]
fn entity_setting_is_one_to_one() {
    let opts = Options {
        fold_chinese: false,
        fold_width: true,
        fold_case: true,
        skip_noise: false,
        collapse_repeats: false,
    };
    let input = "订单号：ＳＦ１２３４５６７８９０😡\u{200B}é";
    let n = Normalizer::with_options(opts).normalize(input);
    assert_eq!(n.as_str().chars().count(), input.chars().count());
    for (i, span) in n.spans().iter().enumerate() {
        assert_eq!((span.start as usize, span.end as usize), (i, i + 1));
    }
}

#[test]
fn fold_char_and_is_noise() {
    assert_eq!(fold_char('妳'), Some('你'));
    assert_eq!(fold_char('Ａ'), Some('a'));
    assert_eq!(fold_char('②'), Some('2'));
    assert_eq!(fold_char('，'), None);
    assert_eq!(fold_char('😡'), None);
    assert_eq!(fold_char('\u{200D}'), None);
    assert_eq!(fold_char('啊'), Some('啊'));
    assert!(is_noise('😡') && is_noise(' ') && is_noise('。') && is_noise('\u{FE0F}'));
    assert!(!is_noise('你') && !is_noise('a') && !is_noise('7') && !is_noise('①'));
    assert!(!is_noise('\u{30000}'), "CJK Ext. G");
    assert!(
        is_noise('\u{E0041}') && is_noise('\u{F0000}'),
        "tags and private use"
    );
}

#[test]
fn normalize_into_reuses_buffers() {
    let n = Normalizer::new();
    let mut out = NormText::default();
    n.normalize_into("妳們這個ＶＩＰ服務態度很差！", &mut out);
    assert_eq!(out.as_str(), "你们这个vip服务态度很差");
    n.normalize_into("催催", &mut out);
    assert_eq!(out.as_str(), "催");
    assert_eq!(out.spans().len(), 1);
    out.clear();
    assert!(out.is_empty() && out.spans().is_empty());
}

#[test]
fn table_is_licence_clean_opencc() {
    const { assert!(huashu_normalize::OPENCC_T2S_MAPPINGS > 4000) };
    assert!(!huashu_normalize::UNICODE_VERSION.is_empty());
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Normalizer>();
    assert_send_sync::<NormText>();
    assert_send_sync::<Options>();
}
