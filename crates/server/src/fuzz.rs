//! Fuzz targets (proptest, bounded case counts so `cargo test` and CI stay fast) for the two
//! parsers every unauthenticated byte reaches: the protocol parser (`protocol::parse`) and the
//! HTTP head/body reader (`http::parse_head`, `read_head`, `read_body`). Properties: no input
//! panics; every refusal is a typed error or status; a head split at any byte boundaries reads
//! the same as in one piece; a body is returned exactly when it is complete and within the
//! limit. (The normaliser's fuzz target is `crates/normalize/tests/props.rs`, the masker's
//! `crates/store/tests/mask_props.rs`.)

use std::time::Duration;

use proptest::prelude::*;
use tokio::io::AsyncWriteExt;

use crate::http::{parse_head, read_body, read_head};
use crate::protocol::{ErrorCode, parse};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// JSON-ish frames: real message shapes with random values, broken JSON, arbitrary text.
fn frame() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,12}".prop_map(|s| serde_json::Value::String(s).to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
    ];
    let key = prop::sample::select(vec![
        "type",
        "role",
        "token",
        "shop",
        "agent",
        "conversation",
        "id",
        "text",
        "at",
        "since",
        "draft",
        "suggestion",
        "action",
        "customer",
        "product",
        "x",
    ]);
    let kind = prop::sample::select(vec![
        "hello",
        "ping",
        "turn",
        "send",
        "subscribe",
        "unsubscribe",
        "draft",
        "feedback",
        "watch",
        "unwatch",
        "nope",
    ]);
    prop_oneof![
        (kind, prop::collection::vec((key, value), 0..8)).prop_map(|(k, fields)| {
            let mut s = format!("{{\"type\":\"{k}\"");
            for (key, v) in fields {
                s.push_str(&format!(",\"{key}\":{v}"));
            }
            s.push('}');
            s
        }),
        "\\PC{0,64}",
        "[{}\\[\\]\":,a-z0-9 ]{0,40}",
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn the_protocol_parser_never_panics_and_refuses_with_a_typed_code(s in frame()) {
        if let Err(e) = parse(&s) {
            prop_assert!(
                matches!(
                    e.code,
                    ErrorCode::BadJson | ErrorCode::UnknownType | ErrorCode::MissingField | ErrorCode::BadField
                ),
                "{:?} for {s}", e.code
            );
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn the_head_parser_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        if let Err(r) = parse_head(&bytes) {
            prop_assert!([400, 411, 431].contains(&r.status), "{}", r.status);
        }
    }

    #[test]
    fn a_head_reads_the_same_whole_or_split_at_any_boundaries(
        path in "/[a-z/]{0,12}",
        headers in prop::collection::vec(("[A-Za-z-]{1,10}", "[ -~]{0,20}"), 0..6),
        len in prop::option::of(0usize..5000),
        body in "[a-z]{0,16}",
        cuts in prop::collection::vec(1usize..40, 0..6),
    ) {
        let mut head = format!("POST {path}?q=1 HTTP/1.1\r\nHost: x\r\n");
        for (k, v) in &headers {
            // Keep the two framing headers under the test's control.
            if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("transfer-encoding") {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        if let Some(n) = len {
            head.push_str(&format!("Content-Length: {n}\r\n"));
        }
        head.push_str("\r\n");
        let whole = format!("{head}{body}");
        let one = parse_head(whole.as_bytes());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let split = rt.block_on(async {
            let (mut client, mut server) = tokio::io::duplex(64);
            let bytes = whole.clone().into_bytes();
            let writer = tokio::spawn(async move {
                let mut at = 0;
                for c in cuts.iter().chain(std::iter::repeat(&usize::MAX)) {
                    if at >= bytes.len() { break; }
                    let end = at.saturating_add(*c).min(bytes.len());
                    if client.write_all(&bytes[at..end]).await.is_err() { break; }
                    at = end;
                }
                client
            });
            let r = read_head(&mut server).await;
            drop(writer.await);
            r
        });
        match (one, split) {
            (Ok(Some((h1, n))), Ok((h2, rest))) => {
                prop_assert_eq!(&h1, &h2);
                prop_assert_eq!(h1.content_length, len);
                prop_assert_eq!(&h1.path, &path);
                // What was read past the head is the start of the body.
                prop_assert!(whole.as_bytes()[n..].starts_with(&rest));
            }
            (Err(a), Err(Some(b))) => prop_assert_eq!(a.status, b.status),
            (a, b) => prop_assert!(false, "whole {a:?} vs split {b:?}"),
        }
    }

    #[test]
    fn a_body_is_returned_exactly_when_complete_and_within_the_limit(
        declared in 0usize..300,
        sent in 0usize..320,
        max in 0usize..300,
    ) {
        let mut head = crate::http::Head::default();
        head.content_length = Some(declared);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("rt");
        let got = rt.block_on(async {
            let (mut client, mut server) = tokio::io::duplex(1024);
            let bytes = vec![b'x'; sent];
            client.write_all(&bytes).await.expect("write");
            // The client stays open without sending more: only the deadline can end a short body.
            let r = read_body(&mut server, &head, Vec::new(), max, Duration::from_secs(10)).await;
            drop(client);
            r
        });
        match got {
            Ok(body) => {
                prop_assert!(declared <= max && sent >= declared);
                prop_assert_eq!(body.len(), declared);
            }
            Err(r) if declared > max => prop_assert_eq!(r.status, 413),
            Err(r) => {
                prop_assert!(sent < declared);
                prop_assert_eq!(r.status, 408);
            }
        }
    }
}
