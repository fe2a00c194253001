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

pub fn two_shops() -> Auth {
    Auth::new()
        .with_token(WIDGET_A, TokenRole::Widget, "shop-a", None)
        .with_token(AGENT_A, TokenRole::Agent, "shop-a", Some("a-1"))
        .with_token(SUPER_A, TokenRole::Supervisor, "shop-a", None)
        .with_token(WIDGET_B, TokenRole::Widget, "shop-b", None)
        .with_token(AGENT_B, TokenRole::Agent, "shop-b", None)
        .with_admin(ADMIN)
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

    pub async fn hello(url: &str, role: &str, token: &str) -> Client {
        let mut c = Client::connect(url).await;
        c.send(json!({"type":"hello","role":role,"token":token}))
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
