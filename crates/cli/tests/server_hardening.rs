//! Regression tests for the attacks of the hardening review (issue 14), one per attack class,
//! against the real server over real sockets: slow heads and bodies, connection floods and the
//! per-IP limit, malformed WebSocket frames and their RFC 6455 close codes, slow consumers that
//! must still see their 4008, the rate limiter counting every frame, and logs that never carry
//! tokens or customer text. docs/SECURITY.md describes the behaviour these tests pin down.

mod server_support;

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use server_support::*;
use tokio_tungstenite::tungstenite::Message;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Opens a raw TCP connection and writes `bytes` (and nothing more).
fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(bytes).expect("write");
    s
}

/// A widget and a console subscribed to `bystander`: honest clients that must keep being served.
async fn bystanders(server: &InProcess) -> (Client, Client) {
    let mut console = Client::hello(&server.url(), "agent", AGENT_A).await;
    console.subscribe("bystander", 0).await;
    let widget = Client::hello(&server.url(), "widget", WIDGET_A).await;
    (widget, console)
}

async fn served(widget: &mut Client, console: &mut Client, id: &str) {
    widget
        .send(turn("bystander", id, "customer", "请问什么时候发货"))
        .await;
    assert_eq!(widget.expect("ack").await["id"], id);
    assert_eq!(console.expect("analysis").await["turn"], id);
    console.expect("suggestions").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_a_head_that_never_ends_gets_408() {
    let server = InProcess::start(|c| c.limits.head_timeout = secs(0.5)).await;
    let (mut w, mut c) = bystanders(&server).await;
    let status = tokio::task::spawn_blocking({
        let addr = server.addr;
        move || {
            let mut s = raw(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            read_status(&mut s)
        }
    })
    .await
    .expect("join");
    assert_eq!(status, Some(408));
    served(&mut w, &mut c, "after-slowloris").await;
    assert_eq!(metric(server.addr, "huashu_http_timeouts_total"), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_a_declared_body_that_never_arrives_gets_408_even_with_a_valid_token() {
    let server = InProcess::start(|c| c.limits.body_timeout = secs(0.5)).await;
    let (mut w, mut c) = bystanders(&server).await;
    let addr = server.addr;
    let status = tokio::task::spawn_blocking(move || {
        let head = format!(
            "POST /api/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WIDGET_A}\r\nContent-Length: 60000\r\n\r\n{{"
        );
        let mut s = raw(addr, head.as_bytes());
        read_status(&mut s)
    })
    .await
    .expect("join");
    assert_eq!(status, Some(408));
    served(&mut w, &mut c, "after-slow-body").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bodies_over_the_limit_and_ambiguous_lengths_are_refused_before_reading() {
    let server = InProcess::start(|c| c.limits.body_timeout = secs(60.0)).await;
    let addr = server.addr;
    let cases: &[(&str, u16)] = &[
        // Declared over 64 KiB: refused at once, the body is never awaited (60 s deadline).
        ("Content-Length: 70000\r\n", 413),
        ("Content-Length: 10\r\nContent-Length: 11\r\n", 400),
        ("Content-Length: +5\r\n", 400),
        ("Transfer-Encoding: chunked\r\n", 411),
    ];
    for &(headers, want) in cases {
        let status = tokio::task::spawn_blocking(move || {
            let head = format!(
                "POST /api/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WIDGET_A}\r\n{headers}\r\n"
            );
            let mut s = raw(addr, head.as_bytes());
            read_status(&mut s)
        })
        .await
        .expect("join");
        assert_eq!(status, Some(want), "{headers}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_flood_meets_the_connection_limit_with_1013_and_503_and_honest_clients_go_on() {
    // Two bystanders + two slow bodies fill the four slots.
    let server = InProcess::start(|c| {
        c.limits.max_connections = 4;
        c.limits.body_timeout = secs(1.5);
    })
    .await;
    let (mut w, mut c) = bystanders(&server).await;
    let addr = server.addr;
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let head = format!(
                "POST /api/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WIDGET_A}\r\nContent-Length: 60000\r\n\r\n{{"
            );
            raw(addr, head.as_bytes())
        })
        .collect();
    // Wait until both hold their slot: a fresh WebSocket is then refused.
    let mut refused = Client::connect(&server.url()).await;
    let first = refused.recv().await;
    let mut refused = if first["type"] == "error" {
        refused
    } else {
        // The slow sockets were not accepted yet when this one came in; try once more.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut again = Client::connect(&server.url()).await;
        assert_eq!(again.recv().await["code"], "overloaded");
        again
    };
    assert_eq!(refused.next().await, Seen::Close(1013));
    let (status, body) =
        tokio::task::spawn_blocking(move || http(addr, "GET", "/healthz", &[], ""))
            .await
            .expect("join");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("overloaded"), "{body}");
    served(&mut w, &mut c, "during-flood").await;
    // The slow bodies time out (408) and give their slots back.
    let statuses = tokio::task::spawn_blocking(move || {
        slow.into_iter()
            .map(|mut s| read_status(&mut s))
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");
    assert_eq!(statuses, [Some(408), Some(408)]);
    let mut late = Client::hello(&server.url(), "widget", WIDGET_B).await;
    late.alive().await;
    served(&mut w, &mut c, "after-flood").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_limit_refuses_the_extra_connection_of_one_address() {
    let server = InProcess::start(|c| {
        c.limits.max_per_ip = 3;
        c.limits.per_ip_exempt_loopback = false;
    })
    .await;
    let (mut w, mut c) = bystanders(&server).await;
    let mut third = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut fourth = Client::connect(&server.url()).await;
    let e = fourth.expect_error("overloaded").await;
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("address")),
        "{e}"
    );
    assert_eq!(fourth.next().await, Seen::Close(1013));
    third.alive().await;
    served(&mut w, &mut c, "per-ip").await;
    server.stop().await;
}

/// (what, FIN/RSV/opcode byte, payload, error code, close code)
const BAD_FRAMES: &[(&str, u8, &[u8], &str, u16)] = &[
    (
        "invalid UTF-8 text",
        0x81,
        b"{\"type\":\"ping\"\xff\xfe}",
        "bad_frame",
        1007,
    ),
    ("RSV1 set", 0xC1, br#"{"type":"ping"}"#, "bad_frame", 1002),
    ("RSV3 set", 0x91, br#"{"type":"ping"}"#, "bad_frame", 1002),
    ("reserved data opcode 0x3", 0x83, b"x", "bad_frame", 1002),
    ("reserved control opcode 0xB", 0x8B, b"", "bad_frame", 1002),
    ("ping over 125 bytes", 0x89, &[b'p'; 126], "bad_frame", 1002),
    (
        "continuation without a start",
        0x80,
        b"x",
        "bad_frame",
        1002,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_an_error_then_their_rfc_6455_close_code() {
    let server = InProcess::start(|_| {}).await;
    let (mut w, mut c) = bystanders(&server).await;
    let addr = server.addr;
    for (i, &(what, first, payload, code, close)) in BAD_FRAMES.iter().enumerate() {
        for after_hello in [false, true] {
            let (texts, got) = tokio::task::spawn_blocking(move || {
                let mut ws = RawWs::connect(addr);
                if after_hello {
                    ws.text(
                        json!({"type":"hello","role":"widget","token":WIDGET_A})
                            .to_string()
                            .as_bytes(),
                    );
                }
                ws.frame(first, payload);
                ws.until_close()
            })
            .await
            .expect("join");
            let errors: Vec<_> = texts.iter().filter(|t| t["type"] == "error").collect();
            assert_eq!(
                errors.len(),
                1,
                "{what} (after hello: {after_hello}): {texts:?}"
            );
            assert_eq!(errors[0]["code"], code, "{what}");
            assert_eq!(got, Some(close), "{what} (after hello: {after_hello})");
        }
        served(&mut w, &mut c, &format!("after-bad-frame-{i}")).await;
    }
    let want = u64::try_from(2 * BAD_FRAMES.len()).expect("small");
    assert_eq!(metric(addr, "huashu_protocol_violations_total"), want);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_oversized_frames_use_up_the_rate_limit_too() {
    let server = InProcess::start(|c| {
        c.limits.rate = huashu_server::RateLimit {
            per_sec: 0.01,
            burst: 4.0,
        };
    })
    .await;
    let cases: &[(&str, Message, &str)] = &[
        (
            "binary",
            Message::Binary(vec![1u8; 8].into()),
            "binary_unsupported",
        ),
        (
            "oversized",
            Message::Text("x".repeat(70 * 1024).into()),
            "too_large",
        ),
    ];
    for (what, frame, code) in cases {
        let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
        for _ in 0..4 {
            w.send_raw(frame.clone()).await;
            w.expect_error(code).await;
        }
        w.send_raw(frame.clone()).await;
        w.expect_error("rate_limited").await;
        w.send(json!({"type":"ping"})).await;
        assert_eq!(
            w.expect_error("rate_limited").await["code"],
            "rate_limited",
            "{what}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kicked_slow_consumer_receives_its_4008_close_frame() {
    let server = InProcess::start(|c| {
        c.limits.outbound_queue = 8;
        c.limits.rate = huashu_server::RateLimit {
            per_sec: 100_000.0,
            burst: 100_000.0,
        };
        c.limits.close_timeout = secs(10.0);
        // Filling the buffers takes a while on a busy machine: no SLA events in between.
        c.sla.warn = secs(3600.0);
        c.sla.breach = secs(7200.0);
    })
    .await;
    let (mut w, mut c) = bystanders(&server).await;
    // A console with a tiny receive buffer that stops reading after `subscribed`.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let tcp = socket.connect(server.addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(
        server.url(),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await
    .expect("handshake");
    let mut slow = Client { ws };
    slow.send(json!({"type":"hello","role":"agent","token":AGENT_A}))
        .await;
    slow.expect("welcome").await;
    slow.subscribe("bystander", 0).await;
    // Long customer turns fill the socket buffers, then the queue; the console is kicked.
    let long = "我的快递三天了还没有到，请帮我查一下物流到哪里了。".repeat(60);
    let mut i = 0;
    while metric(server.addr, "huashu_slow_consumers_total") == 0 {
        i += 1;
        assert!(i < 5_000, "never kicked");
        w.send(turn("bystander", &format!("fill-{i}"), "customer", &long))
            .await;
        w.expect("ack").await;
        c.expect("analysis").await;
        c.expect("suggestions").await;
    }
    // Reading again, the console drains what was in flight and then sees 4008.
    let mut frames = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(20), slow.ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => break f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => frames += 1,
            other => panic!("after {frames} frames: {other:?}"),
        }
    };
    assert_eq!(close, Some(4008), "after {frames} frames");
    served(&mut w, &mut c, "after-kick").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_rust_log_trace_no_token_and_no_customer_text_reaches_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--phrasebooks"])
        .arg(fixture_book())
        .arg("--db")
        .arg(dir.path().join("h.db"))
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("console line");
    let rest = line
        .trim()
        .strip_prefix("console: http://")
        .expect("console");
    let (addr, token) = rest.split_once("/?token=").expect("token");
    let url = format!("ws://{addr}/ws");
    let mut w = Client::hello(&url, "widget", token).await;
    w.send(
        json!({"type":"turn","conversation":"c-log","id":"m-1","role":"customer",
                  "customer":"王秘密","text":"我的手机13912345678，快递呢"}),
    )
    .await;
    w.expect("ack").await;
    w.send_raw(Message::Text(r#"{"type":"turn","role":"秘密角色"}"#.into()))
        .await;
    w.expect("error").await;
    // Ids are the client's: a phone number as the chat id and in the turn id. Revealing the
    // turn's phone writes an info line that names the conversation and the turn.
    w.send(turn(
        "chat-13700001111",
        "m-13600002222",
        "customer",
        "电话13512345678",
    ))
    .await;
    w.expect("ack").await;
    drop(w);
    let mut a = Client::hello(&url, "agent", token).await;
    a.subscribe("chat-13700001111", 0).await;
    a.send(json!({"type":"reveal","conversation":"chat-13700001111","turn":"m-13600002222","entity":0}))
        .await;
    a.expect("revealed").await;
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(text.len() > 100, "trace logging is on: {text}");
    assert!(text.contains("personal value revealed"), "{text}");
    for secret in [
        token,
        "13912345678",
        "王秘密",
        "快递呢",
        "秘密角色",
        "13700001111",
        "13600002222",
        "13512345678",
    ] {
        assert!(!text.contains(secret), "{secret:?} in the log:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_refuses_an_emptied_forbidden_list_and_any_lint_problem() {
    let server = InProcess::start(|_| {}).await;
    // The fixture split in two files, as QA leads keep it: book + forbidden rules.
    let all = std::fs::read_to_string(server.book.join("book.toml")).expect("book");
    let (head, rules) = all.split_at(all.find("[[rule]]").expect("rules"));
    std::fs::write(server.book.join("book.toml"), head).expect("write");
    std::fs::write(server.book.join("forbidden.toml"), rules).expect("write");
    let addr = server.addr;
    let post = move |path: &'static str| {
        tokio::task::spawn_blocking(move || {
            http(
                addr,
                "POST",
                path,
                &[("Authorization", &format!("Bearer {ADMIN}"))],
                "",
            )
        })
    };
    let (status, body) = post("/api/reload").await.expect("join");
    assert_eq!(status, 200, "{body}");
    let broad = format!(
        "{rules}\n[[rule]]\nid = \"dismissive.too_broad\"\ncategory = \"dismissive\"\nseverity = \"block\"\nphrases = [\"不知道\", \"催一下\"]\nrewrite = \"请您稍等，我马上为您查询。\"\n"
    );
    let lint_trip = rules.replace("请您稍等，我马上为您查询。", "你去告啊");
    let cases: &[(&str, &str, &str)] = &[
        (
            "emptied forbidden.toml",
            "# all rules removed\n",
            "没有任何忌语规则",
        ),
        (
            "a block rule that flags benign replies",
            &broad,
            "正常回复开始被拦截",
        ),
        (
            "a rewrite that trips a block rule",
            &lint_trip,
            "forbidden.toml:",
        ),
    ];
    for (what, forbidden, needle) in cases {
        std::fs::write(server.book.join("forbidden.toml"), forbidden).expect("write");
        let (status, body) = post("/api/book/check").await.expect("join");
        assert_eq!(status, 200, "{what}: {body}");
        let check: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(check["ok"], false, "{what}: {body}");
        assert!(
            check["error"]
                .as_str()
                .is_some_and(|e| e.contains(needle) || needle.ends_with(':')),
            "{what}: {body}"
        );
        let (status, body) = post("/api/reload").await.expect("join");
        assert_eq!(status, 422, "{what}: {body}");
        assert!(body.contains(needle), "{what}: {body}");
        // The live guard still has its rules.
        let mut a = Client::hello(&server.url(), "agent", AGENT_A).await;
        a.send(json!({"type":"draft","conversation":"g","draft":"d","text":"你去告啊"}))
            .await;
        assert_eq!(
            a.expect("guard").await["hits"][0]["rule"],
            "provoke.go_sue",
            "{what}"
        );
    }
    std::fs::write(server.book.join("forbidden.toml"), rules).expect("write");
    let (status, body) = post("/api/reload").await.expect("join");
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_widget_token_sends_customer_turns_only_and_reads_nothing() {
    let server = InProcess::start(|_| {}).await;
    let (mut w, mut c) = bystanders(&server).await;
    let cases = [
        (turn("bystander", "fake-1", "agent", "你去告啊"), "fake-1"),
        (
            json!({"type":"turn","conversation":"bystander","id":"fake-2","role":"customer",
                   "agent":"a-1","text":"您好"}),
            "fake-2",
        ),
        (
            json!({"type":"subscribe","conversation":"bystander","since":0}),
            "bystander",
        ),
        (json!({"type":"watch"}), ""),
        (
            json!({"type":"draft","conversation":"bystander","draft":"d","text":"x"}),
            "d",
        ),
    ];
    for (frame, r) in cases {
        w.send(frame.clone()).await;
        let e = w.expect_error("forbidden").await;
        if !r.is_empty() {
            assert_eq!(e["ref"], r, "{frame}");
        }
    }
    served(&mut w, &mut c, "customer-ok").await;
    // Shop A's chat system, with its server-side integration token, credits agent turns.
    let mut i = Client::hello(&server.url(), "widget", INTEGRATION_A).await;
    i.send(
        json!({"type":"turn","conversation":"bystander","id":"real-1","role":"agent",
                  "agent":"a-1","text":"您好，马上为您查询"}),
    )
    .await;
    i.expect("ack").await;
    assert_eq!(c.expect("guard").await["turn"], "real-1");
    let stored = server
        .store()
        .turns(&huashu_store::conversation_key("shop-a", "bystander"))
        .expect("turns");
    let agents: Vec<(&str, Option<&str>)> = stored
        .iter()
        .map(|t| (t.id.as_str(), t.agent.as_deref()))
        .collect();
    assert_eq!(agents, [("customer-ok", None), ("real-1", Some("a-1"))]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_widget_writes_only_into_its_own_conversations() {
    let server = InProcess::start(|_| {}).await;
    let url = server.url();
    let (mut w, mut c) = bystanders(&server).await;
    served(&mut w, &mut c, "first").await;
    // Visitor keys: the first widget turn binds `chat-1` to its visitor.
    let mut mine = Client::hello_visitor(&url, WIDGET_A, "visitor-one-0123456789").await;
    mine.send(turn("chat-1", "m-1", "customer", "你好")).await;
    assert_eq!(mine.expect("ack").await["seq"], 1);
    let other = Client::hello_visitor(&url, WIDGET_A, "visitor-two-0123456789").await;
    let mut signed_a = Client::connect(&url).await;
    signed_a
        .send(json!({"type":"hello","role":"widget","token":SIGNED_WIDGET_A}))
        .await;
    signed_a.expect("welcome").await;
    let mut signed_b = Client::connect(&url).await;
    signed_b
        .send(json!({"type":"hello","role":"widget","token":SIGNED_WIDGET_B}))
        .await;
    signed_b.expect("welcome").await;
    let mut forged = signed_turn("shop-a", "chat-2", "f-1", "伪造");
    forged["sig"] = json!("00".repeat(32));
    let mut clients = [other, signed_a, signed_b];
    let (other, signed_a, signed_b) = (0, 1, 2);
    let refusals = [
        // Another visitor's conversation, with a new id and with the owner's turn id.
        (other, turn("chat-1", "x-1", "customer", "注入"), "x-1"),
        (other, turn("chat-1", "m-1", "customer", "注入"), "m-1"),
        // The bystander's conversation, bound to the bystander widget's visitor key.
        (other, turn("bystander", "x-2", "customer", "注入"), "x-2"),
        // A forged signature, and one made for another conversation.
        (signed_a, forged, "f-1"),
        (
            signed_a,
            {
                let mut t = signed_turn("shop-a", "chat-3", "f-2", "换了会话");
                t["conversation"] = json!("chat-2");
                t
            },
            "f-2",
        ),
        // Shop A's valid signature replayed to shop B (the same secret in both shops).
        (
            signed_b,
            signed_turn("shop-a", "chat-2", "r-1", "跨店"),
            "r-1",
        ),
    ];
    for (client, frame, r) in refusals {
        clients[client].send(frame.clone()).await;
        let e = clients[client].expect_error("forbidden").await;
        assert_eq!(e["ref"], r, "{frame}");
    }
    let signed_a = &mut clients[signed_a];
    signed_a
        .send(signed_turn("shop-a", "chat-2", "s-1", "签名正确"))
        .await;
    assert_eq!(signed_a.expect("ack").await["seq"], 1);
    served(&mut w, &mut c, "still-served").await;
    let store = server.store();
    for (shop, conv, want) in [
        ("shop-a", "chat-1", vec!["m-1"]),
        ("shop-a", "chat-2", vec!["s-1"]),
        ("shop-b", "chat-2", vec![]),
    ] {
        let turns = store
            .turns(&huashu_store::conversation_key(shop, conv))
            .expect("turns");
        let ids: Vec<&str> = turns.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, want, "{shop} {conv}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_origin_refuses_upgrades_without_an_origin() {
    let server = InProcess::start(|c| c.require_origin = true).await;
    let addr = server.addr;
    let upgrade = move |origin: Option<String>| {
        tokio::task::spawn_blocking(move || {
            let origin = origin
                .map(|o| format!("Origin: {o}\r\n"))
                .unwrap_or_default();
            let req = format!(
                "GET /ws HTTP/1.1\r\nHost: {addr}\r\n{origin}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            let mut s = raw(addr, req.as_bytes());
            let mut head = [0u8; 12];
            std::io::Read::read_exact(&mut s, &mut head).expect("status line");
            String::from_utf8_lossy(&head[9..12]).into_owned()
        })
    };
    let cases = [
        (None, "403"),
        (Some(format!("http://{addr}")), "101"),
        (Some("https://evil.example".to_string()), "403"),
    ];
    for (origin, want) in cases {
        assert_eq!(
            upgrade(origin.clone()).await.expect("join"),
            want,
            "{origin:?}"
        );
    }
    server.stop().await;
}
