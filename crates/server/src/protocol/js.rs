//! Generates `assets/protocol.js` from the Rust definitions: the protocol's message types,
//! error and close codes, a JSDoc typedef per frame (inferred from frames the `Outbound` types
//! build, `samples.rs`; inbound ones from the reference page's examples `parse` accepts), and
//! the zh-CN names of every fixed id the browser shows (the phrasebook's closed sets, urgent
//! kinds, order statuses, and the few wire values that have no closed-set type yet).
//!
//! The console, QA page, Chatwoot app and extension import their labels from it (through
//! `labels.js`), so no page carries a hand-copied map. The test fails while the committed file
//! differs from what the definitions generate; `HUASHU_BLESS=1 cargo test -p huashu-server
//! --lib protocol::js` rewrites it.

use std::collections::BTreeMap;
use std::fmt::Write;

use huashu_phrasebook::{
    EmotionLabel, Intent, ProductCategory, RuleCategory, Severity, Stage, Style, TagKind,
    UrgentKind,
};
use serde_json::Value;

use super::samples::{extra_frames, frames};
use super::*;
use crate::OrderStatus;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/protocol.js");

/// Every severity, strongest first (the order hits are painted in).
const SEVERITIES: [Severity; 3] = [Severity::Block, Severity::Warn, Severity::Hint];
const ORDER_STATUSES: [OrderStatus; 9] = [
    OrderStatus::Unpaid,
    OrderStatus::Paid,
    OrderStatus::Shipped,
    OrderStatus::InTransit,
    OrderStatus::Delivering,
    OrderStatus::Signed,
    OrderStatus::Cancelled,
    OrderStatus::Refunding,
    OrderStatus::Refunded,
];

/// Exhaustive: a new member fails to compile here until the list above has it.
#[allow(dead_code)]
fn listed(s: Severity, o: OrderStatus, st: Style) {
    match s {
        Severity::Block | Severity::Warn | Severity::Hint => {}
    }
    match o {
        OrderStatus::Unpaid
        | OrderStatus::Paid
        | OrderStatus::Shipped
        | OrderStatus::InTransit
        | OrderStatus::Delivering
        | OrderStatus::Signed
        | OrderStatus::Cancelled
        | OrderStatus::Refunding
        | OrderStatus::Refunded => {}
    }
    let _ = style_name(st);
}

fn order_status_id(o: OrderStatus) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How the console words a customer style (seed 003: what the agent should do first).
fn style_name(s: Style) -> &'static str {
    match s {
        Style::Rational => "理性型 · 先给方案",
        Style::Emotional => "感性型 · 先共情安抚",
    }
}

/// Entity kinds of `analysis.entities` (`huashu-understand` names them by string).
const ENTITY: &[(&str, &str)] = &[
    ("order_id", "订单号"),
    ("tracking_no", "物流单号"),
    ("phone", "手机号"),
    ("amount", "金额"),
    ("size", "尺码"),
    ("height", "身高"),
    ("weight", "体重"),
    ("email", "邮箱"),
    ("address", "地址"),
    ("id_number", "证件号"),
    ("name", "姓名"),
];

/// Entity kinds masked as personal data (`reveal` answers for these).
const PERSONAL: &[&str] = &["phone", "address", "name", "id_number", "email"];

/// Carriers of tracking-number entities (`carrier`).
const CARRIER: &[(&str, &str)] = &[
    ("SF", "顺丰"),
    ("ZTO", "中通"),
    ("YTO", "圆通"),
    ("YD", "韵达"),
    ("STO", "申通"),
    ("JD", "京东"),
    ("EMS", "EMS"),
];

fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn map(out: &mut String, doc: &str, name: &str, pairs: impl IntoIterator<Item = (String, String)>) {
    let _ = writeln!(out, "/** {doc} */");
    let _ = write!(out, "export const {name} = Object.freeze({{");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            k
        } else {
            js_str(&k)
        };
        let _ = write!(out, "{sep}\n  {key}: {}", js_str(&v));
    }
    let _ = writeln!(out, ",\n}});\n");
}

fn list(out: &mut String, doc: &str, name: &str, items: impl IntoIterator<Item = String>) {
    let items: Vec<String> = items.into_iter().map(|s| js_str(&s)).collect();
    let _ = writeln!(out, "/** {doc} */");
    let _ = writeln!(
        out,
        "export const {name} = Object.freeze([{}]);\n",
        items.join(", ")
    );
}

fn pairs<T: Copy>(
    all: &[T],
    id: fn(T) -> String,
    name: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter().map(|&m| (id(m), name(m).to_string())).collect()
}

/// The JSDoc type of a value seen in samples (`None`: only `null` was seen).
fn js_type(values: &[&Value]) -> Option<String> {
    let mut kinds: Vec<String> = Vec::new();
    let push = |kinds: &mut Vec<String>, k: String| {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    let objects: Vec<&Value> = values.iter().copied().filter(|v| v.is_object()).collect();
    let elements: Vec<&Value> = values
        .iter()
        .filter_map(|v| v.as_array())
        .flatten()
        .collect();
    for v in values {
        match v {
            Value::Null => {}
            Value::Bool(_) => push(&mut kinds, "boolean".into()),
            Value::Number(_) => push(&mut kinds, "number".into()),
            Value::String(_) => push(&mut kinds, "string".into()),
            Value::Array(_) => {
                let inner = js_type(&elements).unwrap_or_else(|| "*".into());
                push(&mut kinds, format!("Array<{inner}>"));
            }
            Value::Object(_) => push(&mut kinds, record(&objects)),
        }
    }
    match kinds.len() {
        0 => None,
        1 => kinds.pop(),
        _ => Some(format!("({})", kinds.join("|"))),
    }
}

/// Properties of objects seen in samples: name → (type, optional, nullable), in first-seen order.
fn properties(objects: &[&Value]) -> Vec<(String, String, bool, bool)> {
    let mut order: Vec<String> = Vec::new();
    let mut seen: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for o in objects {
        if let Value::Object(m) = o {
            for (k, v) in m {
                if !seen.contains_key(k) {
                    order.push(k.clone());
                }
                seen.entry(k.clone()).or_default().push(v);
            }
        }
    }
    order
        .into_iter()
        .map(|k| {
            let vs = &seen[&k];
            let optional = vs.len() < objects.len();
            let nullable = vs.iter().any(|v| v.is_null());
            let ty = js_type(vs).unwrap_or_else(|| "*".into());
            (k, ty, optional, nullable)
        })
        .collect()
}

fn record(objects: &[&Value]) -> String {
    let fields: Vec<String> = properties(objects)
        .into_iter()
        .map(|(k, ty, optional, nullable)| {
            let ty = if nullable && ty != "*" {
                format!("?{ty}")
            } else {
                ty
            };
            let ty = if optional {
                format!("({ty}|undefined)")
            } else {
                ty
            };
            format!("{k}: {ty}")
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn typedef(out: &mut String, name: &str, doc: &str, objects: &[&Value]) {
    let _ = writeln!(out, "/**\n * {doc}\n * @typedef {{object}} {name}");
    for (k, ty, optional, nullable) in properties(objects) {
        let ty = match &*k {
            "type" => objects
                .first()
                .and_then(|o| o.get("type"))
                .and_then(Value::as_str)
                .map(|t| format!("'{t}'"))
                .unwrap_or(ty),
            _ if nullable && ty != "*" => format!("?{ty}"),
            _ => ty,
        };
        let key = if optional { format!("[{k}]") } else { k };
        let _ = writeln!(out, " * @property {{{ty}}} {key}");
    }
    let _ = writeln!(out, " */\n");
}

/// The reference page's examples of inbound messages that `parse` accepts.
fn inbound_examples() -> Vec<Value> {
    let mut out = super::wire_tests::doc_examples();
    out.retain(|v| {
        v.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| INBOUND_TYPES.contains(&t))
            && parse(&v.to_string()).is_ok()
    });
    out
}

/// `hello` → `Hello`, `follow_up` → `FollowUp`.
fn camel(id: &str) -> String {
    id.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub(super) fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "// protocol.js — GENERATED from the Rust definitions by crates/server/src/protocol/js.rs; do not edit.\n\
         // Protocol v1 message types, error and close codes, a JSDoc typedef per frame, and the zh-CN names\n\
         // of the fixed ids the pages show. Regenerate: HUASHU_BLESS=1 cargo test -p huashu-server --lib protocol::js\n\
         // (the test fails while this file is stale). Reference: docs/PROTOCOL.md.\n\n",
    );
    let _ = writeln!(out, "export const PROTOCOL_VERSION = {PROTOCOL_VERSION};\n");
    list(
        &mut out,
        "Every `type` a client may send.",
        "INBOUND_TYPES",
        INBOUND_TYPES.iter().map(|s| s.to_string()),
    );
    list(
        &mut out,
        "Every `type` the server sends.",
        "OUTBOUND_TYPES",
        OUTBOUND_TYPES.iter().map(|s| s.to_string()),
    );
    list(
        &mut out,
        "`code` values of `error` frames.",
        "ERROR_CODES",
        ErrorCode::ALL.iter().map(|c| c.as_str().to_string()),
    );
    let _ = writeln!(
        out,
        "/** Close codes besides the standard ones (docs/PROTOCOL.md \"Close codes\"). */\n\
         export const CLOSE = Object.freeze({{ UNAUTHORIZED: {}, SLOW_CONSUMER: {}, HEARTBEAT_TIMEOUT: {} }});\n",
        close::UNAUTHORIZED,
        close::SLOW_CONSUMER,
        close::HEARTBEAT_TIMEOUT
    );

    out.push_str("// ---- zh-CN names of the fixed ids ----\n\n");
    map(
        &mut out,
        "Intents (`intents[].id`, summaries' `intent`).",
        "INTENT",
        pairs(Intent::ALL, |m| m.as_str().into(), Intent::name),
    );
    map(
        &mut out,
        "Emotion labels (`emotion.label`).",
        "EMOTION",
        pairs(EmotionLabel::ALL, |m| m.as_str().into(), EmotionLabel::name),
    );
    map(
        &mut out,
        "Script stages (`stage`).",
        "STAGE",
        pairs(Stage::ALL, |m| m.as_str().into(), Stage::name),
    );
    let mut tags = pairs(TagKind::ALL, |m| m.as_str().into(), TagKind::name);
    tags.push(("faq".into(), "知识库".into()));
    map(
        &mut out,
        "Suggestion tags (`items[].tags`): the script tags, and `faq` on FAQ answers.",
        "TAG",
        tags,
    );
    map(
        &mut out,
        "Forbidden-phrase categories (`hits[].category`).",
        "CATEGORY",
        pairs(RuleCategory::ALL, |m| m.as_str().into(), RuleCategory::name),
    );
    map(
        &mut out,
        "Hit severities (`hits[].severity`), strongest first.",
        "SEVERITY",
        pairs(&SEVERITIES, |m| m.as_str().into(), Severity::name),
    );
    map(
        &mut out,
        "Paint order of overlapping hits: lower wins.",
        "SEVERITY_RANK",
        SEVERITIES
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str().to_string(), i.to_string())),
    );
    map(
        &mut out,
        "Urgent kinds (`urgent_kind`, `safety.kind`, summaries' `safety`).",
        "URGENT_KIND",
        pairs(&UrgentKind::ALL, |m| m.as_str().into(), UrgentKind::name),
    );
    map(
        &mut out,
        "Customer styles (`style`), as the console words them.",
        "STYLE",
        pairs(
            &[Style::Rational, Style::Emotional],
            |m| m.as_str().into(),
            style_name,
        ),
    );
    map(
        &mut out,
        "Entity kinds (`entities[].kind`).",
        "ENTITY",
        ENTITY.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    );
    list(
        &mut out,
        "Entity kinds masked as personal data (`reveal` answers for these).",
        "PERSONAL",
        PERSONAL.iter().map(|s| s.to_string()),
    );
    map(
        &mut out,
        "Carriers of tracking numbers (`entities[].carrier`).",
        "CARRIER",
        CARRIER.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    );
    map(
        &mut out,
        "Order statuses (`order.status`).",
        "ORDER_STATUS",
        pairs(&ORDER_STATUSES, order_status_id, OrderStatus::display),
    );
    map(
        &mut out,
        "Catalogue product categories.",
        "PRODUCT_CATEGORY",
        pairs(
            &ProductCategory::ALL,
            |m| m.as_str().into(),
            ProductCategory::name,
        ),
    );

    out.push_str("// ---- frames the server sends ----\n\n");
    let mut samples = frames();
    samples.extend(extra_frames());
    let mut variants: Vec<(String, &'static str)> = Vec::new();
    for (kind, variant, _) in &samples {
        if !variants.iter().any(|(v, _)| v == variant) {
            variants.push((variant.clone(), kind));
        }
    }
    let parsed: Vec<(String, Value)> = samples
        .iter()
        .map(|(_, v, json)| (v.clone(), serde_json::from_str(json).unwrap_or(Value::Null)))
        .collect();
    for (variant, kind) in &variants {
        let objects: Vec<&Value> = parsed
            .iter()
            .filter(|(v, _)| v == variant)
            .map(|(_, j)| j)
            .collect();
        typedef(
            &mut out,
            variant,
            &format!("`{kind}` (Outbound::{variant})."),
            &objects,
        );
    }
    let names: Vec<&str> = variants.iter().map(|(v, _)| v.as_str()).collect();
    let _ = writeln!(out, "/** @typedef {{{}}} Outbound */\n", names.join("|"));

    out.push_str("// ---- messages a client sends ----\n\n");
    let examples = inbound_examples();
    for ty in INBOUND_TYPES {
        let objects: Vec<&Value> = examples
            .iter()
            .filter(|v| v.get("type").and_then(Value::as_str) == Some(ty))
            .collect();
        let name = format!("{}Message", camel(ty));
        if objects.is_empty() {
            let _ = writeln!(out, "/** @typedef {{{{type: '{ty}'}}}} {name} */\n");
        } else {
            typedef(
                &mut out,
                &name,
                &format!("`{ty}` (see docs/PROTOCOL.md)."),
                &objects,
            );
        }
    }
    let names: Vec<String> = INBOUND_TYPES
        .iter()
        .map(|t| format!("{}Message", camel(t)))
        .collect();
    let _ = writeln!(out, "/** @typedef {{{}}} Inbound */", names.join("|"));
    out
}

#[test]
fn the_committed_protocol_js_is_what_the_definitions_generate() {
    let want = render();
    if std::env::var_os("HUASHU_BLESS").is_some() {
        std::fs::write(PATH, &want).expect("write assets/protocol.js");
    }
    let have = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        have == want,
        "crates/server/assets/protocol.js is stale: run HUASHU_BLESS=1 cargo test -p huashu-server --lib protocol::js"
    );
}

#[test]
fn the_generated_labels_name_every_member() {
    let js = render();
    for (id, name) in [
        ("shipping", "物流配送"),
        ("anger", "愤怒"),
        ("provoke", "激化矛盾"),
        ("block", "禁止发送"),
        ("swallow_choke", UrgentKind::SwallowChoke.name()),
        ("in_transit", "运输中"),
    ] {
        assert!(js.contains(&format!("  {id}: \"{name}\"")), "{id} {name}");
    }
    for ty in OUTBOUND_TYPES.iter().chain(INBOUND_TYPES) {
        assert!(
            js.contains(&format!("@property {{'{ty}'}} type"))
                || js.contains(&format!("type: '{ty}'")),
            "{ty}"
        );
    }
    // A nullable and an optional field are told apart from a required one.
    assert!(js.contains("@property {?string} rewritten"), "{js}");
    assert!(js.contains("@property {boolean} [duplicate]"), "{js}");
}
