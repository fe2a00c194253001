//! Evasive spellings against the shipped default book: pinyin (full syllables, tone marks,
//! initials) mixed with hanzi, homophone stand-ins, zero-width and combining characters, the
//! blame families written in other words than the phrase lists — and the benign Latin and
//! look-alike text that must stay clean (model numbers, place names, product names, URLs).

use std::path::Path;
use std::sync::LazyLock;

use huashu_guard::Guard;
use huashu_phrasebook::Severity;

static GUARD: LazyLock<Guard> = LazyLock::new(|| {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../phrasebooks/default"
    ));
    Guard::new(&huashu_phrasebook::load_dir(dir).expect("loads").rules).expect("compiles")
});

/// (draft, expected: `Some((rule, original text))`: a hit of that rule whose span holds that
/// text, or `None` for no block/warn hit at all).
const CASES: &[(&str, Option<(&str, &str)>)] = &[
    // Pinyin for hanzi, full syllables.
    ("ni去投诉啊", Some(("provoke.go_sue", "ni去投诉"))),
    ("你去tousu吧", Some(("provoke.go_sue", "你去tousu吧"))),
    ("有本事你去gaoa", Some(("provoke.go_sue", "有本事你去gao"))),
    ("你去gào啊", Some(("provoke.go_sue", "你去gào"))),
    (
        "ni qu tou su ba",
        Some(("provoke.go_sue", "ni qu tou su ba")),
    ),
    ("cui什么cui", Some(("impatience.hurry", "cui什么cui"))),
    ("你神经bing啊", Some(("insult.abuse", "神经bing"))),
    (
        "wo zen me zhi dao",
        Some(("dismissive.how_would_i_know", "wo zen me zhi dao")),
    ),
    // Tone marks (precomposed and combining) and upper case.
    ("nǐ去告啊", Some(("provoke.go_sue", "nǐ去告啊"))),
    ("NǏ去告啊", Some(("provoke.go_sue", "NǏ去告啊"))),
    (
        "ni\u{30C}去告啊",
        Some(("provoke.go_sue", "ni\u{30C}去告啊")),
    ),
    // Initials next to real hanzi.
    ("你去ts吧", Some(("provoke.go_sue", "你去ts吧"))),
    // Homophones and look-alikes.
    ("泥去告啊", Some(("provoke.go_sue", "泥去告啊"))),
    ("尼去投诉吧", Some(("provoke.go_sue", "尼去投诉吧"))),
    ("妮去告啊", Some(("provoke.go_sue", "妮去告啊"))),
    // Zero-width and combining characters between the chars.
    (
        "你\u{200B}去\u{200C}告\u{200D}啊",
        Some(("provoke.go_sue", "你\u{200B}去\u{200C}告\u{200D}啊")),
    ),
    (
        "你\u{2060}去\u{FEFF}投诉",
        Some(("provoke.go_sue", "你\u{2060}去\u{FEFF}投诉")),
    ),
    (
        "你\u{301}去\u{308}告啊",
        Some(("provoke.go_sue", "你\u{301}去\u{308}告啊")),
    ),
    // Blame families in other words than the phrase list.
    (
        "是您没看清楚",
        Some(("blame_shift.customer_fault", "是您没看清")),
    ),
    (
        "您自己理解错了",
        Some(("blame_shift.customer_fault", "您自己理解错了")),
    ),
    (
        "那是你操作有问题",
        Some(("blame_shift.customer_fault", "那是你操作有问题")),
    ),
    (
        "谁叫您没问清楚",
        Some(("blame_shift.customer_fault", "谁叫您没问")),
    ),
    (
        "这属于您个人原因。",
        Some(("blame_shift.customer_fault", "属于您个人原因")),
    ),
    (
        "都是你当时选错了",
        Some(("blame_shift.customer_fault", "都是你当时选错")),
    ),
    (
        "你下单前怎么不问清楚",
        Some(("blame_shift.customer_fault", "你下单前怎么不问")),
    ),
    (
        "那是您使用方法不对",
        Some(("blame_shift.customer_fault", "那是您使用方法不对")),
    ),
    (
        "是ni没看清楚",
        Some(("blame_shift.customer_fault", "是ni没看清")),
    ),
    // Benign Latin, numbers and look-alikes.
    ("型号NI-3的尺码偏大一码", None),
    ("您好，gaoan 高安仓今天发货", None),
    ("这款是Nike的正品，支持专柜验货", None),
    ("NC系列现在有现货", None),
    ("请访问 https://shop.example.com/item/123 查看详情", None),
    ("订单号 SF1234567890 已经发出", None),
    ("iPhone 15 Pro Max 的手机壳有货", None),
    ("这款适合Type-C接口", None),
    ("ok的亲，我帮您查一下", None),
    ("wifi密码在说明书第3页", None),
    ("尼龙面料，可以机洗", None),
    ("泥土色的款式很受欢迎", None),
    ("安妮的订单我帮您看一下", None),
    ("如果您没看清楚，我再为您说明一次", None),
    ("不是您操作有问题，是系统的故障", None),
    ("您的操作没有问题，是物流延误了", None),
    ("是我理解错了，非常抱歉", None),
    ("您没看错，确实是这个价格", None),
    ("下单前可以先咨询客服哦", None),
    ("如果是您个人原因退货，运费需要您承担哦", None),
    ("属于您个人原因的退货，运费由您承担", None),
    ("怕您看错了，我再发一遍", None),
];

#[test]
fn evasions_are_caught_and_look_alikes_pass() {
    let mut failures = Vec::new();
    for &(text, expected) in CASES {
        let chars: Vec<char> = text.chars().collect();
        let hits = GUARD.check(text);
        let serious: Vec<String> = hits
            .iter()
            .filter(|h| GUARD.rules()[h.rule].severity >= Severity::Warn)
            .map(|h| {
                let span: String = chars[h.start..h.end].iter().collect();
                format!("{}({span})", GUARD.rules()[h.rule].id)
            })
            .collect();
        match expected {
            None if !serious.is_empty() => {
                failures.push(format!("{text:?}: false alarm {serious:?}"));
            }
            Some((rule, span))
                if !serious
                    .iter()
                    .any(|s| s.starts_with(&format!("{rule}(")) && s.contains(span)) =>
            {
                failures.push(format!(
                    "{text:?}: expected {rule}({span}), got {serious:?}"
                ));
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
