//! Embedded SQLite storage for the service: conversations, turns (masked), events exactly as
//! pushed (with their per-conversation `seq`), suggestion feedback, flagged drafts and SLA events.
//!
//! The crate is synchronous (rusqlite) and owns the personal-data masking applied to everything
//! stored (`mask`). The service decides threading: one writer connection with group commit,
//! reader connections for replay.

mod analytics;
mod key;
mod mask;
mod schema;
mod store;

pub use analytics::{
    AgentDay, Analytics, AnalyticsQuery, BookUse, CategoryHits, ScriptUse, TranscriptTurn, TurnRef,
    Urgent, day_start_ms, local_day,
};
pub use key::{client_id, conversation_key};
pub use mask::{mask, mask_json};
pub use store::{
    ConversationRecord, DraftRecord, DraftWrite, Durability, Error, EventRecord, EventsWrite,
    FeedbackRecord, FeedbackWrite, NewEvent, PendingFollowUp, RevealWrite, SlaRecord, SlaWrite,
    Store, Table, TurnRecord, TurnWrite, Write,
};

#[cfg(test)]
mod tests;
