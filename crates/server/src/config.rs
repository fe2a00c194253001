//! Everything the service can be told at start: book, database, tokens, limits, SLA thresholds.
//! `Config::new` gives the documented defaults; the CLI overrides them from flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use huashu_engine::Engine;
use huashu_store::Durability;

use crate::auth::Auth;
use crate::chatwoot::Chatwoot;

/// Per-connection token bucket: `per_sec` messages per second on average, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_sec: f64,
    pub burst: f64,
}

/// Protection limits (see docs/PROTOCOL.md "Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted text frame in bytes; bigger frames get `too_large` (connection kept).
    pub max_frame: usize,
    /// Frames above this are not even buffered: the connection is closed with 1009.
    pub hard_frame: usize,
    /// Largest `text` (turn or draft) in chars.
    pub max_text: usize,
    /// Longest ids (conversation, turn, draft, suggestion) in bytes.
    pub max_id: usize,
    pub rate: RateLimit,
    /// Open TCP connections (HTTP + WebSocket) before new ones are refused (503 for HTTP,
    /// `overloaded` + 1013 for WebSocket). `huashu serve` derives it from `RLIMIT_NOFILE`.
    pub max_connections: usize,
    /// Connections past `max_connections` that are still answered (503 / 1013) within
    /// `refusal_timeout`; beyond that a new socket is closed at once, so a flood can never
    /// exhaust the process's file descriptors.
    pub refusal_slots: usize,
    /// Time a refused connection gets to send its request head before it is just closed.
    pub refusal_timeout: Duration,
    /// Open connections from one IP address (0: no limit). See `per_ip_exempt_loopback`.
    pub max_per_ip: usize,
    /// Loopback peers are not counted per IP: behind a reverse proxy on the same host every
    /// client arrives from 127.0.0.1, and the total limit still applies.
    pub per_ip_exempt_loopback: bool,
    /// Time to send the whole HTTP request head.
    pub head_timeout: Duration,
    /// Time to send a declared HTTP body (`Content-Length`), counted from the end of the head.
    pub body_timeout: Duration,
    /// Largest HTTP request body; a bigger `Content-Length` is refused (413) before reading.
    pub max_body: usize,
    /// Time to send the `hello` after the WebSocket upgrade.
    pub hello_timeout: Duration,
    /// Time given to the best-effort close frame (after the outbound queue was dropped).
    pub close_timeout: Duration,
    /// Frames waiting for one connection before it counts as a slow consumer (closed 4008).
    pub outbound_queue: usize,
    /// WebSocket ping interval; a peer silent for two intervals is dropped.
    pub heartbeat: Duration,
    /// A single write that takes longer than this closes the connection.
    pub write_timeout: Duration,
    /// Conversations one connection may subscribe to.
    pub max_subscriptions: usize,
    /// tungstenite read buffer per connection (its 128 KiB default costs ~135 KB per socket).
    pub read_buffer: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 64 * 1024,
            hard_frame: 256 * 1024,
            max_text: 2000,
            max_id: 128,
            rate: RateLimit {
                per_sec: 50.0,
                burst: 100.0,
            },
            max_connections: 10_000,
            refusal_slots: 32,
            refusal_timeout: Duration::from_secs(1),
            max_per_ip: 1_000,
            per_ip_exempt_loopback: true,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
            hello_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(3),
            outbound_queue: 1024,
            heartbeat: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            max_subscriptions: 5_000,
            read_buffer: 4096,
        }
    }
}

/// Response-time thresholds (seed 002: answer within 8 s; 30 s is a breach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    pub warn: Duration,
    pub breach: Duration,
}

impl Default for Sla {
    fn default() -> Sla {
        Sla {
            warn: Duration::from_secs(8),
            breach: Duration::from_secs(30),
        }
    }
}

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Phrasebook directory: loaded at start (unless `engine` is given) and on every reload.
    pub phrasebooks: PathBuf,
    /// An already compiled engine for `phrasebooks` (saves compiling twice when the caller
    /// validated the book before binding).
    pub engine: Option<Arc<Engine>>,
    pub db: PathBuf,
    pub durability: Durability,
    pub auth: Auth,
    /// Chatwoot accounts whose webhooks `POST /integrations/chatwoot` accepts (empty: none).
    pub chatwoot: Chatwoot,
    /// Browser origins allowed besides the server's own (`http://host:port`).
    pub allowed_origins: Vec<String>,
    /// Refuse WebSocket upgrades without an `Origin` header. Off by default: browsers always
    /// send `Origin` on a WebSocket request, so a request without one is not a page's
    /// cross-site request (what the origin check prevents) but a server-side client
    /// (integration, loadgen), which could forge any `Origin` anyway; tokens still apply.
    pub require_origin: bool,
    pub limits: Limits,
    pub sla: Sla,
    /// Reload the book on SIGHUP (the CLI sets it; tests leave it off).
    pub reload_on_sighup: bool,
    /// Time given to open connections to close on shutdown.
    pub drain_timeout: Duration,
    /// The shop's order API (`--order-api`); `None`: no lookups, nothing changes.
    pub order_api: Option<crate::orders::OrderApi>,
}

impl Config {
    pub fn new(phrasebooks: impl Into<PathBuf>, db: impl Into<PathBuf>, auth: Auth) -> Config {
        Config {
            phrasebooks: phrasebooks.into(),
            engine: None,
            db: db.into(),
            durability: Durability::Normal,
            auth,
            chatwoot: Chatwoot::default(),
            allowed_origins: Vec::new(),
            require_origin: false,
            limits: Limits::default(),
            sla: Sla::default(),
            reload_on_sighup: false,
            drain_timeout: Duration::from_secs(5),
            order_api: None,
        }
    }
}
