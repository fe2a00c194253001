//! Plain HTTP/1.1 on the WebSocket port, parsed with `httparse`. `GET /ws` with an upgrade is
//! answered `101` here and the socket is handed to tungstenite (with any bytes already read);
//! everything else is answered from one route table (`ROUTES`, plus the compiled-in `ASSETS`):
//! a known path with another method is `405` with `Allow`, an unknown path `404`. Every route
//! declares who may call it (`Access`) and `authorize` is the one place tokens are checked,
//! before a body is read.
//!
//! Keep-alive: a client that sends `Connection: keep-alive` (browsers, HTTP libraries, `wrk -H`)
//! gets its connection back for the next request, up to `head_timeout` idle; any other request
//! is answered with `Connection: close` as before, so one-shot clients that read to EOF work.
//!
//! Hand-rolled rather than hyper because the service needs a dozen routes and full control of
//! the upgrade (origin check, connection limit, small buffers); docs/LOAD.md has the
//! measurement that decided it.

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
#[derive(Debug)]
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
    // Generated from the Rust definitions (protocol/js.rs): message types, typedefs, labels.
    Asset {
        path: "/assets/protocol.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/protocol.js"),
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
    /// The client asked to keep the connection (`Connection: keep-alive`, no `close`).
    keep_alive: bool,
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

    /// Status and body, for callers that answer `(u16, String)` (the route modules' tests).
    #[cfg(test)]
    pub(crate) fn into_parts(self) -> (u16, String) {
        (self.status, self.body.into_owned())
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
    write_response_keep(tcp, r, false).await;
}

/// Writes the response; with `keep` the connection stays open for the next request (returns
/// whether the write succeeded), otherwise it is shut down.
async fn write_response_keep(tcp: &mut TcpStream, r: Response, keep: bool) -> bool {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{}\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len(),
        if keep { "keep-alive" } else { "close" },
        r.extra
    )
    .into_bytes();
    // One write for head and body: a kept connection's next request is not held back by
    // Nagle waiting for the ack of a separate small head segment.
    out.extend_from_slice(r.body.as_bytes());
    let written = tcp.write_all(&out).await.is_ok();
    if !keep {
        let _ = tcp.shutdown().await;
    }
    written && keep
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
                let has = |token: &str| {
                    value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case(token))
                };
                head.connection_upgrade = has("upgrade");
                head.keep_alive = has("keep-alive") && !has("close");
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
    read_head_after(tcp, Vec::new()).await
}

/// `read_head` on a kept connection: `buf` holds what was read past the previous request.
async fn read_head_after<R: AsyncRead + Unpin>(
    tcp: &mut R,
    mut buf: Vec<u8>,
) -> Result<(Head, Vec<u8>), Option<Response>> {
    let mut chunk = [0u8; 2048];
    loop {
        if !buf.is_empty()
            && let Some((head, len)) = parse_head(&buf).map_err(Some)?
        {
            return Ok((head, buf.split_off(len)));
        }
        let n = tcp.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Serves one accepted TCP connection: HTTP requests (several when the client keeps the
/// connection alive) or a WebSocket upgrade.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let limits = shared.config.limits.clone();
    let mut carried = Vec::new();
    let mut first = true;
    loop {
        let next = tokio::time::timeout(limits.head_timeout, read_head_after(&mut tcp, carried));
        let head = tokio::select! {
            h = next => h,
            // Between requests of a kept connection, shutdown just closes it.
            _ = shutdown.changed(), if !first => return,
        };
        let (head, rest) = match head {
            Ok(Ok(h)) => h,
            Ok(Err(Some(r))) => return write_response(&mut tcp, r).await,
            Ok(Err(None)) => return,
            // An idle kept connection is closed silently; a slow first head gets 408.
            Err(_) if !first => return,
            Err(_) => {
                shared.metrics.http_timeouts.fetch_add(1, Relaxed);
                return write_response(&mut tcp, Response::text(408, "request timeout\n")).await;
            }
        };
        if head.path == "/ws" {
            return upgrade(shared, tcp, head, rest, peer, shutdown, None).await;
        }
        first = false;
        shared.metrics.http_requests.fetch_add(1, Relaxed);
        let mut ex = Exchange {
            tcp: &mut tcp,
            head: &head,
            rest,
            consumed: false,
        };
        let response = route(&shared, &mut ex).await;
        // Reusable only when this request's bytes are all read (a body not read, or refused
        // before reading, would be taken for the next request) and the client asked.
        let Exchange { rest, consumed, .. } = ex;
        let clean = consumed || head.content_length.unwrap_or(0) == 0;
        let keep = head.keep_alive && clean && !*shutdown.borrow() && response.status != 408;
        if !write_response_keep(&mut tcp, response, keep).await {
            return;
        }
        carried = rest;
    }
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
/// sending one byte would otherwise hold the connection forever). The fuzz target's entry;
/// routes read through `Exchange::body`, which keeps what follows the body.
#[cfg(test)]
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    tcp: &mut R,
    head: &Head,
    body: Vec<u8>,
    max: usize,
    deadline: Duration,
) -> Result<Vec<u8>, Response> {
    read_body_rest(tcp, head, body, max, deadline)
        .await
        .map(|(body, _)| body)
}

/// `read_body`, also returning the bytes read past the body.
async fn read_body_rest<R: AsyncRead + Unpin>(
    tcp: &mut R,
    head: &Head,
    body: Vec<u8>,
    max: usize,
    deadline: Duration,
) -> Result<(Vec<u8>, Vec<u8>), Response> {
    let len = head.content_length.unwrap_or(0);
    if len > max {
        return Err(Response::error(413, ErrorCode::TooLarge, "body too large"));
    }
    match tokio::time::timeout(deadline, read_body_keep(tcp, len, body)).await {
        Ok(r) => r,
        Err(_) => Err(Response::text(408, "body timeout\n")),
    }
}

/// The body and what was read past it (the next request on a kept connection).
async fn read_body_keep<R: AsyncRead + Unpin>(
    tcp: &mut R,
    len: usize,
    mut body: Vec<u8>,
) -> Result<(Vec<u8>, Vec<u8>), Response> {
    let mut after = if body.len() > len {
        body.split_off(len)
    } else {
        Vec::new()
    };
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
        after.extend_from_slice(&chunk[take..n]);
    }
    Ok((body, after))
}

/// Who may call a route. `authorize` checks it before the handler runs (so before a body is
/// read): the one place huashu tokens are checked for HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone (pages, health, metrics, the book's name).
    Public,
    /// Any token of a shop; its grant says which shop.
    Token,
    /// A supervisor or any-role token of a shop, or the admin token (QA figures name agents).
    Supervisor,
    /// The admin token (publishing, writing the book on disk).
    Admin,
    /// Chatwoot's per-account webhook secret or signature, not a huashu token: checked by
    /// `chatwoot::authenticate` / `verify_signature` (the signature needs the body).
    Webhook,
}

/// Who is calling, once `authorize` let them in.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Anonymous,
    Admin,
    Shop(crate::auth::Grant),
    /// Not checked yet: the route's own webhook authentication decides.
    Webhook,
}

/// The token of a request: `Authorization: Bearer …`, else `?token=`.
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

/// Lets a token in for `access`, or answers 401/403 (a JSON `error` body).
pub(crate) fn authorize(
    auth: &crate::auth::Auth,
    token: Option<&str>,
    access: Access,
) -> Result<Caller, Response> {
    use crate::auth::TokenRole;
    let unauthorized = |m: &str| Response::error(401, ErrorCode::Unauthorized, m);
    match access {
        Access::Public => Ok(Caller::Anonymous),
        Access::Webhook => Ok(Caller::Webhook),
        Access::Admin => match token {
            Some(t) if auth.is_admin(t) => Ok(Caller::Admin),
            _ => Err(unauthorized("admin token required")),
        },
        Access::Token => match token.and_then(|t| auth.grant(t)) {
            Some(g) => Ok(Caller::Shop(g.clone())),
            None => Err(unauthorized("Bearer token required")),
        },
        Access::Supervisor => {
            let Some(t) = token else {
                return Err(unauthorized("Bearer token required"));
            };
            if auth.is_admin(t) {
                return Ok(Caller::Admin);
            }
            match auth.grant(t) {
                None => Err(unauthorized("unknown token")),
                Some(g) if matches!(g.role, TokenRole::Supervisor | TokenRole::Any) => {
                    Ok(Caller::Shop(g.clone()))
                }
                Some(_) => Err(Response::error(
                    403,
                    ErrorCode::Forbidden,
                    "supervisor or admin token required",
                )),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Healthz,
    Metrics,
    Book,
    Analytics,
    BookCheck,
    Examples,
    Reload,
    Chatwoot,
    Analyze,
}

/// One entry of the route table.
#[derive(Debug)]
struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: Handler,
}

const fn route_to(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every HTTP route besides `/ws` and the `ASSETS` (all `GET`, public). docs/PROTOCOL.md
/// "HTTP" lists the same table.
const ROUTES: &[Route] = &[
    route_to("GET", "/healthz", Access::Public, Handler::Healthz),
    route_to("GET", "/metrics", Access::Public, Handler::Metrics),
    route_to("GET", "/api/book", Access::Public, Handler::Book),
    route_to(
        "GET",
        "/api/analytics",
        Access::Supervisor,
        Handler::Analytics,
    ),
    route_to("POST", "/api/book/check", Access::Admin, Handler::BookCheck),
    route_to("POST", "/api/examples", Access::Admin, Handler::Examples),
    route_to("POST", "/api/reload", Access::Admin, Handler::Reload),
    route_to("POST", "/api/analyze", Access::Token, Handler::Analyze),
    route_to(
        "POST",
        "/integrations/chatwoot",
        Access::Webhook,
        Handler::Chatwoot,
    ),
];

/// What a request asks for.
#[derive(Debug)]
enum Target {
    Route(&'static Route),
    Asset(&'static Asset),
}

/// The route of `method path`: `404` for an unknown path, `405` with `Allow` for a known
/// path asked with another method.
fn resolve(method: &str, path: &str) -> Result<Target, Response> {
    if let Some(r) = ROUTES.iter().find(|r| r.path == path && r.method == method) {
        return Ok(Target::Route(r));
    }
    let asset = ASSETS.iter().find(|a| a.path == path);
    if let Some(a) = asset.filter(|_| method == "GET") {
        return Ok(Target::Asset(a));
    }
    let get = asset.is_some() || ROUTES.iter().any(|r| r.path == path && r.method == "GET");
    let post = ROUTES.iter().any(|r| r.path == path && r.method == "POST");
    let allow = match (get, post) {
        (false, false) => return Err(Response::text(404, "not found\n")),
        (true, false) => "Allow: GET\r\n",
        (false, true) => "Allow: POST\r\n",
        (true, true) => "Allow: GET, POST\r\n",
    };
    let mut r = Response::text(405, "method not allowed\n");
    r.extra = allow;
    Err(r)
}

/// One request being answered: the socket, its head, the bytes read past the head, and
/// whether the body was read (a kept connection goes on after it).
struct Exchange<'a> {
    tcp: &'a mut TcpStream,
    head: &'a Head,
    rest: Vec<u8>,
    consumed: bool,
}

impl Exchange<'_> {
    /// Reads the declared body (≤ `max`, within the body deadline); counts a timeout.
    async fn body(&mut self, shared: &Shared, max: usize) -> Result<Vec<u8>, Response> {
        let deadline = shared.config.limits.body_timeout;
        let rest = std::mem::take(&mut self.rest);
        match read_body_rest(self.tcp, self.head, rest, max, deadline).await {
            Ok((body, after)) => {
                self.rest = after;
                self.consumed = true;
                Ok(body)
            }
            Err(r) => {
                if r.status == 408 {
                    shared.metrics.http_timeouts.fetch_add(1, Relaxed);
                }
                Err(r)
            }
        }
    }
}

async fn route(shared: &Arc<Shared>, ex: &mut Exchange<'_>) -> Response {
    let head = ex.head;
    let route = match resolve(&head.method, &head.path) {
        Ok(Target::Route(r)) => r,
        Ok(Target::Asset(a)) => {
            return Response {
                status: 200,
                content_type: a.content_type,
                body: a.body.into(),
                extra: "",
            };
        }
        Err(r) => return r,
    };
    let token = bearer(head);
    let caller = match authorize(&shared.config.auth, token.as_deref(), route.access) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match route.handler {
        Handler::Healthz => Response::text(200, "ok\n"),
        Handler::Metrics => Response {
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
        Handler::Book => {
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
        Handler::Analytics => {
            let (status, body) = crate::analytics::figures(shared, &caller, &head.query).await;
            Response::json(status, body)
        }
        Handler::BookCheck => {
            let (status, body) = crate::publish::dry_run(shared, &head.query).await;
            Response::json(status, body)
        }
        Handler::Examples => {
            let body = match ex.body(shared, shared.config.limits.max_body).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let (status, body) = crate::labels::post(shared, &body).await;
            Response::json(status, body)
        }
        Handler::Reload => match shared.reload().await {
            Ok(m) => Response::json(
                200,
                serde_json::json!({"ok": true, "book": {"name": m.name, "version": m.version, "hash": m.hash}}).to_string(),
            ),
            Err(problems) => Response::json(
                422,
                serde_json::json!({"ok": false, "error": problems.summary(), "refusals": problems.refusals, "problems": crate::publish::problems_json(&problems)})
                    .to_string(),
            ),
        },
        Handler::Chatwoot => {
            // A secret is checked before the body is read; Chatwoot's signature needs the body.
            let by_secret =
                crate::chatwoot::authenticate(shared, &head.query, head.huashu_secret.as_deref());
            let signature = head.chatwoot_signature.as_deref();
            if by_secret.is_none() && !crate::chatwoot::may_be_signed(shared, signature) {
                return Response::error(401, ErrorCode::Unauthorized, "Chatwoot secret required");
            }
            let body = match ex.body(shared, crate::chatwoot::MAX_BODY).await {
                Ok(b) => b,
                Err(r) => return r,
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
        Handler::Analyze => {
            let Caller::Shop(grant) = caller else {
                return Response::error(401, ErrorCode::Unauthorized, "Bearer token required");
            };
            let body = match ex.body(shared, shared.config.limits.max_body).await {
                Ok(b) => b,
                Err(r) => return r,
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
    }
}
