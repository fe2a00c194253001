//! The protocol's definition against its reference page and the rest of the code:
//! - every JSON example in docs/PROTOCOL.md parses, and each one with a `type` is either an
//!   inbound message `parse` accepts as that type or exactly (as JSON) a frame built here from
//!   the typed `Outbound` structs, and each such frame has its example on the page;
//! - every `type` of `INBOUND_TYPES` / `OUTBOUND_TYPES` is documented, and no other is;
//! - no module outside `protocol` writes a frame (no `"type"` key built by hand).

use serde_json::Value;

use super::samples::frames;
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

pub(super) fn doc_examples() -> Vec<Value> {
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

#[test]
fn every_outbound_frame_is_a_documented_example() {
    let docs = doc_examples();
    for (kind, _, text) in frames() {
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
        .map(|(_, _, t)| serde_json::from_str(t).expect("a frame is JSON"))
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
    for (k, _, _) in frames() {
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
