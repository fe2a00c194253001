//! Table-driven guard cases on a small inline book: normalisation tricks, allow-contexts,
//! boundaries, position rules, regex prefilters and span mapping.

use huashu_guard::{Guard, MatcherKind};
use huashu_phrasebook::parse_str;

const BOOK: &str = r#"
[book]
name = "t"

[[rule]]
id = "provoke.go_sue"
category = "provoke"
severity = "block"
phrases = ["你去告", "你去告啊", "爱上哪告上哪告"]
allow = ["告诉"]
rewrite = "非常抱歉，我们一定尽力为您解决。"

[[rule]]
id = "dismissive.dont_know"
category = "dismissive"
severity = "warn"
phrases = ["不知道", "不清楚"]
allow = ["不知道您", "不知道是否", "不清楚的地方"]
rewrite = "我帮您确认一下。"

[[rule]]
id = "impatience.rush"
category = "impatience"
severity = "warn"
phrases = ["催什么催", "催什么"]
patterns = ["我都说了?[几两三四五\\d]+遍了?"]
allow = ["帮您催"]
rewrite = "我再为您说明一下。"

[[rule]]
id = "impatience.wait_curt"
category = "impatience"
severity = "warn"
patterns = ["(?m)^(你)?(等会儿?|等着)$"]
rewrite = "抱歉，请您稍等一下。"

[[rule]]
id = "insult.gun"
category = "insult"
severity = "block"
phrases = ["滚", "给我滚", "神经病"]
allow = ["滚筒"]
rewrite = "抱歉给您带来不好的体验。"

[[rule]]
id = "rude_opening.wei"
category = "rude_opening"
severity = "warn"
phrases = ["喂"]
position = "start"
allow = ["喂养", "喂奶"]
rewrite = "您好，请问有什么可以帮您？"

[[rule]]
id = "overpromise.guarantee"
category = "overpromise"
severity = "warn"
patterns = ["(保证|绝对|百分之?百)(明天|今天|后天)?(一定)?(到|送达|发货|退款|没问题)"]
rewrite = "我们会尽力为您加急处理。"
"#;

/// (text, expected hits as (rule id, original span text)).
const CASES: &[(&str, &[(&str, &str)])] = &[
    ("你去告啊", &[("provoke.go_sue", "你去告啊")]),
    ("你 去.告-啊😡", &[("provoke.go_sue", "你 去.告-啊")]),
    ("妳去吿啊", &[("provoke.go_sue", "妳去吿啊")]),
    ("ＯＫ，你去告吧", &[("provoke.go_sue", "你去告")]),
    (
        "爱上哪告上哪告，随便",
        &[("provoke.go_sue", "爱上哪告上哪告")],
    ),
    ("告诉您一个好消息", &[]),
    ("我不知道", &[("dismissive.dont_know", "不知道")]),
    ("不知道您方便提供订单号吗", &[]),
    (
        "我也不知道。您自己看吧",
        &[("dismissive.dont_know", "不知道")],
    ),
    ("不清楚的地方可以随时问我", &[]),
    ("我帮您催一下快递", &[]),
    ("催什么催", &[("impatience.rush", "催什么催")]),
    // The run 催催催，催 collapses to one 催, so the span covers all of it.
    (
        "催催催，催什么催啊",
        &[("impatience.rush", "催催催，催什么催")],
    ),
    ("我都说了三遍了", &[("impatience.rush", "我都说了三遍了")]),
    // An allow-context may be a left context that only reaches into the hit.
    ("请问要我帮您催什么呢？", &[]),
    ("催什么？我帮您催", &[("impatience.rush", "催什么")]),
    // `(?m)` patterns: `^`/`$` match at sentence ends of the original text.
    (
        "等会儿！没看到我在忙吗",
        &[("impatience.wait_curt", "等会儿")],
    ),
    ("好的。你等着。", &[("impatience.wait_curt", "你等着")]),
    ("等会儿我帮您查一下", &[]),
    ("等会儿，我帮您查一下", &[]),
    ("我都说3遍了！", &[("impatience.rush", "我都说3遍了")]),
    ("滚！", &[("insult.gun", "滚")]),
    ("你给我滚", &[("insult.gun", "给我滚")]),
    ("滚筒洗衣机很好用", &[]),
    ("滚动播放", &[]),
    ("神 经 病", &[("insult.gun", "神 经 病")]),
    ("喂，在吗", &[("rude_opening.wei", "喂")]),
    ("  喂?", &[("rude_opening.wei", "喂")]),
    ("喂养方法在说明书第三页", &[]),
    ("亲，宝宝喂奶前要洗手哦", &[]),
    ("我保证明天到", &[("overpromise.guarantee", "保证明天到")]),
    ("百分之百退款", &[("overpromise.guarantee", "百分之百退款")]),
    ("这是质量保证书", &[]),
    (
        "你去告啊，我不知道",
        &[
            ("provoke.go_sue", "你去告啊"),
            ("dismissive.dont_know", "不知道"),
        ],
    ),
    ("", &[]),
    ("😡😡😡", &[]),
];

fn check(guard: &Guard) {
    for (text, want) in CASES {
        let hits = guard.check(text);
        let got: Vec<(&str, String)> = hits
            .iter()
            .map(|h| {
                let span: String = text.chars().skip(h.start).take(h.end - h.start).collect();
                (guard.rules()[h.rule].id.as_str(), span)
            })
            .collect();
        let want: Vec<(&str, String)> = want.iter().map(|(r, s)| (*r, s.to_string())).collect();
        assert_eq!(got, want, "text: {text:?}");
    }
}

fn book() -> huashu_phrasebook::Phrasebook {
    parse_str(&[("book.toml", BOOK)]).expect("test book parses")
}

#[test]
fn cases_with_aho_corasick() {
    let guard = Guard::builder()
        .matcher(MatcherKind::AhoCorasick)
        .build(&book().rules)
        .expect("compiles");
    assert_eq!(guard.matcher_name(), "aho-corasick");
    check(&guard);
}

#[test]
fn cases_with_daachorse() {
    let guard = Guard::builder()
        .matcher(MatcherKind::Daachorse)
        .build(&book().rules)
        .expect("compiles");
    assert_eq!(guard.matcher_name(), "daachorse");
    check(&guard);
}

#[test]
fn bad_rules_name_file_line_and_id() {
    let bad = r#"
[book]
name = "t"

[[rule]]
id = "x.bad_regex"
category = "argue"
severity = "warn"
patterns = ["(unclosed"]
rewrite = "r"

[[rule]]
id = "x.punct_only"
category = "argue"
severity = "warn"
phrases = ["？！"]
rewrite = "r"

[[rule]]
id = "x.not_normal"
category = "argue"
severity = "warn"
patterns = ["說什麼"]
rewrite = "r"
"#;
    let book = parse_str(&[("forbidden.toml", bad)]).expect("shape is fine");
    let errs: Vec<String> = Guard::builder()
        .build(&book.rules)
        .expect_err("must fail")
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs[0].starts_with("forbidden.toml:5: [x.bad_regex] invalid pattern"),
        "{errs:?}"
    );
    assert!(
        errs[1].starts_with("forbidden.toml:12: [x.punct_only] phrase"),
        "{errs:?}"
    );
    assert!(
        errs[2].starts_with("forbidden.toml:19: [x.not_normal]"),
        "{errs:?}"
    );
}

#[test]
fn guard_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Guard>();
}
