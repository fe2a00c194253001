//! Plain HTTP/1.1 on the WebSocket port: one request per connection (`Connection: close`),
//! parsed with `httparse`. `GET /ws` with an upgrade is answered `101` here and the socket is
//! handed to tungstenite (with any bytes already read); everything else is answered directly:
//! pages, `/healthz`, `/metrics` and the JSON API.
//!
//! Hand-rolled rather than a web framework because the service needs five routes and full
//! control of the upgrade (origin check, connection limit, small buffers).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use futures_util::StreamExt;
use serde::Deserialize;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};

use crate::admission::Refusal;
use crate::protocol::{ClientError, ErrorCode, Speaker, to_json};
use crate::shared::Shared;

const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 48;

/// A static page or script, compiled into the binary.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/console.html"),
    },
    Asset {
        path: "/demo",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/demo.html"),
    },
    Asset {
        path: "/sdk/huashu.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/huashu.js"),
    },
    Asset {
        path: "/assets/console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/console.js"),
    },
    Asset {
        path: "/assets/console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/console.css"),
    },
    Asset {
        path: "/assets/demo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/demo.js"),
    },
    Asset {
        path: "/assets/demo.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/demo.css"),
    },
    Asset {
        path: "/assets/qa.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/qa.html"),
    },
    // QA page (质检看板): analytics and the publishing dry run.
    Asset {
        path: "/qa",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/qa.html"),
    },
    Asset {
        path: "/assets/qa.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/qa.js"),
    },
    // Chatwoot Dashboard App (an iframe beside Chatwoot's conversation view).
    Asset {
        path: "/chatwoot/app",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/chatwoot-app.html"),
    },
    Asset {
        path: "/assets/chatwoot-app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/chatwoot-app.js"),
    },
    Asset {
        path: "/assets/labels.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/labels.js"),
    },
    Asset {
        path: "/assets/huashu.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/huashu.js"),
    },
];

/// The parts of a request head the routes need.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    host: Option<String>,
    origin: Option<String>,
    authorization: Option<String>,
    /// `X-Huashu-Secret`: the Chatwoot webhook secret, when not in the query.
    huashu_secret: Option<String>,
    /// Chatwoot's own signature of a webhook delivery, and its timestamp.
    chatwoot_signature: Option<String>,
    chatwoot_timestamp: Option<String>,
    upgrade_websocket: bool,
    connection_upgrade: bool,
    ws_key: Option<String>,
    ws_version: Option<String>,
    pub(crate) content_length: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    content_type: &'static str,
    body: std::borrow::Cow<'static, str>,
    extra: &'static str,
}

impl Response {
    fn json(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: body.into(),
            extra: "",
        }
    }

    fn text(status: u16, body: &'static str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            extra: "",
        }
    }

    fn error(status: u16, code: ErrorCode, message: &str) -> Response {
        Response::json(status, ClientError::new(code, message).frame())
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        411 => "Length Required",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

async fn write_response(tcp: &mut TcpStream, r: Response) {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{}\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len(),
        r.extra
    );
    let _ = tcp.write_all(head.as_bytes()).await;
    let _ = tcp.write_all(r.body.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

/// Parses a request head from the bytes read so far: `Ok(None)` while it is incomplete,
/// `Ok(Some((head, len)))` once complete (`len` bytes of `buf` are the head), or the response to
/// send instead. Pure, so the fuzz target drives it with arbitrary bytes.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => {
            return Err(Response::text(431, "request head too large\n"));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Response::text(431, "too many headers\n"));
        }
        Err(_) => return Err(Response::text(400, "bad request\n")),
    };
    if len > MAX_HEAD {
        return Err(Response::text(431, "request head too large\n"));
    }
    let mut head = Head {
        method: req.method.unwrap_or("").to_string(),
        ..Head::default()
    };
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    head.path = path.to_string();
    head.query = query.to_string();
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_string();
        match h.name.to_ascii_lowercase().as_str() {
            "host" => head.host = Some(value),
            "origin" => head.origin = Some(value),
            "authorization" => head.authorization = Some(value),
            "x-huashu-secret" => head.huashu_secret = Some(value),
            "x-chatwoot-signature" => head.chatwoot_signature = Some(value),
            "x-chatwoot-timestamp" => head.chatwoot_timestamp = Some(value),
            "upgrade" => head.upgrade_websocket = value.eq_ignore_ascii_case("websocket"),
            "connection" => {
                head.connection_upgrade = value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            }
            "sec-websocket-key" => head.ws_key = Some(value),
            "sec-websocket-version" => head.ws_version = Some(value),
            "content-length" => {
                // Request smuggling guard: one Content-Length, plain decimal digits.
                let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<usize>().ok())
                    .flatten();
                match (head.content_length, parsed) {
                    (None, Some(n)) => head.content_length = Some(n),
                    _ => return Err(Response::text(400, "bad Content-Length\n")),
                }
            }
            "transfer-encoding" => {
                return Err(Response::text(411, "chunked bodies are not supported\n"));
            }
            _ => {}
        }
    }
    Ok(Some((head, len)))
}

/// Reads the request head: `Ok((head, bytes after it))`, or the response to send instead
/// (`None`: the peer went away). The caller bounds it with the head deadline.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(
    tcp: &mut R,
) -> Result<(Head, Vec<u8>), Option<Response>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = tcp.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) = parse_head(&buf).map_err(Some)? {
            return Ok((head, buf[len..].to_vec()));
        }
    }
}

/// Serves one accepted TCP connection (HTTP request or WebSocket upgrade).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let limits = shared.config.limits.clone();
    let head = tokio::time::timeout(limits.head_timeout, read_head(&mut tcp)).await;
    let (head, rest) = match head {
        Ok(Ok(h)) => h,
        Ok(Err(Some(r))) => return write_response(&mut tcp, r).await,
        Ok(Err(None)) => return,
        Err(_) => {
            shared.metrics.http_timeouts.fetch_add(1, Relaxed);
            return write_response(&mut tcp, Response::text(408, "request timeout\n")).await;
        }
    };
    if head.path == "/ws" {
        return upgrade(shared, tcp, head, rest, peer, shutdown, None).await;
    }
    shared.metrics.http_requests.fetch_add(1, Relaxed);
    let response = route(&shared, &mut tcp, &head, rest).await;
    write_response(&mut tcp, response).await;
}

/// Answers a connection the admission refused: 503 for HTTP, `overloaded` then 1013 for a
/// WebSocket, all under the short refusal deadline (a silent socket is just closed).
pub(crate) async fn refuse(
    shared: &Arc<Shared>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    why: Refusal,
) {
    shared.metrics.refused_connections.fetch_add(1, Relaxed);
    let limits = &shared.config.limits;
    let answer = async {
        let (head, rest) = match read_head(&mut tcp).await {
            Ok(h) => h,
            Err(Some(r)) => return write_response(&mut tcp, r).await,
            Err(None) => return,
        };
        if head.path == "/ws" {
            let (_, never) = watch::channel(false);
            return upgrade(Arc::clone(shared), tcp, head, rest, peer, never, Some(why)).await;
        }
        let mut r = Response::error(503, ErrorCode::Overloaded, why.message());
        r.extra = "Retry-After: 1\r\n";
        write_response(&mut tcp, r).await
    };
    let _ = tokio::time::timeout(limits.refusal_timeout + limits.close_timeout, answer).await;
}

fn origin_allowed(shared: &Shared, head: &Head) -> bool {
    let Some(origin) = &head.origin else {
        // Not a browser (browsers always send Origin on WebSocket requests); tokens still
        // apply. `require_origin` refuses such clients too (docs/SECURITY.md).
        return !shared.config.require_origin;
    };
    let same = head.host.as_ref().is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, o)| o.eq_ignore_ascii_case(host))
    });
    same || shared
        .config
        .allowed_origins
        .iter()
        .any(|a| a.eq_ignore_ascii_case(origin))
}

async fn upgrade(
    shared: Arc<Shared>,
    mut tcp: TcpStream,
    head: Head,
    rest: Vec<u8>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    refused: Option<Refusal>,
) {
    if head.method != "GET" || !head.upgrade_websocket || !head.connection_upgrade {
        return write_response(
            &mut tcp,
            Response::text(426, "WebSocket upgrade required at /ws\n"),
        )
        .await;
    }
    let Some(key) = head.ws_key.as_deref() else {
        return write_response(&mut tcp, Response::text(400, "missing Sec-WebSocket-Key\n")).await;
    };
    if head.ws_version.as_deref() != Some("13") {
        let mut r = Response::text(426, "unsupported WebSocket version\n");
        r.extra = "Sec-WebSocket-Version: 13\r\n";
        return write_response(&mut tcp, r).await;
    }
    if !origin_allowed(&shared, &head) {
        tracing::info!(%peer, origin = ?head.origin, "WebSocket origin refused");
        return write_response(
            &mut tcp,
            Response::error(403, ErrorCode::Forbidden, "origin not allowed"),
        )
        .await;
    }
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if tcp.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let limits = &shared.config.limits;
    let config = WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.hard_frame * 4)
        .max_message_size(Some(limits.hard_frame))
        .max_frame_size(Some(limits.hard_frame));
    let ws = WebSocketStream::from_partially_read(tcp, rest, WsRole::Server, Some(config)).await;
    let (sink, stream) = ws.split();
    crate::connection::serve(shared, stream, sink, shutdown, refused).await;
}

fn bearer(head: &Head) -> Option<String> {
    let header = head.authorization.as_deref().and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(|t| t.trim().to_string())
    });
    if header.is_some() {
        return header;
    }
    query_params(&head.query).remove("token")
}

/// Decodes `a=b&c=d` with `%XX` and `+` escapes; later keys win.
pub(crate) fn query_params(query: &str) -> std::collections::HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |b: u8| (b as char).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Reads the declared body: refused (413) before reading when over `max`, and 408 when it does
/// not arrive within `deadline` (the slow-body attack: a token holder declaring 60 KB and
/// sending one byte would otherwise hold the connection forever).
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    tcp: &mut R,
    head: &Head,
    body: Vec<u8>,
    max: usize,
    deadline: Duration,
) -> Result<Vec<u8>, Response> {
    let len = head.content_length.unwrap_or(0);
    if len > max {
        return Err(Response::error(413, ErrorCode::TooLarge, "body too large"));
    }
    match tokio::time::timeout(deadline, read_body_bytes(tcp, len, body)).await {
        Ok(r) => r,
        Err(_) => Err(Response::text(408, "body timeout\n")),
    }
}

async fn read_body_bytes<R: AsyncRead + Unpin>(
    tcp: &mut R,
    len: usize,
    mut body: Vec<u8>,
) -> Result<Vec<u8>, Response> {
    body.truncate(len);
    let mut chunk = [0u8; 4096];
    while body.len() < len {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|_| Response::text(400, "bad request\n"))?;
        if n == 0 {
            return Err(Response::text(400, "truncated body\n"));
        }
        let take = n.min(len - body.len());
        body.extend_from_slice(&chunk[..take]);
    }
    Ok(body)
}

async fn route(shared: &Arc<Shared>, tcp: &mut TcpStream, head: &Head, rest: Vec<u8>) -> Response {
    let method = head.method.as_str();
    match (method, head.path.as_str()) {
        ("GET", "/healthz") => Response::text(200, "ok\n"),
        ("GET", "/metrics") => Response {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: {
                let mut m = shared.metrics.render(shared.engine().meta());
                m.push_str(&format!(
                    "# HELP huashu_open_connections TCP connections holding a slot.\n# TYPE huashu_open_connections gauge\nhuashu_open_connections {}\n",
                    shared.admission.open()
                ));
                if let Some(orders) = &shared.orders {
                    orders.stats.render(&mut m);
                }
                m.into()
            },
            extra: "",
        },
        ("GET", "/api/book") => {
            let engine = shared.engine();
            let book = engine.book();
            let m = &book.meta;
            Response::json(
                200,
                serde_json::json!({
                    "name": m.name, "version": m.version, "hash": m.hash, "description": m.description,
                    "counts": {"rules": book.rules.len(), "intents": book.intents.len(),
                               "scripts": book.scripts.len(), "faq": book.faq.len()},
                })
                .to_string(),
            )
        }
        ("GET", "/api/analytics") => {
            let (status, body) = crate::analytics::get(shared, bearer(head), &head.query).await;
            Response::json(status, body)
        }
        ("POST", "/api/book/check") => {
            let (status, body) = crate::publish::check(shared, bearer(head), &head.query).await;
            Response::json(status, body)
        }
        ("POST", "/api/examples") => {
            if !bearer(head).is_some_and(|t| shared.config.auth.is_admin(&t)) {
                return Response::error(401, ErrorCode::Unauthorized, "admin token required");
            }
            let limits = &shared.config.limits;
            let body = match read_body(tcp, head, rest, limits.max_body, limits.body_timeout).await
            {
                Ok(b) => b,
                Err(r) => {
                    if r.status == 408 {
                        shared.metrics.http_timeouts.fetch_add(1, Relaxed);
                    }
                    return r;
                }
            };
            let (status, body) = crate::labels::post(shared, bearer(head), &body).await;
            Response::json(status, body)
        }
        ("POST", "/api/reload") => {
            if !bearer(head).is_some_and(|t| shared.config.auth.is_admin(&t)) {
                return Response::error(401, ErrorCode::Unauthorized, "admin token required");
            }
            match shared.reload().await {
                Ok(m) => Response::json(
                    200,
                    serde_json::json!({"ok": true, "book": {"name": m.name, "version": m.version, "hash": m.hash}}).to_string(),
                ),
                Err(problems) => Response::json(
                    422,
                    serde_json::json!({"ok": false, "error": problems.summary(), "refusals": problems.refusals, "problems": crate::publish::problems_json(&problems)})
                        .to_string(),
                ),
            }
        }
        ("POST", "/integrations/chatwoot") => {
            // A secret is checked before the body is read; Chatwoot's signature needs the body.
            let by_secret =
                crate::chatwoot::authenticate(shared, &head.query, head.huashu_secret.as_deref());
            let signature = head.chatwoot_signature.as_deref();
            if by_secret.is_none() && !crate::chatwoot::may_be_signed(shared, signature) {
                return Response::error(401, ErrorCode::Unauthorized, "Chatwoot secret required");
            }
            let deadline = shared.config.limits.body_timeout;
            let body = match read_body(tcp, head, rest, crate::chatwoot::MAX_BODY, deadline).await {
                Ok(b) => b,
                Err(r) => {
                    if r.status == 408 {
                        shared.metrics.http_timeouts.fetch_add(1, Relaxed);
                    }
                    return r;
                }
            };
            let timestamp = head.chatwoot_timestamp.as_deref();
            let Some(account) = by_secret
                .or_else(|| crate::chatwoot::verify_signature(shared, timestamp, signature, &body))
            else {
                return Response::error(401, ErrorCode::Unauthorized, "bad Chatwoot signature");
            };
            let (status, body) = crate::chatwoot::webhook(shared, account, &body).await;
            Response::json(status, body)
        }
        ("POST", "/api/analyze") => {
            let Some(grant) = bearer(head).and_then(|t| shared.config.auth.grant(&t).cloned())
            else {
                return Response::error(401, ErrorCode::Unauthorized, "Bearer token required");
            };
            let limits = &shared.config.limits;
            let body = match read_body(tcp, head, rest, limits.max_body, limits.body_timeout).await
            {
                Ok(b) => b,
                Err(r) => {
                    if r.status == 408 {
                        shared.metrics.http_timeouts.fetch_add(1, Relaxed);
                    }
                    return r;
                }
            };
            #[derive(Deserialize)]
            struct Req {
                role: Speaker,
                text: String,
                conversation: Option<String>,
            }
            let req: Req = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => return Response::error(400, ErrorCode::BadJson, &e.to_string()),
            };
            if req.text.chars().count() > shared.config.limits.max_text {
                return Response::error(413, ErrorCode::TooLarge, "text too long");
            }
            match shared
                .analyze(
                    &grant.shop,
                    req.role,
                    &req.text,
                    req.conversation.as_deref(),
                )
                .await
            {
                Ok(line) => Response::json(200, to_json(&line)),
                Err(e) => {
                    let status = if e.code == ErrorCode::Forbidden {
                        403
                    } else {
                        500
                    };
                    Response::json(status, e.frame())
                }
            }
        }
        ("GET", path) => match ASSETS.iter().find(|a| a.path == path) {
            Some(a) => Response {
                status: 200,
                content_type: a.content_type,
                body: a.body.into(),
                extra: "",
            },
            None => Response::text(404, "not found\n"),
        },
        (_, "/api/reload" | "/api/analyze" | "/integrations/chatwoot") => {
            Response::text(405, "use POST\n")
        }
        _ => Response::text(405, "method not allowed\n"),
    }
}
