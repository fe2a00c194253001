//! Sample frames built from the `Outbound` types, for the wire tests (each must be an example
//! of docs/PROTOCOL.md) and the generated JS typedefs (`js.rs`), which also read `extra_frames`:
//! the same messages with their optional fields the other way round.

use huashu_engine::{FollowUp, GuardHit, SuggestionItem, Understanding};
use huashu_phrasebook::{Severity, Style, UrgentKind};
use huashu_suggest::Suggestion;
use huashu_understand::{Emotion, Entity, IntentScore};

use super::*;

/// (type, Rust variant name, JSON) of one serialised frame.
pub(super) type Sample = (&'static str, String, String);

fn sample(f: &Outbound<'_>) -> Sample {
    let text = match f {
        Outbound::Analysis(_)
        | Outbound::Suggestions(_)
        | Outbound::TurnGuard(_)
        | Outbound::Safety(_) => f.masked_frame(),
        _ => f.frame(),
    };
    let debug = format!("{f:?}");
    let variant = debug
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_string();
    (f.kind(), variant, text)
}

pub(super) fn hit() -> GuardHit {
    GuardHit {
        rule: "provoke.go_sue".into(),
        category: "provoke".into(),
        severity: Severity::Block,
        start: 0,
        end: 4,
        text: "你去告啊".into(),
        rewrite: "非常抱歉给您带来困扰，我们一定认真处理".into(),
    }
}

pub(super) fn understanding() -> Understanding {
    Understanding {
        intents: vec![IntentScore {
            id: "shipping",
            score: 0.91,
        }],
        emotion: Emotion {
            label: "anxiety",
            intensity: 0.6,
        },
        urgent: false,
        urgent_kind: None,
        style: Style::Emotional,
        entities: vec![Entity {
            kind: "phone",
            text: "138****5678".into(),
            start: 9,
            end: 20,
            carrier: None,
        }],
        threat: false,
        repeat_ask: false,
        confident: true,
    }
}

pub(super) fn suggestion() -> SuggestionItem {
    SuggestionItem {
        id: "m-1:shipping.delay.soothe".into(),
        suggestion: Suggestion {
            script: "shipping.delay.soothe".into(),
            intent: "shipping".into(),
            stage: "soothe".into(),
            tags: vec!["empathy".into()],
            title: "物流配送 · 安抚".into(),
            text: "…".into(),
            source: None,
            safety: None,
        },
    }
}

pub(super) fn summary() -> crate::hub::Summary {
    crate::hub::Summary {
        conversation: "c-1".into(),
        shop: "shop-1".into(),
        seq: 18,
        turns: 3,
        customer: Some("张女士".into()),
        last_role: Some("customer".into()),
        last_text: Some("我的手机138****5678…".into()),
        last_at: Some(1732250000000),
        intent: Some("shipping".into()),
        emotion: Some("anxiety".into()),
        intensity: Some(0.6),
        urgent: false,
        threat: false,
        escalation: false,
        escalation_reasons: Vec::new(),
        trend: Some(huashu_engine::Trend::Steady),
        waiting_since: Some(1732250000000),
        sla: "ok".into(),
        safety: Some(None),
        safety_name: None,
        updated_at: 1732250000123,
    }
}

pub(super) fn order() -> crate::orders::Order {
    crate::orders::Order {
        id: "2023112245678".into(),
        status: crate::OrderStatus::InTransit,
        status_text: "运输中",
        items: vec![crate::orders::OrderItem {
            title: "…".into(),
            sku: None,
            quantity: 1,
        }],
        shipped_at: Some("2025-11-29 13:22".into()),
        signed_at: None,
        carrier: Some("顺丰速运".into()),
        tracking: Some("SF1234567890123".into()),
        logistics: Some("【杭州】快件已到达杭州转运中心".into()),
    }
}

/// One frame per `Outbound` variant (two for `ack`), built from the types with the values of
/// the page's examples, serialised the way the server does (events masked).
pub(super) fn frames() -> Vec<Sample> {
    let hits = [hit()];
    let u = understanding();
    let items = [suggestion()];
    let s = summary();
    let o = order();
    let follow_up = FollowUp {
        due_in_ms: 86_400_000,
        text: "24小时内答复您".into(),
    };
    let flags = huashu_engine::Flags::default();
    let welcome = Outbound::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        role: "agent",
        shop: "shop-1",
        agent: Some("a-7"),
        book: BookRef {
            name: "default",
            version: "1",
            hash: "…",
        },
        limits: WelcomeLimits {
            max_frame: 65536,
            max_text: 2000,
            rate: Rate {
                per_sec: 50.0,
                burst: 100.0,
            },
            outbound_queue: 1024,
            heartbeat_ms: 30000,
        },
        sla: SlaLimits {
            warn_ms: 8000,
            breach_ms: 30000,
        },
        server_time: 1732250000000,
        tz: Tz {
            name: "Asia/Shanghai",
            offset_min: 480,
            label: "Asia/Shanghai (UTC+08:00)".into(),
        },
    });
    let all = [
        welcome,
        Outbound::Pong,
        Outbound::Ack(Ack {
            conversation: "c-1",
            id: "m-1",
            seq: 17,
            duplicate: false,
        }),
        Outbound::Ack(Ack {
            conversation: "c-1",
            id: "m-1",
            seq: 17,
            duplicate: true,
        }),
        Outbound::Subscribed(Subscribed {
            conversation: "c-1",
            seq: 18,
        }),
        Outbound::Unsubscribed(Unsubscribed {
            conversation: "c-1",
        }),
        Outbound::Conversations(Conversations { items: &[] }),
        Outbound::Conversation(SummaryFrame { summary: &s }),
        Outbound::Unwatched,
        Outbound::DraftGuard(DraftGuard {
            conversation: "c-1",
            draft: "d-3",
            hits: &hits,
            rewritten: Some("非常抱歉给您带来困扰，我们一定认真处理"),
        }),
        Outbound::Noted(Noted {
            conversation: "c-1",
            suggestion: "m-1:shipping.delay.soothe",
            action: Action::Used.as_str(),
        }),
        Outbound::Revealed(Revealed {
            conversation: "c-1",
            turn: "m-1",
            entity: 0,
            kind: "phone",
            value: "13812345678",
        }),
        Outbound::Resolved(Resolved {
            conversation: "c-1",
            changed: true,
        }),
        Outbound::Analysis(Analysis {
            conversation: "c-1",
            seq: 17,
            turn: "m-1",
            role: "customer",
            text: "快递怎么还没到，电话138****5678",
            at: 1732250000000,
            customer: Some("张女士"),
            safety: None,
            flags: &flags,
            understanding: &u,
        }),
        Outbound::Suggestions(Suggestions {
            conversation: "c-1",
            seq: 18,
            turn: "m-1",
            items: &items,
            refresh: false,
        }),
        Outbound::TurnGuard(TurnGuard {
            conversation: "c-1",
            seq: 19,
            turn: "m-2",
            role: "agent",
            text: "亲，24小时内答复您",
            at: 1732250001000,
            hits: &[],
            rewritten: None,
            follow_up: Some(&follow_up),
            flags: &flags,
        }),
        Outbound::Safety(Safety {
            conversation: "c-1",
            seq: 22,
            safety: None,
            resolved: UrgentKind::SwallowChoke,
            by: Some("a-7"),
            at: 1732250009000,
        }),
        Outbound::Sla(Sla {
            conversation: "c-1",
            seq: 20,
            level: "warn",
            turn: "m-1",
            waiting_ms: 8001,
        }),
        Outbound::FollowUp(FollowUpDue {
            conversation: "c-1",
            seq: 21,
            turn: "m-2",
            text: "24小时内答复您",
            due_at: 1732336401000,
        }),
        Outbound::Order(OrderFrame {
            conversation: "c-1",
            seq: 22,
            turn: "m-1",
            order: &o,
        }),
        Outbound::Error(ErrorFrame {
            code: ErrorCode::MissingField,
            message: "missing field `text`",
            r#ref: Some("m-1"),
        }),
    ];
    all.iter().map(sample).collect()
}

/// The same messages with their optional fields the other way round (absent ↔ present, null ↔
/// a value), so the typedefs know which fields are optional or nullable.
pub(super) fn extra_frames() -> Vec<Sample> {
    let mut u = understanding();
    u.urgent = true;
    u.urgent_kind = Some(UrgentKind::SwallowChoke);
    u.entities[0].kind = "tracking_no";
    u.entities[0].carrier = Some("SF");
    let mut item = suggestion();
    item.suggestion.source = Some("运费政策".into());
    item.suggestion.safety = Some("first_action");
    let items = [item];
    let hits = [hit()];
    let mut s = summary();
    s.customer = None;
    s.safety = Some(Some(UrgentKind::SwallowChoke));
    s.safety_name = Some(UrgentKind::SwallowChoke.name());
    let mut o = order();
    o.items[0].sku = Some("sku-1".into());
    o.signed_at = Some("2025-11-30 09:10".into());
    let flags = huashu_engine::Flags::default();
    let safety = Some(SafetyMode {
        kind: UrgentKind::SwallowChoke,
        name: UrgentKind::SwallowChoke.name(),
    });
    let all = [
        Outbound::Welcome(Welcome {
            protocol: PROTOCOL_VERSION,
            role: "widget",
            shop: "shop-1",
            agent: None,
            book: BookRef {
                name: "default",
                version: "1",
                hash: "…",
            },
            limits: WelcomeLimits {
                max_frame: 65536,
                max_text: 2000,
                rate: Rate {
                    per_sec: 50.0,
                    burst: 100.0,
                },
                outbound_queue: 1024,
                heartbeat_ms: 30000,
            },
            sla: SlaLimits {
                warn_ms: 8000,
                breach_ms: 30000,
            },
            server_time: 1732250000000,
            tz: Tz {
                name: "UTC",
                offset_min: 0,
                label: "UTC".into(),
            },
        }),
        Outbound::Conversation(SummaryFrame { summary: &s }),
        Outbound::DraftGuard(DraftGuard {
            conversation: "c-1",
            draft: "d-4",
            hits: &[],
            rewritten: None,
        }),
        Outbound::Analysis(Analysis {
            conversation: "c-1",
            seq: 23,
            turn: "m-5",
            role: "customer",
            text: "孩子把零件吞了，单号SF1234567890123",
            at: 1732250000000,
            customer: None,
            safety,
            flags: &flags,
            understanding: &u,
        }),
        Outbound::Suggestions(Suggestions {
            conversation: "c-1",
            seq: 24,
            turn: "m-5",
            items: &items,
            refresh: true,
        }),
        Outbound::TurnGuard(TurnGuard {
            conversation: "c-1",
            seq: 25,
            turn: "m-6",
            role: "agent",
            text: "你去告啊",
            at: 1732250001000,
            hits: &hits,
            rewritten: Some("非常抱歉给您带来困扰，我们一定认真处理"),
            follow_up: None,
            flags: &flags,
        }),
        Outbound::Safety(Safety {
            conversation: "c-1",
            seq: 26,
            safety: None,
            resolved: UrgentKind::Other,
            by: None,
            at: 1732250009000,
        }),
        Outbound::Order(OrderFrame {
            conversation: "c-1",
            seq: 27,
            turn: "m-5",
            order: &o,
        }),
        Outbound::Error(ErrorFrame {
            code: ErrorCode::BadJson,
            message: "not JSON",
            r#ref: None,
        }),
    ];
    all.iter().map(sample).collect()
}
