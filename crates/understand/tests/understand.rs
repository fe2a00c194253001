//! Behaviour of `Understander` on a small hand-written book: intents (keywords, patterns, model),
//! negation, traditional input, emoji, threats, repeat-asks, urgency, style and entity spans.
//! Table-driven: one `CASES` table per concern and one `check` helper each.

use huashu_phrasebook::{Phrasebook, Style, parse_str};
use huashu_understand::{Understander, Understanding};

const BOOK: &str = "[book]\nname = \"t\"\n";

const INTENTS: &str = r#"
[[intent]]
id = "greeting"
keywords = { "你好" = 1.0, "在吗" = 1.5 }
examples = ["你好", "在吗", "亲在吗", "有人吗", "您好在不在"]

[[intent]]
id = "product_inquiry"
keywords = { "尺码" = 1.2, "材质" = 1.2, "有货" = 1.2 }
patterns = { '(穿|选|拿)(多大|什么|哪个)(码|号)' = 2.0 }
examples = ["身高165体重110斤穿什么码", "这件是什么材质的", "M码还有货吗", "这个适合敏感肌吗", "洗了会缩水吗"]

[[intent]]
id = "price_promo"
keywords = { "优惠" = 1.2, "便宜" = 1.0, "优惠券" = 1.5, "降价" = 1.2 }
examples = ["有优惠券吗", "能便宜点吗", "买两件有优惠吗", "刚买就降价了能退差价吗"]

[[intent]]
id = "order_change"
keywords = { "改地址" = 1.5, "修改地址" = 1.5, "取消订单" = 1.5, "发票" = 1.2 }
examples = ["地址填错了能改吗", "帮我取消订单", "我要开发票", "电话号码写错了"]

[[intent]]
id = "shipping"
keywords = { "快递" = 0.8, "物流" = 1.0, "发货" = 1.2, "没动" = 1.0, "到哪了" = 1.5, "货" = 0.3 }
examples = ["我的快递到哪了", "什么时候发货", "物流三天没动了", "怎么还没到", "货还没到", "显示签收了但我没收到"]

[[intent]]
id = "return_refund"
keywords = { "退货" = 1.5, "退款" = 1.5, "换货" = 1.5 }
examples = ["我要退货", "退款什么时候到账", "能换个颜色吗", "七天无理由可以退吗"]

[[intent]]
id = "quality_issue"
keywords = { "坏了" = 1.2, "破了" = 1.2, "质量" = 1.0, "假货" = 1.5, "发错" = 1.2 }
examples = ["收到就是坏的", "质量太差了", "衣服有个洞", "你们卖假货", "发错颜色了"]

[[intent]]
id = "complaint"
keywords = { "投诉" = 1.5, "差评" = 1.5, "12315" = 2.0 }
examples = ["我要投诉你们", "给你差评", "我去12315告你们", "不解决我就曝光"]

[[intent]]
id = "escalation"
keywords = { "主管" = 1.5, "领导" = 1.5, "人工" = 1.2 }
examples = ["叫你们主管来", "我要找领导", "转人工", "换个客服跟我说"]

[[intent]]
id = "service_attitude"
keywords = { "态度" = 1.2, "不理人" = 1.5, "机器人" = 1.0 }
examples = ["你什么态度", "半天不回消息", "客服不理人", "复制粘贴的回复有意思吗"]

[[intent]]
id = "thanks_closing"
keywords = { "谢谢" = 1.5, "好的" = 0.6, "没问题了" = 1.5 }
examples = ["好的谢谢", "谢谢亲", "没问题了", "辛苦了"]

[[intent]]
id = "other"
examples = ["嗯", "哦", "今天天气不错", "哈哈"]
"#;

const EMOTIONS: &str = r#"
[[emotion]]
label = "anger"
words = { "生气" = 1.2, "气死" = 1.5, "垃圾" = 1.2, "火大" = 1.2 }
examples = ["气死我了", "太垃圾了", "你们什么破服务", "我很生气"]

[[emotion]]
label = "anxiety"
words = { "急" = 1.0, "着急" = 1.2, "快点" = 0.8, "赶紧" = 0.8 }
examples = ["我很急", "能快点吗", "急用啊", "赶紧发货吧"]

[[emotion]]
label = "disappointment"
words = { "失望" = 1.5, "不满意" = 1.2, "伤心" = 1.0 }
examples = ["太失望了", "很不满意", "唉，算了", "心寒"]

[[emotion]]
label = "neutral"
examples = ["我的快递到哪了", "这个多少钱", "什么时候发货", "好的"]

[[emotion]]
label = "positive"
words = { "满意" = 1.2, "喜欢" = 1.0, "好评" = 1.2, "谢谢" = 0.6 }
examples = ["很满意", "非常喜欢", "给你们好评", "谢谢亲"]

[urgent]
words = ["过敏", "冒烟", "着火", "漏电", "触电", "受伤", "误食", "吞了"]
patterns = ['(吃了|用了).{0,8}(过敏|起疹)', '(孩子|宝|娃).{0,6}(吞|吃了)']
allow = ["防过敏", "抗过敏", "会不会过敏"]

[style]
rational = { "订单号" = 0.6, "请问" = 0.5, "麻烦" = 0.4 }
emotional = { "受不了" = 0.8, "凭什么" = 0.8, "太过分" = 0.8 }
"#;

fn book() -> Phrasebook {
    parse_str(&[
        ("book.toml", BOOK),
        ("i.toml", INTENTS),
        ("e.toml", EMOTIONS),
    ])
    .expect("test book parses")
}

fn understander() -> Understander {
    Understander::new(&book()).expect("test book compiles")
}

#[test]
fn understander_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Understander>();
    is::<Understanding>();
}

/// (text, primary intent, other intents that must be present, intents that must be absent)
const INTENT_CASES: &[(&str, &str, &[&str], &[&str])] = &[
    ("我的快递到哪了", "shipping", &[], &["other"]),
    ("妳們的貨怎麼還沒到", "shipping", &[], &[]),
    (
        "快递三天没动了，再不处理我就投诉",
        "shipping",
        &["complaint"],
        &[],
    ),
    // A greeting said as a clause of its own stays with the request it opens.
    ("亲在吗，我的快递到哪了", "shipping", &["greeting"], &[]),
    ("在吗", "greeting", &[], &[]),
    ("你好", "greeting", &[], &[]),
    ("我要退款", "return_refund", &[], &[]),
    ("退 款 ！！", "return_refund", &[], &[]),
    ("叫你们主管来", "escalation", &[], &[]),
    ("好的谢谢", "thanks_closing", &[], &[]),
    ("有优惠券吗", "price_promo", &[], &[]),
    ("身高170穿多大码", "product_inquiry", &[], &[]),
    ("收到就是坏的，质量太差", "quality_issue", &[], &[]),
    ("嗯", "other", &[], &[]),
    ("", "other", &[], &[]),
    ("😂😂😂", "other", &[], &[]),
    ("asdfgh", "other", &[], &[]),
    ("快遞到哪了😡😡", "shipping", &[], &[]),
    ("我要投訴你們", "complaint", &[], &[]),
];

#[test]
fn intents() {
    let u = understander();
    let mut failures = Vec::new();
    for &(text, primary, present, absent) in INTENT_CASES {
        let got = u.analyze(text);
        let ids: Vec<_> = got.intents.iter().map(|i| i.id).collect();
        let ok = got.primary_intent() == primary
            && present.iter().all(|p| ids.contains(p))
            && absent.iter().all(|p| !ids.contains(p))
            && !got.intents.is_empty()
            && got.intents.windows(2).all(|w| w[0].score >= w[1].score)
            && got.intents.iter().all(|i| (0.0..=1.0).contains(&i.score));
        if !ok {
            failures.push(format!(
                "{text:?}: expected {primary} (+{present:?}), got {:?}",
                got.intents
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (text, label, minimum intensity)
const EMOTION_CASES: &[(&str, &str, f32)] = &[
    ("我很生气", "anger", 0.5),
    ("我不生气", "neutral", 0.0),
    ("我一点都不生气，就问问", "neutral", 0.0),
    ("不是很急，慢慢来", "neutral", 0.0),
    ("我很急！！", "anxiety", 0.5),
    ("气死了气死了！！！", "anger", 0.8),
    ("太失望了", "disappointment", 0.5),
    ("很满意，给好评", "positive", 0.5),
    ("没有不满意", "neutral", 0.0),
    ("不满意", "disappointment", 0.4),
    ("我的快递到哪了", "neutral", 0.0),
    ("什么时候发货😡😡", "anger", 0.4),
    ("东西收到了👍", "positive", 0.4),
    ("再不处理我就投诉", "anger", 0.4),
    ("我都问了三遍了", "anger", 0.3),
];

#[test]
fn emotions() {
    let u = understander();
    let mut failures = Vec::new();
    for &(text, label, min) in EMOTION_CASES {
        let got = u.analyze(text).emotion;
        let ok = got.label == label && got.intensity >= min && (0.0..=1.0).contains(&got.intensity);
        if !ok {
            failures.push(format!("{text:?}: expected {label} ≥ {min}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn intensity_grows_with_intensifiers_and_punctuation() {
    let u = understander();
    let plain = u.analyze("我生气").emotion;
    let strong = u.analyze("我非常生气！！！").emotion;
    let mild = u.analyze("我有点生气").emotion;
    assert_eq!(plain.label, "anger");
    assert_eq!(strong.label, "anger");
    assert!(
        strong.intensity > plain.intensity,
        "{strong:?} vs {plain:?}"
    );
    assert!(mild.intensity <= plain.intensity, "{mild:?} vs {plain:?}");
}

/// (text, threat, repeat_ask)
const CUE_CASES: &[(&str, bool, bool)] = &[
    ("再不处理我就投诉", true, false),
    ("我要给差评", true, false),
    ("我去12315告你们", true, false),
    ("我不想投诉，只想解决问题", false, false),
    ("这是我第三次问了", false, true),
    ("我都问了好几遍了", false, true),
    ("说了多少遍了", false, true),
    ("催了两次还没发", false, true),
    ("第二次买了，很喜欢", false, false),
    ("我的快递到哪了", false, false),
];

#[test]
fn threats_and_repeat_asks() {
    let u = understander();
    let mut failures = Vec::new();
    for &(text, threat, repeat) in CUE_CASES {
        let got = u.analyze(text);
        if got.threat != threat || got.repeat_ask != repeat {
            failures.push(format!(
                "{text:?}: expected threat={threat} repeat={repeat}, got {} {}",
                got.threat, got.repeat_ask
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (text, urgent). Decision documented in `urgent.rs`: a hypothetical product question
/// (这个会漏电吗) is not urgent; anything that reports an incident is.
const URGENT_CASES: &[(&str, bool)] = &[
    ("孩子误食了零件", true),
    ("用了以后过敏了，脸都肿了", true),
    ("充电器冒烟了！！", true),
    ("插上就漏电", true),
    ("我被划伤了，受伤了", true),
    ("没有过敏，就是有点痒", false),
    ("这个会漏电吗", false),
    ("这个会漏电吗？我家有小孩", false),
    ("会不会过敏啊", false),
    ("不会漏电吧？", false),
    ("用了一次就漏电了吗？", true),
    ("这个是防过敏的吗", false),
    ("孩子吞了一颗纽扣电池怎么办", true),
    ("过 敏 了", true),
    ("用了会不会过敏", false),
    ("宝宝用了以后起疹了", true),
    ("娃把扣子吃了", true),
    ("渦敏", false),
    ("我的快递到哪了", false),
];

#[test]
fn urgency() {
    let u = understander();
    let mut failures = Vec::new();
    for &(text, urgent) in URGENT_CASES {
        let got = u.analyze(text).urgent;
        if got != urgent {
            failures.push(format!("{text:?}: expected urgent={urgent}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (text, style)
const STYLE_CASES: &[(&str, Style)] = &[
    ("请问订单号123456789012345678什么时候发货", Style::Rational),
    ("我的快递到哪了", Style::Rational),
    ("太过分了！！！我真的受不了了😡", Style::Emotional),
    ("气死了气死了，凭什么这样！", Style::Emotional),
];

#[test]
fn style() {
    let u = understander();
    for &(text, style) in STYLE_CASES {
        assert_eq!(u.analyze(text).style, style, "{text:?}");
    }
}

/// (text, [(kind, text, start, end, carrier)])
type Ent = (
    &'static str,
    &'static str,
    usize,
    usize,
    Option<&'static str>,
);
const ENTITY_CASES: &[(&str, &[Ent])] = &[
    (
        "订单号2023112245678怎么还没发",
        &[("order_id", "2023112245678", 3, 16, None)],
    ),
    (
        "订单号：１２３４５６７８９０１２３４５６",
        &[("order_id", "１２３４５６７８９０１２３４５６", 4, 20, None)],
    ),
    (
        "快递单号773012345678901查一下",
        &[("tracking_no", "773012345678901", 4, 19, Some("STO"))],
    ),
    (
        "顺丰SF1234567890123到哪了",
        &[("tracking_no", "SF1234567890123", 2, 17, Some("SF"))],
    ),
    (
        "中通 731234567890123",
        &[("tracking_no", "731234567890123", 3, 18, Some("ZTO"))],
    ),
    (
        "运单号 4312345678901",
        &[("tracking_no", "4312345678901", 4, 17, Some("YD"))],
    ),
    (
        "JDVA12345678901",
        &[("tracking_no", "JDVA12345678901", 0, 15, Some("JD"))],
    ),
    (
        "圓通YT1234567890123",
        &[("tracking_no", "YT1234567890123", 2, 17, Some("YTO"))],
    ),
    (
        "EMS单号EA123456789CN",
        &[("tracking_no", "EA123456789CN", 5, 18, Some("EMS"))],
    ),
    (
        "订单123456789012345678，快递单号75123456789012",
        &[
            ("order_id", "123456789012345678", 2, 20, None),
            ("tracking_no", "75123456789012", 25, 39, Some("ZTO")),
        ],
    ),
    (
        "电话改成138 1234 5678",
        &[("phone", "138 1234 5678", 4, 17, None)],
    ),
    ("手机13812345678", &[("phone", "13812345678", 2, 13, None)]),
    ("139-1234-5678", &[("phone", "139-1234-5678", 0, 13, None)]),
    ("花了99元", &[("amount", "99元", 2, 5, None)]),
    ("退我¥59.9", &[("amount", "¥59.9", 2, 7, None)]),
    ("59.9块钱买的", &[("amount", "59.9块钱", 0, 6, None)]),
    (
        "身高165体重110斤穿什么码",
        &[
            ("height", "165", 2, 5, None),
            ("weight", "110斤", 7, 11, None),
        ],
    ),
    (
        "我1米65，55kg",
        &[
            ("height", "1米65", 1, 5, None),
            ("weight", "55kg", 6, 10, None),
        ],
    ),
    (
        "165cm穿M码",
        &[("height", "165cm", 0, 5, None), ("size", "M码", 6, 8, None)],
    ),
    ("平时穿38码", &[("size", "38码", 3, 6, None)]),
    ("要XL的", &[("size", "XL", 1, 3, None)]),
    ("42号的鞋", &[("size", "42号", 0, 3, None)]),
    ("15号发货", &[]),
    ("便宜三十块行不行", &[("amount", "三十块", 2, 5, None)]),
    ("一百五十元", &[("amount", "一百五十元", 0, 5, None)]),
    ("能一块发吗", &[]),
    ("两块钱", &[("amount", "两块钱", 0, 3, None)]),
    ("l", &[]),
    ("今天3点", &[]),
];

fn check_entities(u: &Understander, text: &str, want: &[Ent]) -> Result<(), String> {
    let got = u.analyze(text).entities;
    let got_t: Vec<Ent> = got
        .iter()
        .map(|e| {
            let t: &'static str = Box::leak(e.text.clone().into_boxed_str());
            (e.kind, t, e.start, e.end, e.carrier)
        })
        .collect();
    // Spans must cut the original text to exactly `text`.
    for e in &got {
        let cut: String = text.chars().skip(e.start).take(e.end - e.start).collect();
        if cut != e.text {
            return Err(format!(
                "{text:?}: span {}..{} is {cut:?}, text {:?}",
                e.start, e.end, e.text
            ));
        }
    }
    if got_t != want {
        return Err(format!("{text:?}:\n  want {want:?}\n  got  {got_t:?}"));
    }
    Ok(())
}

#[test]
fn entities() {
    let u = understander();
    let failures: Vec<String> = ENTITY_CASES
        .iter()
        .filter_map(|(t, w)| check_entities(&u, t, w).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (kind, text) → value
const VALUE_CASES: &[(&str, &str, &str)] = &[
    ("phone", "138 1234 5678", "13812345678"),
    ("phone", "１３８-１２３４-５６７８", "13812345678"),
    ("order_id", "１２３４５６７８９０１２３", "1234567890123"),
    (
        "tracking_no",
        "ＳＦ１２３４５６７８９０１２３",
        "SF1234567890123",
    ),
    ("amount", "¥59.9", "59.9"),
    ("amount", "５９块钱", "59"),
    ("amount", "三十块", "三十"),
    ("size", "XL", "XL"),
];

#[test]
fn entity_values() {
    for &(kind, text, value) in VALUE_CASES {
        let e = huashu_understand::Entity {
            kind,
            text: text.into(),
            start: 0,
            end: text.chars().count(),
            carrier: None,
        };
        assert_eq!(e.value(), value, "{kind} {text:?}");
    }
}

#[test]
fn empty_book_still_answers() {
    let book = parse_str(&[("book.toml", BOOK)]).expect("parses");
    let u = Understander::new(&book).expect("compiles");
    let got = u.analyze("我的快递到哪了？我很生气");
    assert_eq!(got.primary_intent(), "other");
    assert_eq!(got.emotion.label, "neutral");
    let got = u.analyze("再不发货我就投诉");
    assert!(got.threat);
    assert_eq!(got.primary_intent(), "complaint");
}

#[test]
fn bad_patterns_name_file_line_and_id() {
    let bad = "[[intent]]\nid = \"shipping\"\npatterns = { '(快递' = 1.0 }\nexamples = [\"x\"]\n";
    let book = parse_str(&[("book.toml", BOOK), ("bad.toml", bad)]).expect("parses");
    let err = Understander::new(&book).expect_err("bad regex");
    let msg = err.to_string();
    assert!(
        msg.starts_with("bad.toml:1: [shipping] bad pattern"),
        "{msg}"
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let u = understander();
    let long = "快递".repeat(10_000);
    for text in [
        "\u{0}\u{200b}\u{feff}",
        "１２３４５６７８９０１２３４５６７８９０１２３４５",
        "SF",
        "¥",
        "1米",
        "1.",
        ".5元",
        "😡",
        long.as_str(),
        "ＡＢＣ１２３ｃｍ",
        "\u{10FFFF}\u{E000}",
    ] {
        let got = u.analyze(text);
        assert!(!got.intents.is_empty());
        for e in &got.entities {
            assert!(e.start < e.end && e.end <= text.chars().count());
        }
    }
}

#[test]
fn long_hostile_turns_stay_fast() {
    // Thousands of hits, negators and entities in one message: every per-hit question looks
    // only at nearby hits, so this is linear. (No timing assertion: a quadratic pass would
    // take minutes here, not milliseconds.)
    let u = understander();
    let parts = [
        "我不生气",
        "过敏",
        "快递",
        "不",
        "订单号123456789012345 ",
        "S ",
        "13812345678 ",
        "！？",
    ];
    let text: String = parts.iter().cycle().take(40_000).copied().collect();
    let got = u.analyze(&text);
    assert!(!got.intents.is_empty());
    assert!(got.entities.len() > 1000);
}

#[test]
fn training_is_deterministic() {
    let a = understander();
    let b = understander();
    for &(text, ..) in INTENT_CASES {
        assert_eq!(a.analyze(text), b.analyze(text), "{text:?}");
    }
}

/// Short follow-ups: `(text, agent's last line, earlier topic, primary, confident)`. A turn that
/// decides by itself keeps its own intent whatever came before; one that does not borrows the
/// conversation's (the agent's question, or the customer's earlier topic).
/// `(text, agent, topic, primary, confident)`.
type ContextCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    bool,
);

const CONTEXT_CASES: &[ContextCase] = &[
    ("就那个", None, None, "other", false),
    ("就那个", None, Some("price_promo"), "price_promo", true),
    (
        "就那个",
        Some("请问是要取消订单还是改地址呢？"),
        None,
        "order_change",
        true,
    ),
    (
        "有优惠券吗",
        None,
        Some("order_change"),
        "price_promo",
        true,
    ),
    (
        "有优惠券吗",
        Some("请问是要取消订单还是改地址呢？"),
        None,
        "price_promo",
        true,
    ),
];

#[test]
fn context_lends_its_intent_only_to_unsure_turns() {
    let u = understander();
    let mut failures = Vec::new();
    for &(text, agent, topic, primary, confident) in CONTEXT_CASES {
        let got = u.analyze_in(text, &huashu_understand::Context { agent, topic });
        if got.primary_intent() != primary || got.confident != confident {
            failures.push(format!(
                "{text:?} after {agent:?}/{topic:?}: expected {primary} (confident {confident}), got {:?} (confident {})",
                got.intents, got.confident
            ));
        }
    }
    // Without context, `analyze_in` is `analyze`.
    let plain = u.analyze("有优惠券吗");
    let none = u.analyze_in("有优惠券吗", &huashu_understand::Context::default());
    if plain != none {
        failures.push(format!("{plain:?} != {none:?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
