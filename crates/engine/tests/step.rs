//! `Engine::step` on the shipped default book, without a runtime: each case is a short chat and,
//! after every turn, the conversation's flags and the timers the turn arms. These are the rules
//! the server carries out and the console shows (docs/PROTOCOL.md "Flags"); they are decided
//! here only.

use std::path::Path;
use std::sync::LazyLock;

use huashu_engine::{
    Analysis, Chat, ConversationState, Engine, EscalationReason, Flags, Speaker, Timer, Trend,
    Turn, Wait,
};
use huashu_phrasebook::UrgentKind;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    Engine::load(&dir).expect("default book compiles")
});

use Speaker::{Agent, Customer};

/// What a turn's timers say, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    StartSla,
    StopSla,
    FollowUp,
}

/// The flags after a turn and the timers it arms.
#[derive(Debug, Clone, Copy)]
struct Want {
    urgent: bool,
    threat: bool,
    escalation: bool,
    /// `kind` of every escalation reason, in order.
    reasons: &'static [&'static str],
    safety: Option<UrgentKind>,
    timers: &'static [T],
}

const CALM: Want = Want {
    urgent: false,
    threat: false,
    escalation: false,
    reasons: &[],
    safety: None,
    timers: &[],
};

type Case = (&'static str, &'static [(Speaker, &'static str, Want)]);

const CASES: &[Case] = &[
    (
        "a calm question starts a wait, the answer ends it",
        &[
            (
                Customer,
                "请问这款杯子有现货吗",
                Want {
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
            (
                Customer,
                "还有蓝色的吗",
                CALM, // same wait: no second clock
            ),
            (
                Agent,
                "亲，蓝色有现货的",
                Want {
                    timers: &[T::StopSla],
                    ..CALM
                },
            ),
        ],
    ),
    (
        "urgent lasts for the wait, safety mode until resolved",
        &[
            (
                Customer,
                "急！孩子把杯子礼盒里的小零件吞下去了！",
                Want {
                    urgent: true,
                    safety: Some(UrgentKind::SwallowChoke),
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
            (
                Customer,
                "现在怎么办",
                Want {
                    urgent: true,
                    safety: Some(UrgentKind::SwallowChoke),
                    ..CALM
                },
            ),
            (
                Agent,
                "请您先确认孩子的情况，必要时立即就医",
                Want {
                    safety: Some(UrgentKind::SwallowChoke),
                    timers: &[T::StopSla],
                    ..CALM
                },
            ),
            (
                Customer,
                "好的，已经没事了",
                Want {
                    safety: Some(UrgentKind::SwallowChoke),
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
        ],
    ),
    (
        "asking for a supervisor raises escalation until a new wait",
        &[
            (
                Customer,
                "叫你们主管来跟我说",
                Want {
                    escalation: true,
                    reasons: &["asked_human", "risk"],
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
            (
                Agent,
                "好的亲，我这边帮您转接",
                Want {
                    escalation: true,
                    reasons: &["asked_human", "risk"],
                    timers: &[T::StopSla],
                    ..CALM
                },
            ),
            (
                Customer,
                "谢谢",
                Want {
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
        ],
    ),
    (
        "a threat is sticky, the escalation it raised lasts for the wait",
        &[
            (
                Customer,
                "再不处理我就去12315投诉你们",
                Want {
                    threat: true,
                    escalation: true,
                    reasons: &["complaint_threat", "risk"],
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
            (
                Agent,
                "非常抱歉，我马上为您处理",
                Want {
                    threat: true,
                    escalation: true,
                    reasons: &["complaint_threat", "risk"],
                    timers: &[T::StopSla],
                    ..CALM
                },
            ),
            (
                Customer,
                "好的谢谢",
                Want {
                    threat: true,
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
        ],
    ),
    (
        "a promise arms a follow-up",
        &[
            (
                Customer,
                "我的退款什么时候到账",
                Want {
                    timers: &[T::StartSla],
                    ..CALM
                },
            ),
            (
                Agent,
                "这个问题我需要核实一下，24小时内答复您",
                Want {
                    timers: &[T::StopSla, T::FollowUp],
                    ..CALM
                },
            ),
            (
                Agent,
                "稍后联系您",
                Want {
                    timers: &[T::FollowUp], // no wait to stop
                    ..CALM
                },
            ),
        ],
    ),
];

fn turn(speaker: Speaker, id: &'static str, text: &'static str, at: i64) -> Turn<'static> {
    Turn {
        speaker,
        id,
        text,
        at_ms: at,
        received_ms: at,
        product: None,
    }
}

fn kinds(t: &[Timer]) -> Vec<T> {
    t.iter()
        .map(|t| match t {
            Timer::StartSla { .. } => T::StartSla,
            Timer::StopSla => T::StopSla,
            Timer::FollowUp { .. } => T::FollowUp,
        })
        .collect()
}

fn reason_kinds(f: &Flags) -> Vec<&'static str> {
    f.escalation_reasons
        .iter()
        .map(|r| match r {
            EscalationReason::AskedHuman => "asked_human",
            EscalationReason::ComplaintThreat => "complaint_threat",
            EscalationReason::Risk { .. } => "risk",
        })
        .collect()
}

#[test]
fn flags_and_timers_per_turn() {
    const IDS: [&str; 8] = ["m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7", "m-8"];
    for (name, turns) in CASES {
        let mut chat = Chat::default();
        for (i, (speaker, text, want)) in turns.iter().enumerate() {
            let out = ENGINE.step(&mut chat, &turn(*speaker, IDS[i], text, 1_000 * i as i64));
            let f = &out.flags;
            let at = format!("{name}, turn {i} ({text})");
            assert_eq!(f.urgent, want.urgent, "urgent: {at}");
            assert_eq!(f.threat, want.threat, "threat: {at}");
            assert_eq!(f.escalation, want.escalation, "escalation: {at} {f:?}");
            assert_eq!(reason_kinds(f), want.reasons, "reasons: {at}");
            assert_eq!(f.safety, want.safety, "safety: {at}");
            assert_eq!(kinds(&out.timers), want.timers, "timers: {at}");
            // The outcome's flags are the chat's, and the analysis matches the speaker.
            assert_eq!(&chat.flags, f, "{at}");
            match (&out.analysis, speaker) {
                (Analysis::Customer(_), Customer) | (Analysis::Agent(_), Agent) => {}
                (a, s) => panic!("{at}: {s:?} turn analysed as {a:?}"),
            }
            // The escalation flag is up exactly when it has a reason.
            assert_eq!(f.escalation, !f.escalation_reasons.is_empty(), "{at}");
        }
    }
}

#[test]
fn the_wait_and_the_follow_up_count_from_the_received_time() {
    let mut chat = Chat::default();
    let mut t = turn(Customer, "m-1", "我的快递怎么还没到", 5_000);
    t.received_ms = 7_000;
    let out = ENGINE.step(&mut chat, &t);
    assert_eq!(
        out.timers,
        [Timer::StartSla {
            turn: "m-1".into(),
            since_ms: 7_000
        }]
    );
    assert_eq!(
        chat.wait,
        Some(Wait {
            turn: "m-1".into(),
            since_ms: 7_000
        })
    );
    let mut t = turn(Agent, "m-2", "我们会在24小时内答复您", 9_000);
    t.received_ms = 10_000;
    let out = ENGINE.step(&mut chat, &t);
    let due = 10_000 + 24 * 3_600_000;
    assert!(
        matches!(&out.timers[..], [Timer::StopSla, Timer::FollowUp { turn, due_at_ms, .. }] if turn == "m-2" && *due_at_ms == due),
        "{:?}",
        out.timers
    );
    assert_eq!(out.facts().follow_up_due_ms, Some(due));
    assert_eq!(chat.wait, None);
}

#[test]
fn a_rising_anger_trend_is_in_the_flags() {
    let mut chat = Chat::default();
    let texts = [
        "快递到哪了",
        "怎么还没到，有点着急",
        "到底什么时候到！太气人了！",
        "你们这什么破服务！气死我了！！！",
    ];
    let mut last = Trend::Steady;
    for (i, text) in texts.into_iter().enumerate() {
        last = ENGINE
            .step(&mut chat, &turn(Customer, "m", text, i as i64))
            .flags
            .trend;
    }
    assert_eq!(last, Trend::Rising);
    assert_eq!(chat.state.trend(), Trend::Rising);
}

#[test]
fn a_step_is_pure() {
    let mut chat = Chat::default();
    ENGINE.step(&mut chat, &turn(Customer, "m-1", "叫你们主管来", 1));
    let (mut a, mut b) = (chat.clone(), chat);
    let t = turn(Customer, "m-2", "我要投诉你们", 2);
    let (x, y) = (ENGINE.step(&mut a, &t), ENGINE.step(&mut b, &t));
    assert_eq!(x, y);
    assert_eq!(a.flags, b.flags);
    assert_eq!(a.wait, b.wait);
}

#[test]
fn facts_name_what_a_store_counts() {
    let mut chat = Chat::default();
    let out = ENGINE.step(
        &mut chat,
        &turn(Customer, "m-1", "急！孩子把杯子礼盒里的小零件吞下去了！", 1),
    );
    let f = out.facts();
    let Analysis::Customer(a) = &out.analysis else {
        panic!("customer analysis expected")
    };
    assert_eq!(
        f.intent.map(|i| i.0),
        Some(a.understanding.primary_intent())
    );
    assert_eq!(f.urgent_kind, Some(UrgentKind::SwallowChoke));
    assert!(!f.scripts.is_empty());
    assert!(f.hit_rules.is_empty());
    let out = ENGINE.step(&mut chat, &turn(Agent, "m-2", "你去告啊", 2));
    let f = out.facts();
    assert!(!f.hit_rules.is_empty(), "{f:?}");
    assert_eq!(f.hit_rules.len(), f.hit_categories.len());
    assert_eq!(f.intent, None);
}

#[test]
fn restore_keeps_the_stored_flags_and_safety_mode() {
    // What a server rebuilds after a restart: the state replayed from turns, the flags as stored.
    let mut state = ConversationState::new();
    ENGINE.customer_turn(&mut state, "请问有现货吗", Some(1));
    let stored = Flags {
        urgent: true,
        threat: true,
        safety: Some(UrgentKind::Fire),
        ..Flags::default()
    };
    let wait = Some(Wait {
        turn: "m-1".into(),
        since_ms: 1,
    });
    let mut chat = Chat::restore(state, stored, wait);
    assert_eq!(chat.state.safety(), Some(UrgentKind::Fire));
    // The wait goes on: a calm turn keeps urgent, starts no second clock.
    let out = ENGINE.step(&mut chat, &turn(Customer, "m-2", "还有吗", 2));
    assert!(out.flags.urgent && out.flags.threat);
    assert_eq!(out.flags.safety, Some(UrgentKind::Fire));
    assert!(out.timers.is_empty());
    // Only a resolve ends it, in the state (the ranking) and the flags alike.
    assert_eq!(chat.resolve_safety(), Some(UrgentKind::Fire));
    assert_eq!((chat.state.safety(), chat.flags.safety), (None, None));
    assert_eq!(chat.resolve_safety(), None);
}

#[test]
fn outcome_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Chat>();
    check::<huashu_engine::TurnOutcome>();
}
