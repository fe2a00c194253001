//! Every bad input over a real socket, each as its own test: the real server on 127.0.0.1:0,
//! real tokio-tungstenite clients. Each check asserts the typed error (code and `ref`), whether
//! the offending connection is kept (it still answers a ping and a real request) or closed (with
//! which close code), and that a bystander widget and console on the same server keep working
//! throughout (a turn is acked and pushed after the bad input).

mod server_support;

use std::time::Duration;

use serde_json::{Value, json};
use server_support::*;
use tokio_tungstenite::tungstenite::Message;

/// A server with a bystander: a widget and a console subscribed to `bystander`.
struct Scene {
    server: InProcess,
    widget: Client,
    console: Client,
    turns: u64,
}

impl Scene {
    async fn start(tune: impl FnOnce(&mut huashu_server::Config)) -> Scene {
        let server = InProcess::start(tune).await;
        let mut console = Client::hello(&server.url(), "agent", AGENT_A).await;
        console.subscribe("bystander", 0).await;
        let widget = Client::hello(&server.url(), "widget", WIDGET_A).await;
        let mut scene = Scene {
            server,
            widget,
            console,
            turns: 0,
        };
        scene.bystanders_served().await;
        scene
    }

    /// The bystanders' turn is acked and its events reach their console.
    async fn bystanders_served(&mut self) {
        self.turns += 1;
        let id = format!("by-{}", self.turns);
        self.widget
            .send(turn("bystander", &id, "customer", "请问什么时候发货"))
            .await;
        let ack = self.widget.expect("ack").await;
        assert_eq!(ack["id"], id.as_str(), "{ack}");
        assert_eq!(ack["seq"], 2 * self.turns - 1, "{ack}");
        let a = self.console.expect("analysis").await;
        assert_eq!(a["turn"], id.as_str(), "{a}");
        self.console.expect("suggestions").await;
    }

    async fn client(&self, role: &str, token: &str) -> Client {
        Client::hello(&self.server.url(), role, token).await
    }

    async fn finish(mut self) {
        self.bystanders_served().await;
        self.server.stop().await;
    }
}

/// Sends `m`, expects `error` with `code` and `ref`; returns the error frame.
async fn rejected(c: &mut Client, m: Message, code: &str, r#ref: Option<&str>) -> Value {
    c.send_raw(m).await;
    let e = c.expect_error(code).await;
    assert_eq!(e["ref"].as_str(), r#ref, "ref of {e}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message of {e}"
    );
    e
}

/// The connection is kept: a ping is answered and a real request of its role succeeds.
async fn kept(c: &mut Client, role: &str) {
    c.alive().await;
    match role {
        "widget" => {
            c.send(turn("kept", "kept-1", "customer", "你好")).await;
            assert_eq!(c.expect("ack").await["id"], "kept-1");
        }
        _ => {
            c.send(
                json!({"type":"draft","conversation":"kept","draft":"d-kept","text":"你去告啊"}),
            )
            .await;
            assert_eq!(c.expect("guard").await["draft"], "d-kept");
        }
    }
}

/// The connection ends with this close code.
async fn closed_with(c: &mut Client, code: u16) {
    assert_eq!(c.next().await, Seen::Close(code));
}

fn text(s: impl Into<String>) -> Message {
    Message::Text(s.into().into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_is_bad_json_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut c = s.client("widget", WIDGET_A).await;
    rejected(&mut c, text("{oops"), "bad_json", None).await;
    s.bystanders_served().await;
    kept(&mut c, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_that_is_not_an_object_is_bad_json_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut c = s.client("widget", WIDGET_A).await;
    for m in ["[1,2]", "\"turn\"", "42", "null"] {
        rejected(&mut c, text(m), "bad_json", None).await;
    }
    s.bystanders_served().await;
    kept(&mut c, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_type_is_unknown_type_with_ref_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut c = s.client("widget", WIDGET_A).await;
    rejected(
        &mut c,
        text(r#"{"type":"yodel","id":"y-1"}"#),
        "unknown_type",
        Some("y-1"),
    )
    .await;
    s.bystanders_served().await;
    kept(&mut c, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_are_missing_field_with_ref_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    // No `type` at all.
    rejected(
        &mut w,
        text(r#"{"id":"m-0"}"#),
        "missing_field",
        Some("m-0"),
    )
    .await;
    // A turn without each of its required fields in turn.
    let full = json!({"type":"turn","conversation":"c","id":"m-1","role":"customer","text":"在吗"});
    for field in ["conversation", "role", "text"] {
        let mut v = full.clone();
        v.as_object_mut().expect("object").remove(field);
        let e = rejected(&mut w, text(v.to_string()), "missing_field", Some("m-1")).await;
        assert!(
            e["message"].as_str().is_some_and(|m| m.contains(field)),
            "names `{field}`: {e}"
        );
    }
    let mut v = full.clone();
    v.as_object_mut().expect("object").remove("id");
    rejected(&mut w, text(v.to_string()), "missing_field", Some("c")).await;
    // Agent messages too.
    let mut a = s.client("agent", AGENT_A).await;
    rejected(
        &mut a,
        text(r#"{"type":"draft","conversation":"c","draft":"d-1"}"#),
        "missing_field",
        Some("d-1"),
    )
    .await;
    rejected(
        &mut a,
        text(r#"{"type":"feedback","conversation":"c","suggestion":"1:x"}"#),
        "missing_field",
        Some("1:x"),
    )
    .await;
    rejected(
        &mut a,
        text(r#"{"type":"subscribe"}"#),
        "missing_field",
        None,
    )
    .await;
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    kept(&mut a, "agent").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_and_values_are_bad_field_with_ref_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    let cases = [
        (r#"{"type":7,"id":"t-0"}"#, Some("t-0")),
        (
            r#"{"type":"turn","conversation":"c","id":1,"role":"customer","text":"x"}"#,
            Some("c"),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"t-2","role":"customer","text":5}"#,
            Some("t-2"),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"t-3","role":"robot","text":"x"}"#,
            Some("t-3"),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"t-4","role":"customer","text":"x","at":"now"}"#,
            Some("t-4"),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"t-5","role":"customer","text":"x","at":-5}"#,
            Some("t-5"),
        ),
        (
            r#"{"type":"turn","conversation":"","id":"t-6","role":"customer","text":"x"}"#,
            Some("t-6"),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"t-7","role":"customer","text":"   "}"#,
            Some("t-7"),
        ),
    ];
    for (m, r) in cases {
        rejected(&mut w, text(m), "bad_field", r).await;
    }
    let long_id = "i".repeat(200);
    rejected(
        &mut w,
        text(turn("c", &long_id, "customer", "x").to_string()),
        "bad_field",
        Some(long_id.as_str()),
    )
    .await;
    let mut a = s.client("agent", AGENT_A).await;
    for (m, r) in [
        (
            r#"{"type":"subscribe","conversation":"c","since":"zero"}"#,
            Some("c"),
        ),
        (
            r#"{"type":"subscribe","conversation":"c","since":-1}"#,
            Some("c"),
        ),
        (
            r#"{"type":"feedback","conversation":"c","suggestion":"s-1","action":"loved"}"#,
            Some("s-1"),
        ),
        (
            r#"{"type":"draft","conversation":"c","draft":"d-1","text":["x"]}"#,
            Some("d-1"),
        ),
    ] {
        rejected(&mut a, text(m), "bad_field", r).await;
    }
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    kept(&mut a, "agent").await;
    // Nothing of it was stored.
    assert_eq!(
        s.server
            .store()
            .count(huashu_store::Table::Turns)
            .expect("count"),
        s.turns + 1,
        "only the bystander turns and the one kept-check turn"
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_64_kb_is_too_large_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    // 66 kB of valid JSON (the size alone is the problem), with an id to refer to.
    let pad = "x".repeat(66_000);
    let frame = json!({"type":"turn","conversation":"c","id":"big-1","role":"customer","text":"hi","pad":pad});
    assert!(frame.to_string().len() > 64 * 1024);
    rejected(&mut w, text(frame.to_string()), "too_large", Some("big-1")).await;
    // Just under the limit is fine (unknown fields are ignored).
    let pad = "x".repeat(64 * 1024 - 200);
    w.send(json!({"type":"ping","pad":pad})).await;
    w.expect("pong").await;
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_hard_limit_is_too_large_then_closed_1009() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    w.send_raw(text("x".repeat(300_000))).await;
    w.expect_error("too_large").await;
    closed_with(&mut w, 1009).await;
    s.bystanders_served().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_over_the_limit_is_too_large_with_ref_and_kept() {
    let mut s = Scene::start(|c| c.limits.max_text = 100).await;
    let mut w = s.client("widget", WIDGET_A).await;
    // The limit counts characters, not bytes: 100 CJK chars (300 bytes) pass, 101 do not.
    w.send(turn("c", "ok-100", "customer", &"长".repeat(100)))
        .await;
    w.expect("ack").await;
    rejected(
        &mut w,
        text(turn("c", "long-1", "customer", &"长".repeat(101)).to_string()),
        "too_large",
        Some("long-1"),
    )
    .await;
    let mut a = s.client("agent", AGENT_A).await;
    rejected(
        &mut a,
        text(
            json!({"type":"draft","conversation":"c","draft":"d-long","text":"长".repeat(101)})
                .to_string(),
        ),
        "too_large",
        Some("d-long"),
    )
    .await;
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    kept(&mut a, "agent").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_before_hello_is_unauthorized_and_closed_4401() {
    let mut s = Scene::start(|_| {}).await;
    let mut c = Client::connect(&s.server.url()).await;
    c.send(turn("c", "early", "customer", "x")).await;
    c.expect_error("unauthorized").await;
    closed_with(&mut c, 4401).await;
    s.bystanders_served().await;
    // Nothing was stored for it.
    assert!(
        s.server
            .store()
            .turns(&huashu_store::conversation_key("shop-a", "c"))
            .expect("turns")
            .is_empty()
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_or_binary_before_hello_is_unauthorized_and_closed_4401() {
    let mut s = Scene::start(|_| {}).await;
    for m in [text("garbage"), Message::Binary(vec![0u8; 8].into())] {
        let mut c = Client::connect(&s.server.url()).await;
        c.send_raw(m).await;
        c.expect_error("unauthorized").await;
        closed_with(&mut c, 4401).await;
    }
    s.bystanders_served().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_unauthorized_and_closed_4401() {
    let mut s = Scene::start(|_| {}).await;
    let hellos = [
        json!({"type":"hello","role":"widget","token":"nope-nope"}),
        json!({"type":"hello","role":"widget","token":""}),
        // A real token, but for another role.
        json!({"type":"hello","role":"agent","token":WIDGET_A}),
        // A real token, but claiming another shop.
        json!({"type":"hello","role":"widget","token":WIDGET_A,"shop":"shop-b"}),
        // Bound to agent a-1, claiming to be someone else.
        json!({"type":"hello","role":"agent","token":AGENT_A,"agent":"a-2"}),
    ];
    for hello in hellos {
        let mut c = Client::connect(&s.server.url()).await;
        c.send(hello.clone()).await;
        c.expect_error("unauthorized").await;
        assert_eq!(c.next().await, Seen::Close(4401), "{hello}");
    }
    // A hello with a missing token is unauthorized too (not a kept missing_field).
    let mut c = Client::connect(&s.server.url()).await;
    c.send(json!({"type":"hello","role":"widget"})).await;
    c.expect_error("unauthorized").await;
    closed_with(&mut c, 4401).await;
    s.bystanders_served().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hello_within_the_handshake_timeout_is_unauthorized_and_closed_4401() {
    let mut s = Scene::start(|c| c.limits.hello_timeout = Duration::from_secs(2)).await;
    let mut c = Client::connect(&s.server.url()).await;
    let e = c.expect_error("unauthorized").await;
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("timeout")),
        "{e}"
    );
    closed_with(&mut c, 4401).await;
    s.bystanders_served().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_shops_conversation_id_is_its_own_conversation_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut wb = s.client("widget", WIDGET_B).await;
    let mut ab = s.client("agent", AGENT_B).await;
    // Shop A uses `bystander`; shop B's `bystander` is another conversation: B's turn is B's
    // first (seq 1), and B's console replays only B's events.
    wb.send(turn("bystander", "b-1", "customer", "我是B店"))
        .await;
    assert_eq!(wb.expect("ack").await["seq"], 1);
    let (replay, seq) = ab.subscribe("bystander", 0).await;
    let turns: Vec<&str> = replay.iter().filter_map(|e| e["turn"].as_str()).collect();
    assert_eq!((turns, seq), (vec!["b-1", "b-1"], 2));
    // Shop A's console saw none of it (its next frames are its own bystander turn).
    s.bystanders_served().await;
    kept(&mut wb, "widget").await;
    kept(&mut ab, "agent").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_doing_what_it_may_not_is_forbidden_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    for (m, r) in [
        (
            json!({"type":"subscribe","conversation":"c","since":0}),
            Some("c"),
        ),
        (
            json!({"type":"draft","conversation":"c","draft":"d-w","text":"x"}),
            Some("d-w"),
        ),
        (json!({"type":"watch"}), None),
        // A second hello on an authenticated connection.
        (
            json!({"type":"hello","role":"widget","token":WIDGET_A}),
            None,
        ),
    ] {
        rejected(&mut w, text(m.to_string()), "forbidden", r).await;
    }
    let mut sup = s.client("supervisor", SUPER_A).await;
    rejected(
        &mut sup,
        text(json!({"type":"draft","conversation":"c","draft":"d-s","text":"x"}).to_string()),
        "forbidden",
        Some("d-s"),
    )
    .await;
    rejected(
        &mut sup,
        text(turn("c", "s-1", "customer", "x").to_string()),
        "forbidden",
        Some("s-1"),
    )
    .await;
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    sup.alive().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_on_an_unknown_conversation_is_not_found_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut a = s.client("agent", AGENT_A).await;
    rejected(
        &mut a,
        text(
            json!({"type":"feedback","conversation":"nowhere","suggestion":"1:x","action":"used"})
                .to_string(),
        ),
        "not_found",
        Some("1:x"),
    )
    .await;
    s.bystanders_served().await;
    kept(&mut a, "agent").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_the_rate_limit_is_rate_limited_with_ref_kept_and_recovers() {
    let mut s = Scene::start(|c| {
        c.limits.rate = huashu_server::RateLimit {
            per_sec: 5.0,
            burst: 10.0,
        }
    })
    .await;
    let mut w = s.client("widget", WIDGET_A).await;
    // Pipelined: 40 turns as fast as the socket takes them.
    for i in 0..40 {
        w.send(turn("flood", &format!("f-{i}"), "customer", "在吗"))
            .await;
    }
    let (mut acked, mut limited) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let v = w.recv().await;
        match (v["type"].as_str(), v["code"].as_str()) {
            (Some("ack"), _) => acked.push(v["id"].as_str().expect("id").to_string()),
            (Some("error"), Some("rate_limited")) => limited.push(
                v["ref"]
                    .as_str()
                    .expect("ref names the dropped turn")
                    .to_string(),
            ),
            _ => panic!("unexpected {v}"),
        }
    }
    assert!(acked.len() >= 10, "the burst passes: {acked:?}");
    assert!(limited.len() >= 15, "the flood is refused: {limited:?}");
    assert_eq!(acked.len() + limited.len(), 40);
    // Refused turns were not stored: exactly the acked ones are.
    let stored: Vec<String> = s
        .server
        .store()
        .turns(&huashu_store::conversation_key("shop-a", "flood"))
        .expect("turns")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(stored, acked);
    // Other connections never noticed (the bucket is per connection).
    s.bystanders_served().await;
    // The flooder recovers once it slows down.
    tokio::time::sleep(Duration::from_millis(600)).await;
    kept(&mut w, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_is_binary_unsupported_and_kept() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    rejected(
        &mut w,
        Message::Binary(br#"{"type":"ping"}"#.to_vec().into()),
        "binary_unsupported",
        None,
    )
    .await;
    s.bystanders_served().await;
    kept(&mut w, "widget").await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_is_overloaded_and_closed_1013() {
    // The two bystanders hold the only two slots.
    let mut s = Scene::start(|c| c.limits.max_connections = 2).await;
    let mut c = Client::connect(&s.server.url()).await;
    c.expect_error("overloaded").await;
    closed_with(&mut c, 1013).await;
    s.bystanders_served().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_refusals_are_counted_in_metrics() {
    let mut s = Scene::start(|_| {}).await;
    let mut w = s.client("widget", WIDGET_A).await;
    rejected(&mut w, text("{"), "bad_json", None).await;
    rejected(&mut w, text(r#"{"type":"x"}"#), "unknown_type", None).await;
    let mut c = Client::connect(&s.server.url()).await;
    c.send(json!({"type":"hello","role":"widget","token":"bad"}))
        .await;
    c.expect_error("unauthorized").await;
    let (_, metrics) = http(s.server.addr, "GET", "/metrics", &[], "");
    for needle in [
        "huashu_errors_total{code=\"bad_json\"} 1",
        "huashu_errors_total{code=\"unknown_type\"} 1",
        "huashu_errors_total{code=\"unauthorized\"} 1",
    ] {
        assert!(metrics.contains(needle), "{needle}:\n{metrics}");
    }
    s.bystanders_served().await;
    s.finish().await;
}
