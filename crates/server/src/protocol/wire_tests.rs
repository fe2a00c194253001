//! The protocol's definition against its reference page and the rest of the code:
//! - every JSON example in docs/PROTOCOL.md parses, and each one with a `type` is either an
//!   inbound message `parse` accepts as that type or exactly (as JSON) a frame built here from
//!   the typed `Outbound` structs, and each such frame has its example on the page;
//! - every `type` of `INBOUND_TYPES` / `OUTBOUND_TYPES` is documented, and no other is;
//! - no module outside `protocol` writes a frame (no `"type"` key built by hand).

use huashu_engine::{FollowUp, GuardHit, SuggestionItem, Understanding};
use huashu_phrasebook::{Severity, Style, UrgentKind};
use huashu_suggest::Suggestion;
use huashu_understand::{Emotion, Entity, IntentScore};
use serde_json::Value;

use super::*;

const DOC: &str = include_str!("../../../../docs/PROTOCOL.md");

/// Every ```json block of the page, each value in it (a block that does not parse fails).
fn block_examples() -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = DOC;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("unterminated json block");
        let block = &body[..end];
        for v in serde_json::Deserializer::from_str(block).into_iter::<Value>() {
            match v {
                Ok(v) => out.push(v),
                Err(e) => panic!("docs/PROTOCOL.md: a json block does not parse ({e}):\n{block}"),
            }
        }
        rest = &body[end + 3..];
    }
    out
}

/// Inline examples in backticks (`{"type":…}`) that are complete JSON (the others hold `…`
/// placeholders for values described in the text).
fn inline_examples() -> Vec<Value> {
    DOC.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with(r#"{"type":"#))
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect()
}

fn doc_examples() -> Vec<Value> {
    let mut all = block_examples();
    all.extend(inline_examples());
    all
}

/// JSON equality with numbers compared as f32 (engine scores are f32; a masked event goes
/// through `serde_json::Value`, which widens them: 0.6 is written 0.6000000238418579 there).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x as f32) == (y as f32),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn type_of(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

fn inbound_type(m: &Inbound) -> &'static str {
    match m {
        Inbound::Hello(_) => "hello",
        Inbound::Ping => "ping",
        Inbound::Turn(_) => "turn",
        Inbound::Send(_) => "send",
        Inbound::Subscribe(_) => "subscribe",
        Inbound::Unsubscribe(_) => "unsubscribe",
        Inbound::Draft(_) => "draft",
        Inbound::Feedback(_) => "feedback",
        Inbound::Reveal(_) => "reveal",
        Inbound::Resolve(_) => "resolve",
        Inbound::Watch => "watch",
        Inbound::Unwatch => "unwatch",
    }
}

fn hit() -> GuardHit {
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

fn understanding() -> Understanding {
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

fn suggestion() -> SuggestionItem {
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

fn summary() -> crate::hub::Summary {
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

fn order() -> crate::orders::Order {
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
fn frames() -> Vec<(&'static str, String)> {
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
    all.iter()
        .map(|f| {
            let text = match f {
                Outbound::Analysis(_)
                | Outbound::Suggestions(_)
                | Outbound::TurnGuard(_)
                | Outbound::Safety(_) => f.masked_frame(),
                _ => f.frame(),
            };
            (f.kind(), text)
        })
        .collect()
}

#[test]
fn every_outbound_frame_is_a_documented_example() {
    let docs = doc_examples();
    for (kind, text) in frames() {
        let v: Value = serde_json::from_str(&text).expect("a frame is JSON");
        assert_eq!(type_of(&v), Some(kind), "{text}");
        assert!(
            docs.iter().any(|d| same(d, &v)),
            "the `{kind}` frame built from the types is not an example of docs/PROTOCOL.md:\n{text}"
        );
    }
}

#[test]
fn every_documented_example_is_a_frame_or_parses() {
    let built: Vec<Value> = frames()
        .iter()
        .map(|(_, t)| serde_json::from_str(t).expect("a frame is JSON"))
        .collect();
    let mut seen_outbound = 0;
    for v in doc_examples() {
        let Some(ty) = type_of(&v) else {
            continue;
        };
        if INBOUND_TYPES.contains(&ty) && !OUTBOUND_TYPES.contains(&ty) {
            let text = v.to_string();
            let parsed = parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(inbound_type(&parsed), ty, "{text}");
        } else {
            assert!(
                OUTBOUND_TYPES.contains(&ty),
                "undocumented type `{ty}`: {v}"
            );
            assert!(
                built.iter().any(|b| same(b, &v)),
                "docs/PROTOCOL.md example differs from the frame the types build: {v}"
            );
            seen_outbound += 1;
        }
    }
    assert!(seen_outbound >= OUTBOUND_TYPES.len(), "{seen_outbound}");
}

#[test]
fn type_lists_match_the_enums_and_the_page() {
    let mut kinds: Vec<&str> = Vec::new();
    for (k, _) in frames() {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    assert_eq!(kinds, OUTBOUND_TYPES, "OUTBOUND_TYPES is Outbound's order");
    for ty in INBOUND_TYPES.iter().chain(OUTBOUND_TYPES) {
        assert!(
            DOC.contains(&format!(r#"{{"type":"{ty}""#)),
            "`{ty}` has no example in docs/PROTOCOL.md"
        );
    }
    for ty in INBOUND_TYPES {
        let e = parse(&format!(r#"{{"type":"{ty}"}}"#)).err();
        assert_ne!(e.map(|e| e.code), Some(ErrorCode::UnknownType), "{ty}");
    }
}

/// Where a frame could still be written by hand: a `type` key in a string literal, a
/// `r#type` field, a `json!` object with a `"type"` key.
fn writes_a_frame(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    code.contains(r#""type""#) || code.contains(r#"\"type\""#) || code.contains("r#type")
}

#[test]
fn no_frame_is_written_outside_the_protocol_module() {
    fn visit(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                visit(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    assert!(files.len() > 20, "{}", files.len());
    // Test code sends frames as a client would; Chatwoot's own payload has a `type` field
    // (deserialised, not a frame of ours).
    const ALLOWED: &[&str] = &["#[serde(rename = \"type\")]"];
    let mut found = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        let name = rel.to_string_lossy().replace('\\', "/");
        if name == "protocol.rs"
            || name.starts_with("protocol/")
            || name == "tests.rs"
            || name == "fuzz.rs"
            || name.ends_with("/tests.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if writes_a_frame(line) && !ALLOWED.iter().any(|a| line.contains(a)) {
                found.push(format!("src/{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "frames are built only in crate::protocol (Outbound):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_catches_a_hand_written_frame() {
    for line in [
        r##"        self.send_text(r#"{"type":"pong"}"#).await"##,
        r#"    let v = serde_json::json!({"type": "welcome"});"#,
        "            r#type: \"ack\",",
        r#"    format!("{{\"type\":\"sla\"}}")"#,
    ] {
        assert!(writes_a_frame(line), "{line}");
    }
    assert!(!writes_a_frame("    let kind = frame.kind(); // \"type\""));
}
