//! Behaviour tests of the suggester on a small hand-written book: the seed rules (style, safety,
//! complaint stages), history (no repeats, dismissals), slots, FAQ, state bookkeeping.

use huashu_phrasebook::{Phrasebook, Style, parse_str};
use huashu_understand::{Emotion, Entity, IntentScore, Understanding};

use crate::{ComplaintStage, ConversationState, FeedbackAction, Suggester, Suggestion, Trend};

const BOOK: &str = r#"
[book]
name = "test"
[slots]
"称呼" = "亲"
"店铺" = "本店"
"订单号" = ""
"物流单号" = ""
"快递公司" = ""
"金额" = ""
"#;

const SCRIPTS: &str = r#"
[[script]]
id = "qi.soothe"
intent = "quality_issue"
stage = "soothe"
tags = ["empathy"]
text = "{称呼}，非常理解您的心情，收到有问题的商品确实让人失望。"

[[script]]
id = "qi.apology"
intent = "quality_issue"
stage = "soothe"
tags = ["apology"]
text = "{称呼}，给您带来不好的体验，真的非常抱歉。"

[[script]]
id = "qi.solution"
intent = "quality_issue"
stage = "solve"
tags = ["solution"]
text = "{称呼}，我们可以为您办理退货退款或补发新品，您看哪种方式更方便？"

[[script]]
id = "qi.photo"
intent = "quality_issue"
stage = "clarify"
text = "麻烦{称呼}拍一下商品问题的照片，我马上为您核实。"

[[script]]
id = "qi.follow"
intent = "quality_issue"
stage = "follow_up"
text = "{称呼}，补发已安排，24小时内给您回复进展。"

[[script]]
id = "qi.safety"
intent = "quality_issue"
stage = "solve"
urgent = true
tags = ["safety"]
text = "{称呼}，请立即停止使用，如有不适请尽快就医，我们会全力负责。"

[[script]]
id = "sh.soothe"
intent = "shipping"
stage = "soothe"
emotions = ["anger", "anxiety", "disappointment"]
tags = ["empathy"]
text = "{称呼}，让您久等了，非常理解您着急的心情。"

[[script]]
id = "sh.order"
intent = "shipping"
stage = "solve"
tags = ["solution"]
text = "{称呼}，订单{订单号}我马上为您查询物流。"

[[script]]
id = "sh.track"
intent = "shipping"
stage = "solve"
tags = ["solution"]
text = "{称呼}，您的{快递公司}包裹{物流单号}正在派送中。"

[[script]]
id = "sh.ask_order"
intent = "shipping"
stage = "clarify"
text = "{称呼}，麻烦提供一下订单号，我帮您查询。"

[[script]]
id = "sh.rational"
intent = "shipping"
stage = "solve"
style = "rational"
tags = ["solution"]
text = "{称呼}，已为您催促快递，预计明天送达。"

[[script]]
id = "sh.follow"
intent = "shipping"
stage = "follow_up"
text = "{称呼}，我会持续跟进物流，有进展第一时间通知您。"

[[script]]
id = "esc.manager"
intent = "escalation"
stage = "solve"
tags = ["escalation"]
text = "{称呼}，我马上为您联系主管，请稍等。"

[[script]]
id = "other.hello"
intent = "other"
stage = "greet"
text = "{称呼}您好，{店铺}很高兴为您服务。"

[[script]]
id = "other.more"
intent = "other"
stage = "clarify"
text = "{称呼}，请问还有什么可以帮您？"

[[script]]
id = "other.wait"
intent = "other"
stage = "clarify"
text = "{称呼}，请稍等，我马上为您查看。"

[[script]]
id = "pi.answer"
intent = "product_inquiry"
stage = "solve"
text = "{称呼}，这款商品的详细参数在详情页可以看到哦。"

[[script]]
id = "pi.ask"
intent = "product_inquiry"
stage = "clarify"
text = "{称呼}，请问您想了解哪方面的信息呢？"

[[script]]
id = "pp.coupon"
intent = "price_promo"
stage = "promote"
priority = 2
text = "{称呼}，现在领券下单更优惠哦。"

[[script]]
id = "pp.refund_diff"
intent = "price_promo"
stage = "solve"
text = "{称呼}，差价{金额}元会为您退回。"

[[faq]]
id = "faq.free_ship"
questions = ["包邮吗", "运费怎么算"]
answer = "{称呼}，全场满99元包邮。"
intent = "price_promo"
source = "运费政策"

[[faq]]
id = "faq.size"
questions = ["尺码怎么选", "我该穿什么码"]
answer = "{称呼}，身高170体重60公斤建议选M码。"
intent = "product_inquiry"
source = "尺码表"
"#;

fn book() -> Phrasebook {
    parse_str(&[("book.toml", BOOK), ("s.toml", SCRIPTS)]).expect("test book parses")
}

fn suggester() -> Suggester {
    Suggester::new(&book()).expect("test book compiles")
}

fn book_faq(id: &str) -> huashu_phrasebook::FaqEntry {
    book()
        .faq
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no faq {id}"))
}

/// A turn as the understander would describe it.
#[derive(Clone)]
struct Turn {
    u: Understanding,
    text: &'static str,
}

fn turn(
    intents: &[(&'static str, f32)],
    emotion: &'static str,
    intensity: f32,
    style: Style,
) -> Turn {
    Turn {
        u: Understanding {
            intents: intents
                .iter()
                .map(|&(id, score)| IntentScore { id, score })
                .collect(),
            emotion: Emotion {
                label: emotion,
                intensity,
            },
            urgent: false,
            urgent_kind: None,
            style,
            entities: Vec::new(),
            threat: false,
            repeat_ask: false,
            confident: true,
        },
        text: "",
    }
}

impl Turn {
    fn urgent(mut self) -> Self {
        self.u.urgent = true;
        self
    }
    fn threat(mut self) -> Self {
        self.u.threat = true;
        self
    }
    fn repeat(mut self) -> Self {
        self.u.repeat_ask = true;
        self
    }
    fn text(mut self, text: &'static str) -> Self {
        self.text = text;
        self
    }
    fn entity(mut self, kind: &'static str, text: &str, carrier: Option<&'static str>) -> Self {
        self.u.entities.push(Entity {
            kind,
            text: text.to_string(),
            start: 0,
            end: text.chars().count(),
            carrier,
        });
        self
    }
}

/// One customer turn through state and suggester, as the engine does it.
fn run(s: &Suggester, st: &mut ConversationState, t: &Turn) -> Vec<Suggestion> {
    st.observe_customer(&t.u, None);
    let out = s.suggest(&t.u, t.text, st);
    check_invariants(&out);
    out
}

fn check_invariants(out: &[Suggestion]) {
    assert!(out.len() <= 5, "{out:#?}");
    for (i, a) in out.iter().enumerate() {
        assert!(!a.text.contains('{') && !a.text.contains('}'), "{a:?}");
        assert!(
            out[i + 1..].iter().all(|b| b.script != a.script),
            "duplicate {}",
            a.script
        );
    }
}

fn ids(out: &[Suggestion]) -> Vec<&str> {
    out.iter().map(|s| s.script.as_str()).collect()
}

fn is_empathy(s: &Suggestion) -> bool {
    s.stage == "soothe" || s.tags.iter().any(|t| t == "empathy" || t == "apology")
}

fn is_solution(s: &Suggestion) -> bool {
    s.stage == "solve" || s.tags.iter().any(|t| t == "solution")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum First {
    Empathy,
    Solution,
}

#[test]
fn style_rule_decides_what_comes_first() {
    use Style::*;
    const CASES: &[(&str, &str, f32, Style, First)] = &[
        ("quality_issue", "neutral", 0.0, Rational, First::Solution),
        (
            "quality_issue",
            "disappointment",
            0.2,
            Rational,
            First::Solution,
        ),
        ("quality_issue", "anger", 0.8, Emotional, First::Empathy),
        ("quality_issue", "anger", 0.8, Rational, First::Empathy),
        (
            "quality_issue",
            "disappointment",
            0.6,
            Emotional,
            First::Empathy,
        ),
        ("shipping", "anxiety", 0.7, Emotional, First::Empathy),
        ("shipping", "neutral", 0.0, Rational, First::Solution),
    ];
    let s = suggester();
    for &(intent, emotion, intensity, style, want) in CASES {
        let mut st = ConversationState::new();
        let out = run(
            &s,
            &mut st,
            &turn(&[(intent, 0.9)], emotion, intensity, style),
        );
        assert!(out.len() >= 3, "{intent} {emotion}: {:?}", ids(&out));
        let got = if is_empathy(&out[0]) {
            First::Empathy
        } else if is_solution(&out[0]) {
            First::Solution
        } else {
            panic!(
                "{intent} {emotion} {style:?}: neither first: {:?}",
                ids(&out)
            );
        };
        assert_eq!(
            got,
            want,
            "{intent} {emotion} {intensity} {style:?}: {:?}",
            ids(&out)
        );
    }
}

#[test]
fn filters_on_emotion_style_and_urgency() {
    let s = suggester();
    // sh.soothe is only for negative emotions, sh.rational only for rational customers.
    let mut st = ConversationState::new();
    let out = run(
        &s,
        &mut st,
        &turn(&[("shipping", 0.9)], "neutral", 0.0, Style::Emotional),
    );
    assert!(!ids(&out).contains(&"sh.soothe"), "{:?}", ids(&out));
    assert!(!ids(&out).contains(&"sh.rational"), "{:?}", ids(&out));
    // Safety scripts never show on ordinary turns.
    for _ in 0..4 {
        let out = run(
            &s,
            &mut st,
            &turn(&[("quality_issue", 0.9)], "anger", 0.9, Style::Emotional),
        );
        assert!(!ids(&out).contains(&"qi.safety"), "{:?}", ids(&out));
    }
}

#[test]
fn urgent_turn_puts_safety_first_even_when_repeated() {
    let s = suggester();
    let mut st = ConversationState::new();
    // Even under another intent (the child swallowed a part while asking about shipping).
    let t = turn(&[("shipping", 0.8)], "anxiety", 0.9, Style::Emotional).urgent();
    for _ in 0..3 {
        let out = run(&s, &mut st, &t);
        assert_eq!(out[0].script, "qi.safety", "{:?}", ids(&out));
    }
}

#[test]
fn the_same_turn_twice_gives_a_different_top() {
    let s = suggester();
    let mut st = ConversationState::new();
    let t = turn(&[("quality_issue", 0.9)], "anger", 0.8, Style::Emotional);
    let first = run(&s, &mut st, &t);
    let second = run(&s, &mut st, &t);
    assert_ne!(
        first[0].script,
        second[0].script,
        "{:?} / {:?}",
        ids(&first),
        ids(&second)
    );
    // Determinism: a fresh conversation gives exactly the first answer again.
    let again = run(&s, &mut ConversationState::new(), &t);
    assert_eq!(first, again);
}

#[test]
fn dismissed_scripts_do_not_come_back_soon() {
    let s = suggester();
    let mut st = ConversationState::new();
    let t = turn(&[("quality_issue", 0.9)], "neutral", 0.0, Style::Rational);
    let out = run(&s, &mut st, &t);
    let top = out[0].script.clone();
    // The console sends the engine's per-turn id ("<turn>:<script>").
    st.feedback(&format!("{}:{top}", st.turns()), FeedbackAction::Dismissed);
    for _ in 0..4 {
        let out = run(&s, &mut st, &t);
        assert!(
            !ids(&out).contains(&top.as_str()),
            "{top} back in {:?}",
            ids(&out)
        );
    }
}

#[test]
fn used_scripts_favour_their_stage_successors() {
    let s = suggester();
    let t = turn(
        &[("product_inquiry", 0.9)],
        "neutral",
        0.0,
        Style::Emotional,
    );
    let mut plain = ConversationState::new();
    run(&s, &mut plain, &t);
    let mut used = plain.clone();
    used.feedback("pi.ask", FeedbackAction::Used);
    // pi.ask (clarify) was used: pi.answer (solve) follows it; pi.ask itself steps back.
    let score = |st: &ConversationState, id| s.score_of(&t.u, st, id).expect("eligible");
    assert_eq!(score(&used, "pi.answer") - score(&plain, "pi.answer"), 1.5);
    assert_eq!(score(&used, "pi.ask") - score(&plain, "pi.ask"), -3.0);
}

#[test]
fn slots_are_filled_from_entities_and_unfillable_scripts_skipped() {
    let s = suggester();
    let t = turn(&[("shipping", 0.9)], "neutral", 0.0, Style::Rational);
    let mut st = ConversationState::new();
    let out = run(&s, &mut st, &t);
    // No order number yet: the script needing one is never shown, braces never leak.
    assert!(!ids(&out).contains(&"sh.order"), "{:?}", ids(&out));
    assert!(!ids(&out).contains(&"sh.track"), "{:?}", ids(&out));

    let mut st = ConversationState::new();
    let t2 = t.clone().entity("order_id", "2023112245678", None);
    let out = run(&s, &mut st, &t2);
    let order = out
        .iter()
        .find(|x| x.script == "sh.order")
        .expect("sh.order offered");
    assert_eq!(order.text, "亲，订单2023112245678我马上为您查询物流。");

    // Remembered on later turns; tracking numbers bring the carrier's Chinese name.
    let t3 = t
        .clone()
        .entity("tracking_no", "SF1234567890123", Some("SF"));
    let out = run(&s, &mut st, &t3);
    let track = out
        .iter()
        .find(|x| x.script == "sh.track")
        .expect("sh.track offered");
    assert_eq!(track.text, "亲，您的顺丰包裹SF1234567890123正在派送中。");
    assert_eq!(
        st.slots.get("订单号").map(String::as_str),
        Some("2023112245678")
    );

    // The latest value wins; amounts lose their currency signs; names address the customer.
    st.set_customer_name(Some("王女士"));
    let t4 = turn(&[("price_promo", 0.9)], "neutral", 0.0, Style::Rational)
        .entity("order_id", "2023112299999", None)
        .entity("amount", "¥30", None);
    let out = run(&s, &mut st, &t4);
    assert_eq!(
        st.slots.get("订单号").map(String::as_str),
        Some("2023112299999")
    );
    let diff = out
        .iter()
        .find(|x| x.script == "pp.refund_diff")
        .expect("refund diff offered");
    assert_eq!(diff.text, "王女士，差价30元会为您退回。");
}

#[test]
fn faq_answers_product_and_policy_questions() {
    let s = suggester();
    const CASES: &[(&str, &str, Option<&str>)] = &[
        ("price_promo", "你们家包邮吗？", Some("faq.free_ship")),
        ("price_promo", "运费是怎么算的", Some("faq.free_ship")),
        ("product_inquiry", "我170该穿什么码", Some("faq.size")),
        ("product_inquiry", "这个是什么材质", None),
        // Not a product/policy turn: no FAQ even if words overlap.
        ("complaint", "包邮吗包邮吗我要投诉", None),
    ];
    for &(intent, text, want) in CASES {
        let mut st = ConversationState::new();
        let t = turn(&[(intent, 0.9)], "neutral", 0.0, Style::Rational).text(text);
        let out = run(&s, &mut st, &t);
        let faq: Vec<&Suggestion> = out.iter().filter(|x| x.tags == ["faq"]).collect();
        assert!(faq.len() <= 2);
        match want {
            None => assert!(faq.is_empty(), "{text}: {:?}", ids(&out)),
            Some(id) => {
                let f = faq
                    .first()
                    .unwrap_or_else(|| panic!("{text}: no faq in {:?}", ids(&out)));
                assert_eq!(f.script, id);
                assert_eq!(f.stage, "solve");
                // Agents see the policy name and a Chinese title, never the internal id.
                let entry = book_faq(id);
                assert_eq!(f.source.as_deref(), Some(entry.source.as_str()));
                assert!(
                    !f.title.is_empty() && !f.title.contains("faq"),
                    "{}",
                    f.title
                );
                assert!(!f.text.contains('{'));
            }
        }
    }
}

#[test]
fn complaint_stage_follows_agent_turns() {
    let s = suggester();
    let mut st = ConversationState::new();
    let angry = turn(&[("quality_issue", 0.9)], "anger", 0.8, Style::Emotional);
    let out = run(&s, &mut st, &angry);
    assert!(st.in_complaint());
    assert_eq!(st.stage(), ComplaintStage::ListenSoothe);
    assert!(is_empathy(&out[0]), "{:?}", ids(&out));

    st.observe_agent("非常理解您的心情", None);
    assert_eq!(st.stage(), ComplaintStage::Apologise);
    st.observe_agent("真的非常抱歉给您添麻烦了", None);
    assert_eq!(st.stage(), ComplaintStage::Solution);
    // Already apologised: still angry, but the lead is not another apology.
    let out = run(&s, &mut st, &angry);
    assert!(
        !out[0].tags.iter().any(|t| t == "apology"),
        "{:?}",
        ids(&out)
    );
    assert!(is_solution(&out[0]), "{:?}", ids(&out));

    st.observe_agent("已经为您申请补发", None);
    assert_eq!(st.stage(), ComplaintStage::FollowUp);
    let calm = turn(&[("quality_issue", 0.9)], "neutral", 0.0, Style::Emotional);
    let out = run(&s, &mut st, &calm);
    assert_eq!(out[0].script, "qi.follow", "{:?}", ids(&out));

    // The solution did not land: asking again sends the flow back to solutions.
    run(&s, &mut st, &angry.clone().repeat());
    assert_eq!(st.stage(), ComplaintStage::Solution);
}

#[test]
fn agent_turns_outside_a_complaint_do_not_move_the_stage() {
    let mut st = ConversationState::new();
    let t = turn(&[("product_inquiry", 0.9)], "neutral", 0.0, Style::Rational);
    st.observe_customer(&t.u, Some(1_000));
    st.observe_agent("不好意思让您久等了，已为您申请", Some(2_000));
    assert!(!st.in_complaint());
    assert_eq!(st.stage(), ComplaintStage::ListenSoothe);
}

#[test]
fn escalation_risk_rises_and_brings_an_escalation_script() {
    let s = suggester();
    let mut st = ConversationState::new();
    let turns = [
        turn(&[("shipping", 0.9)], "anxiety", 0.4, Style::Rational),
        turn(&[("shipping", 0.9)], "disappointment", 0.6, Style::Rational).repeat(),
        turn(&[("shipping", 0.9)], "anger", 0.7, Style::Emotional).repeat(),
        turn(
            &[("complaint", 0.9), ("shipping", 0.6)],
            "anger",
            0.9,
            Style::Emotional,
        )
        .threat(),
    ];
    let mut last = -1.0;
    let mut out = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        st.observe_customer(&t.u, Some(i as i64 * 60_000));
        out = s.suggest(&t.u, t.text, &mut st);
        check_invariants(&out);
        assert!(
            st.escalation_risk() > last,
            "turn {i}: {}",
            st.escalation_risk()
        );
        last = st.escalation_risk();
        // Every turn raised the risk: the run counts them all (the alert's "over N turns").
        assert_eq!(st.risk_rising_turns(), i as u32 + 1);
    }
    assert_eq!(st.trend(), Trend::Rising);
    assert!(st.escalation_risk() >= crate::ESCALATION_RISK);
    // No complaint or escalation script matches the intents, but the book has one: offer it.
    assert!(ids(&out).contains(&"esc.manager"), "{:?}", ids(&out));

    // Calm turns let it cool down, slowly.
    let calm = turn(&[("shipping", 0.9)], "neutral", 0.0, Style::Rational);
    st.observe_agent("非常抱歉，已为您申请补发", Some(300_000));
    let before = st.escalation_risk();
    st.observe_customer(&calm.u, Some(310_000));
    assert!(st.escalation_risk() < before && st.escalation_risk() > 0.0);
    assert_eq!(st.risk_rising_turns(), 0, "a calming turn ends the run");
}

#[test]
fn escalation_intent_gets_an_escalation_script_first() {
    let s = suggester();
    let mut st = ConversationState::new();
    let out = run(
        &s,
        &mut st,
        &turn(&[("escalation", 0.9)], "anger", 0.5, Style::Rational),
    );
    assert!(ids(&out).contains(&"esc.manager"), "{:?}", ids(&out));
}

#[test]
fn trend_waiting_and_repeated_asks() {
    let mut st = ConversationState::new();
    for (i, a) in [0.2f32, 0.3, 0.8, 0.9].into_iter().enumerate() {
        let t = turn(&[("shipping", 0.9)], "anger", a, Style::Emotional);
        st.observe_customer(&t.u, Some(1_000 * i as i64));
    }
    assert_eq!(st.trend(), Trend::Rising);
    assert_eq!(st.ask_count("shipping"), 4);
    assert_eq!(st.waiting_ms(10_000), Some(10_000));
    assert_eq!(st.stage(), ComplaintStage::ListenSoothe);
    assert!(st.escalation_risk() > 0.3, "{}", st.escalation_risk());
    assert_eq!(
        serde_json::to_string(&st.trend()).expect("trend serialises"),
        r#""rising""#
    );

    st.observe_agent("您好", Some(11_000));
    assert_eq!(st.waiting_ms(12_000), None);
    for a in [0.2f32, 0.1] {
        let t = turn(&[("shipping", 0.9)], "anger", a, Style::Emotional);
        st.observe_customer(&t.u, Some(13_000));
    }
    assert_eq!(st.trend(), Trend::Falling);
    // The emotion history is bounded.
    for _ in 0..30 {
        let t = turn(&[("other", 0.1)], "neutral", 0.0, Style::Rational);
        st.observe_customer(&t.u, None);
    }
    assert_eq!(st.emotions().count(), 10);
    assert_eq!(st.trend(), Trend::Steady);
}

#[test]
fn every_intent_of_the_test_book_gets_three_to_five() {
    let s = suggester();
    for intent in huashu_phrasebook::INTENTS {
        let mut st = ConversationState::new();
        let out = run(
            &s,
            &mut st,
            &turn(&[(intent, 0.5)], "neutral", 0.0, Style::Rational),
        );
        assert!((3..=5).contains(&out.len()), "{intent}: {:?}", ids(&out));
    }
    // Degenerate understanding: no intents, NaN intensity.
    let mut t = turn(&[], "neutral", f32::NAN, Style::Rational);
    t.u.intents.clear();
    let out = run(&s, &mut ConversationState::new(), &t);
    assert!(out.len() >= 3, "{:?}", ids(&out));
}

#[test]
fn broken_templates_are_compile_errors_naming_the_script() {
    let mut b = book();
    b.scripts[0].text = "{称呼".into();
    let err = Suggester::new(&b).expect_err("unclosed brace").to_string();
    assert!(err.contains("[qi.soothe]"), "{err}");
}

#[test]
fn empty_book_gives_nothing_and_does_not_panic() {
    let b = parse_str(&[("book.toml", BOOK)]).expect("parses");
    let s = Suggester::new(&b).expect("compiles");
    let mut st = ConversationState::new();
    let out = run(
        &s,
        &mut st,
        &turn(&[("shipping", 0.9)], "anger", 1.0, Style::Emotional).urgent(),
    );
    assert!(out.is_empty());
}

#[test]
fn thread_safety() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<ConversationState>();
    send_sync::<Suggester>();
}

#[test]
fn high_risk_offers_escalation_even_when_the_intent_fills_every_place() {
    let s = suggester();
    let mut st = ConversationState::new();
    let t = turn(&[("quality_issue", 0.9)], "anger", 1.0, Style::Emotional)
        .threat()
        .repeat();
    let first = run(&s, &mut st, &t);
    assert!(
        st.escalation_risk() >= crate::ESCALATION_RISK,
        "{}",
        st.escalation_risk()
    );
    assert!(ids(&first).contains(&"esc.manager"), "{:?}", ids(&first));
    // Still an empathy lead: escalation is offered, not forced to the top.
    assert!(is_empathy(&first[0]), "{:?}", ids(&first));
}

/// Regression: while tags were strings, `data` and the unsafe-in-safety tags shared one flag
/// bit, so a coupon script got the +3 data bonus over an equal untagged one, and a `data`
/// script was kept out of safety mode.
#[test]
fn coupon_scripts_get_no_data_bonus() {
    const PROMO: &str = r#"
[[script]]
id = "promo.a_coupon"
intent = "price_promo"
stage = "solve"
tags = ["coupon"]
text = "{称呼}，这边可以领一张店铺优惠券。"

[[script]]
id = "promo.b_plain"
intent = "price_promo"
stage = "solve"
priority = 1
text = "{称呼}，活动价以下单页面显示为准。"
"#;
    let book = parse_str(&[("book.toml", BOOK), ("p.toml", PROMO)]).expect("parses");
    let s = Suggester::new(&book).expect("compiles");
    let mut st = ConversationState::new();
    let t = turn(&[("price_promo", 0.9)], "neutral", 0.0, Style::Rational);
    let out = run(&s, &mut st, &t);
    // Same score; the higher priority wins the tie.
    assert_eq!(
        ids(&out)[..2],
        ["promo.b_plain", "promo.a_coupon"],
        "{out:#?}"
    );
}
