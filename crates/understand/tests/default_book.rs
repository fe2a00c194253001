//! The shipped default book through the whole pipeline: the behaviours the SPEC promises must hold
//! with the real lexicons and models, not only with the small test book. Skipped (passes) while
//! the book is being written and does not load yet.

use std::path::Path;

use huashu_understand::Understander;

fn default() -> Option<Understander> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    let book = huashu_phrasebook::load_dir(&dir).ok()?;
    if book.intents.is_empty() || book.emotions.is_empty() {
        return None;
    }
    match Understander::new(&book) {
        Ok(u) => Some(u),
        Err(e) => panic!("default book does not compile: {e}"),
    }
}

/// (text, intents that must be present, emotion label or "" for any, urgent)
const CASES: &[(&str, &[&str], &str, bool)] = &[
    ("妳們的貨怎麼還沒到", &["shipping"], "", false),
    (
        "快递三天没动了，再不处理我就投诉",
        &["shipping", "complaint"],
        "anger",
        false,
    ),
    (
        "我不生气，就是问问什么时候发货",
        &["shipping"],
        "neutral",
        false,
    ),
    ("不是很急，慢慢来", &[], "neutral", false),
    ("孩子误食了零件", &[], "", true),
    ("充电器冒烟了！！", &[], "", true),
    ("这个会漏电吗", &[], "", false),
    ("叫你们主管来", &["escalation"], "", false),
    ("好的谢谢亲👍", &["thanks_closing"], "positive", false),
    ("在吗", &["greeting"], "neutral", false),
    ("气死了气死了！！！", &[], "anger", false),
];

#[test]
fn default_book_keeps_the_spec_promises() {
    let Some(u) = default() else {
        return;
    };
    let mut failures = Vec::new();
    for &(text, intents, emotion, urgent) in CASES {
        let got = u.analyze(text);
        let ok = intents.iter().all(|i| got.has_intent(i))
            && (emotion.is_empty() || got.emotion.label == emotion)
            && got.urgent == urgent;
        if !ok {
            failures.push(format!(
                "{text:?}: want {intents:?} {emotion} urgent={urgent}, got {:?} {:?} urgent={}",
                got.intents, got.emotion, got.urgent
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore]
fn print_turns() {
    let Some(u) = default() else {
        return;
    };
    let text = std::env::var("TURNS").unwrap_or_default();
    for t in text.split('|') {
        let got = u.analyze(t);
        eprintln!(
            "{t}\n  {:?}\n  {:?} urgent={} style={:?} threat={} repeat={}\n  {:?}",
            got.intents,
            got.emotion,
            got.urgent,
            got.style,
            got.threat,
            got.repeat_ask,
            got.entities
        );
    }
}
