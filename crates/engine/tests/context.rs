//! The conversation's context reaches understanding through `Engine::customer_turn`: a short
//! follow-up that says nothing by itself takes its intent from the agent's last line or from the
//! customer's earlier topic, and a turn that stays unsure is marked so.

use huashu_engine::{ConversationState, Engine};
use huashu_phrasebook::parse_str;

const BOOK: &str = "[book]\nname = \"t\"\n";

const INTENTS: &str = r#"
[[intent]]
id = "return_refund"
keywords = { "退货" = 1.5, "退款" = 1.5, "换货" = 1.2 }
examples = ["我要退货", "退款什么时候到账", "怎么申请换货", "不想要了能退吗"]

[[intent]]
id = "price_promo"
keywords = { "优惠券" = 1.5, "便宜" = 1.0 }
examples = ["有优惠券吗", "能便宜点吗", "满减怎么用"]

"#;

fn engine() -> Engine {
    let book = parse_str(&[("book.toml", BOOK), ("i.toml", INTENTS)]).expect("test book parses");
    Engine::compile(book).expect("test book compiles")
}

/// `(agent line before, earlier customer turn, turn, expected primary, confident)`.
type Case = (
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    bool,
);

const CASES: &[Case] = &[
    // Alone, the two-intent model leans to refunds, but only as a guess.
    (None, None, "就那个", "return_refund", false),
    (
        Some("请问您是要退货还是换货呢？"),
        None,
        "就那个",
        "return_refund",
        true,
    ),
    (None, Some("我想退货"), "就那个", "return_refund", true),
    (
        Some("请问您是要退货还是换货呢？"),
        None,
        "有优惠券吗",
        "price_promo",
        true,
    ),
];

#[test]
fn context_reaches_understanding_through_the_conversation() {
    let e = engine();
    let mut failures = Vec::new();
    for &(agent, earlier, text, primary, confident) in CASES {
        let mut conv = ConversationState::new();
        if let Some(earlier) = earlier {
            e.customer_turn(&mut conv, earlier, None);
        }
        if let Some(agent) = agent {
            e.agent_turn(&mut conv, agent, None);
        }
        let a = e.customer_turn(&mut conv, text, None);
        let u = &a.understanding;
        if u.primary_intent() != primary || u.confident != confident {
            failures.push(format!(
                "{text:?} after {agent:?}/{earlier:?}: expected {primary} (confident {confident}), got {:?} (confident {})",
                u.intents, u.confident
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
