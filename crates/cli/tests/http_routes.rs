//! The HTTP side over a real socket: every bad request as one row of a table (method, path,
//! headers, body → status, error code or `Allow`), and keep-alive (requests one after another
//! and pipelined on one connection; one-shot clients still get `Connection: close`).

mod server_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;
use server_support::*;

/// What a response must show besides its status.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A JSON `{"type":"error","code":…}` body with this code.
    Code(&'static str),
    /// `405` with this `Allow` header.
    Allow(&'static str),
    /// A plain-text body (404, 411, 426…).
    Text,
}

use Expect::*;

const ANALYZE: &str = r#"{"role":"customer","text":"快递怎么还没到"}"#;

/// (method, path, extra headers, body) → (status, what else).
#[allow(clippy::type_complexity)]
const CASES: &[(&str, &str, &[(&str, &str)], &str, u16, Expect)] = &[
    // A known path with another method: 405 and what it allows.
    ("GET", "/api/reload", &[], "", 405, Allow("POST")),
    ("GET", "/api/analyze", &[], "", 405, Allow("POST")),
    ("GET", "/api/book/check", &[], "", 405, Allow("POST")),
    ("GET", "/api/examples", &[], "", 405, Allow("POST")),
    ("GET", "/integrations/chatwoot", &[], "", 405, Allow("POST")),
    ("POST", "/", &[], "", 405, Allow("GET")),
    ("POST", "/healthz", &[], "", 405, Allow("GET")),
    ("DELETE", "/api/book", &[], "", 405, Allow("GET")),
    ("PUT", "/assets/console.js", &[], "", 405, Allow("GET")),
    // An unknown path, whatever the method: 404.
    ("GET", "/nope", &[], "", 404, Text),
    ("POST", "/nope", &[], "", 404, Text),
    ("GET", "/api/reload/now", &[], "", 404, Text),
    ("GET", "/assets/", &[], "", 404, Text),
    // Tokens, one helper for every route.
    ("POST", "/api/reload", &[], "", 401, Code("unauthorized")),
    (
        "POST",
        "/api/reload",
        &[("Authorization", "Bearer agent-a-secret")],
        "",
        401,
        Code("unauthorized"),
    ),
    (
        "POST",
        "/api/book/check",
        &[("Authorization", "Bearer super-a-secret")],
        "",
        401,
        Code("unauthorized"),
    ),
    (
        "POST",
        "/api/examples",
        &[("Authorization", "Bearer nope")],
        "{}",
        401,
        Code("unauthorized"),
    ),
    ("GET", "/api/analytics", &[], "", 401, Code("unauthorized")),
    (
        "GET",
        "/api/analytics?token=nope",
        &[],
        "",
        401,
        Code("unauthorized"),
    ),
    (
        "GET",
        "/api/analytics",
        &[("Authorization", "Bearer agent-a-secret")],
        "",
        403,
        Code("forbidden"),
    ),
    (
        "GET",
        "/api/analytics?shop=shop-b",
        &[("Authorization", "Bearer super-a-secret")],
        "",
        403,
        Code("forbidden"),
    ),
    (
        "POST",
        "/api/analyze",
        &[],
        ANALYZE,
        401,
        Code("unauthorized"),
    ),
    (
        "POST",
        "/api/analyze",
        &[("Authorization", "Bearer admin-secret")],
        ANALYZE,
        401,
        Code("unauthorized"),
    ),
    (
        "POST",
        "/integrations/chatwoot",
        &[],
        "{}",
        401,
        Code("unauthorized"),
    ),
    // Bodies.
    (
        "POST",
        "/api/analyze",
        &[("Authorization", "Bearer widget-a-secret")],
        "not json",
        400,
        Code("bad_json"),
    ),
    (
        "POST",
        "/api/analyze",
        &[("Authorization", "Bearer widget-a-secret")],
        r#"{"role":"robot","text":"x"}"#,
        400,
        Code("bad_json"),
    ),
    (
        "POST",
        "/api/analyze",
        &[("Authorization", "Bearer widget-a-secret")],
        r#"{"role":"customer"}"#,
        400,
        Code("bad_json"),
    ),
    (
        "POST",
        "/api/examples",
        &[("Authorization", "Bearer admin-secret")],
        r#"{"examples":7}"#,
        400,
        Code("bad_field"),
    ),
    // Framing.
    (
        "POST",
        "/api/analyze",
        &[("Content-Length", "3")],
        ANALYZE,
        400,
        Text,
    ),
    (
        "POST",
        "/api/analyze",
        &[("Transfer-Encoding", "chunked")],
        ANALYZE,
        411,
        Text,
    ),
    ("GET", "/ws", &[], "", 426, Text),
    // And what works, through the same table.
    ("GET", "/healthz", &[], "", 200, Text),
    (
        "GET",
        "/api/analytics",
        &[("Authorization", "Bearer admin-secret")],
        "",
        200,
        Text,
    ),
    (
        "POST",
        "/api/analyze",
        &[("Authorization", "Bearer widget-a-secret")],
        ANALYZE,
        200,
        Text,
    ),
];

/// One response read off a socket by its `Content-Length` (so a kept connection can go on).
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn read_reply(s: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut reply = Reply {
        status,
        head,
        body: String::new(),
    };
    let len: usize = reply.header("Content-Length")?.parse().ok()?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    reply.body = String::from_utf8_lossy(&body).into_owned();
    Some(reply)
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    // Always the true length; a row's own `Content-Length` makes a second one (refused).
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    req.push_str(body);
    req
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_status_and_the_server_keeps_serving() {
    let server = InProcess::start(|_| {}).await;
    let addr = server.addr;
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for (method, path, headers, body, status, expect) in CASES {
            let mut s = connect(addr);
            s.write_all(request(method, path, headers, body).as_bytes())
                .expect("write");
            let Some(r) = read_reply(&mut s) else {
                failures.push(format!("{method} {path}: no response"));
                continue;
            };
            let row = format!("{method} {path} {headers:?} {body:?}");
            if r.status != *status {
                failures.push(format!(
                    "{row}: status {} (want {status}) {}",
                    r.status, r.body
                ));
                continue;
            }
            match expect {
                Code(code) => {
                    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
                    if v["type"] != "error" || v["code"] != *code {
                        failures.push(format!("{row}: body {} (want code {code})", r.body));
                    }
                }
                Allow(allow) => {
                    if r.header("Allow") != Some(*allow) {
                        failures.push(format!(
                            "{row}: Allow {:?} (want {allow})",
                            r.header("Allow")
                        ));
                    }
                }
                Text => {}
            }
        }
        failures
    })
    .await
    .expect("client thread");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The server is still well: a console connects and a turn is acked.
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    w.send(turn("c-1", "m-1", "customer", "你好")).await;
    w.expect("ack").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_serves_requests_in_turn_and_pipelined() {
    let server = InProcess::start(|_| {}).await;
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        let auth = ("Authorization", "Bearer widget-a-secret");
        let keep = ("Connection", "keep-alive");
        let mut s = connect(addr);
        // One after another.
        for _ in 0..3 {
            s.write_all(request("POST", "/api/analyze", &[auth, keep], ANALYZE).as_bytes())
                .expect("write");
            let r = read_reply(&mut s).expect("reply on the kept connection");
            assert_eq!(
                (r.status, r.header("Connection")),
                (200, Some("keep-alive")),
                "{r:?}"
            );
            let v: Value = serde_json::from_str(&r.body).expect("JSON");
            assert!(
                v["intents"][0]["id"].is_string() && v["guard"].is_array(),
                "{v}"
            );
        }
        // Pipelined: three requests in one write (a GET, an API error, an analysis).
        let mut batch = request("GET", "/healthz", &[keep], "");
        batch.push_str(&request("GET", "/api/reload", &[keep], ""));
        batch.push_str(&request("POST", "/api/analyze", &[auth, keep], ANALYZE));
        s.write_all(batch.as_bytes()).expect("write");
        let statuses: Vec<u16> = (0..3)
            .map(|_| read_reply(&mut s).expect("pipelined reply").status)
            .collect();
        assert_eq!(statuses, [200, 405, 200]);
        // `Connection: close` ends it after the answer.
        s.write_all(request("GET", "/healthz", &[("Connection", "close")], "").as_bytes())
            .expect("write");
        let r = read_reply(&mut s).expect("last reply");
        assert_eq!(r.header("Connection"), Some("close"));
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "closed after the last answer");

        // A client that does not ask for keep-alive is answered and closed as before.
        let (status, body) = http(addr, "POST", "/api/analyze", &[auth], ANALYZE);
        assert_eq!(status, 200, "{body}");

        // A body left unread (refused before reading) cannot be taken for the next request:
        // the connection is closed after the 401.
        let mut s = connect(addr);
        s.write_all(request("POST", "/api/analyze", &[keep], ANALYZE).as_bytes())
            .expect("write");
        let r = read_reply(&mut s).expect("401");
        assert_eq!((r.status, r.header("Connection")), (401, Some("close")));
    })
    .await
    .expect("client thread");
    server.stop().await;
}
