//! Everything the service can be told at start: book, database, tokens, limits, SLA thresholds.
//! `Config::new` gives the documented defaults; the CLI overrides them from flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use huashu_engine::Engine;
use huashu_store::{Durability, Location};

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

/// The one time zone of the QA figures and the console clocks (`--tz`): local days of the
/// analytics, times on the QA page and in the console are all in it, and both pages label it.
/// Fixed offsets only (a zone with daylight saving time would need a tz database the binary
/// does not carry): the shops are in China, where Asia/Shanghai has no DST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    pub name: String,
    /// Minutes east of UTC.
    pub offset_min: i32,
}

/// Zone names `--tz` accepts besides `UTC±HH[:MM]` / `±HH:MM` (all without daylight saving).
const ZONES: &[(&str, i32)] = &[
    ("Asia/Shanghai", 480),
    ("Asia/Chongqing", 480),
    ("Asia/Hong_Kong", 480),
    ("Asia/Macau", 480),
    ("Asia/Taipei", 480),
    ("Asia/Singapore", 480),
    ("Asia/Kuala_Lumpur", 480),
    ("Asia/Manila", 480),
    ("Asia/Tokyo", 540),
    ("Asia/Seoul", 540),
    ("Asia/Bangkok", 420),
    ("Asia/Jakarta", 420),
    ("Asia/Ho_Chi_Minh", 420),
    ("Asia/Kolkata", 330),
    ("Asia/Dubai", 240),
    ("UTC", 0),
];

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone {
            name: "Asia/Shanghai".into(),
            offset_min: 480,
        }
    }
}

impl TimeZone {
    /// `Asia/Shanghai`, `UTC`, `UTC+8`, `+08:00`, `-05:30`.
    pub fn parse(s: &str) -> Result<TimeZone, String> {
        let s = s.trim();
        if let Some(&(name, offset_min)) = ZONES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            return Ok(TimeZone {
                name: name.into(),
                offset_min,
            });
        }
        let rest = s
            .strip_prefix("UTC")
            .or_else(|| s.strip_prefix("GMT"))
            .unwrap_or(s);
        let (sign, digits) = match rest.chars().next() {
            Some('+') => (1, &rest[1..]),
            Some('-') => (-1, &rest[1..]),
            _ => {
                return Err(format!(
                    "unknown time zone {s:?}: use a fixed offset such as +08:00 or one of {}",
                    ZONES.iter().map(|z| z.0).collect::<Vec<_>>().join(", ")
                ));
            }
        };
        let (h, m) = digits.split_once(':').unwrap_or((digits, "0"));
        let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
            return Err(format!("bad time zone offset {s:?} (expected ±HH:MM)"));
        };
        if h > 14 || m > 59 {
            return Err(format!("time zone offset {s:?} out of range"));
        }
        let offset_min = sign * (h * 60 + m);
        Ok(TimeZone {
            name: format!("UTC{}", offset_label(offset_min)),
            offset_min,
        })
    }

    /// `Asia/Shanghai (UTC+08:00)`.
    pub fn label(&self) -> String {
        let off = format!("UTC{}", offset_label(self.offset_min));
        if self.name == off {
            off
        } else {
            format!("{} ({off})", self.name)
        }
    }
}

fn offset_label(min: i32) -> String {
    let sign = if min < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", min.abs() / 60, min.abs() % 60)
}

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Phrasebook directory: loaded at start (unless `engine` is given) and on every reload.
    pub phrasebooks: PathBuf,
    /// An already compiled engine for `phrasebooks` (saves compiling twice when the caller
    /// validated the book before binding).
    pub engine: Option<Arc<Engine>>,
    /// The database: an SQLite file (the default) or PostgreSQL (`Location::parse`).
    pub db: Location,
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
    /// Labelled JSONL corpora (`huashu eval` format) the publishing gate evaluates both books
    /// on, besides the built-in agent lines and the book's own corpus (`--check-corpus`).
    pub check_corpus: Vec<PathBuf>,
    /// The time zone of the QA figures and of the console's clocks (`--tz`).
    pub tz: TimeZone,
    /// Reload the book on SIGHUP (the CLI sets it; tests leave it off).
    pub reload_on_sighup: bool,
    /// Time given to open connections to close on shutdown.
    pub drain_timeout: Duration,
    /// The shop's order API (`--order-api`); `None`: no lookups, nothing changes.
    pub order_api: Option<crate::orders::OrderApi>,
}

impl Config {
    pub fn new(phrasebooks: impl Into<PathBuf>, db: impl Into<Location>, auth: Auth) -> Config {
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
            check_corpus: Vec::new(),
            tz: TimeZone::default(),
            reload_on_sighup: false,
            drain_timeout: Duration::from_secs(5),
            order_api: None,
        }
    }
}

#[cfg(test)]
mod tz_tests {
    use super::TimeZone;

    #[test]
    fn time_zones_parse_and_label() {
        // (input, Some((name, offset, label)) or None = refused)
        type Want = Option<(&'static str, i32, &'static str)>;
        const CASES: &[(&str, Want)] = &[
            (
                "Asia/Shanghai",
                Some(("Asia/Shanghai", 480, "Asia/Shanghai (UTC+08:00)")),
            ),
            (
                "asia/tokyo",
                Some(("Asia/Tokyo", 540, "Asia/Tokyo (UTC+09:00)")),
            ),
            ("UTC", Some(("UTC", 0, "UTC (UTC+00:00)"))),
            ("UTC+8", Some(("UTC+08:00", 480, "UTC+08:00"))),
            ("+05:30", Some(("UTC+05:30", 330, "UTC+05:30"))),
            ("-03:00", Some(("UTC-03:00", -180, "UTC-03:00"))),
            ("Europe/Berlin", None),
            ("+25:00", None),
            ("+8x", None),
        ];
        for &(input, want) in CASES {
            let got = TimeZone::parse(input);
            match want {
                Some((name, off, label)) => {
                    let tz = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                    assert_eq!(
                        (tz.name.as_str(), tz.offset_min, tz.label().as_str()),
                        (name, off, label),
                        "{input}"
                    );
                }
                None => assert!(got.is_err(), "{input}: {got:?}"),
            }
        }
    }
}
