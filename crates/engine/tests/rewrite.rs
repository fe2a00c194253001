//! Whole-draft rewrites with the shipped default book: the examples read as fluent whole
//! texts, the agent's other clauses stay in order, a shared rewrite appears once, and (property)
//! every rewritten draft built from rule phrases and benign text checks clean.

use std::path::Path;
use std::sync::LazyLock;

use huashu_engine::Engine;
use proptest::prelude::*;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    Engine::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../phrasebooks/default"
    )))
    .expect("default book compiles")
});

fn serious(text: &str) -> Vec<String> {
    ENGINE
        .check_draft(text)
        .into_iter()
        .filter(|h| h.severity != huashu_phrasebook::Severity::Hint)
        .map(|h| format!("{}({})", h.rule, h.text))
        .collect()
}

const SUE: &str = "非常抱歉给您带来不便，您的意见我们非常重视，我们一定尽力为您解决。";
const VERIFY: &str = "这个问题我需要进一步核实，麻烦您稍等，我确认后会尽快回复您。";
const EXPLAIN: &str = "这部分确实不太好理解，我来一步一步为您说明，您看可以吗？";

/// (draft, expected `rewritten`).
const CASES: &[(&str, Option<&str>)] = &[
    // The examples: whole clauses go, nothing of the insult is left.
    (
        "这个问题我也不知道怎么办，你爱上哪告上哪告",
        Some(
            "这个问题我需要进一步核实，麻烦您稍等，我确认后会尽快回复您。非常抱歉给您带来不便，您的意见我们非常重视，我们一定尽力为您解决。",
        ),
    ),
    (
        "亲，你自己看不懂说明书吗",
        Some("亲，这部分确实不太好理解，我来一步一步为您说明，您看可以吗？"),
    ),
    // Evasive spelling: the hit spans noise inside one clause.
    ("你 去.告-啊😡", Some(SUE)),
    // The agent's other clauses keep their words and order.
    (
        "好的，你去告吧",
        Some("好的，非常抱歉给您带来不便，您的意见我们非常重视，我们一定尽力为您解决。"),
    ),
    // Two hits with the same rewrite: the sentence once.
    ("我也不知道，我也不清楚", Some(VERIFY)),
    ("你去告啊，你去告啊", Some(SUE)),
    // No punctuation: the clause is the whole draft.
    ("这都不会用真笨", Some(EXPLAIN)),
    // Clean drafts and hint-only drafts are not rewritten.
    ("亲，我帮您催一下快递", None),
    ("你好", None),
    ("", None),
];

#[test]
fn rewrites_of_the_default_book() {
    for &(draft, expected) in CASES {
        let got = ENGINE.review_draft(draft);
        assert_eq!(got.rewritten.as_deref(), expected, "{draft:?}");
        if let Some(r) = &got.rewritten {
            assert!(serious(r).is_empty(), "{draft:?} → {r:?}: {:?}", serious(r));
            assert!(!r.contains('…') && !r.contains("{"), "{r:?}");
        }
    }
}

#[test]
fn kept_clauses_stay_in_order_around_a_replaced_one() {
    let draft = "亲，订单号是123456，你自己看详情页吧，尺码是M码。";
    let r = ENGINE.review_draft(draft).rewritten.expect("rewritten");
    let a = r.find("亲，订单号是123456，").expect("head kept");
    let b = r.find("尺码是M码。").expect("tail kept");
    assert!(a < b, "{r}");
    assert!(!r.contains("你自己看"), "{r}");
    assert!(serious(&r).is_empty(), "{r}");
}

#[test]
fn agent_turns_carry_the_rewrite_too() {
    let mut conv = huashu_engine::ConversationState::new();
    let a = ENGINE.agent_turn(&mut conv, "你去告啊", None);
    assert_eq!(a.rewritten.as_deref(), Some(SUE));
    let a = ENGINE.agent_turn(&mut conv, "亲，请您稍等", None);
    assert_eq!(a.rewritten, None);
}

/// Phrases of every block/warn rule of the book, to build drafts from.
static PHRASES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ENGINE
        .book()
        .rules
        .iter()
        .filter(|r| r.severity >= huashu_phrasebook::Severity::Warn)
        .flat_map(|r| r.phrases.iter().cloned())
        .collect()
});

const BENIGN: &[&str] = &[
    "亲",
    "您好",
    "订单号是2023112245678",
    "我帮您催一下快递",
    "尺码是M码",
    "麻烦您稍等",
    "这款是纯棉的",
    "您",
    "你",
    "去",
    "告",
    "啊",
    "吧",
    "好的",
    "我们",
];
const GLUE: &[&str] = &["", "，", "。", " ", "！", "？", "\n", "、", "~", "😡", "."];

fn draft() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            prop_oneof![
                (0..PHRASES.len()).prop_map(|i| PHRASES[i].clone()),
                proptest::sample::select(BENIGN).prop_map(str::to_string),
            ],
            proptest::sample::select(GLUE),
        ),
        0..8,
    )
    .prop_map(|parts| parts.into_iter().map(|(w, g)| w + g).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn every_rewritten_draft_checks_clean(text in draft()) {
        let got = ENGINE.review_draft(&text);
        let flagged = got.hits.iter().any(|h| h.severity != huashu_phrasebook::Severity::Hint);
        match &got.rewritten {
            None => prop_assert!(!flagged, "{text:?} has block/warn hits but no rewrite"),
            Some(r) => {
                prop_assert!(flagged, "{text:?} rewritten without a block/warn hit");
                prop_assert!(serious(r).is_empty(), "{text:?} → {r:?}: {:?}", serious(r));
                prop_assert!(!r.trim().is_empty(), "{text:?} → empty");
            }
        }
    }
}
