//! The service's storage: conversations, turns (masked), events exactly as pushed (with their
//! per-conversation `seq`), suggestion feedback, flagged drafts, SLA events and reveals, in an
//! embedded SQLite file or in PostgreSQL. Both backends run the same queries (`sql.rs`).
//!
//! # API
//!
//! A plain data interface: write records in, read records out. It is synchronous; the service
//! runs one writer `Store` on a thread of its own (group commit) and reader `Store`s on the
//! blocking pool (`huashu-server`'s `db.rs`).
//!
//! - Open: [`Store::connect`] with a [`Location`] (`Location::parse` of `--db`: a path,
//!   `sqlite:PATH` or `postgres://USER@HOST/DB`); [`Store::open`] (SQLite file) and
//!   [`Store::open_postgres`] (URL) directly. Opening migrates the schema (SQLite:
//!   `PRAGMA user_version`; PostgreSQL: the `schema_version` table, numbered migrations applied
//!   under an advisory lock, so nodes starting together migrate once). A database newer than
//!   the build is refused ([`Error::SchemaTooNew`]).
//! - Write: [`Store::apply`] takes a batch of [`Write`]s (a [`TurnWrite`] is the turn with its
//!   events and the conversation's new summary; [`EventsWrite`] events not caused by a turn,
//!   e.g. SLA and follow-up reminders; [`FeedbackWrite`], [`DraftWrite`], [`RevealWrite`]) in one
//!   transaction and answers each write on its own: a duplicate `(conversation, id)` turn
//!   ([`Error::DuplicateTurn`]), a conversation of another shop ([`Error::ShopMismatch`]) or a
//!   taken event seq fails that write only. The outer `Err` means nothing was written. On
//!   PostgreSQL the batch is pipelined (one round trip per batch segment).
//! - Read: [`Store::conversation`] (owner, last seq, summary), [`Store::turns`],
//!   [`Store::events`] (a seq range, paged: replay and gap fill), [`Store::feedback`],
//!   [`Store::drafts`], [`Store::sla_events`], [`Store::pending_follow_ups`],
//!   [`Store::conversations_with_timers`] (what to re-arm after a start),
//!   [`Store::summaries`] (a shop's conversation list), [`Store::analytics`] (the QA figures),
//!   [`Store::transcript`] (`huashu export`), [`Store::count`], [`Store::size_bytes`].
//! - Keys: every `conversation` argument is a [`conversation_key`] (shop + client id).
//! - Tests: [`TempDatabase`] creates a uniquely named PostgreSQL database and drops it; a test
//!   that needs PostgreSQL fails when it is unreachable (no skipping).
//!
//! The crate owns the personal-data masking applied to everything stored (`mask`).

mod analytics;
mod key;
mod location;
mod mask;
mod postgres;
mod schema;
mod sql;
mod sqlite;
mod store;

pub use analytics::{
    AgentDay, Analytics, AnalyticsQuery, BookUse, CategoryHits, ScriptUse, TranscriptTurn, TurnRef,
    Urgent, day_start_ms, local_day,
};
pub use key::{client_id, conversation_key};
pub use location::Location;
pub use mask::{mask, mask_json};
pub use postgres::TempDatabase;
pub use store::{
    ConversationRecord, DraftRecord, DraftWrite, Durability, Error, EventRecord, EventsWrite,
    FeedbackRecord, FeedbackWrite, NewEvent, PendingFollowUp, RevealWrite, SlaRecord, SlaWrite,
    Store, Table, TurnRecord, TurnWrite, Write,
};

#[cfg(test)]
mod tests;
