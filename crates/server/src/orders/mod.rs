//! Order and logistics lookup in the shop's own order API, so that scripts state an order's
//! status only from data (`{订单状态}`, `{物流状态}`, `{发货时间}`, `{签收时间}`) and the console
//! shows an order card.
//!
//! A shop points huashu at an HTTP GET URL template (`--order-api
//! 'http://127.0.0.1:9000/orders/{订单号}'`, optionally `{店铺}`) with a bearer secret. The JSON
//! it must answer is documented in docs/ORDERS.md and typed here ([`Order`]).
//!
//! A slow or dead shop API never delays a turn: the turn is analysed, committed, acked and
//! pushed as before; only then, when the turn carried an order number, a task looks the order
//! up (≤ 300 ms for the whole exchange), and on an answer pushes an additive `order` event and a
//! refreshed `suggestions` event with the order slots filled. Answers are cached per (shop,
//! order) for a minute (bounded), "not found" included; after `breaker_failures` failures in a
//! row the circuit breaker skips lookups for a cool-down, then lets one trial through.
//!
//! Shared state: the cache and the breaker are `std::sync::Mutex`es held for a few map
//! operations, never across an await (lookups of different orders run concurrently).

mod client;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use huashu_store::NewEvent;
use serde::{Deserialize, Serialize};

use crate::hub::Conversation;
#[cfg(test)]
use crate::protocol::to_json;
use crate::protocol::{self, Outbound};
use crate::shared::Shared;

/// Placeholder for the order number in the URL template.
pub const ORDER_PLACEHOLDER: &str = "{订单号}";
/// Placeholder for the shop id in the URL template (optional).
pub const SHOP_PLACEHOLDER: &str = "{店铺}";
/// The longest lookup allowed (issue 10: a turn is never delayed, and a card that comes later
/// than this is of little use while the agent is typing).
pub const MAX_TIMEOUT: Duration = Duration::from_millis(300);

/// A configuration the service cannot use.
#[derive(Debug, thiserror::Error)]
pub enum OrderApiError {
    #[error("--order-api must start with http:// (https is not supported; see docs/ORDERS.md)")]
    NotHttp,
    #[error("--order-api has no host")]
    NoHost,
    #[error("--order-api has a bad port")]
    BadPort,
    #[error("--order-api must contain {ORDER_PLACEHOLDER}")]
    NoPlaceholder,
    #[error("the order API token must be one line of visible ASCII")]
    BadToken,
    #[error("the order API timeout must be between 1 and 300 ms")]
    BadTimeout,
}

/// Where and how to look orders up (`huashu serve --order-api …`).
#[derive(Clone)]
pub struct OrderApi {
    host: String,
    port: u16,
    /// `host[:port]` as written, for the Host header.
    authority: String,
    /// Path and query with the placeholders.
    path: String,
    token: Option<String>,
    /// Deadline of one whole lookup (connect, request, response).
    pub timeout: Duration,
    /// How long an answer (found or not found) is reused.
    pub cache_ttl: Duration,
    /// Answers cached at most.
    pub cache_size: usize,
    /// Failures in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips lookups before one trial.
    pub breaker_cooldown: Duration,
}

impl std::fmt::Debug for OrderApi {
    // Never print the bearer secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderApi")
            .field("url", &format!("http://{}{}", self.authority, self.path))
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("timeout", &self.timeout)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_size", &self.cache_size)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

impl OrderApi {
    /// Parses a URL template `http://host[:port]/path…{订单号}…` with the default limits
    /// (300 ms, 60 s × 1,024 cached answers, breaker after 5 failures for 30 s).
    pub fn new(template: &str) -> Result<OrderApi, OrderApiError> {
        let rest = template
            .trim()
            .strip_prefix("http://")
            .ok_or(OrderApiError::NotHttp)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if !template.contains(ORDER_PLACEHOLDER) {
            return Err(OrderApiError::NoPlaceholder);
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| OrderApiError::BadPort)?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || authority.contains('@') {
            return Err(OrderApiError::NoHost);
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(OrderApi {
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            path,
            token: None,
            timeout: MAX_TIMEOUT,
            cache_ttl: Duration::from_secs(60),
            cache_size: 1024,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        })
    }

    /// The bearer secret sent as `Authorization: Bearer …`.
    pub fn with_token(mut self, token: &str) -> Result<OrderApi, OrderApiError> {
        let t = token.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OrderApiError::BadToken);
        }
        self.token = Some(t.to_string());
        Ok(self)
    }

    /// Sets the lookup deadline (1–300 ms).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<OrderApi, OrderApiError> {
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(OrderApiError::BadTimeout);
        }
        self.timeout = timeout;
        Ok(self)
    }

    fn path_for(&self, shop: &str, order: &str) -> String {
        self.path
            .replace(ORDER_PLACEHOLDER, &percent_encode(order))
            .replace(SHOP_PLACEHOLDER, &percent_encode(shop))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The JSON contract (docs/ORDERS.md)

/// Order statuses of the contract, with the Chinese the agent reads and the slots state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unpaid,
    Paid,
    Shipped,
    InTransit,
    Delivering,
    Signed,
    Cancelled,
    Refunding,
    Refunded,
}

impl OrderStatus {
    pub fn display(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "待付款",
            OrderStatus::Paid => "已付款，待发货",
            OrderStatus::Shipped => "已发货",
            OrderStatus::InTransit => "运输中",
            OrderStatus::Delivering => "派送中",
            OrderStatus::Signed => "已签收",
            OrderStatus::Cancelled => "已取消",
            OrderStatus::Refunding => "退款中",
            OrderStatus::Refunded => "已退款",
        }
    }
}

/// A timestamp as the shop API may send it: epoch milliseconds or a display string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawTime {
    Ms(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
struct RawItem {
    title: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    quantity: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RawOrder {
    #[serde(default)]
    id: Option<String>,
    status: OrderStatus,
    #[serde(default)]
    items: Vec<RawItem>,
    #[serde(default)]
    shipped_at: Option<RawTime>,
    #[serde(default)]
    signed_at: Option<RawTime>,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    tracking: Option<String>,
    #[serde(default)]
    logistics: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub quantity: u32,
}

/// An order as pushed in the `order` event (display-ready, bounded, only contract fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    /// Chinese display of `status`.
    pub status_text: &'static str,
    pub items: Vec<OrderItem>,
    /// `YYYY-MM-DD HH:MM` (Beijing time) or the shop's own display string.
    pub shipped_at: Option<String>,
    pub signed_at: Option<String>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    /// The latest logistics event as the shop API words it (【杭州】已到达杭州转运中心).
    pub logistics: Option<String>,
}

const MAX_ITEMS: usize = 20;

/// Trims, drops control characters and braces (a slot value never looks like a slot), caps
/// the length; empty → None.
fn clean(s: Option<String>, max: usize) -> Option<String> {
    let s = s?;
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_control() && *c != '{' && *c != '}')
        .take(max)
        .collect();
    (!t.trim().is_empty()).then(|| t.trim().to_string())
}

fn time_text(t: Option<RawTime>) -> Option<String> {
    match t? {
        RawTime::Ms(ms) => beijing_time(ms),
        RawTime::Text(s) => clean(Some(s), 32),
    }
}

/// Epoch ms → `YYYY-MM-DD HH:MM` in UTC+8 (the shops huashu serves are in China).
fn beijing_time(ms: i64) -> Option<String> {
    if ms <= 0 {
        return None;
    }
    let secs = ms / 1000 + 8 * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    ))
}

impl Order {
    /// Validates a response body for order `asked`.
    fn parse(body: &[u8], asked: &str) -> Result<Order, String> {
        let raw: RawOrder = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if let Some(id) = &raw.id
            && id.trim() != asked
        {
            return Err(format!("answered order {id:?} for {asked:?}"));
        }
        let items = raw
            .items
            .into_iter()
            .take(MAX_ITEMS)
            .filter_map(|i| {
                Some(OrderItem {
                    title: clean(Some(i.title), 60)?,
                    sku: clean(i.sku, 64),
                    quantity: i.quantity.unwrap_or(1).clamp(1, 9999),
                })
            })
            .collect();
        Ok(Order {
            id: asked.to_string(),
            status: raw.status,
            status_text: raw.status.display(),
            items,
            shipped_at: time_text(raw.shipped_at),
            signed_at: time_text(raw.signed_at),
            carrier: clean(raw.carrier, 16),
            tracking: clean(raw.tracking, 40),
            logistics: clean(raw.logistics, 80),
        })
    }

    /// The script slots this order fills: (slot, value). Only facts the API sent.
    pub(crate) fn slots(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("订单状态", self.status_text.to_string())];
        if let Some(l) = &self.logistics {
            out.push(("物流状态", l.clone()));
        }
        if let Some(t) = &self.shipped_at {
            out.push(("发货时间", t.clone()));
        }
        if let Some(t) = &self.signed_at {
            out.push(("签收时间", t.clone()));
        }
        out
    }
}

/// The slots an order lookup fills (cleared when a lookup finds another order or none).
pub(crate) const ORDER_SLOTS: &[&str] = &["订单状态", "物流状态", "发货时间", "签收时间"];

// ---------------------------------------------------------------------------------------------
// Cache, breaker, lookup

/// What a lookup came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lookup {
    Found(Order),
    NotFound,
    /// Timed out, could not connect, or answered something outside the contract.
    Failed(String),
    /// The breaker is open: the API was not asked.
    Skipped,
}

#[derive(Debug)]
struct Cached {
    at: Instant,
    found: Option<Order>,
}

/// Circuit breaker over consecutive failures; time is passed in, so it is tested without
/// sleeping.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    /// When the one trial after a cool-down started (others are skipped meanwhile).
    trial_since: Option<Instant>,
}

impl Breaker {
    /// Whether a lookup may go out now.
    pub(crate) fn allow(&mut self, now: Instant, timeout: Duration) -> bool {
        match self.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) => {
                // A trial whose task died (shutdown) must not wedge the breaker open.
                let trial_running = self
                    .trial_since
                    .is_some_and(|t| now.saturating_duration_since(t) < timeout * 2);
                if trial_running {
                    return false;
                }
                self.trial_since = Some(now);
                true
            }
        }
    }

    pub(crate) fn success(&mut self) {
        *self = Breaker::default();
    }

    pub(crate) fn failure(&mut self, now: Instant, limit: u32, cooldown: Duration) {
        if self.open_until.is_some() {
            // The trial failed: another cool-down.
            self.open_until = Some(now + cooldown);
            self.trial_since = None;
            return;
        }
        self.failures += 1;
        if self.failures >= limit.max(1) {
            self.failures = 0;
            self.open_until = Some(now + cooldown);
        }
    }

    pub(crate) fn is_open(&self, now: Instant) -> bool {
        self.open_until.is_some_and(|u| now < u)
    }
}

/// Lookup counters (exposed on /metrics).
#[derive(Debug, Default)]
pub(crate) struct OrderStats {
    pub(crate) found: AtomicU64,
    pub(crate) not_found: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
}

impl OrderStats {
    /// Appends the Prometheus lines (`huashu_order_lookups_total{result=…}`).
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP huashu_order_lookups_total Order API lookups by result (cache hits and breaker skips included).\n# TYPE huashu_order_lookups_total counter"
        );
        for (result, n) in [
            ("found", &self.found),
            ("not_found", &self.not_found),
            ("failed", &self.failed),
            ("skipped", &self.skipped),
            ("cache_hit", &self.cache_hits),
        ] {
            let _ = writeln!(
                out,
                "huashu_order_lookups_total{{result=\"{result}\"}} {}",
                n.load(Relaxed)
            );
        }
    }
}

/// The order API client of one service: configuration, cache, breaker, counters.
#[derive(Debug)]
pub(crate) struct Orders {
    api: OrderApi,
    cache: Mutex<HashMap<(String, String), Cached>>,
    breaker: Mutex<Breaker>,
    pub(crate) stats: OrderStats,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only plain map/struct updates happen under these locks; a poisoned one is still valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Orders {
    pub(crate) fn new(api: OrderApi) -> Orders {
        Orders {
            api,
            cache: Mutex::new(HashMap::new()),
            breaker: Mutex::new(Breaker::default()),
            stats: OrderStats::default(),
        }
    }

    /// Looks order `id` of `shop` up: from the cache when fresh, else from the API unless the
    /// breaker is open. Never takes longer than the configured timeout.
    pub(crate) async fn lookup(&self, shop: &str, id: &str) -> Lookup {
        let key = (shop.to_string(), id.to_string());
        let now = Instant::now();
        if let Some(c) = locked(&self.cache).get(&key)
            && now.saturating_duration_since(c.at) < self.api.cache_ttl
        {
            self.stats.cache_hits.fetch_add(1, Relaxed);
            return match &c.found {
                Some(o) => Lookup::Found(o.clone()),
                None => Lookup::NotFound,
            };
        }
        if !locked(&self.breaker).allow(now, self.api.timeout) {
            self.stats.skipped.fetch_add(1, Relaxed);
            return Lookup::Skipped;
        }
        let path = self.api.path_for(shop, id);
        let exchange = client::get(
            &self.api.host,
            self.api.port,
            &self.api.authority,
            &path,
            self.api.token.as_deref(),
        );
        let outcome = match tokio::time::timeout(self.api.timeout, exchange).await {
            Err(_) => Err(format!("no answer within {:?}", self.api.timeout)),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(resp)) => match resp.status {
                200 => Order::parse(&resp.body, id)
                    .map(Some)
                    .map_err(|e| format!("answer outside the contract: {e}")),
                404 => Ok(None),
                s => Err(format!("HTTP {s}")),
            },
        };
        let now = Instant::now();
        match outcome {
            Ok(found) => {
                locked(&self.breaker).success();
                self.remember(key, now, found.clone());
                match found {
                    Some(o) => {
                        self.stats.found.fetch_add(1, Relaxed);
                        Lookup::Found(o)
                    }
                    None => {
                        self.stats.not_found.fetch_add(1, Relaxed);
                        Lookup::NotFound
                    }
                }
            }
            Err(why) => {
                let mut b = locked(&self.breaker);
                b.failure(now, self.api.breaker_failures, self.api.breaker_cooldown);
                let open = b.is_open(now);
                drop(b);
                self.stats.failed.fetch_add(1, Relaxed);
                tracing::warn!(order_api = %self.api.authority, error = %why, breaker_open = open, "order lookup failed");
                Lookup::Failed(why)
            }
        }
    }

    fn remember(&self, key: (String, String), now: Instant, found: Option<Order>) {
        let mut cache = locked(&self.cache);
        if cache.len() >= self.api.cache_size.max(1) && !cache.contains_key(&key) {
            let ttl = self.api.cache_ttl;
            cache.retain(|_, c| now.saturating_duration_since(c.at) < ttl);
            if cache.len() >= self.api.cache_size.max(1)
                && let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, c)| c.at)
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(key, Cached { at: now, found });
    }

    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        locked(&self.cache).len()
    }
}

// ---------------------------------------------------------------------------------------------
// The service side: after a turn

/// What the turn left behind that the lookup needs to push its events.
#[derive(Debug)]
pub(crate) struct AfterTurn {
    pub(crate) shop: String,
    pub(crate) order: String,
    pub(crate) turn: String,
    pub(crate) text: String,
    /// Customer and agent turns of the conversation right after this turn: the suggestions are
    /// refreshed only if no turn came since.
    pub(crate) turns: (u32, u32),
}

/// The order number of a customer turn (its last `order_id` entity, given as (kind, text)
/// pairs), cleaned.
pub(crate) fn order_number<'a>(
    entities: impl DoubleEndedIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let (_, text) = entities.rev().find(|(kind, _)| *kind == "order_id")?;
    let id: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!id.is_empty() && id.len() <= 64).then_some(id)
}

impl Shared {
    /// Looks the order of a just-committed customer turn up in the background (the caller has
    /// already acked and pushed the turn) and pushes what it finds.
    pub(crate) fn spawn_order_lookup(&self, slot: &Arc<Conversation>, after: AfterTurn) {
        let Some(orders) = self.orders.clone() else {
            return;
        };
        let me = self.me.clone();
        let slot = Arc::clone(slot);
        tokio::spawn(async move {
            let found = match orders.lookup(&after.shop, &after.order).await {
                Lookup::Found(o) => o,
                Lookup::NotFound => {
                    tracing::debug!(order = %after.order, "order not found by the shop API");
                    return;
                }
                Lookup::Failed(_) | Lookup::Skipped => return,
            };
            if let Some(shared) = me.upgrade() {
                shared.push_order(&slot, after, found).await;
            }
        });
    }

    /// Fills the order slots, stores and pushes the `order` event and, when no turn came in
    /// the meantime, refreshed suggestions.
    async fn push_order(&self, slot: &Arc<Conversation>, after: AfterTurn, order: Order) {
        let mut inner = Arc::clone(&slot.inner).lock_owned().await;
        if inner.removed {
            return;
        }
        let engine = self.engine();
        let mut state = inner.chat.state.clone();
        for name in ORDER_SLOTS {
            state.set_slot(name, "");
        }
        for (name, value) in order.slots() {
            state.set_slot(name, &value);
        }
        if let Some(c) = &order.carrier
            && !state.slots.contains_key("快递公司")
        {
            state.set_slot("快递公司", c);
        }
        if let Some(t) = &order.tracking
            && !state.slots.contains_key("物流单号")
        {
            state.set_slot("物流单号", t);
        }
        let seq = inner.last_seq + 1;
        let mut events = vec![NewEvent {
            seq,
            kind: "order".into(),
            turn: Some(after.turn.clone()),
            payload: Outbound::Order(protocol::OrderFrame {
                conversation: &slot.id,
                seq,
                turn: &after.turn,
                order: &order,
            })
            .frame(),
        }];
        let current = (inner.chat.state.turns(), inner.chat.state.agent_turns());
        if current == after.turns {
            let items = engine.resuggest(&mut state, &after.text);
            let payload = Outbound::Suggestions(protocol::Suggestions {
                conversation: &slot.id,
                seq: seq + 1,
                turn: &after.turn,
                items: &items,
                refresh: false,
            })
            .masked_frame();
            events.push(NewEvent {
                seq: seq + 1,
                kind: "suggestions".into(),
                turn: Some(after.turn.clone()),
                payload,
            });
        }
        let summary = inner.summary.clone();
        if self
            .commit_events(slot, &mut inner, events, summary, None)
            .await
        {
            inner.chat.state = state;
        }
    }
}
