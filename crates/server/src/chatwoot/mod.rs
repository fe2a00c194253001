//! Chatwoot without custom code: its account webhooks become huashu turns, and urgent turns and
//! complaint threats can be written back to the Chatwoot conversation as a private note.
//!
//! Why a module of its own: Chatwoot is the self-hosted helpdesk shops actually run, and its
//! integrators should not have to write a bridge. The webhook (`POST /integrations/chatwoot`)
//! is authenticated by a shared secret that also names the shop the turns belong to
//! (`config.rs`); `payload.rs` maps Chatwoot's documented `message_created` payload to a turn
//! (or to the reason it is ignored) and is pure; `note.rs` is the bounded, asynchronous
//! write-back client. The turn itself goes through the same `Shared::accept_turn` as a widget
//! turn, so ordering, storage, idempotency on (conversation, id) and fan-out are the usual ones.

mod config;
mod note;
mod payload;
mod sign;

use std::sync::Arc;
use std::time::Instant;

pub use config::{Chatwoot, ChatwootAccount};
pub(crate) use payload::{Mapped, map};

use crate::auth::Role;
use crate::protocol::{ErrorCode, Speaker};
use crate::shared::{Session, Shared};
use crate::turn::TurnInput;

/// Largest webhook body read (Chatwoot payloads carry the conversation and its last message;
/// long e-mails are the big ones).
pub(crate) const MAX_BODY: usize = 256 * 1024;

fn reply(status: u16, body: serde_json::Value) -> (u16, String) {
    (status, body.to_string())
}

fn error(status: u16, code: ErrorCode, message: &str) -> (u16, String) {
    (
        status,
        crate::protocol::ClientError::new(code, message).frame(),
    )
}

/// The account a request authenticates as (secret in `?secret=` or `X-Huashu-Secret`).
pub(crate) fn authenticate(
    shared: &Shared,
    query: &str,
    header: Option<&str>,
) -> Option<Arc<ChatwootAccount>> {
    let from_query = crate::http::query_params(query).remove("secret");
    let secret = header.map(str::to_string).or(from_query)?;
    shared.config.chatwoot.account(&secret)
}

/// The account of a delivery signed by Chatwoot itself (`X-Chatwoot-Signature` over
/// `"{X-Chatwoot-Timestamp}.{body}"`), when some account has a `signing_secret`.
pub(crate) fn verify_signature(
    shared: &Shared,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Option<Arc<ChatwootAccount>> {
    let now = crate::shared::now_ms() / 1000;
    shared
        .config
        .chatwoot
        .signed_account(timestamp?, signature?, body, now)
}

/// Whether a request without a secret could still authenticate by Chatwoot's signature (then
/// the body is read and checked).
pub(crate) fn may_be_signed(shared: &Shared, signature: Option<&str>) -> bool {
    signature.is_some() && shared.config.chatwoot.has_signing()
}

/// Handles one authenticated webhook delivery: `(status, JSON body)`.
pub(crate) async fn webhook(
    shared: &Arc<Shared>,
    account: Arc<ChatwootAccount>,
    body: &[u8],
) -> (u16, String) {
    let received = Instant::now();
    let max_text = shared.config.limits.max_text;
    let turn = match map(body, max_text) {
        Err(e) => return error(400, ErrorCode::BadJson, &e),
        Ok(Mapped::Ignored(why)) => {
            return reply(200, serde_json::json!({"ok": true, "ignored": why}));
        }
        Ok(Mapped::Turn(t)) => t,
    };
    if account
        .account_id
        .is_some_and(|expected| expected != turn.account)
    {
        return error(
            403,
            ErrorCode::Forbidden,
            "this secret is not configured for that Chatwoot account",
        );
    }
    let session = Session {
        role: Role::Widget,
        shop: account.shop.clone(),
        agent: None,
        claim: crate::claim::Claim::Any,
    };
    let conversation = turn.conversation_id();
    let id = turn.message_id();
    let input = TurnInput {
        conversation: conversation.clone(),
        id: id.clone(),
        speaker: turn.speaker,
        text: turn.text.clone(),
        at: turn.at,
        customer: turn.customer.clone(),
        agent: turn.agent_id(),
        product: None,
    };
    match shared.accept_turn(&session, input, received).await {
        Ok(ack) => {
            if !ack.duplicate && turn.speaker == Speaker::Customer {
                note::maybe_write_back(shared, &account, &turn);
            }
            reply(
                200,
                serde_json::json!({"ok": true, "conversation": conversation, "id": id,
                                   "seq": ack.seq, "duplicate": ack.duplicate}),
            )
        }
        Err(e) => {
            let status = match e.code {
                ErrorCode::Forbidden => 403,
                ErrorCode::Internal => 500,
                _ => 400,
            };
            (status, e.frame())
        }
    }
}
