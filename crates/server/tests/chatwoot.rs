//! `POST /integrations/chatwoot` against the real server on 127.0.0.1:0: Chatwoot's documented
//! `message_created` payloads (fixtures in `tests/fixtures/chatwoot/`) become turns that agents
//! see over the WebSocket, notes/bots/activity are ignored, redeliveries are deduplicated, the
//! secret is required, and urgent turns and complaint threats are written back as private notes
//! to a real local HTTP server standing in for Chatwoot's API (which holds its answers, to show
//! that the webhook never waits for the note).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huashu_server::{Auth, Chatwoot, ChatwootAccount, Config, TokenRole};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "cw-webhook-secret-0123456789";
const AGENT: &str = "agent-shop-1-token";
const PATIENCE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chatwoot")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

fn book() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default")
}

/// The shipped default book (urgency and threats are what the write-back is about), compiled
/// once for all tests of this file.
fn engine() -> Arc<huashu_engine::Engine> {
    static ENGINE: OnceLock<Arc<huashu_engine::Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        Arc::new(huashu_engine::Engine::load(&book()).expect("default book compiles"))
    }))
}

async fn start(chatwoot: Chatwoot) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = Auth::new().with_token(AGENT, TokenRole::Agent, "shop-1", None);
    let mut config = Config::new(book(), dir.path().join("t.db"), auth);
    config.engine = Some(tokio::task::spawn_blocking(engine).await.expect("engine"));
    config.chatwoot = chatwoot;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        huashu_server::run(listener, config, async move {
            let _ = stopped.await;
        })
        .await
        .expect("server runs");
    });
    Server {
        addr,
        _dir: dir,
        _stop: stop,
    }
}

fn account() -> ChatwootAccount {
    ChatwootAccount::new(SECRET, "shop-1").account_id(1)
}

/// One HTTP/1.1 request; returns (status, JSON body or Null).
async fn post(addr: SocketAddr, target: &str, headers: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut out))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

async fn webhook(addr: SocketAddr, body: &Value) -> (u16, Value) {
    post(
        addr,
        &format!("/integrations/chatwoot?secret={SECRET}"),
        "",
        body,
    )
    .await
}

/// Subscribes as an agent of shop-1 and returns every replayed event of `conversation`.
async fn replay(addr: SocketAddr, conversation: &str) -> Vec<Value> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws");
    let send = |v: Value| Message::text(v.to_string());
    ws.send(send(
        json!({"type":"hello","role":"agent","token":AGENT,"shop":"shop-1"}),
    ))
    .await
    .expect("hello");
    ws.send(send(
        json!({"type":"subscribe","conversation":conversation}),
    ))
    .await
    .expect("subscribe");
    let mut events = Vec::new();
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("frame in time")
            .expect("open")
            .expect("frame");
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t).expect("json");
        match v["type"].as_str() {
            Some("subscribed") => return events,
            Some("welcome") => {}
            Some("error") => panic!("error frame: {v}"),
            _ => events.push(v),
        }
    }
}

#[tokio::test]
async fn customer_and_agent_messages_become_turns_with_stable_ids() {
    let s = start(Chatwoot::new().with_account(account())).await;
    let (status, ack) = webhook(s.addr, &fixture("incoming.json")).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(
        (
            &ack["conversation"],
            &ack["id"],
            &ack["seq"],
            &ack["duplicate"]
        ),
        (
            &json!("chatwoot:1:42"),
            &json!("cw-1001"),
            &json!(1),
            &json!(false)
        )
    );
    let (status, ack) = webhook(s.addr, &fixture("outgoing.json")).await;
    assert_eq!((status, &ack["seq"]), (200, &json!(3)), "{ack}");
    let (status, _) = webhook(s.addr, &fixture("outgoing_forbidden.json")).await;
    assert_eq!(status, 200);

    let events = replay(s.addr, "chatwoot:1:42").await;
    let kinds: Vec<_> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["analysis", "suggestions", "guard", "guard"]);
    let analysis = &events[0];
    assert_eq!(
        (&analysis["turn"], &analysis["role"], &analysis["customer"]),
        (&json!("cw-1001"), &json!("customer"), &json!("张女士"))
    );
    assert_eq!(analysis["intents"][0]["id"], "shipping", "{analysis}");
    assert_eq!(
        analysis["at"], 1_796_025_601_250_i64,
        "created_at is the turn's time"
    );
    assert_eq!(
        (&events[2]["turn"], &events[2]["role"]),
        (&json!("cw-1002"), &json!("agent"))
    );
    assert_eq!(events[2]["hits"], json!([]));
    let forbidden = &events[3];
    assert_eq!(forbidden["turn"], "cw-1005");
    assert!(
        forbidden["hits"].as_array().is_some_and(|h| !h.is_empty()),
        "the forbidden reply is flagged: {forbidden}"
    );
}

#[tokio::test]
async fn redeliveries_are_acked_as_duplicates() {
    let s = start(Chatwoot::new().with_account(account())).await;
    let (_, first) = webhook(s.addr, &fixture("incoming.json")).await;
    let (status, again) = webhook(s.addr, &fixture("incoming.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&again["seq"], &again["duplicate"]),
        (&first["seq"], &json!(true))
    );
    assert_eq!(
        replay(s.addr, "chatwoot:1:42").await.len(),
        2,
        "stored once"
    );
}

#[tokio::test]
async fn notes_bots_activity_templates_and_other_events_are_ignored() {
    let s = start(Chatwoot::new().with_account(account())).await;
    for (file, why) in [
        ("private_note.json", "private"),
        ("activity.json", "activity"),
        ("template.json", "template"),
        ("bot.json", "bot"),
        ("conversation_created.json", "event"),
    ] {
        let (status, body) = webhook(s.addr, &fixture(file)).await;
        assert_eq!(
            (status, &body["ignored"]),
            (200, &json!(why)),
            "{file}: {body}"
        );
    }
    assert!(
        replay(s.addr, "chatwoot:1:42").await.is_empty(),
        "no turn stored"
    );
}

#[tokio::test]
async fn the_secret_and_the_account_are_checked() {
    let s = start(Chatwoot::new().with_account(account())).await;
    let body = fixture("incoming.json");
    for target in [
        "/integrations/chatwoot".to_string(),
        "/integrations/chatwoot?secret=wrong-secret-0123456789".to_string(),
    ] {
        let (status, err) = post(s.addr, &target, "", &body).await;
        assert_eq!(
            (status, &err["code"]),
            (401, &json!("unauthorized")),
            "{target}"
        );
    }
    let header = format!("X-Huashu-Secret: {SECRET}\r\n");
    let (status, ack) = post(s.addr, "/integrations/chatwoot", &header, &body).await;
    assert_eq!(
        (status, &ack["id"]),
        (200, &json!("cw-1001")),
        "header secret: {ack}"
    );

    let mut other = fixture("incoming.json");
    other["account"]["id"] = json!(2);
    let (status, err) = webhook(s.addr, &other).await;
    assert_eq!((status, &err["code"]), (403, &json!("forbidden")));
    let (status, err) = webhook(s.addr, &json!("not a payload")).await;
    assert_eq!((status, &err["code"]), (400, &json!("bad_json")));
}

/// A recorded request to the stand-in Chatwoot API.
#[derive(Debug)]
struct Recorded {
    head: String,
    body: Value,
}

/// Chatwoot's API, played by a local listener that records each request and answers only once
/// `release` is true.
async fn fake_chatwoot() -> (
    SocketAddr,
    mpsc::UnboundedReceiver<Recorded>,
    watch::Sender<bool>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let (release, released) = watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            let mut released = released.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let n = tcp.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break (head.to_string(), body.to_string());
                        }
                    }
                };
                let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                let _ = tx.send(Recorded { head, body });
                let _ = released.wait_for(|r| *r).await;
                let reply = "{\"id\":1}";
                let _ = tcp
                    .write_all(format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}", reply.len()).as_bytes())
                    .await;
            });
        }
    });
    (addr, rx, release)
}

async fn next_note(rx: &mut mpsc::UnboundedReceiver<Recorded>) -> Recorded {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a note in time")
        .expect("recorder alive")
}

#[tokio::test]
async fn urgent_turns_and_threats_are_noted_back_without_delaying_the_webhook() {
    let (api, mut notes, release) = fake_chatwoot().await;
    let account = account()
        .write_back(
            &format!("http://{api}"),
            "cw-api-token",
            Duration::from_secs(10),
        )
        .expect("write-back config");
    let s = start(Chatwoot::new().with_account(account)).await;

    // Urgent: acked while the API has not answered (it answers only after `release`).
    let (status, ack) = webhook(s.addr, &fixture("urgent.json")).await;
    assert_eq!(
        (status, &ack["conversation"]),
        (200, &json!("chatwoot:1:43")),
        "{ack}"
    );
    let note = next_note(&mut notes).await;
    assert!(
        note.head
            .starts_with("POST /api/v1/accounts/1/conversations/43/messages HTTP/1.1\r\n"),
        "{}",
        note.head
    );
    assert!(
        note.head
            .to_ascii_lowercase()
            .contains("api_access_token: cw-api-token"),
        "{}",
        note.head
    );
    assert_eq!(
        (&note.body["private"], &note.body["message_type"]),
        (&json!(true), &json!("outgoing"))
    );
    let content = note.body["content"].as_str().unwrap_or("");
    assert!(content.contains("紧急"), "{content}");

    // A plain question gets no note; the same alert again on the same conversation neither.
    assert_eq!(webhook(s.addr, &fixture("incoming.json")).await.0, 200);
    let mut again = fixture("urgent.json");
    again["id"] = json!(1010);
    assert_eq!(webhook(s.addr, &again).await.1["duplicate"], json!(false));
    // The next note is the threat's.
    assert_eq!(webhook(s.addr, &fixture("threat.json")).await.0, 200);
    let note = next_note(&mut notes).await;
    assert!(
        note.head.contains("/conversations/44/messages"),
        "{}",
        note.head
    );
    assert!(
        note.body["content"]
            .as_str()
            .unwrap_or("")
            .contains("投诉风险")
    );
    release.send_replace(true);
    assert!(
        notes.try_recv().is_err(),
        "no other note: {:?}",
        notes.try_recv()
    );
}

/// HMAC-SHA256 (RFC 2104), to sign deliveries the way Chatwoot does.
fn hmac(key: &[u8], msg: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let inner = Sha256::new()
        .chain_update(k.map(|b| b ^ 0x36))
        .chain_update(msg)
        .finalize();
    let out = Sha256::new()
        .chain_update(k.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize();
    out.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn deliveries_signed_by_chatwoot_need_no_url_secret() {
    let signing = "chatwoot-webhook-signing-secret";
    let s = start(Chatwoot::new().with_account(account().signing_secret(signing))).await;
    let body = fixture("incoming.json");
    let raw = body.to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let signed = |ts: u64, key: &str| {
        let sig = hmac(key.as_bytes(), format!("{ts}.{raw}").as_bytes());
        format!("X-Chatwoot-Timestamp: {ts}\r\nX-Chatwoot-Signature: sha256={sig}\r\n")
    };
    let (status, ack) = post(
        s.addr,
        "/integrations/chatwoot",
        &signed(now, signing),
        &body,
    )
    .await;
    assert_eq!((status, &ack["id"]), (200, &json!("cw-1001")), "{ack}");
    for (why, headers) in [
        ("wrong key", signed(now, "another-secret-entirely")),
        ("stale timestamp", signed(now - 3600, signing)),
        ("no signature", String::new()),
    ] {
        let (status, err) = post(s.addr, "/integrations/chatwoot", &headers, &body).await;
        assert_eq!(
            (status, &err["code"]),
            (401, &json!("unauthorized")),
            "{why}"
        );
    }
    // A signature over another body does not carry over.
    let mut other = fixture("incoming.json");
    other["content"] = json!("改过的内容");
    let (status, _) = post(
        s.addr,
        "/integrations/chatwoot",
        &signed(now, signing),
        &other,
    )
    .await;
    assert_eq!(status, 401, "tampered body");
}
