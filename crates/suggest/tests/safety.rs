//! Safety mode and the suggestion list on a small book written here: once a turn is urgent the
//! conversation stays in safety mode through calm turns until resolved; the kind's first action
//! leads until the agent used one; compensation/keep-using/coupon/promotion/review scripts and
//! other kinds' scripts never appear; near-duplicates are dropped; titles are Chinese labels.

use huashu_phrasebook::{Style, UrgentKind, parse_str};
use huashu_suggest::{ConversationState, FeedbackAction, Suggester, Suggestion};
use huashu_understand::{Emotion, IntentScore, Understanding};

const BOOK: &str = r#"
[book]
name = "t"
[slots]
"称呼" = "亲"
"#;

const SCRIPTS: &str = r#"
[[intent]]
id = "quality_issue"
name = "质量问题"
examples = ["坏了"]

[[script]]
id = "qi.soothe"
intent = "quality_issue"
stage = "soothe"
tags = ["empathy"]
text = "{称呼}，给您带来不便非常抱歉，我这就帮您看看。"

[[script]]
id = "qi.compensate"
intent = "quality_issue"
stage = "solve"
tags = ["solution", "compensation", "keep_using"]
priority = 5
text = "{称呼}，如果您不想退换，我们可以给您一些补偿，商品您继续使用。"

[[script]]
id = "qi.coupon"
intent = "quality_issue"
stage = "promote"
tags = ["coupon"]
text = "{称呼}，送您一张优惠券，下次购物可用。"

[[script]]
id = "qi.review"
intent = "quality_issue"
stage = "close"
tags = ["review_request"]
text = "{称呼}，问题解决了的话麻烦给个好评。"

[[script]]
id = "qi.solve"
intent = "quality_issue"
stage = "solve"
tags = ["solution"]
text = "{称呼}，麻烦您拍张照片发我，我帮您申请售后。"

[[script]]
id = "safety.generic"
intent = "quality_issue"
stage = "soothe"
urgent = true
tags = ["safety", "empathy"]
text = "{称呼}，人身安全最重要，请先停止使用这件商品。"

[[script]]
id = "safety.swallow.first"
intent = "quality_issue"
stage = "solve"
urgent_kind = "swallow_choke"
safety = "first_action"
tags = ["safety"]
text = "{称呼}，请立即拨打120或尽快去医院，不要催吐，保留商品和包装。"

[[script]]
id = "safety.swallow.escalate"
intent = "quality_issue"
stage = "solve"
urgent_kind = "swallow_choke"
safety = "escalation"
tags = ["safety"]
text = "{称呼}，我这就把情况报给安全专员，由专人联系您。"

[[script]]
id = "safety.swallow.follow"
intent = "quality_issue"
stage = "follow_up"
urgent_kind = "swallow_choke"
safety = "follow_up"
tags = ["safety"]
text = "{称呼}，孩子现在情况怎么样？医生怎么说？"

[[script]]
id = "safety.allergy.first"
intent = "quality_issue"
stage = "solve"
urgent_kind = "allergy"
safety = "first_action"
tags = ["safety"]
text = "{称呼}，请立即停用并用清水冲洗，症状明显请尽快就医。"

[[script]]
id = "safety.electric.first"
intent = "quality_issue"
stage = "solve"
urgent_kind = "electric"
safety = "first_action"
tags = ["safety"]
text = "{称呼}，请先断开电源，不要再触碰。"

[[faq]]
id = "faq.after_sale"
questions = ["坏了怎么办"]
answer = "{称呼}，麻烦您拍张照片发我，我帮您申请售后哦。"
intent = "quality_issue"
"#;

fn suggester() -> Suggester {
    let book = parse_str(&[("book.toml", BOOK), ("s.toml", SCRIPTS)]).expect("book parses");
    Suggester::new(&book).expect("book compiles")
}

fn turn(kind: Option<UrgentKind>) -> Understanding {
    Understanding {
        intents: vec![IntentScore {
            id: "quality_issue",
            score: 0.9,
        }],
        emotion: Emotion {
            label: "anxiety",
            intensity: 0.8,
        },
        urgent: kind.is_some(),
        urgent_kind: kind,
        style: Style::Emotional,
        entities: Vec::new(),
        threat: false,
        repeat_ask: false,
        confident: true,
    }
}

fn step(s: &Suggester, st: &mut ConversationState, kind: Option<UrgentKind>) -> Vec<Suggestion> {
    let u = turn(kind);
    st.observe_customer(&u, None);
    s.suggest(&u, "坏了怎么办", st)
}

const UNSAFE: &[&str] = &["qi.compensate", "qi.coupon", "qi.review"];

fn ids(out: &[Suggestion]) -> Vec<&str> {
    out.iter().map(|s| s.script.as_str()).collect()
}

#[test]
fn safety_mode_holds_through_calm_turns_until_resolved() {
    let s = suggester();
    let mut st = ConversationState::new();
    // (kind of the customer turn, expected first suggestion)
    let turns: &[(Option<UrgentKind>, &str)] = &[
        (Some(UrgentKind::SwallowChoke), "safety.swallow.first"),
        (None, "safety.swallow.first"),
        (None, "safety.swallow.first"),
        (Some(UrgentKind::Other), "safety.swallow.first"),
    ];
    for (i, &(kind, first)) in turns.iter().enumerate() {
        let out = step(&s, &mut st, kind);
        assert_eq!(st.safety(), Some(UrgentKind::SwallowChoke), "turn {i}");
        assert_eq!(out[0].script, first, "turn {i}: {:?}", ids(&out));
        assert_eq!(out[0].safety, Some("first_action"));
        for id in ids(&out) {
            assert!(!UNSAFE.contains(&id), "turn {i}: unsafe {id}");
            assert!(
                !id.starts_with("safety.allergy") && !id.starts_with("safety.electric"),
                "turn {i}: other kind {id}"
            );
            assert!(!id.starts_with("faq"), "turn {i}: faq in safety mode");
        }
    }
    assert!(st.resolve_safety());
    assert_eq!(st.safety(), None);
    let out = step(&s, &mut st, None);
    assert!(
        ids(&out).iter().all(|id| !id.starts_with("safety.")),
        "{:?}",
        ids(&out)
    );
}

#[test]
fn a_used_first_action_gives_way_to_the_escalation() {
    let s = suggester();
    let mut st = ConversationState::new();
    let out = step(&s, &mut st, Some(UrgentKind::SwallowChoke));
    assert_eq!(out[0].script, "safety.swallow.first");
    st.feedback(&format!("1:{}", out[0].script), FeedbackAction::Used);
    let out = step(&s, &mut st, None);
    assert_eq!(out[0].script, "safety.swallow.escalate", "{:?}", ids(&out));
    assert!(!ids(&out).iter().any(|id| UNSAFE.contains(id)));
}

#[test]
fn outside_safety_mode_the_list_has_no_near_duplicates_and_chinese_titles() {
    let s = suggester();
    let mut st = ConversationState::new();
    let out = step(&s, &mut st, None);
    // The FAQ answer and qi.solve are the same sentence: only one of them is shown.
    let both = ids(&out)
        .iter()
        .filter(|id| matches!(**id, "faq.after_sale" | "qi.solve"))
        .count();
    assert_eq!(both, 1, "{:?}", ids(&out));
    assert!(out.len() >= 3, "{:?}", ids(&out));
    for sg in &out {
        assert!(
            !sg.title.is_empty() && !sg.title.is_ascii(),
            "{}: {:?}",
            sg.script,
            sg.title
        );
        assert!(
            sg.source.is_none(),
            "no internal id as source: {:?}",
            sg.source
        );
    }
}

#[test]
fn the_most_specific_kind_is_kept() {
    let mut st = ConversationState::new();
    // (turn kind, mode after it)
    let turns: &[(Option<UrgentKind>, Option<UrgentKind>)] = &[
        (None, None),
        (Some(UrgentKind::Other), Some(UrgentKind::Other)),
        (Some(UrgentKind::Allergy), Some(UrgentKind::Allergy)),
        (Some(UrgentKind::Injury), Some(UrgentKind::Allergy)),
        (None, Some(UrgentKind::Allergy)),
    ];
    for &(kind, want) in turns {
        st.observe_customer(&turn(kind), None);
        assert_eq!(st.safety(), want, "{kind:?}");
    }
}

#[test]
fn a_refresh_keeps_the_order_and_drops_what_was_used_or_dismissed() {
    let s = suggester();
    // (feedback action on the top suggestion)
    for action in [FeedbackAction::Used, FeedbackAction::Dismissed] {
        let mut st = ConversationState::new();
        let u = turn(None);
        st.observe_customer(&u, None);
        let before = ids(&s.suggest(&u, "坏了怎么办", &mut st))
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert!(before.len() >= 3, "{before:?}");
        st.feedback(&format!("1:{}", before[0]), action);
        let after = s.refresh(&u, "坏了怎么办", &mut st);
        let after = ids(&after);
        assert!(
            !after.contains(&before[0].as_str()),
            "{action:?}: {after:?}"
        );
        assert_eq!(
            after[0], before[1],
            "{action:?}: the next one moves up: {before:?} → {after:?}"
        );
        assert_eq!(st.turns(), 1, "a refresh counts no turn");
    }
}
