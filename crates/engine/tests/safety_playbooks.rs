//! Safety playbooks on the shipped default book: for each urgent kind, a conversation of several
//! customer turns (the urgent report, then calm follow-ups that do not repeat it) gets the
//! kind's first action as suggestion #1 on every turn and never a script tagged compensation,
//! keep-using, coupon, promotion or review request, nor another kind's playbook. Run with
//! `--nocapture` to print the kinds × turns table of first suggestions.

use std::path::Path;

use huashu_engine::{ConversationState, Engine, FeedbackAction};
use huashu_phrasebook::{UNSAFE_IN_SAFETY_TAGS, UrgentKind};

fn engine() -> Engine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    Engine::load(&dir).expect("default book compiles")
}

/// (kind, customer turns: the first reports the incident, the later ones need not).
const CONVERSATIONS: &[(UrgentKind, &[&str])] = &[
    (
        UrgentKind::SwallowChoke,
        &[
            "急！孩子把杯子礼盒里的小零件吞下去了！",
            "就是盒子里那个装饰小珠子，现在孩子一直咳嗽，怎么办",
            "你们这个东西怎么能给小孩玩",
            "我要你们赔钱",
        ],
    ),
    (
        UrgentKind::Allergy,
        &["用了你们的面霜，脸上全是红疹", "现在又痒又疼", "这个能退吗"],
    ),
    (
        UrgentKind::Burn,
        &["热水袋破了，孩子腿被烫伤了", "起了好大的泡", "你们怎么处理"],
    ),
    (
        UrgentKind::Electric,
        &[
            "热水壶底座漏电，我被电了一下",
            "手到现在还麻",
            "能换个新的吗",
        ],
    ),
    (
        UrgentKind::Fire,
        &[
            "充电宝充着充着鼓包冒烟了",
            "差点把床单点着",
            "你们必须给个说法",
        ],
    ),
    (
        UrgentKind::Gas,
        &[
            "刚装的燃气灶，家里一股煤气味",
            "师傅什么时候能来",
            "这个能用吗",
        ],
    ),
    (
        UrgentKind::Food,
        &["吃了你们的牛肉干，全家上吐下泻", "孩子最严重", "你们要负责"],
    ),
    (
        UrgentKind::Injury,
        &[
            "椅子腿断了，我爸摔倒在地上起不来",
            "现在腰很疼",
            "这质量太差了",
        ],
    ),
    (
        UrgentKind::Pet,
        &["我家狗把你们的玩具零件吞了", "它现在一直在吐", "怎么办啊"],
    ),
    (
        UrgentKind::Other,
        &[
            "有个自称你们客服的人让我转账，钱被转走了",
            "转了两千",
            "你们怎么回事",
        ],
    ),
];

#[test]
fn every_kind_gets_its_first_action_first_on_every_turn_and_nothing_unsafe() {
    let e = engine();
    let book = e.book();
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for &(kind, turns) in CONVERSATIONS {
        let mut conv = ConversationState::new();
        for (i, text) in turns.iter().enumerate() {
            let a = e.customer_turn(&mut conv, text, None);
            if i == 0 && a.understanding.urgent_kind != Some(kind) {
                failures.push(format!(
                    "{kind} turn 1 {text:?}: kind {:?}",
                    a.understanding.urgent_kind
                ));
            }
            let first = a.suggestions.first().map(|s| s.suggestion.script.as_str());
            let want = format!("safety.{kind}.first");
            table.push(format!(
                "{kind:<14} turn {} → {}",
                i + 1,
                first.unwrap_or("-")
            ));
            if first != Some(want.as_str()) {
                failures.push(format!("{kind} turn {}: first {first:?}", i + 1));
            }
            for s in &a.suggestions {
                let script = book.scripts.iter().find(|x| x.id == s.suggestion.script);
                let unsafe_tag = script.and_then(|x| {
                    x.tags
                        .iter()
                        .find(|t| t.kind().is_some_and(|k| UNSAFE_IN_SAFETY_TAGS.contains(&k)))
                });
                if let Some(t) = unsafe_tag {
                    failures.push(format!(
                        "{kind} turn {}: {} ({t})",
                        i + 1,
                        s.suggestion.script
                    ));
                }
                if script.is_none() {
                    failures.push(format!(
                        "{kind} turn {}: FAQ {}",
                        i + 1,
                        s.suggestion.script
                    ));
                }
                if script
                    .and_then(|x| x.urgent_kind)
                    .is_some_and(|k| k != kind)
                {
                    failures.push(format!(
                        "{kind} turn {}: other kind {}",
                        i + 1,
                        s.suggestion.script
                    ));
                }
            }
        }
        assert_eq!(conv.safety(), Some(kind));
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn after_the_first_action_was_used_the_escalation_leads_and_resolve_ends_safety_mode() {
    let e = engine();
    let mut conv = ConversationState::new();
    let a = e.customer_turn(&mut conv, "孩子把小珠子吞下去了", None);
    let first = &a.suggestions[0];
    assert_eq!(first.suggestion.script, "safety.swallow_choke.first");
    conv.feedback(&first.id, FeedbackAction::Used);
    let again = e.resuggest(&mut conv, "孩子把小珠子吞下去了");
    assert_eq!(again[0].suggestion.script, "safety.escalate", "{again:?}");
    let a = e.customer_turn(&mut conv, "现在还在咳嗽", None);
    assert_ne!(
        a.suggestions[0].suggestion.script,
        "safety.swallow_choke.first"
    );
    assert!(conv.resolve_safety());
    let a = e.customer_turn(&mut conv, "好的谢谢，孩子没事了", None);
    assert!(
        a.suggestions
            .iter()
            .all(|s| !s.suggestion.script.starts_with("safety.")),
        "{:?}",
        a.suggestions
    );
}
