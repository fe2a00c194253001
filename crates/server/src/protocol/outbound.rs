//! Every frame the server sends, as one enum: `Outbound` is serde-tagged by `type`, and each
//! variant has its own struct whose fields are the wire fields in their documented order.
//! Engine types (`GuardHit`, `SuggestionItem`, `Understanding`, `Order`, the summary) are
//! fields, never the frame itself, so a change to an engine type shows up here as a change of
//! a field, and docs/PROTOCOL.md's examples are checked against these types (`tests.rs`).
//!
//! The structs borrow: a frame is built where its data already lives, serialised once
//! (`Outbound::frame`, or `masked_frame` for events with free text) and the bytes are shared
//! between subscribers. Nothing outside this module writes a `"type"` (checked by a test).

use huashu_engine::{FollowUp, GuardHit, SuggestionItem};
use huashu_phrasebook::UrgentKind;
use serde::Serialize;
use serde_json::value::RawValue;

use super::ErrorCode;

/// One server → client message.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Outbound<'a> {
    /// The answer to a valid `hello`.
    Welcome(Welcome<'a>),
    /// The answer to `{"type":"ping"}`.
    Pong,
    /// A turn (or `send`) is stored.
    Ack(Ack<'a>),
    /// Replay of a `subscribe` is done; live events follow.
    Subscribed(Subscribed<'a>),
    Unsubscribed(Unsubscribed<'a>),
    /// The shop's conversation list, the answer to `watch`.
    Conversations(Conversations<'a>),
    /// One conversation's summary changed (pushed to watchers).
    Conversation(SummaryFrame<'a>),
    Unwatched,
    /// The guard's answer to a `draft` (not stored, not a conversation event).
    #[serde(rename = "guard")]
    DraftGuard(DraftGuard<'a>),
    /// The answer to `feedback`.
    Noted(Noted<'a>),
    /// The answer to `reveal`.
    Revealed(Revealed<'a>),
    /// The answer to `resolve`.
    Resolved(Resolved<'a>),
    /// Event: a customer turn analysed.
    Analysis(Analysis<'a>),
    /// Event: ranked scripts for a customer turn (or a refresh after feedback / an order).
    Suggestions(Suggestions<'a>),
    /// Event: an agent turn checked by the guard.
    #[serde(rename = "guard")]
    TurnGuard(TurnGuard<'a>),
    /// Event: safety mode ended (`resolve`).
    Safety(Safety<'a>),
    /// Event: the customer waited past an SLA threshold.
    Sla(Sla<'a>),
    /// Event: a promised follow-up fell due.
    FollowUp(FollowUpDue<'a>),
    /// Event: the shop's order API answered for an order number of a customer turn.
    Order(OrderFrame<'a>),
    Error(ErrorFrame<'a>),
}

/// Every `type` the server sends, in `Outbound`'s order (`guard` once for both shapes).
#[cfg(test)]
pub(crate) const OUTBOUND_TYPES: &[&str] = &[
    "welcome",
    "pong",
    "ack",
    "subscribed",
    "unsubscribed",
    "conversations",
    "conversation",
    "unwatched",
    "guard",
    "noted",
    "revealed",
    "resolved",
    "analysis",
    "suggestions",
    "safety",
    "sla",
    "follow_up",
    "order",
    "error",
];

impl Outbound<'_> {
    /// The frame's `type` (also the stored event's kind).
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Outbound::Welcome(_) => "welcome",
            Outbound::Pong => "pong",
            Outbound::Ack(_) => "ack",
            Outbound::Subscribed(_) => "subscribed",
            Outbound::Unsubscribed(_) => "unsubscribed",
            Outbound::Conversations(_) => "conversations",
            Outbound::Conversation(_) => "conversation",
            Outbound::Unwatched => "unwatched",
            Outbound::DraftGuard(_) | Outbound::TurnGuard(_) => "guard",
            Outbound::Noted(_) => "noted",
            Outbound::Revealed(_) => "revealed",
            Outbound::Resolved(_) => "resolved",
            Outbound::Analysis(_) => "analysis",
            Outbound::Suggestions(_) => "suggestions",
            Outbound::Safety(_) => "safety",
            Outbound::Sla(_) => "sla",
            Outbound::FollowUp(_) => "follow_up",
            Outbound::Order(_) => "order",
            Outbound::Error(_) => "error",
        }
    }

    /// The frame's JSON text, serialised once.
    pub(crate) fn frame(&self) -> String {
        // Our own types (strings, numbers, string-keyed maps) cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The frame's JSON with every free `text` masked (`huashu_store::mask_json`): what
    /// conversation events carry, so the stored and the pushed bytes are the same.
    pub(crate) fn masked_frame(&self) -> String {
        match serde_json::to_value(self) {
            Ok(mut value) => {
                huashu_store::mask_json(&mut value);
                value.to_string()
            }
            Err(_) => self.frame(),
        }
    }
}

/// Name, version and hash of the served book (`welcome.book`).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct BookRef<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) hash: &'a str,
}

impl<'a> BookRef<'a> {
    pub(crate) fn of(meta: &'a huashu_phrasebook::BookMeta) -> BookRef<'a> {
        BookRef {
            name: &meta.name,
            version: &meta.version,
            hash: &meta.hash,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Welcome<'a> {
    pub(crate) protocol: u32,
    pub(crate) role: &'static str,
    pub(crate) shop: &'a str,
    pub(crate) agent: Option<&'a str>,
    pub(crate) book: BookRef<'a>,
    pub(crate) limits: WelcomeLimits,
    pub(crate) sla: SlaLimits,
    pub(crate) server_time: i64,
    pub(crate) tz: Tz<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct WelcomeLimits {
    pub(crate) max_frame: usize,
    pub(crate) max_text: usize,
    pub(crate) rate: Rate,
    pub(crate) outbound_queue: usize,
    pub(crate) heartbeat_ms: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Rate {
    pub(crate) per_sec: f64,
    pub(crate) burst: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct SlaLimits {
    pub(crate) warn_ms: u64,
    pub(crate) breach_ms: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tz<'a> {
    pub(crate) name: &'a str,
    pub(crate) offset_min: i32,
    pub(crate) label: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Ack<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) id: &'a str,
    pub(crate) seq: u64,
    /// Only on a re-sent (conversation, id).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) duplicate: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Subscribed<'a> {
    pub(crate) conversation: &'a str,
    /// The last seq replayed (live events follow from seq + 1).
    pub(crate) seq: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Unsubscribed<'a> {
    pub(crate) conversation: &'a str,
}

/// `items` are summaries as stored (each already a JSON object), written as they are.
#[derive(Debug, Serialize)]
pub(crate) struct Conversations<'a> {
    pub(crate) items: &'a [Box<RawValue>],
}

/// A conversation summary pushed to watchers: `{"type":"conversation", …summary}`.
#[derive(Debug, Serialize)]
pub(crate) struct SummaryFrame<'a> {
    #[serde(flatten)]
    pub(crate) summary: &'a crate::hub::Summary,
}

#[derive(Debug, Serialize)]
pub(crate) struct DraftGuard<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) draft: &'a str,
    pub(crate) hits: &'a [GuardHit],
    /// The whole draft rewritten, `null` without a block/warn hit.
    pub(crate) rewritten: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Noted<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) suggestion: &'a str,
    pub(crate) action: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct Revealed<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) turn: &'a str,
    pub(crate) entity: u32,
    pub(crate) kind: &'a str,
    pub(crate) value: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct Resolved<'a> {
    pub(crate) conversation: &'a str,
    /// False when the conversation was not in safety mode.
    pub(crate) changed: bool,
}

/// A conversation's safety mode as consoles see it (`analysis.safety`, `safety` events).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct SafetyMode {
    pub(crate) kind: UrgentKind,
    /// zh-CN label of the kind.
    pub(crate) name: &'static str,
}

impl SafetyMode {
    pub(crate) fn of(state: &huashu_engine::ConversationState) -> Option<SafetyMode> {
        state.safety().map(|kind| SafetyMode {
            kind,
            name: kind.name(),
        })
    }
}

/// A customer turn and what the engine understood of it (`understanding` is flattened in:
/// intents, emotion, urgent, urgent_kind, style, entities, threat, repeat_ask, confident).
#[derive(Debug, Serialize)]
pub(crate) struct Analysis<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    pub(crate) turn: &'a str,
    pub(crate) role: &'static str,
    pub(crate) text: &'a str,
    pub(crate) at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) customer: Option<&'a str>,
    /// The conversation's safety mode after this turn (null when off).
    pub(crate) safety: Option<SafetyMode>,
    /// The conversation's flags after the turn, as the engine decided them (added after v1).
    pub(crate) flags: &'a huashu_engine::Flags,
    #[serde(flatten)]
    pub(crate) understanding: &'a huashu_engine::Understanding,
}

#[derive(Debug, Serialize)]
pub(crate) struct Suggestions<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    pub(crate) turn: &'a str,
    pub(crate) items: &'a [SuggestionItem],
    /// Marks a list re-ranked after feedback (not caused by a new turn); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) refresh: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct TurnGuard<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    pub(crate) turn: &'a str,
    pub(crate) role: &'static str,
    pub(crate) text: &'a str,
    pub(crate) at: i64,
    pub(crate) hits: &'a [GuardHit],
    /// The whole turn rewritten, `null` without a block/warn hit.
    pub(crate) rewritten: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) follow_up: Option<&'a FollowUp>,
    /// The conversation's flags after the turn, as the engine decided them (added after v1).
    pub(crate) flags: &'a huashu_engine::Flags,
}

#[derive(Debug, Serialize)]
pub(crate) struct Safety<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    /// Null: safety mode is over.
    pub(crate) safety: Option<SafetyMode>,
    /// The kind that was resolved.
    pub(crate) resolved: UrgentKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) by: Option<&'a str>,
    pub(crate) at: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Sla<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    /// `warn` or `breach`.
    pub(crate) level: &'static str,
    pub(crate) turn: &'a str,
    pub(crate) waiting_ms: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct FollowUpDue<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    pub(crate) turn: &'a str,
    pub(crate) text: &'a str,
    pub(crate) due_at: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct OrderFrame<'a> {
    pub(crate) conversation: &'a str,
    pub(crate) seq: u64,
    pub(crate) turn: &'a str,
    pub(crate) order: &'a crate::orders::Order,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorFrame<'a> {
    pub(crate) code: ErrorCode,
    pub(crate) message: &'a str,
    /// The offending message's id when known (see `ClientError::with_ref`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) r#ref: Option<&'a str>,
}
