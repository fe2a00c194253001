//! Helpers shared by the `server_*` integration tests: starting the real server (in-process via
//! `huashu_server::run`, or as the real `huashu` binary), a real WebSocket client, and a tiny
//! HTTP/1.1 client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huashu_server::{Auth, Config, TokenRole};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The server crate's fixture book (stable rules the tests can count on).
pub fn fixture_book() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/testdata/book"
    ))
}

/// Copies the fixture book into `dir` (for reload tests that edit it).
pub fn copy_book(dir: &Path) -> PathBuf {
    let to = dir.join("book");
    std::fs::create_dir_all(&to).expect("mkdir book");
    for entry in std::fs::read_dir(fixture_book()).expect("fixture dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy book file");
    }
    to
}

pub const WIDGET_A: &str = "widget-a-secret";
pub const AGENT_A: &str = "agent-a-secret";
pub const SUPER_A: &str = "super-a-secret";
pub const WIDGET_B: &str = "widget-b-secret";
pub const AGENT_B: &str = "agent-b-secret";
pub const ADMIN: &str = "admin-secret";
/// Shop A's chat system (server-side): may send agent turns, unlike the public widget token.
pub const INTEGRATION_A: &str = "integration-a-secret";

pub fn two_shops() -> Auth {
    Auth::new()
        .with_token(WIDGET_A, TokenRole::Widget, "shop-a", None)
        .with_token(INTEGRATION_A, TokenRole::Integration, "shop-a", None)
        .with_token(AGENT_A, TokenRole::Agent, "shop-a", Some("a-1"))
        .with_token(SUPER_A, TokenRole::Supervisor, "shop-a", None)
        .with_token(WIDGET_B, TokenRole::Widget, "shop-b", None)
        .with_token(AGENT_B, TokenRole::Agent, "shop-b", None)
        .with_token(SIGNED_WIDGET_A, TokenRole::Widget, "shop-a", None)
        .with_signing_secret(SIGNED_WIDGET_A, SIGNING_SECRET)
        .with_token(SIGNED_WIDGET_B, TokenRole::Widget, "shop-b", None)
        .with_signing_secret(SIGNED_WIDGET_B, SIGNING_SECRET)
        .with_admin(ADMIN)
}

/// Public widget tokens whose conversations the shops' backends sign; both shops use the same
/// secret on purpose (a signature still fits one shop only).
pub const SIGNED_WIDGET_A: &str = "signed-widget-a-secret";
pub const SIGNED_WIDGET_B: &str = "signed-widget-b-secret";
pub const SIGNING_SECRET: &str = "shop-backend-signing-secret-0123456789";

/// A customer turn signed the way a shop's backend signs it for `shop`.
pub fn signed_turn(shop: &str, conv: &str, id: &str, text: &str) -> Value {
    let mut t = turn(conv, id, "customer", text);
    t["sig"] = json!(huashu_server::SigningKey::new(SIGNING_SECRET).sign(shop, conv));
    t
}

/// A server running in this process on 127.0.0.1:0.
pub struct InProcess {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub book: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), huashu_server::Error>>>,
}

impl InProcess {
    pub async fn start(tune: impl FnOnce(&mut Config)) -> InProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = copy_book(dir.path());
        let mut config = Config::new(&book, dir.path().join("huashu.db"), two_shops());
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(huashu_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        InProcess {
            addr,
            dir,
            book,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn store(&self) -> huashu_store::Store {
        huashu_store::Store::open(
            &self.dir.path().join("huashu.db"),
            huashu_store::Durability::Normal,
        )
        .expect("open db")
    }

    /// Graceful shutdown: returns once `run` has returned.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran");
        }
    }
}

/// What a client saw next.
#[derive(Debug, PartialEq)]
pub enum Seen {
    Json(Value),
    Close(u16),
    Ended,
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Client { ws }
    }

    /// Connects and says `hello` as `role`. A widget presents a visitor key derived from the
    /// token, so every widget client of one token is the same visitor (the tests of other
    /// visitors use `hello_visitor`).
    pub async fn hello(url: &str, role: &str, token: &str) -> Client {
        if role == "widget" {
            return Client::hello_visitor(url, token, &format!("visitor-of-{token}")).await;
        }
        let mut c = Client::connect(url).await;
        c.send(json!({"type":"hello","role":role,"token":token}))
            .await;
        c.expect("welcome").await;
        c
    }

    /// A widget connection with its own visitor key.
    pub async fn hello_visitor(url: &str, token: &str, visitor: &str) -> Client {
        let mut c = Client::connect(url).await;
        c.send(json!({"type":"hello","role":"widget","token":token,"visitor":visitor}))
            .await;
        c.expect("welcome").await;
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.expect("send");
    }

    pub async fn next(&mut self) -> Seen {
        loop {
            match tokio::time::timeout(Duration::from_secs(20), self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Seen::Json(serde_json::from_str(&t).expect("JSON frame"));
                }
                Ok(Some(Ok(Message::Close(f)))) => {
                    return Seen::Close(f.map_or(1005, |f| u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) => return Seen::Ended,
                Err(_) => panic!("no frame within 20 s"),
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Seen::Json(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "{v}");
        v
    }

    pub async fn expect_error(&mut self, code: &str) -> Value {
        let v = self.expect("error").await;
        assert_eq!(v["code"], code, "{v}");
        v
    }

    pub async fn alive(&mut self) {
        self.send(json!({"type":"ping"})).await;
        self.expect("pong").await;
    }

    /// Subscribes and returns the replayed events and the `subscribed` seq.
    pub async fn subscribe(&mut self, conversation: &str, since: u64) -> (Vec<Value>, u64) {
        self.send(json!({"type":"subscribe","conversation":conversation,"since":since}))
            .await;
        let mut replay = Vec::new();
        loop {
            let v = self.recv().await;
            if v["type"] == "subscribed" {
                return (replay, v["seq"].as_u64().expect("seq"));
            }
            replay.push(v);
        }
    }
}

pub fn turn(conv: &str, id: &str, role: &str, text: &str) -> Value {
    json!({"type":"turn","conversation":conv,"id":id,"role":role,"text":text})
}

/// One HTTP/1.1 request; returns (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The real binary running `huashu serve`.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    /// The token from the console line (None with a token file).
    pub token: Option<String>,
    pub console_line: String,
}

impl Binary {
    pub fn start(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_huashu"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn huashu serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("console line");
        let line = line.trim_end().to_string();
        let rest = line
            .strip_prefix("console: http://")
            .unwrap_or_else(|| panic!("console line: {line:?}"));
        let (hostport, query) = rest.split_once('/').expect("url path");
        let token = query.strip_prefix("?token=").map(str::to_string);
        Binary {
            addr: hostport.parse().expect("host:port"),
            child,
            token,
            console_line: line,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client written by hand over a blocking socket, for frames no library would send
/// (invalid UTF-8, RSV bits, reserved opcodes, oversized control frames).
pub struct RawWs {
    pub tcp: std::net::TcpStream,
}

impl RawWs {
    /// Opens `/ws` and reads the `101` response.
    pub fn connect(addr: SocketAddr) -> RawWs {
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).expect("write");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut b).expect("101 head");
            head.push(b[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        RawWs { tcp }
    }

    /// Sends one masked client frame: `first` is the FIN/RSV/opcode byte.
    pub fn frame(&mut self, first: u8, payload: &[u8]) {
        let mut f = vec![first];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.tcp.write_all(&f).expect("write frame");
    }

    pub fn text(&mut self, payload: &[u8]) {
        self.frame(0x81, payload);
    }

    /// Reads server frames: the text payloads seen, then the close code (`None`: the socket
    /// ended without a close frame).
    pub fn until_close(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut texts = Vec::new();
        loop {
            let mut h = [0u8; 2];
            if self.tcp.read_exact(&mut h).is_err() {
                return (texts, None);
            }
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut l = [0u8; 2];
                self.tcp.read_exact(&mut l).expect("len16");
                len = u64::from(u16::from_be_bytes(l));
            } else if len == 127 {
                let mut l = [0u8; 8];
                self.tcp.read_exact(&mut l).expect("len64");
                len = u64::from_be_bytes(l);
            }
            let mut payload = vec![0u8; usize::try_from(len).expect("len")];
            if self.tcp.read_exact(&mut payload).is_err() {
                return (texts, None);
            }
            match h[0] & 0x0f {
                0x1 => texts.push(serde_json::from_slice(&payload).expect("JSON")),
                0x8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    return (texts, Some(code.unwrap_or(1005)));
                }
                _ => {}
            }
        }
    }
}

/// Reads an HTTP response from a raw socket: the status (`None`: closed without one).
pub fn read_status(s: &mut std::net::TcpStream) -> Option<u16> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split(' ').nth(1).and_then(|c| c.parse().ok())
}

/// The value of a counter or gauge in `/metrics`.
pub fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (_, body) = http(addr, "GET", "/metrics", &[], "");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in\n{body}"))
}
