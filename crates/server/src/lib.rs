//! The real-time service: WebSocket protocol v1 at `/ws` and plain HTTP on the same port.
//!
//! `run(listener, config, shutdown)` is the whole service (mini-redis style). Inside: `http`
//! routes each TCP connection, `connection` runs the WebSocket protocol against `Sink`/`Stream`,
//! `turn` is the life of a turn (validate → lock → engine step → commit → publish → arm → ack),
//! `conversation` the other conversation requests, `hub` the live conversations and watchers,
//! `timers` the SLA clocks and follow-up reminders, `shared` the slim service (config, engine
//! swap, store, metrics), `db` the writer thread (group commit) and readers, `metrics` the
//! Prometheus counters. docs/PROTOCOL.md is the reference for every message.

mod admission;
mod analytics;
mod auth;
mod chatwoot;
mod claim;
mod config;
mod connection;
mod conversation;
mod db;
mod error;
mod http;
mod hub;
mod labels;
mod logid;
mod metrics;
mod orders;
mod outbox;
mod personal;
mod protocol;
mod publish;
mod ratelimit;
mod server;
mod shared;
mod timers;
mod turn;

pub use auth::{Auth, Role, TokenRole, random_token};
pub use chatwoot::{Chatwoot, ChatwootAccount};
pub use claim::SigningKey;
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
