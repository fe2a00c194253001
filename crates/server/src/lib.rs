//! The real-time service: WebSocket protocol v1 at `/ws` and plain HTTP on the same port.
//!
//! `run(listener, config, shutdown)` is the whole service (mini-redis style). Inside: `http`
//! routes each TCP connection, `connection` runs the WebSocket protocol against `Sink`/`Stream`,
//! `conversation` and `sla` hold what happens to a conversation under its lock, `shared` the
//! state all connections share, `db` the writer thread (group commit) and readers, `metrics`
//! the Prometheus counters. docs/PROTOCOL.md is the reference for every message.

mod admission;
mod analytics;
mod auth;
mod chatwoot;
mod config;
mod connection;
mod conversation;
mod db;
mod error;
mod escalation;
mod http;
mod labels;
mod metrics;
mod orders;
mod outbox;
mod personal;
mod protocol;
mod publish;
mod ratelimit;
mod server;
mod shared;
mod sla;

pub use auth::{Auth, Role, TokenRole, random_token};
pub use chatwoot::{Chatwoot, ChatwootAccount};
pub use config::{Config, Limits, RateLimit, Sla, TimeZone};
pub use error::Error;
pub use huashu_store::{Durability, Location};
pub use orders::{MAX_TIMEOUT as ORDER_API_MAX_TIMEOUT, OrderApi, OrderApiError, OrderStatus};
pub use protocol::{ErrorCode, PROTOCOL_VERSION, close};
pub use server::run;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
