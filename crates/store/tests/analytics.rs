//! `Store::analytics` on a small hand-made dataset whose figures were computed by hand (the
//! comments next to each expectation show the arithmetic), plus `Store::transcript`.
//!
//! Dataset, shop `s1`, times in Asia/Shanghai (T0 = 2024-11-22 10:00, T1 = T0 + 1 day).
//! Agent turns stored with an agent id are credited to it; those without one fall back to the
//! conversation's owner (most feedback / flagged drafts), else to unattributed "".
//! - c1 (owner a1 by its feedback, but a3 took over: per-turn ids win), book `bookA`:
//!   m1 customer T0        shipping 0.95 anxiety         suggestions [shipping.delay.soothe, shipping.check]
//!   m2 agent    T0+10s    sent by a1, no hit
//!   m3 customer T0+60s    no intent (other) neutral     suggestions [shipping.check]
//!   m4 agent    T0+64s    sent by a3, impatience/warn hit
//!   feedback: a1 used shipping.delay.soothe, a1 dismissed shipping.check
//! - c2 (owner a2, known from its flagged draft), book `bookB`:
//!   n1 customer T0+100s   quality_issue 0.9 anger URGENT  suggestions [quality.injury]
//!   n2 customer T0+105s   quality_issue 0.4 anger         suggestions [quality.injury]
//!   draft d1 (a2) T0+110s provoke; then n3 agent T0+130s without hits → rewritten
//!   n3 has no stored agent (an old row): the fallback credits it to the owner a2
//!   SLA breach event T0+131s; feedback: a2 edited quality.injury
//! - c3 (no agent id, no agent trace → unattributed ""), book `bookB`, on day 2:
//!   k1 customer T1        quality_issue 0.92 anxiety URGENT  suggestions [greet.hello]
//!   k2 agent    T1+20s    no stored agent; provoke/block hit (+ a hint that does not count)
//!   k3 customer T1+30s    quality_issue 0.97 anxiety URGENT  suggestions [greet.hello] (unanswered)
//! - c4 (shop s1, 2024-11-25: outside the period) and c5 (shop s2): must not count.

use huashu_store::{
    AnalyticsQuery, CategoryHits, DraftWrite, Durability, EventsWrite, FeedbackWrite, NewEvent,
    SlaWrite, Store, TempDatabase, TurnWrite, Write, day_start_ms,
};

const T0: i64 = 1_732_204_800_000 + 10 * 3_600_000;
const T1: i64 = T0 + 86_400_000;

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
    _pg: Option<TempDatabase>,
}

/// The suite runs once per backend (`both!` at the end).
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

// One fixture row per call reads best with the fields flat.
#[allow(clippy::too_many_arguments)]
fn customer(
    conv: &str,
    shop: &str,
    id: &str,
    seq: u64,
    at: i64,
    book: &str,
    intent: Option<(&str, f64)>,
    emotion: &str,
    urgent: bool,
    scripts: &[&str],
) -> Write {
    let intents = match intent {
        Some((i, s)) => format!(r#"[{{"id":"{i}","score":{s}}}]"#),
        None => "[]".into(),
    };
    let items: Vec<String> = scripts
        .iter()
        .map(|s| format!(r#"{{"id":"{id}:{s}","script":"{s}","text":"…"}}"#))
        .collect();
    Write::Turn(TurnWrite {
        conversation: conv.into(),
        shop: shop.into(),
        id: id.into(),
        seq,
        role: "customer".into(),
        text: format!("customer says {id}, call me on 13812345678"),
        at,
        received_at: at + 50,
        book: book.into(),
        agent: None,
        events: vec![
            NewEvent {
                seq,
                kind: "analysis".into(),
                turn: Some(id.into()),
                payload: format!(
                    r#"{{"type":"analysis","turn":"{id}","intents":{intents},"emotion":{{"label":"{emotion}","intensity":0.5}},"urgent":{urgent}}}"#
                ),
            },
            NewEvent {
                seq: seq + 1,
                kind: "suggestions".into(),
                turn: Some(id.into()),
                payload: format!(
                    r#"{{"type":"suggestions","turn":"{id}","items":[{}]}}"#,
                    items.join(",")
                ),
            },
        ],
        summary: None,
        agent_hit_rules: None,
        visitor: None,
    })
}

/// An agent turn; `by` is the agent id stored with it (`None`: an old row without one).
#[allow(clippy::too_many_arguments)]
fn agent(
    conv: &str,
    shop: &str,
    id: &str,
    seq: u64,
    at: i64,
    book: &str,
    by: Option<&str>,
    hits: &[(&str, &str, &str)],
) -> Write {
    let json: Vec<String> = hits
        .iter()
        .map(|(rule, cat, sev)| {
            format!(r#"{{"rule":"{rule}","category":"{cat}","severity":"{sev}"}}"#)
        })
        .collect();
    Write::Turn(TurnWrite {
        conversation: conv.into(),
        shop: shop.into(),
        id: id.into(),
        seq,
        role: "agent".into(),
        text: format!("agent says {id}"),
        at,
        received_at: at + 50,
        book: book.into(),
        agent: by.map(str::to_string),
        events: vec![NewEvent {
            seq,
            kind: "guard".into(),
            turn: Some(id.into()),
            payload: format!(
                r#"{{"type":"guard","turn":"{id}","hits":[{}]}}"#,
                json.join(",")
            ),
        }],
        summary: None,
        agent_hit_rules: Some(hits.iter().map(|h| h.0.to_string()).collect()),
        visitor: None,
    })
}

fn feedback(conv: &str, script: &str, action: &str, agent: &str, at: i64) -> Write {
    Write::Feedback(FeedbackWrite {
        conversation: conv.into(),
        suggestion: format!("x:{script}"),
        script: script.into(),
        action: action.into(),
        agent: Some(agent.into()),
        after_seq: 1,
        at,
    })
}

fn fixture(b: Backend) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, pg) = match b {
        Backend::Sqlite => (
            Store::open(&dir.path().join("qa.db"), Durability::Normal).expect("open"),
            None,
        ),
        Backend::Postgres => {
            // Fails (never skips) without PostgreSQL: see `TempDatabase`.
            let db = TempDatabase::new().expect("PostgreSQL for the analytics tests");
            (Store::open_postgres(db.url()).expect("migrated"), Some(db))
        }
    };
    let s = "s1";
    let writes = vec![
        // c1
        customer(
            "c1",
            s,
            "m1",
            1,
            T0,
            "bookA",
            Some(("shipping", 0.95)),
            "anxiety",
            false,
            &["shipping.delay.soothe", "shipping.check"],
        ),
        agent("c1", s, "m2", 3, T0 + 10_000, "bookA", Some("a1"), &[]),
        customer(
            "c1",
            s,
            "m3",
            4,
            T0 + 60_000,
            "bookA",
            None,
            "neutral",
            false,
            &["shipping.check"],
        ),
        agent(
            "c1",
            s,
            "m4",
            6,
            T0 + 64_000,
            "bookA",
            Some("a3"),
            &[("impatience.said_times", "impatience", "warn")],
        ),
        feedback("c1", "shipping.delay.soothe", "used", "a1", T0 + 5_000),
        feedback("c1", "shipping.check", "dismissed", "a1", T0 + 61_000),
        // c2
        customer(
            "c2",
            s,
            "n1",
            1,
            T0 + 100_000,
            "bookB",
            Some(("quality_issue", 0.9)),
            "anger",
            true,
            &["quality.injury"],
        ),
        customer(
            "c2",
            s,
            "n2",
            3,
            T0 + 105_000,
            "bookB",
            Some(("quality_issue", 0.4)),
            "anger",
            false,
            &["quality.injury"],
        ),
        Write::Draft(DraftWrite {
            conversation: "c2".into(),
            draft: "d1".into(),
            agent: Some("a2".into()),
            text: "你去告啊".into(),
            rules: vec!["provoke.go_sue".into()],
            categories: vec!["provoke".into()],
            at: T0 + 110_000,
        }),
        agent("c2", s, "n3", 5, T0 + 130_000, "bookB", None, &[]),
        Write::Events(EventsWrite {
            conversation: "c2".into(),
            shop: s.into(),
            at: T0 + 131_000,
            book: "bookB".into(),
            events: vec![NewEvent {
                seq: 6,
                kind: "sla".into(),
                turn: Some("n1".into()),
                payload: r#"{"type":"sla","level":"breach"}"#.into(),
            }],
            summary: None,
            sla: Some(SlaWrite {
                seq: 6,
                level: "breach".into(),
                turn: Some("n1".into()),
                waiting_ms: 30_000,
            }),
        }),
        feedback("c2", "quality.injury", "edited", "a2", T0 + 120_000),
        // c3 (day 2, unattributed)
        customer(
            "c3",
            s,
            "k1",
            1,
            T1,
            "bookB",
            Some(("quality_issue", 0.92)),
            "anxiety",
            true,
            &["greet.hello"],
        ),
        agent(
            "c3",
            s,
            "k2",
            3,
            T1 + 20_000,
            "bookB",
            None,
            &[
                ("provoke.go_sue", "provoke", "block"),
                ("style.ni", "style", "hint"),
            ],
        ),
        customer(
            "c3",
            s,
            "k3",
            4,
            T1 + 30_000,
            "bookB",
            Some(("quality_issue", 0.97)),
            "anxiety",
            true,
            &["greet.hello"],
        ),
        // c4: outside the period; c5: another shop
        customer(
            "c4",
            s,
            "z1",
            1,
            T0 + 3 * 86_400_000,
            "bookC",
            None,
            "anger",
            true,
            &["greet.hello"],
        ),
        agent(
            "c4",
            s,
            "z2",
            3,
            T0 + 3 * 86_400_000 + 1_000,
            "bookC",
            Some("a1"),
            &[("provoke.go_sue", "provoke", "block")],
        ),
        customer(
            "c5",
            "s2",
            "y1",
            1,
            T0,
            "bookA",
            None,
            "anger",
            true,
            &["greet.hello"],
        ),
        agent("c5", "s2", "y2", 3, T0 + 1_000, "bookA", Some("a1"), &[]),
    ];
    for r in store.apply(&writes).expect("transaction") {
        r.expect("write");
    }
    Fixture {
        store,
        _dir: dir,
        _pg: pg,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn per_agent_and_day_figures_match_the_hand_computed_ones(b: Backend) {
    let f = fixture(b);
    let q = AnalyticsQuery::days("s1", "2024-11-22", "2024-11-23").expect("dates");
    assert_eq!(q.from_ms, day_start_ms("2024-11-22", 480).expect("day"));
    let a = f.store.analytics(&q).expect("analytics");

    let row = |agent: &str, day: &str| {
        a.by_agent_day
            .iter()
            .find(|r| r.agent.as_deref() == Some(agent) && r.day.as_deref() == Some(day))
            .unwrap_or_else(|| panic!("row {agent} {day}"))
            .clone()
    };
    // a1 on the 22nd: only m2 (stored with a1; m4 was a3's although c1's feedback is all a1's)
    // → 1 turn in 1 conversation; first response m2 − m1 = 10 s, also its only response
    // (median 10 s); no hit → 1 of 1 compliant = 1.0.
    let a1 = row("a1", "2024-11-22");
    assert_eq!((a1.turns, a1.conversations), (1, 1));
    assert_eq!(
        (a1.first_response_ms, a1.first_responses),
        (Some(10_000), 1)
    );
    assert_eq!((a1.response_median_ms, a1.responses), (Some(10_000), 1));
    assert_eq!((a1.compliant_turns, a1.sla_breaches), (1, 0));
    assert!(close(a1.compliance, 1.0));
    assert!(a1.hits.is_empty(), "{:?}", a1.hits);
    // a3 on the 22nd: m4 (stored with a3) → 1 turn in c1; not a first response (m2 answered
    // first) → none; response m4 − m3 = 4 s; m4 hit impatience → 0 of 1 compliant = 0.0.
    let a3 = row("a3", "2024-11-22");
    assert_eq!((a3.turns, a3.conversations), (1, 1));
    assert_eq!((a3.first_response_ms, a3.first_responses), (None, 0));
    assert_eq!((a3.response_median_ms, a3.responses), (Some(4_000), 1));
    assert_eq!((a3.compliant_turns, a3.sla_breaches), (0, 0));
    assert!(close(a3.compliance, 0.0));
    assert_eq!(
        a3.hits.get("impatience"),
        Some(&CategoryHits {
            sent: 1,
            drafted: 0,
            rewritten: 0
        })
    );
    // a2 on the 22nd (fallback: n3 has no stored agent, c2's owner is a2 by draft d1): n3
    // answers n1 (waiting since n1, not n2): 130 − 100 = 30 s, also its first response; 1 SLA
    // breach; draft d1 caught provoke and n3 no longer had it → rewritten.
    let a2 = row("a2", "2024-11-22");
    assert_eq!(
        (a2.turns, a2.first_response_ms, a2.response_median_ms),
        (1, Some(30_000), Some(30_000))
    );
    assert_eq!(a2.sla_breaches, 1);
    assert!(close(a2.compliance, 1.0));
    assert_eq!(
        a2.hits.get("provoke"),
        Some(&CategoryHits {
            sent: 0,
            drafted: 1,
            rewritten: 1
        })
    );
    // Unattributed on the 23rd (k2 has no stored agent and c3 no owner): k2 answers k1 after
    // 20 s with a block hit (the hint is ignored).
    let un = row("", "2024-11-23");
    assert_eq!(
        (un.turns, un.first_response_ms, un.compliant_turns),
        (1, Some(20_000), 0)
    );
    assert!(close(un.compliance, 0.0));
    assert_eq!(
        un.hits.len(),
        1,
        "hints are not forbidden hits: {:?}",
        un.hits
    );
    assert_eq!(un.hits["provoke"].sent, 1);
    assert_eq!(a.by_agent_day.len(), 4);

    // Whole period, all agents (attribution does not change these): 4 turns in 3 conversations
    // (c1 counted once though a1 and a3 both answered in it); first responses 10, 30, 20 s →
    // mean 20 s; responses 4, 10, 20, 30 s → median (10 + 20) / 2 = 15 s; 2 of 4 compliant.
    let t = &a.total;
    assert_eq!((t.turns, t.conversations), (4, 3));
    assert_eq!((t.first_response_ms, t.first_responses), (Some(20_000), 3));
    assert_eq!((t.response_median_ms, t.responses), (Some(15_000), 4));
    assert_eq!((t.sla_breaches, t.compliant_turns), (1, 2));
    assert!(close(t.compliance, 0.5));
    assert_eq!(
        t.hits["provoke"],
        CategoryHits {
            sent: 1,
            drafted: 1,
            rewritten: 1
        }
    );
    assert_eq!(
        t.hits["impatience"],
        CategoryHits {
            sent: 1,
            drafted: 0,
            rewritten: 0
        }
    );
    // The 22nd, all agents: 3 turns; first responses 10 and 30 s → 20 s; responses 4, 10, 30 s
    // → median 10 s; compliance 2/3.
    let d22 = a
        .by_day
        .iter()
        .find(|r| r.day.as_deref() == Some("2024-11-22"))
        .expect("day");
    assert_eq!(
        (d22.turns, d22.first_response_ms, d22.response_median_ms),
        (3, Some(20_000), Some(10_000))
    );
    assert!(close(d22.compliance, 2.0 / 3.0));
    assert_eq!(a.by_day.len(), 2);
    let by_agent: Vec<_> = a
        .by_agent
        .iter()
        .map(|r| (r.agent.clone().unwrap_or_default(), r.turns))
        .collect();
    // Per agent: "" k2, a1 m2, a2 n3 (fallback), a3 m4; 1 + 1 + 1 + 1 = the 4 turns in total.
    assert_eq!(
        by_agent,
        [
            ("".into(), 1),
            ("a1".into(), 1),
            ("a2".into(), 1),
            ("a3".into(), 1)
        ]
    );
}

fn scripts_mix_low_confidence_urgent_and_books(b: Backend) {
    let f = fixture(b);
    let q = AnalyticsQuery::days("s1", "2024-11-22", "2024-11-23").expect("dates");
    let a = f.store.analytics(&q).expect("analytics");

    // Shown: greet.hello 2 (k1, k3), quality.injury 2 (n1, n2), shipping.check 2 (m1, m3),
    // shipping.delay.soothe 1 (m1). used 1/1, dismissed 1/2, edited 1/2.
    let shown: Vec<_> = a
        .scripts
        .iter()
        .map(|s| (s.script.as_str(), s.shown))
        .collect();
    assert_eq!(
        shown,
        [
            ("greet.hello", 2),
            ("quality.injury", 2),
            ("shipping.check", 2),
            ("shipping.delay.soothe", 1)
        ]
    );
    let s = |id: &str| {
        a.scripts
            .iter()
            .find(|s| s.script == id)
            .expect("script")
            .clone()
    };
    assert!(close(s("shipping.delay.soothe").used_rate, 1.0));
    assert!(close(s("shipping.check").dismissed_rate, 0.5));
    assert!(close(s("quality.injury").edited_rate, 0.5));
    assert!(close(s("greet.hello").used_rate, 0.0));

    // Customer turns m1 m3 n1 n2 k1 k3: quality_issue 4, other 1, shipping 1;
    // anxiety 3 (m1 k1 k3), anger 2 (n1 n2), neutral 1 (m3).
    assert_eq!(a.customer_turns, 6);
    let mix = |v: &[(String, u64)]| {
        v.iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mix(&a.intents),
        ["quality_issue=4", "other=1", "shipping=1"]
    );
    assert_eq!(mix(&a.emotions), ["anxiety=3", "anger=2", "neutral=1"]);

    // Low confidence: m3 (no intent) and n2 (0.4 < 0.6), newest first; texts stay masked.
    assert_eq!(a.low_confidence_count, 2);
    let low: Vec<_> = a.low_confidence.iter().map(|t| t.turn.as_str()).collect();
    assert_eq!(low, ["n2", "m3"]);
    assert!(
        !a.low_confidence[0].text.contains("13812345678"),
        "{}",
        a.low_confidence[0].text
    );

    // Urgent: n1 answered after 30 s, k1 after 20 s, k3 unanswered → median (20 + 30) / 2 = 25 s.
    assert_eq!((a.urgent.count, a.urgent.answered), (3, 2));
    assert_eq!(
        (a.urgent.handling_median_ms, a.urgent.max_handling_ms),
        (Some(25_000), Some(30_000))
    );
    let urgent: Vec<_> = a
        .urgent
        .turns
        .iter()
        .map(|t| (t.turn.as_str(), t.handling_ms))
        .collect();
    assert_eq!(
        urgent,
        [("k3", None), ("k1", Some(20_000)), ("n1", Some(30_000))]
    );

    // Book versions: c1's 6 events under bookA; c2's 5 + 1 SLA and c3's 5 under bookB.
    let books: Vec<_> = a
        .books
        .iter()
        .map(|b| (b.hash.as_str(), b.events))
        .collect();
    assert_eq!(books, [("bookA", 6), ("bookB", 11)]);
}

fn other_shops_and_empty_periods_give_nothing(b: Backend) {
    let f = fixture(b);
    let q = AnalyticsQuery::days("s1", "2024-12-01", "2024-12-02").expect("dates");
    let a = f.store.analytics(&q).expect("analytics");
    assert_eq!(
        (a.total.turns, a.customer_turns, a.scripts.len()),
        (0, 0, 0)
    );
    assert_eq!(a.total.compliance, None);
    let q = AnalyticsQuery::days("s2", "2024-11-22", "2024-11-22").expect("dates");
    let a = f.store.analytics(&q).expect("analytics");
    assert_eq!((a.total.turns, a.customer_turns), (1, 1));
}

fn transcript_reads_masked_turns_by_shop_and_time(b: Backend) {
    let f = fixture(b);
    let all = f
        .store
        .transcript(Some("s1"), None, None)
        .expect("transcript");
    assert_eq!(all.len(), 12);
    assert!(all.iter().all(|t| !t.text.contains("13812345678")));
    let ids: Vec<_> = all.iter().take(4).map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3", "m4"]);
    assert_eq!(all[0].book, "bookA");
    // The agent id comes out where it was stored: m2 (a1), m4 (a3); never on customer turns.
    let agents: Vec<_> = all.iter().take(4).map(|t| t.agent.as_deref()).collect();
    assert_eq!(agents, [None, Some("a1"), None, Some("a3")]);
    let since = f
        .store
        .transcript(Some("s1"), Some(T1), None)
        .expect("since");
    let ids: Vec<_> = since.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["k1", "k2", "k3", "z1", "z2"]);
    // A limit keeps the newest turns and whole conversations only.
    let last = f.store.transcript(None, None, Some(3)).expect("limit");
    assert!(
        last.iter()
            .all(|t| t.conversation == "c4" || t.conversation == "c5"),
        "{last:?}"
    );
}

/// One `#[test]` per backend for each test `fn name(b: Backend)`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod on_postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

both!(
    per_agent_and_day_figures_match_the_hand_computed_ones,
    scripts_mix_low_confidence_urgent_and_books,
    other_shops_and_empty_periods_give_nothing,
    transcript_reads_masked_turns_by_shop_and_time,
);
