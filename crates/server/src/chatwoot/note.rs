//! Write-back: a private note on the Chatwoot conversation when a customer turn is urgent or
//! threatens a complaint, posted through Chatwoot's REST API
//! (`POST {api_url}/api/v1/accounts/{account}/conversations/{conversation}/messages` with
//! `{"content", "message_type":"outgoing", "private":true}` and the `api_access_token` header).
//!
//! Never on the turn's path: the webhook is answered as soon as the turn is acked, the note goes
//! out from its own task with one deadline for connect + write + read, at most `MAX_INFLIGHT`
//! notes are in flight (more are dropped with a warning rather than queued without bound), and
//! the same alert is not repeated on one conversation within `COOLDOWN` (a customer who writes
//! "我要投诉" five times gets one note). Plain HTTP/1.1 written by hand: the service has no TLS
//! stack and one POST does not justify one; Chatwoot's internal address is the usual target.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ChatwootAccount;
use super::config::Api;
use super::payload::ChatwootTurn;
use crate::logid::LogId;
use crate::shared::Shared;

const MAX_INFLIGHT: usize = 16;
const COOLDOWN: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Alert {
    Urgent,
    Threat,
}

impl Alert {
    fn text(self) -> &'static str {
        match self {
            Alert::Urgent => {
                "【话术提醒】紧急：客户提到人身安全或严重损失，请立即优先处理：先确认人身安全，请客户停止使用商品，必要时就医或报警，并保留商品和凭证。"
            }
            Alert::Threat => {
                "【话术提醒】投诉风险：客户表示要投诉、差评或曝光。请先倾听和致歉，尽快给出明确的解决方案，必要时升级主管跟进。"
            }
        }
    }
}

/// Per account: notes in flight, and when each (conversation, alert) was last noted. A std
/// Mutex: held for a map lookup, never across an await.
#[derive(Debug, Default)]
pub(crate) struct NoteState {
    inflight: AtomicUsize,
    recent: Mutex<HashMap<(String, Alert), Instant>>,
}

impl NoteState {
    /// True when this alert was not noted on this conversation within the cooldown (and
    /// records it).
    fn first_in_cooldown(&self, key: (String, Alert)) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.recent.lock() else {
            return true;
        };
        map.retain(|_, at| now.duration_since(*at) < COOLDOWN);
        if map.contains_key(&key) {
            return false;
        }
        map.insert(key, now);
        true
    }
}

/// Decides whether `turn` deserves a note and, if so, posts it from a task of its own.
pub(crate) fn maybe_write_back(
    shared: &Arc<Shared>,
    account: &Arc<ChatwootAccount>,
    turn: &ChatwootTurn,
) {
    let Some(api) = account.api.clone() else {
        return;
    };
    // The engine decides what is urgent or a threat; this only reads its verdict.
    let u = shared.engine().understander().analyze(&turn.text);
    let alert = if u.urgent {
        Alert::Urgent
    } else if u.threat {
        Alert::Threat
    } else {
        return;
    };
    let notes = &account.notes;
    if !notes.first_in_cooldown((turn.conversation_id(), alert)) {
        return;
    }
    if notes.inflight.fetch_add(1, Ordering::AcqRel) >= MAX_INFLIGHT {
        notes.inflight.fetch_sub(1, Ordering::AcqRel);
        tracing::warn!(conversation = %LogId::of(&turn.conversation_id()), "Chatwoot note dropped: too many in flight");
        return;
    }
    let quote: String = huashu_store::mask(&turn.text).chars().take(60).collect();
    let content = format!("{}\n客户原话：「{quote}」", alert.text());
    let path = format!(
        "{}/api/v1/accounts/{}/conversations/{}/messages",
        api.prefix, turn.account, turn.conversation
    );
    let conversation = turn.conversation_id();
    let account = Arc::clone(account);
    tokio::spawn(async move {
        let result = tokio::time::timeout(api.timeout, post(&api, &path, &content)).await;
        account.notes.inflight.fetch_sub(1, Ordering::AcqRel);
        match result {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                tracing::info!(conversation = %LogId::of(&conversation), ?alert, "Chatwoot private note posted");
            }
            Ok(Ok(status)) => {
                tracing::warn!(conversation = %LogId::of(&conversation), status, "Chatwoot refused the note")
            }
            Ok(Err(e)) => {
                tracing::warn!(conversation = %LogId::of(&conversation), error = %e, "Chatwoot note failed")
            }
            Err(_) => {
                tracing::warn!(conversation = %LogId::of(&conversation), "Chatwoot note timed out")
            }
        }
    });
}

/// One `POST` with a JSON body; returns the response status.
async fn post(api: &Api, path: &str, content: &str) -> std::io::Result<u16> {
    let body = serde_json::json!({"content": content, "message_type": "outgoing", "private": true})
        .to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\napi_access_token: {}\r\nContent-Type: application/json; charset=utf-8\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: huashu\r\n\r\n",
        api.authority,
        api.token,
        body.len()
    );
    let mut tcp = TcpStream::connect(&api.authority).await?;
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body.as_bytes()).await?;
    // The status line is all we need; read until it is complete (bounded).
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8 * 1024 {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))
}
