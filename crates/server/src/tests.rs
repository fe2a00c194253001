//! Unit tests of the connection loop driven through channels (no sockets): the protocol flow,
//! every bad-input case, tenant isolation, idempotency, replay, slow consumers, SLA timers under
//! paused time, and resuming from the database.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{sink, stream};
use huashu_engine::Engine;
use huashu_store::{Durability, Store, Table};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::auth::{Auth, TokenRole};
use crate::config::{Config, RateLimit};
use crate::db::Db;
use crate::metrics::Metrics;
use crate::shared::Shared;

/// A small fixed book (the shipped ones change as QA leads tune them).
const BOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/book");

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(
        ENGINE.get_or_init(|| Arc::new(Engine::load(Path::new(BOOK)).expect("test book compiles"))),
    )
}

/// The stored key of shop A's conversation `id`.
fn key_a(id: &str) -> String {
    huashu_store::conversation_key("shop-a", id)
}

fn auth() -> Auth {
    Auth::new()
        // Shop A's chat system (server-side): customer and agent turns.
        .with_token("widget-a-token", TokenRole::Integration, "shop-a", None)
        // What sits in shop A's public page: customer turns only.
        .with_token("public-widget-a-token", TokenRole::Widget, "shop-a", None)
        .with_token("agent-a-token", TokenRole::Agent, "shop-a", Some("a-1"))
        .with_token("agent-a-open-token", TokenRole::Agent, "shop-a", None)
        .with_token("super-a-token", TokenRole::Supervisor, "shop-a", None)
        .with_token("widget-b-token", TokenRole::Widget, "shop-b", None)
        .with_token("agent-b-token", TokenRole::Agent, "shop-b", None)
        // Public widget tokens whose conversations the shops' backends sign. Both shops use
        // the same secret here on purpose: a signature still fits one shop only.
        .with_token("signed-widget-a-token", TokenRole::Widget, "shop-a", None)
        .with_signing_secret("signed-widget-a-token", SIGNING_SECRET)
        .with_token("signed-widget-b-token", TokenRole::Widget, "shop-b", None)
        .with_signing_secret("signed-widget-b-token", SIGNING_SECRET)
        .with_admin("admin-token")
}

const SIGNING_SECRET: &str = "shop-backend-signing-secret-0123456789";

struct Harness {
    shared: Arc<Shared>,
    dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    /// How long a client waits for a frame. Under paused time every pending timer fires as
    /// soon as the runtime idles (e.g. while the writer thread commits), so paused tests use a
    /// patience longer than any timer they test.
    patience: Duration,
}

fn harness_in(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> Harness {
    let mut config = Config::new(BOOK, dir.path().join("t.db"), auth());
    tune(&mut config);
    let metrics = Arc::new(Metrics::default());
    let db = Db::open(&config.db, Durability::Normal, Arc::clone(&metrics)).expect("db");
    let shared = Shared::new(config, engine(), db, metrics);
    shared.resume_timers();
    let (stop, _) = watch::channel(false);
    Harness {
        shared,
        dir,
        stop,
        patience: Duration::from_secs(10),
    }
}

fn harness(tune: impl FnOnce(&mut Config)) -> Harness {
    harness_in(tempfile::tempdir().expect("tempdir"), tune)
}

/// For paused-time tests: no heartbeat or handshake timer fires within a simulated year.
fn paused_harness(tune: impl FnOnce(&mut Config)) -> Harness {
    let year = Duration::from_secs(365 * 24 * 3600);
    let mut h = harness(|c| {
        c.limits.heartbeat = year;
        c.limits.hello_timeout = year;
        tune(c);
    });
    h.patience = year * 2;
    h
}

/// `paused_harness` on an existing database directory (a restart).
fn paused_harness_in(dir: tempfile::TempDir) -> Harness {
    let year = Duration::from_secs(365 * 24 * 3600);
    let mut h = harness_in(dir, |c| {
        c.limits.heartbeat = year;
        c.limits.hello_timeout = year;
    });
    h.patience = year * 2;
    h
}

impl Harness {
    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("t.db"), Durability::Normal).expect("reader")
    }

    /// A client whose frames go through channels into `connection::serve`.
    fn connect(&self) -> Client {
        self.connect_with_sink_capacity(None)
    }

    fn connect_with_sink_capacity(&self, capacity: Option<usize>) -> Client {
        let (in_tx, in_rx) = mpsc::unbounded_channel::<Message>();
        let incoming = Box::pin(stream::unfold(in_rx, |mut rx| async move {
            rx.recv().await.map(|m| (Ok::<_, WsError>(m), rx))
        }));
        let (out_tx, out_rx) = mpsc::channel::<Message>(capacity.unwrap_or(100_000));
        let outgoing = Box::pin(sink::unfold(out_tx, |tx, m: Message| async move {
            tx.send(m).await.map_err(|_| WsError::ConnectionClosed)?;
            Ok::<_, WsError>(tx)
        }));
        let task = tokio::spawn(crate::connection::serve(
            Arc::clone(&self.shared),
            incoming,
            outgoing,
            self.stop.subscribe(),
            None,
        ));
        Client {
            tx: in_tx,
            rx: out_rx,
            task,
            patience: self.patience,
        }
    }
}

struct Client {
    tx: mpsc::UnboundedSender<Message>,
    rx: mpsc::Receiver<Message>,
    task: tokio::task::JoinHandle<()>,
    patience: Duration,
}

/// What a client saw next.
#[derive(Debug, PartialEq)]
enum Seen {
    Json(Value),
    Close(u16),
    /// The connection task dropped its sink.
    Ended,
    /// Nothing arrived within the client's patience.
    Silent,
}

impl Client {
    fn send(&self, v: Value) {
        self.send_raw(Message::Text(v.to_string().into()));
    }

    fn send_raw(&self, m: Message) {
        let _ = self.tx.send(m);
    }

    /// The next JSON frame (pings skipped); panics on close.
    async fn recv(&mut self) -> Value {
        match self.next().await {
            Seen::Json(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    async fn next(&mut self) -> Seen {
        loop {
            let m = tokio::time::timeout(self.patience, self.rx.recv()).await;
            match m {
                Ok(Some(Message::Text(t))) => {
                    return Seen::Json(serde_json::from_str(&t).expect("server sends JSON"));
                }
                Ok(Some(Message::Close(f))) => {
                    return Seen::Close(f.map_or(1005, |f| u16::from(f.code)));
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Seen::Ended,
                Err(_) => return Seen::Silent,
            }
        }
    }

    async fn expect_type(&mut self, t: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], t, "{v}");
        v
    }

    /// The next frame of type `t`, passing over a `subscribed` (whether a timer event comes
    /// before or after it depends on when paused time advances).
    async fn expect_event(&mut self, t: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] != "subscribed" {
                assert_eq!(v["type"], t, "{v}");
                return v;
            }
        }
    }

    async fn expect_error(&mut self, code: &str) -> Value {
        let v = self.expect_type("error").await;
        assert_eq!(v["code"], code, "{v}");
        v
    }

    /// `hello` as `role`; a widget presents a visitor key derived from the token, so every
    /// widget client of one token is the same visitor (tests of other visitors use
    /// `hello_visitor`).
    async fn hello(&mut self, role: &str, token: &str) -> Value {
        if role == "widget" {
            return self
                .hello_visitor(token, &format!("visitor-of-{token}"))
                .await;
        }
        self.send(json!({"type":"hello","role":role,"token":token}));
        self.expect_type("welcome").await
    }

    async fn hello_visitor(&mut self, token: &str, visitor: &str) -> Value {
        self.send(json!({"type":"hello","role":"widget","token":token,"visitor":visitor}));
        self.expect_type("welcome").await
    }

    /// Still serving: a ping gets a pong.
    async fn alive(&mut self) {
        self.send(json!({"type":"ping"}));
        self.expect_type("pong").await;
    }
}

fn turn(conv: &str, id: &str, role: &str, text: &str) -> Value {
    json!({"type":"turn","conversation":conv,"id":id,"role":role,"text":text,"at":1_732_250_000_000_i64})
}

#[tokio::test]
async fn widget_turn_is_acked_and_pushed_to_subscribers() {
    let h = harness(|_| {});
    let mut agent = h.connect();
    let welcome = agent.hello("agent", "agent-a-token").await;
    assert_eq!(welcome["protocol"], 1);
    assert_eq!(welcome["shop"], "shop-a");
    assert_eq!(welcome["agent"], "a-1");
    agent.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    assert_eq!(agent.expect_type("subscribed").await["seq"], 0);

    let mut widget = h.connect();
    widget.hello("widget", "widget-a-token").await;
    widget.send(turn(
        "c-1",
        "m-1",
        "customer",
        "我的快递三天了还没到，电话13812345678",
    ));
    let ack = widget.expect_type("ack").await;
    assert_eq!(
        (
            ack["conversation"].as_str(),
            ack["id"].as_str(),
            ack["seq"].as_u64()
        ),
        (Some("c-1"), Some("m-1"), Some(1))
    );

    let analysis = agent.expect_type("analysis").await;
    assert_eq!(analysis["seq"], 1);
    assert_eq!(analysis["turn"], "m-1");
    assert!(
        analysis["intents"].is_array() && analysis["emotion"].is_object(),
        "{analysis}"
    );
    assert_eq!(
        analysis["text"], "我的快递三天了还没到，电话138****5678",
        "masked"
    );
    let suggestions = agent.expect_type("suggestions").await;
    assert_eq!(suggestions["seq"], 2);
    assert!(suggestions["items"].is_array());

    widget.send(turn("c-1", "m-2", "agent", "你去告啊"));
    assert_eq!(widget.expect_type("ack").await["seq"], 3);
    let guard = agent.expect_type("guard").await;
    assert_eq!(
        (guard["seq"].as_u64(), guard["turn"].as_str()),
        (Some(3), Some("m-2"))
    );
    assert!(
        !guard["hits"].as_array().expect("hits").is_empty(),
        "{guard}"
    );
}

#[tokio::test]
async fn resent_turn_is_acked_with_the_same_seq_and_not_processed_twice() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    assert_eq!(w.expect_type("ack").await["seq"], 1);
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    let again = w.expect_type("ack").await;
    assert_eq!(
        (again["seq"].as_u64(), again["duplicate"].as_bool()),
        (Some(1), Some(true))
    );
    w.send(turn("c-1", "m-2", "customer", "人呢"));
    assert_eq!(w.expect_type("ack").await["seq"], 3);
    assert_eq!(h.store().count(Table::Turns).expect("count"), 2);
    assert_eq!(h.store().count(Table::Events).expect("count"), 4);
}

#[tokio::test]
async fn subscribe_since_replays_then_goes_live_without_gap_or_duplicate() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    for i in 1..=3 {
        w.send(turn("c-1", &format!("m-{i}"), "customer", "还没发货吗"));
        w.expect_type("ack").await;
    }
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":2}));
    let mut seqs = Vec::new();
    loop {
        let v = a.recv().await;
        if v["type"] == "subscribed" {
            assert_eq!(v["seq"], 6);
            break;
        }
        seqs.push(v["seq"].as_u64().expect("seq"));
    }
    assert_eq!(seqs, [3, 4, 5, 6]);
    w.send(turn("c-1", "m-4", "customer", "快点"));
    w.expect_type("ack").await;
    assert_eq!(a.recv().await["seq"], 7);
    assert_eq!(a.recv().await["seq"], 8);
    // Subscribing again changes nothing (no replay, no double delivery).
    a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    assert_eq!(a.expect_type("subscribed").await["seq"], 8);
    w.send(turn("c-1", "m-5", "customer", "?"));
    w.expect_type("ack").await;
    assert_eq!(a.recv().await["seq"], 9);
    assert_eq!(a.recv().await["seq"], 10);
    a.alive().await;
}

#[tokio::test]
async fn concurrent_turns_and_subscribes_never_lose_or_double_an_event() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-0", "customer", "hi"));
    w.expect_type("ack").await;
    // Turns keep coming while consoles subscribe at different moments.
    let writer = {
        let mut w2 = h.connect();
        tokio::spawn(async move {
            w2.hello("widget", "widget-a-token").await;
            for i in 1..=40 {
                w2.send(turn("c-1", &format!("m-{i}"), "customer", "在吗"));
                w2.expect_type("ack").await;
            }
        })
    };
    let mut consoles = Vec::new();
    for _ in 0..4 {
        let mut a = h.connect();
        a.hello("agent", "agent-a-token").await;
        a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
        consoles.push(a);
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer");
    for mut a in consoles {
        let mut seqs = Vec::new();
        while seqs.last() != Some(&82) {
            let v = a.recv().await;
            if v["type"] != "subscribed" {
                seqs.push(v["seq"].as_u64().expect("seq"));
            }
        }
        assert_eq!(seqs, (1..=82).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn every_bad_input_gets_its_typed_error_and_the_connection_stays() {
    let h = harness(|c| c.limits.max_text = 50);
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    let long = "好".repeat(51);
    let cases: Vec<(Message, &str, Option<&str>)> = vec![
        (Message::Text("not json".into()), "bad_json", None),
        (Message::Text("[1]".into()), "bad_json", None),
        (
            Message::Text(r#"{"type":"dance","id":"x-1"}"#.into()),
            "unknown_type",
            Some("x-1"),
        ),
        (
            Message::Text(r#"{"id":"x-2"}"#.into()),
            "missing_field",
            Some("x-2"),
        ),
        (
            Message::Text(
                r#"{"type":"turn","conversation":"c","id":"x-3","role":"customer"}"#.into(),
            ),
            "missing_field",
            Some("x-3"),
        ),
        (
            Message::Text(
                r#"{"type":"turn","conversation":"c","id":"x-4","role":"customer","text":5}"#
                    .into(),
            ),
            "bad_field",
            Some("x-4"),
        ),
        (
            Message::Text(
                r#"{"type":"turn","conversation":"c","id":"x-5","role":"boss","text":"hi"}"#.into(),
            ),
            "bad_field",
            Some("x-5"),
        ),
        (
            Message::Text(
                r#"{"type":"turn","conversation":"","id":"x-6","role":"customer","text":"hi"}"#
                    .into(),
            ),
            "bad_field",
            Some("x-6"),
        ),
        (
            Message::Text(turn("c", "x-7", "customer", &long).to_string().into()),
            "too_large",
            Some("x-7"),
        ),
        (
            Message::Text(
                json!({"type":"turn","conversation":"c","id":"x-8","role":"agent",
                       "text":"您好","agent":"a".repeat(129)})
                .to_string()
                .into(),
            ),
            "bad_field",
            Some("x-8"),
        ),
        (
            Message::Text(
                r#"{"type":"turn","conversation":"c","id":"x-9","role":"agent","text":"您好","agent":7}"#
                    .into(),
            ),
            "bad_field",
            Some("x-9"),
        ),
        (
            Message::Text(format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(70_000)).into()),
            "too_large",
            None,
        ),
        (
            Message::Binary(vec![1, 2, 3].into()),
            "binary_unsupported",
            None,
        ),
        (
            Message::Text(r#"{"type":"subscribe","conversation":"c"}"#.into()),
            "forbidden",
            Some("c"),
        ),
        (
            Message::Text(r#"{"type":"draft","conversation":"c","draft":"d","text":"x"}"#.into()),
            "forbidden",
            Some("d"),
        ),
        (
            Message::Text(r#"{"type":"hello","role":"widget","token":"widget-a-token"}"#.into()),
            "forbidden",
            None,
        ),
    ];
    for (msg, code, r) in cases {
        w.send_raw(msg);
        let e = w.expect_error(code).await;
        assert_eq!(e["ref"].as_str(), r, "{e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
        w.alive().await;
    }
    // After all that the widget still works.
    w.send(turn("c", "ok-1", "customer", "你好"));
    assert_eq!(w.expect_type("ack").await["seq"], 1);
}

#[tokio::test]
async fn agent_turns_are_stored_with_their_agent_and_counted_per_agent() {
    const AT: i64 = 1_732_250_000_000; // 2024-11-22 12:33:20 +08:00
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    let mut a = h.connect();
    a.send(json!({"type":"hello","role":"agent","token":"agent-a-open-token","agent":"a-7"}));
    assert_eq!(a.expect_type("welcome").await["agent"], "a-7");
    let widget_turn = |id: &str, role: &str, text: &str, at: i64, agent: Option<&str>| {
        let mut t =
            json!({"type":"turn","conversation":"c-1","id":id,"role":role,"text":text,"at":at});
        if let Some(agent) = agent {
            t["agent"] = json!(agent);
        }
        t
    };

    // The customer asks; the console of a-7 answers 10 s later with `send`.
    w.send(widget_turn("m-1", "customer", "我的快递到哪了", AT, None));
    w.expect_type("ack").await;
    a.send(json!({"type":"send","conversation":"c-1","id":"m-2","text":"亲，马上帮您查","at":AT + 10_000}));
    assert_eq!(a.expect_type("ack").await["id"], "m-2");
    // The customer asks again (an `agent` on a customer turn is not stored); the widget reports
    // an agent turn of a-8 5 s later.
    w.send(widget_turn(
        "m-3",
        "customer",
        "还没到",
        AT + 60_000,
        Some("a-9"),
    ));
    w.expect_type("ack").await;
    w.send(widget_turn(
        "m-4",
        "agent",
        "已经催了",
        AT + 65_000,
        Some("a-8"),
    ));
    w.expect_type("ack").await;

    let stored: Vec<_> = h
        .store()
        .turns(&key_a("c-1"))
        .expect("turns")
        .into_iter()
        .map(|t| (t.id, t.agent))
        .collect();
    assert_eq!(
        stored,
        [
            ("m-1".to_string(), None),
            ("m-2".to_string(), Some("a-7".to_string())),
            ("m-3".to_string(), None),
            ("m-4".to_string(), Some("a-8".to_string())),
        ]
    );

    let (status, body) = crate::analytics::get(
        &h.shared,
        Some("super-a-token".into()),
        "from=2024-11-22&to=2024-11-22",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let figures: Value = serde_json::from_str(&body).expect("JSON");
    let rows: Vec<(String, u64, Value, Value)> = figures["by_agent"]
        .as_array()
        .expect("by_agent")
        .iter()
        .map(|r| {
            (
                r["agent"].as_str().unwrap_or("?").to_string(),
                r["turns"].as_u64().unwrap_or(0),
                r["first_response_ms"].clone(),
                r["response_median_ms"].clone(),
            )
        })
        .collect();
    // a-7: m-2 answers m-1 after 10 s (its first response); a-8: m-4 answers m-3 after 5 s.
    // Nothing is left unattributed.
    assert_eq!(
        rows,
        [
            ("a-7".to_string(), 1, json!(10_000), json!(10_000)),
            ("a-8".to_string(), 1, Value::Null, json!(5_000)),
        ]
    );
    assert_eq!(figures["total"]["turns"], 2);
}

#[tokio::test]
async fn unauthenticated_clients_are_closed_with_4401() {
    let h = harness(|_| {});
    let cases = [
        json!({"type":"turn","conversation":"c","id":"m","role":"customer","text":"x"}),
        json!({"type":"hello","role":"widget","token":"wrong"}),
        json!({"type":"hello","role":"agent","token":"widget-a-token"}),
        json!({"type":"hello","role":"widget","token":"widget-a-token","shop":"shop-b"}),
        json!({"type":"hello","role":"agent","token":"agent-a-token","agent":"someone-else"}),
    ];
    for hello in cases {
        let mut c = h.connect();
        c.send(hello.clone());
        c.expect_error("unauthorized").await;
        assert_eq!(c.next().await, Seen::Close(4401), "{hello}");
    }
    let mut c = h.connect();
    c.send_raw(Message::Text("garbage".into()));
    c.expect_error("unauthorized").await;
    assert_eq!(c.next().await, Seen::Close(4401));
}

#[tokio::test(start_paused = true)]
async fn hello_must_arrive_within_the_handshake_timeout() {
    let h = harness(|c| c.limits.hello_timeout = Duration::from_secs(5));
    let mut c = h.connect();
    c.expect_error("unauthorized").await;
    assert_eq!(c.next().await, Seen::Close(4401));
}

#[tokio::test]
async fn flooding_past_the_rate_limit_is_refused_and_recovers() {
    let h = harness(|c| {
        c.limits.rate = RateLimit {
            per_sec: 1.0,
            burst: 5.0,
        }
    });
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    for i in 0..8 {
        w.send(json!({"type":"ping","id":format!("p-{i}")}));
    }
    let mut pongs = 0;
    let mut limited = Vec::new();
    for _ in 0..8 {
        let v = w.recv().await;
        match v["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => {
                assert_eq!(v["code"], "rate_limited");
                limited.push(v["ref"].as_str().map(str::to_string));
            }
            _ => panic!("{v}"),
        }
    }
    assert_eq!((pongs, limited.len()), (5, 3));
    assert_eq!(limited[0].as_deref(), Some("p-5"));
    // Another connection is not affected.
    let mut other = h.connect();
    other.hello("widget", "widget-a-token").await;
    other.alive().await;
}

#[tokio::test]
async fn the_same_conversation_id_in_two_shops_is_two_independent_conversations() {
    let h = harness(|_| {});
    let mut wa = h.connect();
    wa.hello("widget", "widget-a-token").await;
    wa.send(turn("a-conv", "m-1", "customer", "你好"));
    assert_eq!(wa.expect_type("ack").await["seq"], 1);

    // Shop B using the same id reaches its own, empty conversation: no `forbidden`, so nothing
    // tells B that shop A uses `a-conv` (the same answers as for an id nobody uses).
    let mut b = h.connect();
    b.hello("agent", "agent-b-token").await;
    b.send(json!({"type":"feedback","conversation":"a-conv","suggestion":"1:x","action":"used"}));
    b.expect_error("not_found").await;
    b.send(json!({"type":"draft","conversation":"a-conv","draft":"d-1","text":"您好"}));
    b.expect_type("guard").await;
    b.send(json!({"type":"send","conversation":"a-conv","id":"m-9","text":"您好"}));
    assert_eq!(b.expect_type("ack").await["seq"], 1, "B's own first turn");
    b.send(json!({"type":"subscribe","conversation":"a-conv","since":0}));
    let replay = b.expect_type("guard").await;
    assert_eq!(replay["turn"], "m-9", "only B's own events");
    assert_eq!(b.expect_type("subscribed").await["seq"], 1);
    // B's agent started B's `a-conv`, so B's public widget joins it with a signature (a
    // visitor key cannot claim a conversation that already has turns).
    let mut wb = h.connect();
    wb.send(json!({"type":"hello","role":"widget","token":"signed-widget-b-token"}));
    wb.expect_type("welcome").await;
    wb.send(signed_turn("shop-b", "a-conv", "m-2", "我是B店"));
    assert_eq!(wb.expect_type("ack").await["seq"], 2);
    assert_eq!(b.expect_type("analysis").await["turn"], "m-2");
    b.expect_type("suggestions").await;

    // An id subscribed by shop A (before any turn) is no squat on shop B's id.
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"future","since":0}));
    a.expect_type("subscribed").await;
    wb.send(signed_turn("shop-b", "future", "m-1", "不是抢注"));
    assert_eq!(wb.expect_type("ack").await["seq"], 1);
    // Shop A's subscriber of `future` and of `a-conv` saw nothing of shop B.
    a.alive().await;
    wa.send(turn("a-conv", "m-3", "customer", "在吗"));
    assert_eq!(
        wa.expect_type("ack").await["seq"],
        3,
        "A's seq counter untouched by B"
    );
    // B's watch lists B's conversations only; A's live turn reaches no B connection.
    b.send(json!({"type":"watch"}));
    let items = b.expect_type("conversations").await["items"].clone();
    let shops: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["shop"].as_str())
        .collect();
    assert_eq!(shops, ["shop-b", "shop-b"], "{items}");
    b.alive().await;
    assert_eq!(h.store().count(Table::Turns).expect("count"), 5);
}

#[tokio::test]
async fn drafts_are_checked_and_flagged_ones_stored_then_resolved() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "东西坏了"));
    w.expect_type("ack").await;
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"draft","conversation":"c-1","draft":"d-1","text":"你去告啊"}));
    let g = a.expect_type("guard").await;
    assert_eq!(g["draft"], "d-1");
    let hits = g["hits"].as_array().expect("hits");
    assert!(!hits.is_empty(), "{g}");
    for key in [
        "rule", "category", "severity", "start", "end", "text", "rewrite",
    ] {
        assert!(hits[0].get(key).is_some(), "hit has {key}: {g}");
    }
    a.send(json!({"type":"draft","conversation":"c-1","draft":"d-2","text":"您好，我帮您查一下"}));
    assert_eq!(a.expect_type("guard").await["hits"], json!([]));
    // The agent sends a rewritten reply: the flagged draft is marked rewritten.
    a.send(
        json!({"type":"send","conversation":"c-1","id":"m-2","text":"非常抱歉，我马上为您处理"}),
    );
    a.expect_type("ack").await;
    let drafts = h.store().drafts(&key_a("c-1")).expect("drafts");
    assert_eq!(drafts.len(), 1, "only flagged drafts are stored");
    assert_eq!(
        (drafts[0].draft.as_str(), drafts[0].rewritten),
        ("d-1", Some(true))
    );
}

#[tokio::test]
async fn feedback_is_stored() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "什么时候发货"));
    w.expect_type("ack").await;
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"feedback","conversation":"c-1","suggestion":"1:shipping.when","action":"used"}));
    let n = a.expect_type("noted").await;
    assert_eq!(n["suggestion"], "1:shipping.when");
    a.send(json!({"type":"feedback","conversation":"nope","suggestion":"1:x","action":"used"}));
    a.expect_error("not_found").await;
    let fb = h.store().feedback(&key_a("c-1")).expect("feedback");
    assert_eq!(fb.len(), 1);
    assert_eq!(
        (
            fb[0].script.as_str(),
            fb[0].action.as_str(),
            fb[0].agent.as_deref(),
            fb[0].after_seq
        ),
        ("shipping.when", "used", Some("a-1"), 2)
    );
}

#[tokio::test]
async fn watchers_get_the_list_then_live_summaries() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    w.expect_type("ack").await;
    let mut s = h.connect();
    s.hello("supervisor", "super-a-token").await;
    s.send(json!({"type":"watch"}));
    let list = s.expect_type("conversations").await;
    assert_eq!(list["items"][0]["conversation"], "c-1");
    assert_eq!(list["items"][0]["seq"], 2);
    w.send(turn("c-2", "m-1", "customer", "我要投诉"));
    w.expect_type("ack").await;
    let live = s.expect_type("conversation").await;
    assert_eq!(
        (
            live["conversation"].as_str(),
            live["waiting_since"].is_i64()
        ),
        (Some("c-2"), true)
    );
    // Supervisors watch; they do not draft.
    s.send(json!({"type":"draft","conversation":"c-1","draft":"d","text":"x"}));
    s.expect_error("forbidden").await;
}

#[tokio::test]
async fn a_console_that_stops_reading_is_closed_and_others_keep_receiving() {
    let h = harness(|c| c.limits.outbound_queue = 4);
    // The slow console's socket accepts two frames and then nothing.
    let mut slow = h.connect_with_sink_capacity(Some(2));
    slow.send(json!({"type":"hello","role":"agent","token":"agent-a-token"}));
    slow.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    let mut fast = h.connect();
    fast.hello("agent", "agent-a-token").await;
    fast.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    fast.expect_type("subscribed").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    for i in 0..20 {
        w.send(turn("c-1", &format!("m-{i}"), "customer", "在吗"));
        w.expect_type("ack").await;
        assert_eq!(fast.expect_type("analysis").await["seq"], 2 * i + 1);
        fast.expect_type("suggestions").await;
    }
    // The slow one was kicked: its task ends even though nobody reads its socket.
    tokio::time::timeout(Duration::from_secs(30), slow.task)
        .await
        .expect("slow console closed")
        .expect("task");
    assert!(
        h.shared
            .metrics
            .slow_consumers
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    let _ = slow.rx.recv().await;
}

#[tokio::test(start_paused = true)]
async fn sla_warns_then_breaches_and_an_agent_answer_resets_the_clock() {
    let h = paused_harness(|_| {});
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    a.expect_type("subscribed").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    let start = tokio::time::Instant::now();
    w.send(turn("c-1", "m-1", "customer", "人呢？"));
    w.expect_type("ack").await;
    a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    // A second customer turn does not restart the clock.
    w.send(turn("c-1", "m-2", "customer", "在不在"));
    w.expect_type("ack").await;
    a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    let warn = a.expect_type("sla").await;
    assert_eq!(
        (
            warn["level"].as_str(),
            warn["turn"].as_str(),
            warn["seq"].as_u64()
        ),
        (Some("warn"), Some("m-1"), Some(5))
    );
    assert!(warn["waiting_ms"].as_i64().expect("ms") >= 8000);
    let breach = a.expect_type("sla").await;
    assert_eq!(breach["level"], "breach");
    assert!(start.elapsed() >= Duration::from_secs(30));
    // The agent answers: no further SLA events for that wait.
    w.send(turn("c-1", "m-3", "agent", "您好，在的"));
    w.expect_type("ack").await;
    a.expect_type("guard").await;
    w.send(turn("c-1", "m-4", "customer", "好"));
    w.expect_type("ack").await;
    a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    w.send(turn("c-1", "m-5", "agent", "马上处理"));
    w.expect_type("ack").await;
    a.expect_type("guard").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    a.alive().await;
    let levels: Vec<String> = h
        .store()
        .sla_events(&key_a("c-1"))
        .expect("sla")
        .into_iter()
        .map(|s| s.level)
        .collect();
    assert_eq!(levels, ["warn", "breach"]);
}

#[tokio::test(start_paused = true)]
async fn a_promised_follow_up_reminds_the_console_when_due() {
    let h = paused_harness(|_| {});
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    a.expect_type("subscribed").await;
    a.send(json!({"type":"send","conversation":"c-1","id":"m-1","text":"我们会在24小时内答复您"}));
    let start = tokio::time::Instant::now();
    a.expect_type("ack").await;
    let g = a.expect_type("guard").await;
    assert_eq!(g["follow_up"]["due_in_ms"], 24 * 3_600_000);
    let f = a.expect_type("follow_up").await;
    assert_eq!(
        (f["turn"].as_str(), f["seq"].as_u64()),
        (Some("m-1"), Some(2))
    );
    assert!(start.elapsed() >= Duration::from_secs(24 * 3600));
}

#[tokio::test]
async fn a_restarted_service_resumes_seq_and_idempotency_from_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let h = harness_in(dir, |_| {});
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    w.expect_type("ack").await;
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(
        json!({"type":"feedback","conversation":"c-1","suggestion":"1:greet","action":"dismissed"}),
    );
    a.expect_type("noted").await;
    h.shared.db.close().await;
    let Harness { dir, .. } = h;
    assert_eq!(dir.path(), path);

    let h2 = harness_in(dir, |_| {});
    let mut w = h2.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    let dup = w.expect_type("ack").await;
    assert_eq!(
        (dup["seq"].as_u64(), dup["duplicate"].as_bool()),
        (Some(1), Some(true))
    );
    w.send(turn("c-1", "m-2", "customer", "人呢"));
    // seq 3 was the list refreshed after the feedback.
    assert_eq!(w.expect_type("ack").await["seq"], 4);
    let mut wb = h2.connect();
    wb.hello("widget", "widget-b-token").await;
    // Shop B's `c-1` is its own conversation, also after a restart.
    wb.send(turn("c-1", "m-3", "customer", "x"));
    assert_eq!(wb.expect_type("ack").await["seq"], 1);
}

#[tokio::test]
async fn shutdown_closes_connections_with_1001() {
    let h = harness(|_| {});
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    let _ = h.stop.send(true);
    assert_eq!(a.next().await, Seen::Close(1001));
}

#[test]
fn shared_state_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Shared>();
    check::<Db>();
    check::<Metrics>();
}

/// Writes a customer turn on a fresh server in `dir`, then stops it (timers die with it).
async fn customer_waits_then_stop(dir: tempfile::TempDir, warn_first: bool) -> tempfile::TempDir {
    let h = harness_in(dir, |c| {
        c.limits.heartbeat = Duration::from_secs(365 * 24 * 3600);
        c.limits.hello_timeout = Duration::from_secs(365 * 24 * 3600);
    });
    let mut a = h.connect();
    a.patience = Duration::from_secs(365 * 24 * 3600);
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    a.expect_type("subscribed").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "人呢？"));
    w.expect_type("ack").await;
    a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    if warn_first {
        assert_eq!(a.expect_type("sla").await["level"], "warn");
    }
    h.shared.db.close().await;
    let Harness { dir, shared, .. } = h;
    // Stop the old service's timers: they must not be the ones that fire below.
    for c in &shared.conversations {
        if let Some(w) = c.inner.lock().await.waiting.take() {
            w.timer.abort();
        }
    }
    dir
}

fn sla_levels(h: &Harness) -> Vec<(String, Option<String>)> {
    h.store()
        .sla_events(&key_a("c-1"))
        .expect("sla")
        .into_iter()
        .map(|s| (s.level, s.turn))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_restart_rearms_the_sla_clock_of_a_waiting_customer() {
    let dir = customer_waits_then_stop(tempfile::tempdir().expect("tempdir"), false).await;
    // Nobody touches c-1 after the restart: the clock runs anyway, and watchers hear of it.
    let h = paused_harness_in(dir);
    let mut s = h.connect();
    s.hello("supervisor", "super-a-token").await;
    s.send(json!({"type":"watch"}));
    s.expect_type("conversations").await;
    let restarted = tokio::time::Instant::now();
    let live = s.expect_type("conversation").await;
    assert_eq!(
        (live["sla"].as_str(), live["seq"].as_u64()),
        (Some("warn"), Some(3))
    );
    assert!(restarted.elapsed() >= Duration::from_secs(7));
    let live = s.expect_type("conversation").await;
    assert_eq!(
        (live["sla"].as_str(), live["seq"].as_u64()),
        (Some("breach"), Some(4))
    );
    let m1 = Some("m-1".to_string());
    assert_eq!(
        sla_levels(&h),
        [("warn".to_string(), m1.clone()), ("breach".to_string(), m1)]
    );
    // A subscriber replays them; the clock still ends with the agent's answer.
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":2}));
    let warn = a.expect_event("sla").await;
    assert_eq!(
        (warn["level"].as_str(), warn["turn"].as_str()),
        (Some("warn"), Some("m-1"))
    );
    assert_eq!(a.expect_event("sla").await["level"], "breach");
    a.send(json!({"type":"send","conversation":"c-1","id":"m-2","text":"您好，在的"}));
    a.expect_event("ack").await;
    a.expect_type("guard").await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    a.alive().await;
    assert_eq!(sla_levels(&h).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_restart_does_not_emit_a_stored_sla_level_again() {
    let dir = customer_waits_then_stop(tempfile::tempdir().expect("tempdir"), true).await;
    let h = paused_harness_in(dir);
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":3}));
    let breach = a.expect_event("sla").await;
    assert_eq!(
        (
            breach["level"].as_str(),
            breach["seq"].as_u64(),
            breach["turn"].as_str()
        ),
        (Some("breach"), Some(4), Some("m-1"))
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    a.alive().await;
    let levels: Vec<String> = sla_levels(&h).into_iter().map(|l| l.0).collect();
    assert_eq!(levels, ["warn", "breach"]);
    // A later customer turn continues the same wait (no new clock, no new `ok`).
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-3", "customer", "在不在"));
    w.expect_type("ack").await;
    a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    a.alive().await;
    assert_eq!(sla_levels(&h).len(), 2);
}

#[tokio::test]
async fn a_restart_fires_at_once_the_sla_levels_already_past() {
    // Stored with a long SLA; restarted with one that the wait has already outlasted.
    let dir = tempfile::tempdir().expect("tempdir");
    let h = harness_in(dir, |c| {
        c.sla.warn = Duration::from_secs(3600);
        c.sla.breach = Duration::from_secs(7200);
    });
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "人呢？"));
    w.expect_type("ack").await;
    h.shared.db.close().await;
    let Harness { dir, .. } = h;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let h = harness_in(dir, |c| {
        c.sla.warn = Duration::from_millis(50);
        c.sla.breach = Duration::from_millis(100);
    });
    let mut levels = Vec::new();
    for _ in 0..100 {
        levels = sla_levels(&h);
        if levels.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let levels: Vec<String> = levels.into_iter().map(|l| l.0).collect();
    assert_eq!(levels, ["warn", "breach"]);
    let waited = h.store().sla_events(&key_a("c-1")).expect("sla")[0].waiting_ms;
    assert!(
        waited >= 150,
        "waiting_ms counts from the stored turn: {waited}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_rearms_a_promised_follow_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = harness_in(dir, |_| {});
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"send","conversation":"c-1","id":"m-1","text":"我们会在24小时内答复您"}));
    a.expect_type("ack").await;
    h.shared.db.close().await;
    let Harness { dir, .. } = h;
    let h = paused_harness_in(dir);
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":1}));
    let restarted = tokio::time::Instant::now();
    let f = a.expect_event("follow_up").await;
    assert_eq!(
        (f["turn"].as_str(), f["seq"].as_u64()),
        (Some("m-1"), Some(2))
    );
    assert!(restarted.elapsed() >= Duration::from_secs(23 * 3600));
    // Reminded once: a further restart does not remind again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    h.shared.db.close().await;
    let Harness { dir, .. } = h;
    let h = paused_harness_in(dir);
    tokio::time::sleep(Duration::from_secs(3 * 24 * 3600)).await;
    let levels: Vec<String> = h
        .store()
        .sla_events(&key_a("c-1"))
        .expect("sla")
        .into_iter()
        .map(|s| s.level)
        .collect();
    assert_eq!(levels, ["follow_up"]);
}

/// The test book plus an `escalation` intent and urgent words (the fixture has neither).
fn escalation_engine(dir: &Path) -> Arc<Engine> {
    let book = std::fs::read_to_string(Path::new(BOOK).join("book.toml")).expect("book");
    let extra = r#"
[[intent]]
id = "escalation"
name = "要求升级"
keywords = { "经理" = 2.0, "领导" = 2.0 }

[urgent]
words = ["过敏", "着火"]
"#;
    std::fs::write(dir.join("book.toml"), format!("{book}\n{extra}")).expect("write book");
    Arc::new(Engine::load(dir).expect("escalation book compiles"))
}

#[tokio::test]
async fn summaries_flag_escalation_and_clear_urgent_once_answered() {
    let book = tempfile::tempdir().expect("tempdir");
    let engine = escalation_engine(book.path());
    let mut h = harness(|_| {});
    let config = Config::new(BOOK, h.dir.path().join("e.db"), auth());
    let metrics = Arc::new(Metrics::default());
    let db = Db::open(&config.db, Durability::Normal, Arc::clone(&metrics)).expect("db");
    h.shared = Shared::new(config, engine, db, metrics);
    let mut s = h.connect();
    s.hello("supervisor", "super-a-token").await;
    s.send(json!({"type":"watch"}));
    s.expect_type("conversations").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "你好"));
    w.expect_type("ack").await;
    let calm = s.expect_type("conversation").await;
    assert_eq!(calm["escalation"], false);
    assert_eq!(calm["escalation_reasons"], json!([]));
    w.send(turn("c-1", "m-2", "customer", "叫你们经理出来"));
    w.expect_type("ack").await;
    let esc = s.expect_type("conversation").await;
    assert_eq!(esc["escalation"], true);
    // The summary says why: the customer asked for a manager (the console names that cause).
    assert_eq!(esc["escalation_reasons"][0], json!({"kind":"asked_human"}));
    // Still the same wait: the flag stays.
    w.send(turn("c-1", "m-3", "customer", "在吗"));
    w.expect_type("ack").await;
    let kept = s.expect_type("conversation").await;
    assert_eq!(kept["escalation"], true);
    assert_eq!(kept["escalation_reasons"][0], json!({"kind":"asked_human"}));
    // The stored snapshot carries it too.
    let mut s2 = h.connect();
    s2.hello("supervisor", "super-a-token").await;
    s2.send(json!({"type":"watch"}));
    let list = s2.expect_type("conversations").await;
    assert_eq!(list["items"][0]["escalation"], true);
    assert_eq!(
        list["items"][0]["escalation_reasons"][0],
        json!({"kind":"asked_human"})
    );

    // Urgent until an agent answers.
    w.send(turn("c-2", "m-1", "customer", "孩子用了过敏了，起疹子"));
    w.expect_type("ack").await;
    let urgent = s.expect_type("conversation").await;
    assert_eq!(
        (urgent["conversation"].as_str(), urgent["urgent"].as_bool()),
        (Some("c-2"), Some(true))
    );
    w.send(turn("c-2", "m-2", "customer", "好的"));
    w.expect_type("ack").await;
    assert_eq!(s.expect_type("conversation").await["urgent"], true);
    w.send(turn("c-2", "m-3", "agent", "马上为您处理"));
    w.expect_type("ack").await;
    let answered = s.expect_type("conversation").await;
    assert_eq!(
        (answered["urgent"].as_bool(), answered["last_role"].as_str()),
        (Some(false), Some("agent"))
    );
}

/// The flags are the engine's and survive a restart: after one, the conversation goes on from
/// the stored flags (urgent for the rest of the wait, the sticky threat, safety mode) instead of
/// re-deriving them, and every turn event carries them.
#[tokio::test]
async fn a_restart_keeps_the_conversation_flags_and_turn_events_carry_them() {
    let book = tempfile::tempdir().expect("tempdir");
    let engine = escalation_engine(book.path());
    let mut h = harness(|_| {});
    let db_path = h.dir.path().join("flags.db");
    let service = |engine: Arc<Engine>| {
        let config = Config::new(BOOK, db_path.clone(), auth());
        let metrics = Arc::new(Metrics::default());
        let db = Db::open(&config.db, Durability::Normal, Arc::clone(&metrics)).expect("db");
        Shared::new(config, engine, db, metrics)
    };
    h.shared = service(Arc::clone(&engine));
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    a.expect_type("subscribed").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn(
        "c-1",
        "m-1",
        "customer",
        "我要投诉你们，孩子用了过敏了",
    ));
    w.expect_type("ack").await;
    let first = a.expect_type("analysis").await;
    assert_eq!(
        (
            first["flags"]["urgent"].as_bool(),
            first["flags"]["threat"].as_bool()
        ),
        (Some(true), Some(true)),
        "{first}"
    );
    assert!(first["safety"].is_object(), "{first}");
    h.shared.db.close().await;
    drop(a);
    drop(w);

    h.shared = service(engine);
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    a.send(json!({"type":"subscribe","conversation":"c-1","since":2}));
    a.expect_type("subscribed").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    // A calm turn of the same wait: still urgent, still a threat, still in safety mode.
    w.send(turn("c-1", "m-2", "customer", "好的"));
    w.expect_type("ack").await;
    let calm = a.expect_type("analysis").await;
    assert_eq!(
        (
            calm["urgent"].as_bool(),
            calm["flags"]["urgent"].as_bool(),
            calm["flags"]["threat"].as_bool()
        ),
        (Some(false), Some(true), Some(true)),
        "{calm}"
    );
    assert_eq!(calm["safety"], first["safety"]);
    // The answer clears urgent (the threat stays), in the event and the summary alike.
    w.send(turn("c-1", "m-3", "agent", "马上为您处理"));
    w.expect_type("ack").await;
    a.expect_type("suggestions").await;
    let guard = a.expect_type("guard").await;
    assert_eq!(
        (
            guard["flags"]["urgent"].as_bool(),
            guard["flags"]["threat"].as_bool()
        ),
        (Some(false), Some(true)),
        "{guard}"
    );
    let mut s = h.connect();
    s.hello("supervisor", "super-a-token").await;
    s.send(json!({"type":"watch"}));
    let list = s.expect_type("conversations").await;
    let sm = &list["items"][0];
    assert_eq!(
        (sm["urgent"].as_bool(), sm["threat"].as_bool()),
        (Some(false), Some(true)),
        "{sm}"
    );
    assert!(sm["trend"].is_string(), "{sm}");
}

#[tokio::test]
async fn a_high_escalation_risk_flags_the_summary_without_an_escalation_intent() {
    // The fixture book has no `escalation` intent: the complaint raises the risk instead.
    let h = harness(|_| {});
    let mut s = h.connect();
    s.hello("supervisor", "super-a-token").await;
    s.send(json!({"type":"watch"}));
    s.expect_type("conversations").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    w.send(turn("c-1", "m-1", "customer", "我要投诉你们，找你们领导"));
    w.expect_type("ack").await;
    let sm = s.expect_type("conversation").await;
    assert_eq!(
        (sm["intent"].as_str(), sm["escalation"].as_bool()),
        (Some("complaint"), Some(true))
    );
    // Nobody asked for a human: the reasons name the threat and the risk, not a request.
    let kinds: Vec<&str> = sm["escalation_reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["complaint_threat", "risk"], "{sm}");
    assert!(sm["escalation_reasons"][1]["risk"].as_f64() >= Some(0.6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_sustained_writes_the_wal_is_rewound_once_past_its_bound() {
    use huashu_store::{NewEvent, TurnWrite, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.db");
    let metrics = Arc::new(Metrics::default());
    let bound = 512 * 1024;
    let db = Arc::new(
        Db::open_with(
            &(&path).into(),
            Durability::Normal,
            Arc::clone(&metrics),
            bound,
        )
        .expect("db"),
    );
    let payload = "问".repeat(400);
    let mut tasks = Vec::new();
    let writers = 16u64;
    let per_writer = 800u64;
    for w in 0..writers {
        let db = Arc::clone(&db);
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let seq = 2 * i + 1;
                let id = format!("m-{i}");
                let event = |seq: u64| NewEvent {
                    seq,
                    kind: "analysis".into(),
                    turn: Some(id.clone()),
                    payload: format!("{{\"text\":\"{payload}\"}}"),
                };
                let write = Write::Turn(TurnWrite {
                    conversation: format!("c-{w}"),
                    shop: "s".into(),
                    id: id.clone(),
                    seq,
                    role: "customer".into(),
                    text: payload.clone(),
                    at: 1,
                    received_at: 1,
                    book: "b".into(),
                    agent: None,
                    events: vec![event(seq), event(seq + 1)],
                    summary: Some("{}".into()),
                    agent_hit_rules: None,
                    visitor: None,
                });
                db.write(write).await.expect("committed");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let wal = std::fs::metadata(dir.path().join("w.db-wal"))
        .expect("wal")
        .len();
    let rewinds = metrics.wal_checkpoint.count();
    let db_size = std::fs::metadata(&path).expect("db").len();
    assert!(rewinds >= 1, "the writer checkpointed");
    // Without rewinds the WAL would hold every page written (more than the database itself);
    // with them it peaks at the bound plus what is written between two background runs.
    assert!(wal < db_size / 2, "WAL {wal} bytes, database {db_size}");
    db.close().await;
    let store = Store::open(&path, Durability::Normal).expect("reopen");
    assert_eq!(
        store.count(Table::Turns).expect("count"),
        writers * per_writer
    );
}

#[tokio::test]
async fn personal_values_are_masked_everywhere_and_revealed_only_to_a_subscribed_agent() {
    let h = harness(|_| {});
    let mut a = h.connect();
    a.hello("agent", "agent-a-token").await;
    let mut w = h.connect();
    w.hello("widget", "widget-a-token").await;
    let text = "地址改成杭州市西湖区文三路88号，收件人改成李四，电话13812345678";
    w.send(turn("c-1", "m-1", "customer", text));
    w.expect_type("ack").await;

    // Not subscribed yet: no reveal, even for the shop's agent.
    a.send(json!({"type":"reveal","conversation":"c-1","turn":"m-1","entity":0}));
    assert_eq!(a.expect_error("forbidden").await["ref"], "m-1");

    a.send(json!({"type":"subscribe","conversation":"c-1"}));
    let analysis = a.expect_type("analysis").await;
    a.expect_type("suggestions").await;
    a.expect_type("subscribed").await;
    let pushed = analysis.to_string();
    for raw in ["文三路88号", "李四", "13812345678"] {
        assert!(!pushed.contains(raw), "{raw} pushed: {pushed}");
    }
    let ents = analysis["entities"].as_array().expect("entities");
    let kinds: Vec<&str> = ents.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["address", "name", "phone"], "{analysis}");
    // Masked chips still line up with the (masked) text.
    let shown: Vec<char> = analysis["text"].as_str().expect("text").chars().collect();
    for e in ents {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(shown[s..t].iter().collect::<String>(), e["text"], "{e}");
    }

    let mut values = Vec::new();
    for i in 0..3 {
        a.send(json!({"type":"reveal","conversation":"c-1","turn":"m-1","entity":i}));
        let r = a.expect_type("revealed").await;
        assert_eq!(
            (r["turn"].as_str(), r["entity"].as_u64()),
            (Some("m-1"), Some(i))
        );
        values.push((
            r["kind"].as_str().unwrap().to_string(),
            r["value"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        values,
        [
            ("address".to_string(), "杭州市西湖区文三路88号".to_string()),
            ("name".to_string(), "李四".to_string()),
            ("phone".to_string(), "13812345678".to_string()),
        ]
    );
    // No such entity, another shop, a widget: refused.
    a.send(json!({"type":"reveal","conversation":"c-1","turn":"m-1","entity":7}));
    a.expect_error("not_found").await;
    let mut b = h.connect();
    b.hello("agent", "agent-b-token").await;
    // Shop B (not subscribed to its own, empty `c-1`) gets the same answer as for any id.
    b.send(json!({"type":"reveal","conversation":"c-1","turn":"m-1","entity":0}));
    b.expect_error("forbidden").await;
    w.send(json!({"type":"reveal","conversation":"c-1","turn":"m-1","entity":0}));
    w.expect_error("forbidden").await;

    // Each reveal is a QA record; no value is in the database file or its WAL.
    let store = h.store();
    assert_eq!(store.count(Table::Reveals).expect("count"), 3);
    let turns = store.turns(&key_a("c-1")).expect("turns");
    assert!(!turns[0].text.contains("李四") && !turns[0].text.contains("13812345678"));
    for file in ["t.db", "t.db-wal"] {
        let bytes = std::fs::read(h.dir.path().join(file)).unwrap_or_default();
        let hay = String::from_utf8_lossy(&bytes);
        for raw in ["文三路88号", "李四", "13812345678"] {
            assert!(!hay.contains(raw), "{raw} stored in {file}");
        }
    }
}

/// A signed turn: `sig` as the shop's backend computes it.
fn signed_turn(shop: &str, conv: &str, id: &str, text: &str) -> Value {
    let mut t = turn(conv, id, "customer", text);
    t["sig"] = json!(crate::SigningKey::new(SIGNING_SECRET).sign(shop, conv));
    t
}

#[tokio::test]
async fn a_public_widget_without_a_visitor_key_or_signature_sends_no_turn() {
    let h = harness(|_| {});
    let mut w = h.connect();
    w.send(json!({"type":"hello","role":"widget","token":"public-widget-a-token"}));
    w.expect_type("welcome").await;
    w.send(turn("c-1", "m-1", "customer", "在吗"));
    let e = w.expect_error("forbidden").await;
    assert_eq!(e["ref"], "m-1");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("visitor")),
        "{e}"
    );
    // A key too short to be random is refused at hello.
    let mut w = h.connect();
    w.send(
        json!({"type":"hello","role":"widget","token":"public-widget-a-token","visitor":"short"}),
    );
    w.expect_error("bad_field").await;
    assert_eq!(w.next().await, Seen::Close(4401));
    assert_eq!(h.store().count(Table::Turns).expect("count"), 0);
}

#[tokio::test]
async fn another_visitor_cannot_write_into_a_visitors_conversation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = harness_in(dir, |_| {});
    let mut agent = h.connect();
    agent.hello("agent", "agent-a-token").await;
    agent.send(json!({"type":"subscribe","conversation":"c-1","since":0}));
    agent.expect_type("subscribed").await;
    let mut mine = h.connect();
    mine.hello_visitor("public-widget-a-token", "visitor-one-0123456789")
        .await;
    mine.send(turn("c-1", "m-1", "customer", "我的快递到哪了"));
    assert_eq!(mine.expect_type("ack").await["seq"], 1);
    agent.expect_type("analysis").await;
    agent.expect_type("suggestions").await;

    let mut other = h.connect();
    other
        .hello_visitor("public-widget-a-token", "visitor-two-0123456789")
        .await;
    // A new turn, and a re-send of the owner's turn id (which must not leak its seq).
    for id in ["x-1", "m-1"] {
        other.send(turn("c-1", id, "customer", "注入的文字"));
        let e = other.expect_error("forbidden").await;
        assert_eq!(e["ref"], id, "{e}");
        assert!(e.get("seq").is_none());
    }
    // A conversation the shop's chat system started is not claimable by any visitor.
    let mut integration = h.connect();
    integration.hello("widget", "widget-a-token").await;
    integration.send(turn("c-server", "s-1", "customer", "后台转来的"));
    integration.expect_type("ack").await;
    other.send(turn("c-server", "x-2", "customer", "抢占"));
    other.expect_error("forbidden").await;
    // The owner goes on; the subscriber saw nothing of the other visitor.
    mine.send(turn("c-1", "m-2", "customer", "还在吗"));
    assert_eq!(mine.expect_type("ack").await["seq"], 3);
    assert_eq!(agent.expect_type("analysis").await["turn"], "m-2");
    h.shared.db.close().await;
    let Harness { dir, .. } = h;

    // The binding is stored: after a restart the other visitor is still refused.
    let h2 = harness_in(dir, |_| {});
    let mut other = h2.connect();
    other
        .hello_visitor("public-widget-a-token", "visitor-two-0123456789")
        .await;
    other.send(turn("c-1", "x-3", "customer", "重启之后"));
    other.expect_error("forbidden").await;
    let mut mine = h2.connect();
    mine.hello_visitor("public-widget-a-token", "visitor-one-0123456789")
        .await;
    mine.send(turn("c-1", "m-3", "customer", "重启之后"));
    assert_eq!(mine.expect_type("ack").await["seq"], 5);
    let turns = h2.store().turns(&key_a("c-1")).expect("turns");
    let ids: Vec<&str> = turns.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["m-1", "m-2", "m-3"]);
}

#[tokio::test]
async fn a_signed_widget_needs_the_shop_backends_signature_of_each_conversation() {
    let h = harness(|_| {});
    let mut w = h.connect();
    // No visitor key needed: the signature is the proof.
    w.send(json!({"type":"hello","role":"widget","token":"signed-widget-a-token"}));
    w.expect_type("welcome").await;
    let good = signed_turn("shop-a", "c-1", "m-1", "在吗");
    let forged = {
        let mut t = good.clone();
        let sig = t["sig"].as_str().expect("sig").to_string();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        t["sig"] = json!(format!("{flipped}{}", &sig[1..]));
        t
    };
    let other_conversation = {
        let mut t = signed_turn("shop-a", "c-2", "m-1", "在吗");
        t["conversation"] = json!("c-1");
        t
    };
    let unsigned = turn("c-1", "m-1", "customer", "在吗");
    let mut made_by_another_secret = good.clone();
    made_by_another_secret["sig"] = json!(
        crate::SigningKey::new("another-shops-secret-0123456789abcdef").sign("shop-a", "c-1")
    );
    for (what, t) in [
        ("forged", forged),
        ("another conversation's", other_conversation),
        ("unsigned", unsigned),
        ("another secret's", made_by_another_secret),
    ] {
        w.send(t);
        let e = w.expect_error("forbidden").await;
        assert_eq!(e["ref"], "m-1", "{what}: {e}");
    }
    w.send(good);
    assert_eq!(w.expect_type("ack").await["seq"], 1);

    // Shop A's signature replayed by shop B's widget (same secret): refused, shop B's `c-1`
    // untouched; B's own signature works.
    let mut wb = h.connect();
    wb.send(json!({"type":"hello","role":"widget","token":"signed-widget-b-token"}));
    wb.expect_type("welcome").await;
    let mut replayed = signed_turn("shop-a", "c-1", "m-9", "跨店重放");
    replayed["id"] = json!("m-9");
    wb.send(replayed);
    wb.expect_error("forbidden").await;
    wb.send(signed_turn("shop-b", "c-1", "m-9", "B店自己的"));
    assert_eq!(wb.expect_type("ack").await["seq"], 1);
    let b_turns = h
        .store()
        .turns(&huashu_store::conversation_key("shop-b", "c-1"))
        .expect("turns");
    assert_eq!(b_turns.len(), 1);
}
